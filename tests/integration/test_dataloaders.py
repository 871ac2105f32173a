"""A page of leads with their activities, timeline and available transitions costs the same number of
SQL statements whatever its size: child lists are loaded in one batch per list, never once per lead.
So do the webhook endpoints with their deliveries.

Runs the app's schema in-process on the test database and counts the statements it sends, through
SQLAlchemy and as plain SQL on the pool's asyncpg connections (the read side, persistence/driver.py).
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any
from unittest import mock

import pytest
import pytest_asyncio
import strawberry
from sqlalchemy import event, insert
from sqlalchemy.ext.asyncio import AsyncEngine

from leadcycle.domain.commands import CreateLead, RecordActivity
from leadcycle.domain.model import Company, Contact
from leadcycle.domain.model_use_cases import ScoringModelUseCases
from leadcycle.domain.stages import ChangeKind, LeadEvent
from leadcycle.domain.use_cases import LeadUseCases
from leadcycle.domain.webhooks import DeliveryStatus, new_endpoint
from leadcycle.graph.context import Context, Services
from leadcycle.graph.schema import build_schema
from leadcycle.graph.settings import Settings
from leadcycle.persistence import driver, webhooks
from leadcycle.persistence.database import create_engine
from leadcycle.persistence.tables import webhook_deliveries
from leadcycle.persistence.unit_of_work import unit_of_work_factory
from tests.servers import fresh_database

PAGE = """
query($sources: [String!]) {
  leads(filter: {sources: $sources}, first: 50) {
    totalCount
    edges {
      node {
        id stage score
        activities { kind points }
        timeline { kind summary }
        availableTransitions { event allowed blockers { guard } }
      }
    }
  }
}
"""
ACTIVITIES = ("email_open", "pricing_page_view")


def utc_now() -> datetime:
    return datetime.now(UTC)


@pytest.fixture(scope="module")
def schema() -> strawberry.Schema:
    return build_schema(Settings())


@pytest.fixture
def use_cases(engine: AsyncEngine) -> LeadUseCases:
    return LeadUseCases(unit_of_work_factory(engine), utc_now)


async def leads_with_history(use_cases: LeadUseCases, count: int) -> str:
    """`count` new leads of a unique source, each with a few activities; returns the source."""
    source = f"src_{uuid.uuid4().hex[:8]}"
    for number in range(count):
        command = CreateLead(Company(f"Company {number} {source}"), Contact(f"Contact {number}"), source)
        lead = await use_cases.create(command, "test")
        for kind in ACTIVITIES:
            await use_cases.record_activity(RecordActivity(str(lead.id), kind), "test")
    return source


@contextlib.contextmanager
def statements_sent(engine: AsyncEngine) -> Iterator[list[str]]:
    """Every SQL statement sent inside the block: through SQLAlchemy, or as plain SQL on a pooled driver connection.

    SQLAlchemy's go through its cursor event; the read side's plain SQL through the connections
    `driver.connection` hands out, each watched here (asyncpg's own type introspection is not counted,
    as SQLAlchemy's cursor event never counted it either).
    """
    sent: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sent.append(statement)

    handing_out = driver.connection

    @contextlib.asynccontextmanager
    async def watched(engine: AsyncEngine) -> AsyncIterator[Any]:
        async with handing_out(engine) as connection:
            yield SentOn(connection, sent)

    event.listen(engine.sync_engine, "before_cursor_execute", note)
    try:
        with mock.patch.object(driver, "connection", watched):
            yield sent
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", note)


class SentOn:
    """An asyncpg connection noting the SQL of every statement sent on it."""

    STATEMENTS = frozenset({"execute", "executemany", "fetch", "fetchrow", "fetchval", "prepare", "cursor"})

    def __init__(self, connection: Any, sent: list[str]) -> None:
        self._connection, self._sent = connection, sent

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._connection, name)
        if name not in self.STATEMENTS:
            return method

        def noted(query: str, *args: Any, **kwargs: Any) -> Any:
            self._sent.append(query)
            return method(query, *args, **kwargs)

        return noted


async def read_page(
    schema: strawberry.Schema, engine: AsyncEngine, use_cases: LeadUseCases, source: str
) -> tuple[list[dict[str, Any]], list[str]]:
    """The page's nodes, and the statements it took (a fresh context, as for each request)."""
    scoring = ScoringModelUseCases(unit_of_work_factory(engine), utc_now)
    services = Services(engine=engine, leads=use_cases, feed=None, scoring=scoring)  # type: ignore[arg-type]
    context = Context(request=None, response=None, services=services, actor="test")  # type: ignore[arg-type]
    with statements_sent(engine) as sent:
        result = await schema.execute(PAGE, variable_values={"sources": [source]}, context_value=context)
    assert result.errors is None, result.errors
    assert result.data is not None
    return [edge["node"] for edge in result.data["leads"]["edges"]], sent


def assert_complete(nodes: list[dict[str, Any]], count: int) -> None:
    assert len(nodes) == count
    for node in nodes:
        assert [a["kind"] for a in node["activities"]] == list(reversed(ACTIVITIES))
        assert {"created", "activity", "score"} <= {entry["kind"] for entry in node["timeline"]}
        assert len(node["availableTransitions"]) == len(LeadEvent)


class TestLeadPageCost:
    async def test_fifty_leads_cost_as_many_statements_as_five(
        self, schema: strawberry.Schema, engine: AsyncEngine, use_cases: LeadUseCases
    ) -> None:
        few, many = await leads_with_history(use_cases, 5), await leads_with_history(use_cases, 50)
        await read_page(schema, engine, use_cases, few)  # warm-up: connections, type codecs

        few_nodes, few_sent = await read_page(schema, engine, use_cases, few)
        many_nodes, many_sent = await read_page(schema, engine, use_cases, many)

        assert_complete(few_nodes, 5)
        assert_complete(many_nodes, 50)
        assert len(many_sent) == len(few_sent), many_sent

    async def test_each_child_list_is_one_batched_statement(
        self, schema: strawberry.Schema, engine: AsyncEngine, use_cases: LeadUseCases
    ) -> None:
        source = await leads_with_history(use_cases, 20)
        nodes, sent = await read_page(schema, engine, use_cases, source)
        assert_complete(nodes, 20)
        assert sum("FROM activities" in statement for statement in sent) == 1, sent
        assert sum("FROM lead_history" in statement for statement in sent) == 1, sent
        assert len(sent) <= 4, sent  # the page, its count, activities, timeline


ENDPOINTS = """
{
  webhookEndpoints {
    id
    deliveries(first: 10) { nodes { endpointId kind } hasNextPage }
    pending: deliveries(status: PENDING, first: 2) { nodes { endpointId status } }
  }
}
"""


@pytest_asyncio.fixture
async def own_engine(server_url: str) -> AsyncIterator[AsyncEngine]:
    """A database of its own: `webhookEndpoints` lists every endpoint there is."""
    async with fresh_database(server_url) as url:
        engine = create_engine(url)
        try:
            yield engine
        finally:
            await engine.dispose()


async def endpoints_with_deliveries(
    engine: AsyncEngine, count: int, deliveries: int, status: DeliveryStatus = DeliveryStatus.PENDING
) -> None:
    """`count` more endpoints, each with `deliveries` deliveries in `status`."""
    for _ in range(count):
        endpoint = await webhooks.register(engine, new_endpoint("http://127.0.0.1:9/hook", (), (), "s" * 16), "test")
        rows = [
            {
                "id": uuid.uuid4(),
                "endpoint_id": endpoint.id,
                "lead_id": uuid.uuid4(),
                "change_xid": 1,
                "change_id": change,
                "kind": ChangeKind.ACTIVITY.value,
                "body": "{}",
                "status": status.value,
                "attempts": 0,
                "next_attempt_at": utc_now(),
                "created_at": utc_now(),
            }
            for change in range(deliveries)
        ]
        async with engine.begin() as connection:
            await connection.execute(insert(webhook_deliveries), rows)


def fresh_context(engine: AsyncEngine) -> Context:
    """A context as each request gets one."""
    use_cases = LeadUseCases(unit_of_work_factory(engine), utc_now)
    scoring = ScoringModelUseCases(unit_of_work_factory(engine), utc_now)
    services = Services(engine=engine, leads=use_cases, feed=None, scoring=scoring)  # type: ignore[arg-type]
    return Context(request=None, response=None, services=services, actor="test")  # type: ignore[arg-type]


async def read_endpoints(schema: strawberry.Schema, engine: AsyncEngine) -> tuple[list[dict[str, Any]], list[str]]:
    """The endpoints with their deliveries, and the statements they took."""
    with statements_sent(engine) as sent:
        result = await schema.execute(ENDPOINTS, context_value=fresh_context(engine))
    assert result.errors is None, result.errors
    assert result.data is not None
    return result.data["webhookEndpoints"], sent


class TestWebhookEndpointsCost:
    async def test_the_deliveries_of_every_endpoint_cost_one_statement_per_page_asked(
        self, schema: strawberry.Schema, own_engine: AsyncEngine
    ) -> None:
        await endpoints_with_deliveries(own_engine, 2, deliveries=3)
        few, few_sent = await read_endpoints(schema, own_engine)
        await endpoints_with_deliveries(own_engine, 6, deliveries=12)

        many, many_sent = await read_endpoints(schema, own_engine)

        assert (len(few), len(many)) == (2, 8)
        assert len(many_sent) == len(few_sent) == 3, many_sent  # the endpoints, then one statement per page
        for endpoint in many:
            page, pending = endpoint["deliveries"], endpoint["pending"]["nodes"]
            assert {node["endpointId"] for node in page["nodes"] + pending} == {endpoint["id"]}
            assert (len(page["nodes"]), page["hasNextPage"], len(pending)) == (
                (3, False, 2) if endpoint["id"] in {e["id"] for e in few} else (10, True, 2)
            )

    async def test_a_mutation_request_sees_the_deliveries_its_earlier_mutations_changed(
        self, schema: strawberry.Schema, own_engine: AsyncEngine
    ) -> None:
        await endpoints_with_deliveries(own_engine, 1, deliveries=2, status=DeliveryStatus.DEAD)
        [endpoint] = await webhooks.endpoints(own_engine)
        dead = "endpoint { deliveries(status: DEAD) { nodes { id } } }"
        mutation = f"""mutation($id: ID!) {{
          before: pauseWebhookEndpoint(id: $id) {{ ... on WebhookEndpointPayload {{ {dead} }} }}
          retryDeadWebhookDeliveries(endpointId: $id) {{ ... on RetriedWebhookDeliveries {{ count }} }}
          after: resumeWebhookEndpoint(id: $id) {{ ... on WebhookEndpointPayload {{ {dead} }} }}
        }}"""

        result = await schema.execute(
            mutation, variable_values={"id": str(endpoint.id)}, context_value=fresh_context(own_engine)
        )

        assert result.errors is None, result.errors
        assert result.data is not None
        dead_before, dead_after = (result.data[name]["endpoint"]["deliveries"]["nodes"] for name in ("before", "after"))
        assert (len(dead_before), result.data["retryDeadWebhookDeliveries"]["count"], dead_after) == (2, 2, [])
