"""The leads page's fast path answers exactly what graphql-core would, and only where it can."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
import strawberry
import strawberry.schema.schema as strawberry_schema_module
from sqlalchemy.ext.asyncio import AsyncEngine

from leadcycle.domain.model_use_cases import ScoringModelUseCases
from leadcycle.domain.use_cases import LeadUseCases
from leadcycle.graph.app import utc_now
from leadcycle.graph.context import Context, Services
from leadcycle.graph.schema import build_schema
from leadcycle.graph.settings import Settings
from leadcycle.persistence.unit_of_work import unit_of_work_factory
from tests.api.operations import LEAD, create_lead, record
from tests.conftest import GraphQLClient

PAGE = (
    "pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { __typename " + LEAD + " } }"
)
PLAIN = "{ leads(first: 4) { " + PAGE + " } }"
FORCED = "{ leads(first: 4) { __typename @include(if: true) " + PAGE + " } }"  # a directive: graphql-core's turn


class InProcess:
    """The schema executed in this process, counting how often graphql-core's executor ran."""

    def __init__(self, engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch) -> None:
        uow_factory = unit_of_work_factory(engine)
        scoring = ScoringModelUseCases(uow_factory, utc_now)
        services = Services(engine=engine, leads=LeadUseCases(uow_factory, utc_now), feed=None, scoring=scoring)  # type: ignore[arg-type]
        self.context = Context(request=None, response=None, services=services, actor="test")  # type: ignore[arg-type]
        self.schema = build_schema(Settings())
        self.executions = 0
        real_execute = strawberry_schema_module.execute

        def counting_execute(*args: Any, **kwargs: Any) -> Any:
            self.executions += 1
            return real_execute(*args, **kwargs)

        monkeypatch.setattr(strawberry_schema_module, "execute", counting_execute)

    async def run(self, query: str, **variables: Any) -> strawberry.types.ExecutionResult:
        return await self.schema.execute(query, variable_values=variables, context_value=self.context)

    async def data(self, query: str, **variables: Any) -> dict[str, Any]:
        result = await self.run(query, **variables)
        assert result.errors is None, result.errors
        assert result.data is not None
        return result.data


@pytest_asyncio.fixture
async def server(engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch, gql: GraphQLClient) -> AsyncIterator[InProcess]:
    """The schema in process, on a database whose newest leads differ in stage, score and company."""
    for source in ("web_ad", "seo", "webinar", "referral"):
        lead = await create_lead(gql, source=source, capital="50000000000", employeeCount=120)
        if source != "seo":
            await record(gql, lead["id"], "demo_request")
    yield InProcess(engine, monkeypatch)


def without_typename(page: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in page["leads"].items() if key != "__typename"}


class TestFastPage:
    async def test_a_plain_page_skips_graphql_core_and_answers_the_same(self, server: InProcess) -> None:
        fast = await server.data(PLAIN)
        assert server.executions == 0
        slow = await server.data(FORCED)
        assert server.executions == 1
        assert len(fast["leads"]["edges"]) == 4
        assert fast["leads"] == without_typename(slow)

    async def test_variables_aliases_and_the_next_page_answer_the_same(self, server: InProcess) -> None:
        query = "query($n: Int, $after: String) { page: leads(first: $n, after: $after) { " + PAGE + " } }"
        first = await server.data(query, n=2, after=None)
        after = first["page"]["pageInfo"]["endCursor"]
        fast = await server.data(query, n=2, after=after)
        assert server.executions == 0
        forced = query.replace("{ pageInfo", "{ __typename @include(if: true) pageInfo")
        slow = await server.data(forced, n=2, after=after)
        assert server.executions == 1
        assert fast["page"] == {k: v for k, v in slow["page"].items() if k != "__typename"}
        assert fast["page"]["edges"][0]["cursor"] != first["page"]["edges"][0]["cursor"]

    @pytest.mark.parametrize(
        "query",
        [
            "{ leads(first: 2) { totalCount edges { node { id } } } }",
            "{ leads(first: 2) { edges { node { id activities(first: 1) { kind } } } } }",
            '{ leads(first: 2, filter: {sources: ["seo"]}) { edges { node { id } } } }',
            "{ leads(first: 2) { ...Page } } fragment Page on LeadConnection { edges { node { id } } }",
            "{ leads(first: 2) { edges { node { id } } } pipeline { total } }",
        ],
    )
    async def test_what_it_cannot_answer_goes_to_graphql_core(self, server: InProcess, query: str) -> None:
        assert (await server.data(query))["leads"]["edges"]
        assert server.executions == 1

    async def test_errors_are_graphql_cores(self, server: InProcess) -> None:
        result = await server.run("{ leads(first: 201) { edges { cursor } } }")
        assert server.executions == 1
        assert result.errors
        assert result.errors[0].message == "first must be between 0 and 200"
