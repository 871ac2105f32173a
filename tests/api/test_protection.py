"""What protects the service from heavy, oversized or hostile requests, and what it says when hurt."""

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import strawberry.schema.schema as strawberry_schema_module
from starlette.middleware.cors import CORSMiddleware
from starlette.types import Receive, Scope, Send

from leadcycle.domain.model_use_cases import ScoringModelUseCases
from leadcycle.domain.use_cases import LeadUseCases
from leadcycle.graph.app import create_app, utc_now
from leadcycle.graph.context import Context, Services
from leadcycle.graph.middleware import CORS
from leadcycle.graph.schema import build_schema
from leadcycle.graph.settings import Settings
from leadcycle.persistence.database import create_engine
from leadcycle.persistence.unit_of_work import unit_of_work_factory
from tests.conftest import GraphQLClient

PIPELINE = "{ pipeline { total } }"


async def _execute_in_process(settings: Settings, query: str, engine_url: str) -> Any:
    engine = create_engine(engine_url)
    factory = unit_of_work_factory(engine)
    services = Services(  # type: ignore[arg-type]
        engine=engine,
        leads=LeadUseCases(factory, utc_now),
        feed=None,
        scoring=ScoringModelUseCases(factory, utc_now),
    )
    try:
        context = Context(request=None, response=None, services=services, actor="test")  # type: ignore[arg-type]
        return await build_schema(settings).execute(query, context_value=context)
    finally:
        await engine.dispose()


class TestQueryLimits:
    async def test_too_many_aliases_are_refused(self, gql: GraphQLClient) -> None:
        query = "{ " + " ".join(f"a{i}: pipeline {{ total }}" for i in range(31)) + " }"
        body = await gql.execute(query)
        assert "data" not in body or body["data"] is None
        assert "aliases" in body["errors"][0]["message"]

    async def test_too_many_tokens_are_refused(self, gql: GraphQLClient) -> None:
        query = "{ pipeline { " + "total " * 5001 + "} }"
        body = await gql.execute(query)
        assert "token" in body["errors"][0]["message"].lower()

    async def test_too_deep_queries_are_refused(self, database_url: str) -> None:
        deep = "{ leads { edges { node { company { name } } } } }"
        result = await _execute_in_process(Settings(max_query_depth=3), deep, database_url)
        assert result.errors
        assert "exceeds maximum operation depth" in result.errors[0].message

    async def test_a_body_over_the_limit_gets_413(self, client: httpx.AsyncClient) -> None:
        padding = "x" * (1024 * 1024 + 1)
        response = await client.post("/graphql", json={"query": PIPELINE, "variables": {"pad": padding}})
        assert response.status_code == 413
        assert "larger than" in response.json()["errors"][0]["message"]

    async def test_a_streamed_body_over_the_limit_gets_413_also_where_a_plan_would_answer(
        self, client: httpx.AsyncClient
    ) -> None:
        assert (await client.post("/graphql", json={"query": PIPELINE})).status_code == 200  # its plan is learnt
        body = json.dumps({"query": PIPELINE, "variables": {"pad": "x" * (1024 * 1024 + 1)}}).encode()

        async def chunks() -> AsyncIterator[bytes]:  # no content-length: the limit counts what arrives
            for start in range(0, len(body), 65536):
                yield body[start : start + 65536]

        response = await client.post("/graphql", content=chunks(), headers={"content-type": "application/json"})
        assert response.status_code == 413


class TestValidationCache:
    async def test_a_repeated_operation_is_validated_once(self, monkeypatch: pytest.MonkeyPatch) -> None:
        validations: list[object] = []
        real_validate = strawberry_schema_module.validate

        def counting_validate(*args: Any, **kwargs: Any) -> Any:
            validations.append(args)
            return real_validate(*args, **kwargs)

        monkeypatch.setattr(strawberry_schema_module, "validate", counting_validate)
        schema = build_schema(Settings())
        for _ in range(3):
            result = await schema.execute("query ValidatedOnce { __typename }")
            assert result.data == {"__typename": "Query"}
        assert len(validations) == 1

    async def test_a_cached_refusal_still_refuses(self) -> None:
        schema = build_schema(Settings(max_aliases=2))
        query = "{ a: __typename b: __typename c: __typename }"
        first, second = await schema.execute(query), await schema.execute(query)
        assert first.errors
        assert second.errors
        assert "aliases" in second.errors[0].message


class TestIntrospection:
    async def test_is_on_by_default(self, gql: GraphQLClient) -> None:
        body = await gql.data("{ __schema { queryType { name } } }")
        assert body["__schema"]["queryType"]["name"] == "Query"

    async def test_can_be_turned_off(self, database_url: str) -> None:
        result = await _execute_in_process(
            Settings(introspection=False), "{ __schema { types { name } } }", database_url
        )
        assert result.errors
        assert "introspection" in result.errors[0].message.lower()


class TestUnexpectedErrors:
    async def test_are_masked_for_clients_and_logged(self, caplog: pytest.LogCaptureFixture) -> None:
        unreachable = "postgresql://postgres@127.0.0.1:9/nowhere"
        with caplog.at_level(logging.ERROR, logger="leadcycle.graph"):
            result = await _execute_in_process(Settings(), PIPELINE, unreachable)
        assert [e.message for e in result.errors] == ["Unexpected error; it was logged."]
        assert "127.0.0.1" not in str(result.errors[0].formatted)
        assert any("unexpected error at pipeline" in record.getMessage() for record in caplog.records)


class TestHealth:
    async def test_healthz_says_the_process_is_up(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/healthz")
        assert (response.status_code, response.json()) == (200, {"status": "ok"})

    async def test_readyz_says_the_database_is_migrated(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/readyz")
        assert (response.status_code, response.json()) == (200, {"status": "ready"})

    async def test_every_response_carries_a_request_id(self, client: httpx.AsyncClient) -> None:
        first, second = await client.get("/healthz"), await client.get("/healthz")
        assert first.headers["x-request-id"] != second.headers["x-request-id"]


class TestCors:
    async def test_allows_configured_origins_only(self, database_url: str) -> None:
        app = create_app(Settings(cors_origins=["https://app.example"]), database_url)
        preflight = {"access-control-request-method": "POST", "access-control-request-headers": "content-type"}
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            allowed = await client.options("/graphql", headers={"origin": "https://app.example", **preflight})
            refused = await client.options("/graphql", headers={"origin": "https://evil.example", **preflight})
        assert allowed.headers["access-control-allow-origin"] == "https://app.example"
        assert "access-control-allow-origin" not in refused.headers

    @pytest.mark.parametrize("vary", [[], [b"Accept-Encoding"], [b"Accept", b"Cookie"]])
    async def test_a_request_without_origin_gets_what_starlettes_cors_gives_it(self, vary: list[bytes]) -> None:
        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            headers = [(b"content-type", b"text/plain"), *((b"vary", value) for value in vary)]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": b"ok"})

        answers = []
        for cors in (CORS, CORSMiddleware):
            wrapped = cors(app, allow_origins=["https://app.example"], allow_methods=["GET", "POST"])
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=wrapped), base_url="http://test") as client:
                answers.append((await client.post("/", content=b"{}")).headers.multi_items())
        assert answers[0] == answers[1]
        assert ("vary", ", ".join([*(value.decode() for value in vary), "Origin"])) in answers[0]
