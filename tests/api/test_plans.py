"""Compiled plans answer an operation exactly as strawberry and graphql-core do, and run a mutation's use case once.

Two views of the same schema in this process: one learns plans from what it executes, the other never
does. The same request goes to both; the planned view's answers come from its plan (graphql-core's
executor not called: the first request's right after validation, the later ones' before strawberry sees
them), the other's from the generic path, and the two must be the same bytes and headers.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
import pytest_asyncio
import strawberry
import strawberry.schema.schema as strawberry_schema_module
from graphql import FieldNode, GraphQLError, OperationDefinitionNode, parse
from graphql.execution.values import VariableValues, get_argument_values, get_variable_values
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route
from strawberry import relay

import leadcycle.graph.plans as plans_module
from leadcycle.domain.model_use_cases import ScoringModelUseCases
from leadcycle.domain.use_cases import LeadUseCases
from leadcycle.graph.app import utc_now
from leadcycle.graph.arguments import strawberry_call
from leadcycle.graph.completion import Unsupported
from leadcycle.graph.context import Services
from leadcycle.graph.middleware import CORS, RequestId
from leadcycle.graph.plans import Plan, Plans
from leadcycle.graph.schema import build_schema
from leadcycle.graph.settings import Settings
from leadcycle.graph.variables import Variables, argument_values
from leadcycle.graph.view import LeadcycleGraphQL
from leadcycle.persistence import queries
from leadcycle.persistence.unit_of_work import unit_of_work_factory
from tests.api.operations import LEAD, PROBLEM, RECORD_ACTIVITY, TRANSITION, unique

ORIGIN = "https://app.example"
CREATE = (
    "mutation($input: CreateLeadInput!) { createLead(input: $input) { ... on LeadPayload { lead { id version } } } }"
)
ALIASED = (
    "mutation Recorded($input: ActivityInput!) { done: recordActivity(input: $input) { kind: __typename "
    "... on LeadPayload { it: lead { key: id s: stage v: version t: temperature score } } "
    "... on Problem { m: message } } }"
)
FRAGMENTS = """
mutation($input: ActivityInput!) { recordActivity(input: $input) { __typename ...Payload ...Trouble } }
fragment Payload on LeadPayload { lead { ...Whole } }
fragment Trouble on Problem { message ... on ValidationProblem { field } }
fragment Whole on Lead {
  id goingCold scoringModelVersion createdAt updatedAt stageChangedAt
  availableTransitions { event toStage allowed blockers { guard message } }
  bant { budget { status note } satisfied budgetAmount targetDate }
  company { name capital employeeCount } contact { name email isDecisionMaker }
  scoreBreakdown { rule points reason at }
}
"""
MERGED = (
    "mutation($input: ActivityInput!) { recordActivity(input: $input) { "
    "... on LeadPayload { lead { id stage } } ... on LeadPayload { lead { id version __typename } } "
    "__typename ... on NotFound { message } } }"
)
TWO_OPERATIONS = (
    "mutation First($input: ActivityInput!) { recordActivity(input: $input) { __typename } } "
    "mutation Second($input: ActivityInput!) { recordActivity(input: $input) { ... on LeadPayload { lead { id } } } }"
)


class StrSubclass(str):
    pass


LEAVES = (
    "mutation($input: ActivityInput!) { recordActivity(input: $input) { "
    "... on LeadPayload { lead { id score source stage owner version } } } }"
)


class Views:
    """A view that learns plans and one that never does, on the same services, counting what each ran."""

    def __init__(self, engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch) -> None:
        uow_factory = unit_of_work_factory(engine)
        self.leads = LeadUseCases(uow_factory, utc_now)
        scoring = ScoringModelUseCases(uow_factory, utc_now)
        self.services = Services(engine=engine, leads=self.leads, feed=None, scoring=scoring)  # type: ignore[arg-type]
        self.plans = Plans()
        self.planned = self._client(self.plans, learns=True)
        self.generic = self._client(Plans(), learns=False)
        self.executions = 0
        self.replays = 0
        self.monkeypatch = monkeypatch
        monkeypatch.setattr(strawberry_schema_module, "execute", self._counting("executions", strawberry_schema_module))
        monkeypatch.setattr(plans_module, "graphql_execute", self._counting("replays", plans_module, "graphql_execute"))

    def _client(self, plans: Plans, *, learns: bool) -> httpx.AsyncClient:
        schema = build_schema(Settings(), plans if learns else None)
        view = LeadcycleGraphQL(schema, plans=plans, subscriber_buffer=16)
        middleware = [Middleware(RequestId), Middleware(CORS, allow_origins=[ORIGIN], allow_methods=["GET", "POST"])]
        app = Starlette(routes=[Route("/graphql", view, methods=["GET", "POST"])], middleware=middleware)
        app.state.services = self.services
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")

    def _counting(self, counter: str, module: Any, name: str = "execute") -> Callable[..., Any]:
        real = getattr(module, name)

        def counting(*args: Any, **kwargs: Any) -> Any:
            setattr(self, counter, getattr(self, counter) + 1)
            return real(*args, **kwargs)

        return counting

    def count_calls(self, use_case: str, replace: Callable[..., Any] | None = None) -> list[int]:
        """Count the calls of a use case (optionally answered by `replace` instead); returns the counter."""
        calls = [0]
        real = getattr(self.leads, use_case)

        async def counted(*args: Any) -> Any:
            calls[0] += 1
            return await (replace or real)(*args)

        self.monkeypatch.setattr(self.leads, use_case, counted)
        return calls

    def count_executor_builds(self) -> list[int]:
        """Count the executors graphql-core builds (one per operation it executes)."""
        calls = [0]
        executor_class = strawberry_schema_module.StrawberryGraphQLCoreExecutionContext
        real = executor_class.build.__func__  # type: ignore[attr-defined]

        def counted(cls: type, *args: Any, **kwargs: Any) -> Any:
            calls[0] += 1
            return real(cls, *args, **kwargs)

        self.monkeypatch.setattr(executor_class, "build", classmethod(counted))
        return calls

    def count_statements(self, monkeypatch: pytest.MonkeyPatch) -> list[int]:
        """Count the statements reading the newest activities of leads (a DataLoader's batch each)."""
        calls = [0]
        real = queries.newest_activities

        async def counted(*args: Any) -> Any:
            calls[0] += 1
            return await real(*args)

        monkeypatch.setattr(queries, "newest_activities", counted)
        return calls

    async def both(self, body: dict[str, Any] | bytes) -> tuple[httpx.Response, httpx.Response]:
        """The planned view's answer, then the generic view's, to the same request."""
        return await self._post(self.planned, body), await self._post(self.generic, body)

    async def both_get(self, params: dict[str, str], **headers: str) -> tuple[httpx.Response, httpx.Response]:
        """The planned view's answer, then the generic view's, to the same GET."""
        planned = await self.planned.get("/graphql", params=params, headers=headers)
        return planned, await self.generic.get("/graphql", params=params, headers=headers)

    async def _post(self, client: httpx.AsyncClient, body: dict[str, Any] | bytes) -> httpx.Response:
        if isinstance(body, bytes):
            return await client.post("/graphql", content=body, headers={"content-type": "application/json"})
        return await client.post("/graphql", json=body)

    async def new_lead(self) -> str:
        payload = {"company": {"name": unique("Company")}, "contact": {"name": unique("Contact")}, "source": "seo"}
        response = await self._post(self.generic, {"query": CREATE, "variables": {"input": payload}})
        lead_id: str = response.json()["data"]["createLead"]["lead"]["id"]
        return lead_id


@pytest_asyncio.fixture
async def views(engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Views]:
    views = Views(engine, monkeypatch)
    yield views
    await views.planned.aclose()
    await views.generic.aclose()


def same(planned: httpx.Response, generic: httpx.Response) -> None:
    """Same status, body and headers (each with a request id of its own)."""
    assert (planned.status_code, planned.content) == (generic.status_code, generic.content)
    assert planned.headers["x-request-id"] != generic.headers["x-request-id"]
    assert without_request_id(planned) == without_request_id(generic)


def without_request_id(response: httpx.Response) -> list[tuple[str, str]]:
    return [(name, value) for name, value in response.headers.multi_items() if name != "x-request-id"]


def activity(lead_id: str, query: str = RECORD_ACTIVITY, **fields: Any) -> dict[str, Any]:
    key = fields.pop("idempotencyKey", uuid.uuid4().hex)
    return {"query": query, "variables": {"input": {"leadId": lead_id, "idempotencyKey": key, **fields}}}


class TestSameAnswers:
    @pytest.mark.parametrize(
        "query", [RECORD_ACTIVITY, ALIASED, FRAGMENTS, MERGED], ids=["full", "aliases", "fragments", "merged"]
    )
    async def test_a_repeated_mutation_is_answered_by_its_plan_as_graphql_core_answers_it(
        self, views: Views, query: str
    ) -> None:
        lead_id = await views.new_lead()
        body = activity(lead_id, query, kind="demo_request")  # an idempotency key: a retry changes nothing
        executions = views.executions
        first = await views._post(views.planned, body)  # validated, then answered by the plan it was compiled into
        assert views.executions == executions
        planned, generic = await views.both(body)
        assert views.executions == executions + 1  # only the generic view's request reached graphql-core
        same(planned, generic)
        same(first, generic)
        assert "errors" not in planned.json()

    async def test_a_planned_request_builds_no_executor(self, views: Views) -> None:
        lead_id = await views.new_lead()
        body = activity(lead_id, FRAGMENTS, kind="email_open", occurredAt="2026-01-05T10:00:00+09:00")
        await views._post(views.planned, body)
        builds = views.count_executor_builds()
        planned, generic = await views.both(body)
        assert builds == [1]  # the generic view's
        same(planned, generic)

    @pytest.mark.parametrize(
        ("event", "fields", "problem"),
        [
            ("QUALIFY", {}, "TransitionRejected"),
            ("RECYCLE", {"reason": "x" * 2001}, "ValidationProblem"),
            ("WARM", {"expectedVersion": 99}, "VersionConflict"),
        ],
    )
    async def test_problems_are_answered_alike(
        self, views: Views, event: str, fields: dict[str, Any], problem: str
    ) -> None:
        lead_id = await views.new_lead()
        body = {"query": TRANSITION, "variables": {"input": {"leadId": lead_id, "event": event, **fields}}}
        await views._post(views.planned, body)
        planned, generic = await views.both(body)
        same(planned, generic)
        assert planned.json()["data"]["transitionLead"]["__typename"] == problem

    async def test_a_lead_that_does_not_exist(self, views: Views) -> None:
        body = {"query": f"mutation($input: ActivityInput!) {{ recordActivity(input: $input) {{ {PROBLEM} }} }}"}
        body["variables"] = {"input": {"leadId": str(uuid.uuid4()), "kind": "email_open"}}
        await views._post(views.planned, body)
        executions = views.executions
        planned, generic = await views.both(body)
        assert views.executions == executions + 1
        same(planned, generic)
        assert planned.json()["data"]["recordActivity"]["__typename"] == "NotFound"

    @pytest.mark.parametrize("name", ["First", "Second", None])
    async def test_each_operation_of_a_document_by_its_name(self, views: Views, name: str | None) -> None:
        lead_id = await views.new_lead()
        body = {**activity(lead_id, TWO_OPERATIONS, kind="email_open"), "operationName": name}
        await views._post(views.planned, body)
        planned, generic = await views.both(body)
        same(planned, generic)


SHAPES = {
    "nested inputs": (
        "mutation($input: CreateLeadInput!) { createLead(input: $input) { ... on LeadPayload { lead { "
        "stage score company { name capital employeeCount department } contact { name isDecisionMaker phone } } } } }",
        lambda lead_id: {
            "company": {"name": "Shapes KK", "capital": "60000000000", "employeeCount": 1200, "department": None},
            "contact": {"name": "Sato", "isDecisionMaker": True},
            "source": " Web_Ad ",
        },
    ),
    "explicit nulls and omitted fields": (
        "mutation($input: UpdateLeadInput!) { updateLead(input: $input) { ... on LeadPayload { lead { "
        "company { name department industry employeeCount } contact { title email } } } } }",
        lambda lead_id: {
            "leadId": lead_id,
            "company": {"department": None, "industry": "steel", "employeeCount": 40},
            "contact": {"title": None},
        },
    ),
    "one input type twice, enums, dates and decimals": (
        "mutation($input: UpdateBantInput!) { updateBant(input: $input) { ... on LeadPayload { lead { "
        "bant { budget { status note } authority { status } need { status } budgetAmount targetDate satisfied } } } "
        "... on ValidationProblem { field message } } }",
        lambda lead_id: {
            "leadId": lead_id,
            "budget": {"status": "CONFIRMED", "note": "Q3"},
            "authority": {"status": "NOT_MET"},
            "budgetAmount": "12000000",
            "targetDate": "2027-03-31",
        },
    ),
    "lists of enums and strings, a default": (
        "query($filter: LeadFilter, $order: LeadOrder) { leads(first: 3, filter: $filter, orderBy: $order) { "
        "edges { node { stage temperature } } } }",
        lambda lead_id: {"stages": ["COLD", "WARM"], "temperatures": [], "sources": ["SEO", "web_ad"], "minScore": 0},
    ),
}


class TestArguments:
    """Arguments reach the resolver as strawberry would convert them, whatever the shape of their input types."""

    @pytest.mark.parametrize("shape", SHAPES)
    async def test_each_shape_of_input_is_converted_alike(self, views: Views, shape: str) -> None:
        query, variables = SHAPES[shape]
        lead_id = await views.new_lead()
        if shape.startswith("lists"):
            body = {"query": query, "variables": {"filter": variables(lead_id), "order": {"field": "CREATED_AT"}}}
        elif shape.startswith("explicit"):  # something to clear first
            filled = {"leadId": lead_id, "company": {"department": "sales"}, "contact": {"title": "CTO"}}
            await views._post(views.generic, {"query": query, "variables": {"input": filled}})
            body = {"query": query, "variables": {"input": variables(lead_id)}}
        else:
            body = {"query": query, "variables": {"input": variables(lead_id)}}
        await views._post(views.planned, body)
        executions = views.executions
        planned, generic = await views.both(body)
        assert views.executions == executions + 1
        same(planned, generic)
        assert "errors" not in planned.json(), planned.json()


ACTIVITY_VARIABLES = "mutation($input: ActivityInput!, $note: String) { recordActivity(input: $input) { __typename } }"
PAGE_VARIABLES = (
    "query($filter: LeadFilter, $order: LeadOrder, $first: Int = 5) "
    "{ leads(first: $first, filter: $filter, orderBy: $order) { totalCount } }"
)
VARIABLES = [  # (operation, variables, whether compiled coercion takes them itself)
    (ACTIVITY_VARIABLES, {"input": {"leadId": "x", "kind": "email_open"}}, True),
    (
        ACTIVITY_VARIABLES,
        {
            "input": {
                "leadId": "7",
                "kind": "survey_answer",
                "properties": {"a": [1, {"b": None}]},
                "occurredAt": "2026-01-05T10:00:00+09:00",
                "idempotencyKey": None,
            },
            "note": "n",
        },
        True,
    ),
    (ACTIVITY_VARIABLES, {"input": {"leadId": 7, "kind": "k", "occurredAt": None, "properties": None}}, True),
    (ACTIVITY_VARIABLES, {"input": {"leadId": "x"}}, False),  # a required field missing
    (ACTIVITY_VARIABLES, {"input": {"leadId": "x", "kind": 5}}, False),  # a String that is not one
    (ACTIVITY_VARIABLES, {"input": {"leadId": "x", "kind": "k", "other": 1}}, False),  # an unknown field
    (ACTIVITY_VARIABLES, {"input": {"leadId": "x", "kind": "k", "occurredAt": "yesterday"}}, False),
    (ACTIVITY_VARIABLES, {"input": None}, False),
    (ACTIVITY_VARIABLES, {"input": [{"leadId": "x", "kind": "k"}]}, False),
    (ACTIVITY_VARIABLES, {}, False),
    (PAGE_VARIABLES, {"first": 3}, True),  # variables omitted: left out
    (PAGE_VARIABLES, {"first": 3, "filter": {"stages": ["COLD", "WARM"], "sources": "seo", "minScore": 0}}, True),
    (PAGE_VARIABLES, {"first": 3, "filter": {"stages": "COLD", "temperatures": [], "ownerTeam": None}}, True),
    (PAGE_VARIABLES, {"first": 3, "order": {"field": "CREATED_AT"}}, True),  # a field's default applied
    (PAGE_VARIABLES, {"first": 3, "filter": {"stages": ["LUKEWARM"]}}, False),  # not an enum value
    (PAGE_VARIABLES, {"first": 2**31}, False),  # beyond Int
    (PAGE_VARIABLES, {}, False),  # a variable's default: graphql-core applies it
]


class TestVariables:
    @pytest.mark.parametrize(("query", "values", "compiled"), VARIABLES)
    def test_variables_are_coerced_as_graphql_core_coerces_them_or_left_to_it(
        self, query: str, values: dict[str, Any], compiled: bool
    ) -> None:
        schema = build_schema(Settings())._schema
        [operation] = parse(query).definitions
        assert isinstance(operation, OperationDefinitionNode)
        coerced = Variables(schema, operation.variable_definitions).coerce(values)
        assert (coerced is not None) is compiled
        if coerced is not None:
            expected = get_variable_values(schema, operation.variable_definitions, values)
            assert isinstance(expected, VariableValues)
            assert described(coerced) == described(expected)


ARGUMENTS = [  # (operation, variables): each argument a variable, or a literal
    ("query($id: ID) { lead(id: $id) { id } }", {"id": "x"}),
    ("query($id: ID) { lead(id: $id) { id } }", {"id": None}),  # null for a non-null argument: graphql-core's error
    ("query($id: ID) { lead(id: $id) { id } }", {}),  # no value for a required argument: its error too
    (PAGE_VARIABLES, {"first": 3}),  # no value for filter and orderBy: their defaults, if any
    (PAGE_VARIABLES, {"first": None, "filter": None, "order": {"field": "SCORE"}}),
    ("query { leads(first: 2, orderBy: {field: SCORE}) { totalCount } }", {}),  # literals: graphql-core's own
]


class TestArgumentValues:
    @pytest.mark.parametrize(("query", "values"), ARGUMENTS)
    def test_arguments_are_looked_up_as_graphql_core_coerces_them(self, query: str, values: dict[str, Any]) -> None:
        schema = build_schema(Settings())._schema
        [operation] = parse(query).definitions
        assert isinstance(operation, OperationDefinitionNode)
        variables = get_variable_values(schema, operation.variable_definitions or (), values)
        assert isinstance(variables, VariableValues)
        [node] = operation.selection_set.selections
        assert isinstance(node, FieldNode)
        assert schema.query_type is not None
        definition = schema.query_type.fields[node.name.value]
        compiled = argument_values(definition, node)
        assert outcome(lambda: compiled(variables)) == outcome(lambda: get_argument_values(definition, node, variables))


def outcome(values: Callable[[], dict[str, Any]]) -> dict[str, Any] | str:
    """The argument values, or the message of graphql-core's error."""
    try:
        return values()
    except GraphQLError as error:
        return error.message


def outcome_of(decode: Callable[[], object]) -> str:
    """What a decoder reads (its repr tells 1 from 1.0), or the error it raises."""
    try:
        return repr(decode())
    except (ValueError, RecursionError) as error:
        return f"{type(error).__name__}: {error}"


def described(values: VariableValues) -> tuple[dict[str, Any], dict[str, Any]]:
    """The variables' sources (their types by name: graphql-core wraps them anew for each request) and values."""
    sources = {
        name: (source.signature.name, str(source.signature.type), source.signature.default, source.value)
        for name, source in values.sources.items()
    }
    return sources, values.coerced


class TestOnlyBeforeOrOnce:
    async def test_variables_that_do_not_coerce_go_to_graphql_core_and_nothing_runs(self, views: Views) -> None:
        lead_id = await views.new_lead()
        await views._post(views.planned, activity(lead_id, kind="email_open"))
        calls = views.count_calls("record_activity")
        executions = views.executions
        for wrong in ({"leadId": lead_id}, {"leadId": lead_id, "kind": 5}, {"leadId": lead_id, "kind": "x", "y": 1}):
            planned, generic = await views.both({"query": RECORD_ACTIVITY, "variables": {"input": wrong}})
            same(planned, generic)
            assert planned.json()["errors"]
        assert views.executions == executions + 6  # both views' requests reached graphql-core's checks
        assert calls == [0]

    async def test_a_first_request_whose_variables_do_not_coerce_is_answered_by_graphql_core(
        self, views: Views
    ) -> None:
        lead_id = await views.new_lead()
        calls = views.count_calls("record_activity")
        executions = views.executions
        planned, generic = await views.both({"query": RECORD_ACTIVITY, "variables": {"input": {"leadId": lead_id}}})
        same(planned, generic)
        assert planned.json()["errors"]
        assert (views.executions, calls) == (executions + 2, [0])
        await views._post(views.planned, activity(lead_id, kind="email_open"))
        assert (views.executions, calls) == (executions + 2, [1])  # the plan learnt from the first answered it

    async def test_an_unexpected_error_is_masked_and_logged_and_the_use_case_runs_once(
        self, views: Views, caplog: pytest.LogCaptureFixture
    ) -> None:
        lead_id = await views.new_lead()
        body = activity(lead_id, kind="email_open")
        await views._post(views.planned, body)

        async def fail(*_args: Any) -> Any:
            raise RuntimeError("the database went away")

        calls = views.count_calls("record_activity", fail)
        with caplog.at_level(logging.ERROR):
            planned, generic = await views.both(body)
        same(planned, generic)
        assert planned.json()["errors"][0]["message"] == "Unexpected error; it was logged."
        assert planned.json()["errors"][0]["path"] == ["recordActivity"]
        assert planned.headers["x-request-id"]
        assert calls == [2]  # once per view
        logged = [r for r in caplog.records if r.getMessage() == "unexpected error at recordActivity"]
        assert len(logged) == 2
        assert all(r.exc_info and "the database went away" in str(r.exc_info[1]) for r in logged)

    async def test_a_result_compiled_completion_refuses_is_replayed_through_graphql_core_not_run_again(
        self, views: Views
    ) -> None:
        lead_id = await views.new_lead()
        body = activity(lead_id, kind="email_open")
        await views._post(views.planned, body)
        real = views.leads.record_activity

        async def without_source(*args: Any) -> Any:  # a null where the schema promises a value
            return dataclasses.replace(await real(*args), source=None)

        calls = views.count_calls("record_activity", without_source)
        replays = views.replays
        planned, generic = await views.both(body)
        same(planned, generic)
        assert planned.json()["errors"][0]["path"] == ["recordActivity", "lead", "source"]
        assert views.replays == replays + 1
        assert calls == [2]

    @pytest.mark.parametrize(
        "unusual",
        [
            {"score": 2**40},  # beyond GraphQL's 32-bit Int: an error
            {"score": True},  # a bool where an Int is due: graphql-core answers 1
            {"source": 7},  # an int where a String is due: graphql-core answers "7"
            {"stage": "MQL"},  # the enum's value, not its member
            {"owner": StrSubclass("someone")},  # a str of another class
        ],
        ids=["int-beyond-32-bits", "bool-as-int", "int-as-string", "enum-value", "str-subclass"],
    )
    async def test_leaves_of_unusual_values_are_serialised_as_graphql_core_serialises_them(
        self, views: Views, unusual: dict[str, Any]
    ) -> None:
        lead_id = await views.new_lead()
        body = activity(lead_id, LEAVES, kind="email_open")
        await views._post(views.planned, body)
        real = views.leads.record_activity

        async def changed(*args: Any) -> Any:
            return dataclasses.replace(await real(*args), **unusual)

        views.count_calls("record_activity", changed)
        planned, generic = await views.both(body)
        same(planned, generic)


class TestRequests:
    @pytest.mark.parametrize(
        "body",
        [
            b'{"query": "mutation($input: ActivityInput!) {',
            b"[]",
            b'{"query": 5}',
            b'{"query": "{ __typename }", "variables": []}',
            b'{"query": "{ __typename }", "extensions": "x"}',
            b'{"query": "{ __typename }", "operationName": 5}',
            b'{"query": "mutation { __typename }", "operationName": "Unknown"}',
            b"\xef\xbb\xbf" + b'{"query": "{ __typename }"}',
            b'{"query": "{ __typename }", "variables": {"n": NaN}}',
        ],
    )
    async def test_unusual_bodies_are_answered_by_strawberry(self, views: Views, body: bytes) -> None:
        planned, generic = await views.both(body)
        same(planned, generic)

    @pytest.mark.parametrize(
        "raw",
        [
            b'{"query": "{ a }", "variables": {"n": [1, -2, 18446744073709551615, true, null, "\\u00e9"]}}',
            b'{"n": 123456789012345678901234567890, "m": -9223372036854775809}',  # orjson: floats
            b'{"n": 1.5, "m": 1e2, "k": -0.0}',
            b'{"n": NaN, "m": Infinity, "k": 1e999}',
            b'\xef\xbb\xbf{"query": "{ a }"}',
            b'{"s": "\\ud800"}',
            b'{"a": 1, "b": 2, "a": 3}',
            b"[" * 1100 + b"]" * 1100,
            b'{"query": "\xe9"}',
            b'{"query": ',
        ],
    )
    def test_a_body_is_read_as_the_standard_library_reads_it(self, raw: bytes) -> None:
        view = LeadcycleGraphQL(build_schema(Settings()), plans=Plans(), subscriber_buffer=16)
        assert outcome_of(lambda: view.decode_json(raw)) == outcome_of(lambda: json.loads(raw))

    async def test_a_planned_document_in_an_unusual_body_is_answered_by_strawberry(self, views: Views) -> None:
        lead_id = await views.new_lead()
        body = activity(lead_id, kind="email_open")
        await views._post(views.planned, body)
        executions = views.executions
        for variables in ('"variables": 5', '"variables": {"input": {"leadId": "x", "kind": "a", "n": 1e999}}'):
            raw = f'{{"query": {RECORD_ACTIVITY!r}, {variables}}}'.replace("'", '"').encode()
            planned, generic = await views.both(raw)
            same(planned, generic)
        assert views.executions >= executions + 2

    async def test_a_document_the_protections_refuse_is_refused_every_time_and_never_planned(
        self, views: Views
    ) -> None:
        many = " ".join(f"a{n}: __typename" for n in range(Settings().max_aliases + 1))
        lead_id = await views.new_lead()
        body = {"query": f"mutation($input: ActivityInput!) {{ recordActivity(input: $input) {{ {many} }} }}"}
        body["variables"] = {"input": {"leadId": lead_id, "kind": "email_open"}}
        calls = views.count_calls("record_activity")
        for _ in range(2):
            planned, generic = await views.both(body)
            same(planned, generic)
            assert planned.json()["errors"]
        assert calls == [0]
        assert views.plans.get(body["query"], None) is None

    async def test_a_mutation_over_get_is_still_refused(self, views: Views) -> None:
        lead_id = await views.new_lead()
        body = activity(lead_id, kind="email_open")
        await views._post(views.planned, body)
        params = {"query": RECORD_ACTIVITY}
        planned = await views.planned.get("/graphql", params=params)
        generic = await views.generic.get("/graphql", params=params)
        same(planned, generic)
        assert planned.status_code == 400


LEAD_WITH_CHILDREN = """
query Lead($id: ID!, $n: Int) {
  lead(id: $id) {
    id stage company { name } contact { name email }
    recent: activities(first: $n) { id kind occurredAt properties points }
    activities { kind }
    timeline { at kind actor summary data }
    ...Versions
  }
}
fragment Versions on Lead { version scoringModelVersion goingCold }
"""
PAGE_WITH_ACTIVITIES = """
query Page($first: Int) {
  leads(first: $first, orderBy: {field: CREATED_AT, direction: DESC}) {
    totalCount
    edges { cursor node { id score availableTransitions { event allowed } activities(first: 5) { id kind points } } }
    pageInfo { endCursor hasNextPage }
  }
}
"""


class TestQueries:
    async def planned_and_generic(self, views: Views, body: dict[str, Any]) -> tuple[httpx.Response, httpx.Response]:
        """The planned view's answer from its plan (learnt on a first request), and the generic view's."""
        await views._post(views.planned, body)
        executions = views.executions
        planned, generic = await views.both(body)
        assert views.executions == executions + 1  # only the generic view's request reached graphql-core
        return planned, generic

    async def test_a_lead_with_its_activities_and_timeline(self, views: Views) -> None:
        lead_id = await views.new_lead()
        for kind in ("email_open", "demo_request", "web_visit"):
            await views._post(views.generic, activity(lead_id, kind=kind, properties={"page": kind, "n": 2**70}))
        body = {"query": LEAD_WITH_CHILDREN, "variables": {"id": lead_id, "n": 2}}
        planned, generic = await self.planned_and_generic(views, body)
        same(planned, generic)
        lead = planned.json()["data"]["lead"]
        assert len(lead["recent"]) == 2
        assert len(lead["timeline"]) >= 4

    async def test_a_lead_that_does_not_exist_is_null(self, views: Views) -> None:
        body = {"query": LEAD_WITH_CHILDREN, "variables": {"id": str(uuid.uuid4())}}
        planned, generic = await self.planned_and_generic(views, body)
        same(planned, generic)
        assert planned.json() == {"data": {"lead": None}}

    async def test_a_page_loads_the_activities_of_all_its_leads_in_one_statement(
        self, views: Views, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        for _ in range(3):
            await views._post(views.generic, activity(await views.new_lead(), kind="webinar_attended"))
        body = {"query": PAGE_WITH_ACTIVITIES, "variables": {"first": 3}}
        await views._post(views.planned, body)
        statements = views.count_statements(monkeypatch)
        planned, generic = await views.both(body)
        same(planned, generic)
        assert statements == [2]  # one per view: the loader batched the page's leads under both
        assert len(planned.json()["data"]["leads"]["edges"]) == 3

    async def test_a_read_that_ends_in_an_error_is_answered_by_graphql_core(self, views: Views) -> None:
        lead_id = await views.new_lead()
        body = {"query": LEAD_WITH_CHILDREN, "variables": {"id": lead_id, "n": 2}}
        await views._post(views.planned, body)
        executions = views.executions
        planned, generic = await views.both({**body, "variables": {"id": lead_id, "n": 500}})
        assert views.executions == executions + 2  # the plan gave up: graphql-core answered both
        same(planned, generic)
        assert planned.json()["errors"][0]["message"] == "first must be between 0 and 200"


class TestContentTypes:
    @pytest.mark.parametrize(
        ("content_type", "planned"),
        [("application/json; charset=utf-8", True), ("Application/JSON", False), ("text/plain", False)],
    )
    async def test_the_content_type_is_read_as_strawberry_reads_it(
        self, views: Views, content_type: str, planned: bool
    ) -> None:
        lead_id = await views.new_lead()
        body = activity(lead_id, kind="email_open")
        await views._post(views.planned, body)
        executions = views.executions
        raw, headers = json.dumps(body).encode(), {"content-type": content_type}
        answers = [
            await client.post("/graphql", content=raw, headers=headers) for client in (views.planned, views.generic)
        ]
        same(*answers)
        assert views.executions == executions + (1 if planned else 0)


PAGE = (
    "pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { __typename " + LEAD + " } }"
)
PAGE_QUERY = "query($n: Int, $after: String) { page: leads(first: $n, after: $after) { " + PAGE + " } }"


class TestGet:
    """A query over GET is answered by the plan of its document, however the document first came."""

    async def test_a_page_with_variables_aliases_and_the_next_page(self, views: Views) -> None:
        for source in ("web_ad", "seo", "webinar"):
            await views._post(views.generic, activity(await views.new_lead(), kind="demo_request", source=source))
        executions = views.executions
        first, generic = await views.both_get({"query": PAGE_QUERY, "variables": '{"n": 2}'})
        same(first, generic)
        after = first.json()["data"]["page"]["pageInfo"]["endCursor"]
        params = {"query": PAGE_QUERY, "variables": json.dumps({"n": 2, "after": after})}
        planned, generic = await views.both_get(params)
        same(planned, generic)
        assert views.executions == executions + 2  # the generic view's two; the planned view's came from its plan
        assert len(planned.json()["data"]["page"]["edges"]) == 2
        assert planned.json()["data"]["page"]["edges"][0] != first.json()["data"]["page"]["edges"][0]

    async def test_a_document_first_posted_is_then_answered_over_get(self, views: Views) -> None:
        lead_id = await views.new_lead()
        body = {"query": LEAD_WITH_CHILDREN, "variables": {"id": lead_id, "n": 2}}
        await views._post(views.planned, body)
        executions = views.executions
        planned, generic = await views.both_get(
            {"query": LEAD_WITH_CHILDREN, "variables": json.dumps(body["variables"])}
        )
        same(planned, generic)
        assert views.executions == executions + 1
        assert planned.json()["data"]["lead"]["id"] == lead_id

    @pytest.mark.parametrize(
        "params",
        [
            {"query": "{ __typename }", "variables": "{"},
            {"query": "{ __typename }", "variables": "[]"},
            {"query": "{ __typename }", "extensions": "5"},
            {"query": "mutation { __typename }"},
            {"variables": "{}"},
        ],
        ids=["bad-json", "variables-list", "extensions-number", "mutation", "no-query"],
    )
    async def test_unusual_parameters_are_answered_by_strawberry(self, views: Views, params: dict[str, str]) -> None:
        await views._post(views.planned, {"query": params.get("query", "{ __typename }")})  # learn its plan
        planned, generic = await views.both_get(params)
        same(planned, generic)
        assert planned.status_code == (400 if "query" in params else 200)  # no query: GraphiQL

    async def test_a_mutation_first_posted_is_still_refused_over_get(self, views: Views) -> None:
        lead_id = await views.new_lead()
        calls = views.count_calls("record_activity")
        await views._post(views.planned, activity(lead_id, kind="email_open"))
        variables = json.dumps({"input": {"leadId": lead_id, "kind": "email_open"}})
        planned, generic = await views.both_get({"query": RECORD_ACTIVITY, "variables": variables})
        same(planned, generic)
        assert planned.status_code == 400
        assert calls == [1]


class TestPages:
    """A page of leads is answered by its plan from the document's first request (a fast path of its own did before)."""

    async def test_a_plain_page_is_answered_by_its_plan_from_the_first_request(self, views: Views) -> None:
        for source in ("web_ad", "seo", "webinar", "referral"):
            await views._post(views.generic, activity(await views.new_lead(), kind="demo_request", source=source))
        executions = views.executions
        body = {"query": "{ leads(first: 4) { " + PAGE + " } }"}
        first = await views._post(views.planned, body)
        planned, generic = await views.both(body)
        assert views.executions == executions + 1
        same(first, generic)
        same(planned, generic)
        assert len(planned.json()["data"]["leads"]["edges"]) == 4

    async def test_a_document_no_plan_answers_goes_to_graphql_core_every_time(self, views: Views) -> None:
        body = {"query": "{ leads(first: 2) { edges { node { id } } } pipeline { total } }"}
        executions = views.executions
        for _ in range(2):
            planned, generic = await views.both(body)
            same(planned, generic)
            assert planned.json()["data"]["pipeline"]["total"] >= 0
        assert views.executions == executions + 4

    @pytest.mark.parametrize("method", ["POST", "GET"])
    async def test_errors_are_graphql_cores(self, views: Views, method: str) -> None:
        query = "{ leads(first: 201) { edges { cursor } } }"
        for _ in range(2):
            if method == "POST":
                planned, generic = await views.both({"query": query})
            else:
                planned, generic = await views.both_get({"query": query})
            same(planned, generic)
            assert planned.json()["errors"][0]["message"] == "first must be between 0 and 200"


class TestTypename:
    @pytest.mark.parametrize("query", ["{ __typename }", "mutation { kind: __typename }"])
    async def test_the_root_typename_alone_is_planned(self, views: Views, query: str) -> None:
        executions = views.executions
        for _ in range(2):
            planned, generic = await views.both({"query": query})
            same(planned, generic)
        assert views.executions == executions + 2  # the generic view's only
        assert planned.json()["data"] in ({"__typename": "Query"}, {"kind": "Mutation"})


class TestHeaders:
    @pytest.mark.parametrize("origin", [None, ORIGIN, "https://elsewhere.example"])
    async def test_a_planned_answer_has_the_headers_of_the_generic_one(self, views: Views, origin: str | None) -> None:
        headers = {"origin": origin} if origin else {}
        body = {"query": "{ __typename }"}
        await views._post(views.planned, body)
        answers = [
            await client.post("/graphql", json=body, headers=headers) for client in (views.planned, views.generic)
        ]
        same(*answers)
        assert "origin" in answers[0].headers["vary"].lower()
        assert (answers[0].headers.get("access-control-allow-origin") == ORIGIN) == (origin == ORIGIN)


@strawberry.input
class Tree:
    label: str
    children: list[Tree] | None = None


@strawberry.type
class Small:
    @strawberry.field
    def node(self, id: relay.GlobalID) -> str:
        return f"{id.type_name} {id.node_id}"

    @strawberry.field
    def tree(self, tree: Tree) -> str:
        return tree.label + "".join(f"({child.label})" for child in tree.children or ())

    @strawberry.field
    def words(self, words: list[str | None], upper: bool = False) -> str:
        return " ".join(str(word) for word in words).upper() if upper else " ".join(map(str, words))

    @strawberry.field
    async def gathered(self, info: strawberry.Info) -> str:
        """Asynchronous work gathered by the executor's helpers (a planned request builds an executor for them)."""
        words = await info._raw_info.async_helpers.gather([_word("a"), _word("b")])  # type: ignore[attr-defined]
        return "".join(words)


async def _word(word: str) -> str:
    return word


class TestConversionLeftToStrawberry:
    """Arguments compiled conversion does not cover are converted by strawberry's own resolver, with the same answer."""

    @pytest.mark.parametrize(
        ("query", "variables", "compiled"),
        [
            ("query($id: ID!) { node(id: $id) }", {"id": relay.to_base64("Lead", "7")}, False),
            ('{ tree(tree: {label: "a", children: [{label: "b"}]}) }', {}, False),
            ("query($t: Tree!) { tree(tree: $t) }", {"t": {"label": "a", "children": [{"label": "b"}]}}, False),
            ("query($w: [String]!) { words(words: $w) }", {"w": ["a", None]}, True),
            ("{ gathered }", {}, True),
        ],
        ids=["global-id", "input-holding-itself", "variable-holding-itself", "list-of-optional-leaves", "gathered"],
    )
    async def test_the_plan_answers_as_graphql_core(
        self, query: str, variables: dict[str, Any], compiled: bool
    ) -> None:
        schema = strawberry.Schema(query=Small)
        plan = Plan.compile(schema, parse(query), None)
        assert covered(schema, plan) is compiled
        planned = await plan.run(None, variables, None)
        assert planned is not None
        generic = await schema.execute(query, variable_values=variables)
        assert (planned.data, planned.errors) == (generic.data, generic.errors)


def covered(schema: strawberry.Schema, plan: Plan) -> bool:
    """Whether compiled conversion covers the plan's root field."""
    node = plan.document.definitions[0].selection_set.selections[0]  # type: ignore[attr-defined]
    try:
        strawberry_call(schema, plan.root_type, plan.root_type.fields[plan.key], [node])
    except Unsupported:
        return False
    return True
