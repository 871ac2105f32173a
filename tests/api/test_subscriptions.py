"""leadChanged over a real WebSocket (graphql-transport-ws), while the lead is driven over HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from leadcycle.persistence.database import plain_url
from tests.api.live import live, subscribed
from tests.api.operations import ASSIGN_LEAD, UPDATE_BANT, UPDATE_LEAD, create_lead, record, transition, unique
from tests.conftest import GraphQLClient

WAIT = 10.0  # seconds: the bound of every wait on the socket
TRANSPORT_WS = Subprotocol("graphql-transport-ws")
LEAD_CHANGED = """
subscription($leadId: ID, $stages: [LeadStage!]) {
  leadChanged(leadId: $leadId, stages: $stages) {
    kind fromStage toStage at
    lead { id version stage temperature score bant { satisfied } availableTransitions { event allowed } }
  }
}"""
WITH_ACTIVITIES = """
subscription($leadId: ID) { leadChanged(leadId: $leadId) { lead { version activities(first: 10) { kind } } } }"""
UNKNOWN_FIELD = "subscription { leadChanged { noSuchField } }"
LEAD_CHANGED_AFTER = """
subscription($leadId: ID, $after: String) { leadChanged(leadId: $leadId, after: $after) { kind } }"""
CONFIRMED = {"status": "CONFIRMED"}
ALL_CONFIRMED = {c: CONFIRMED for c in ("budget", "authority", "need", "timeframe")}


def ws_url(api_url: str) -> str:
    return "ws" + api_url.removeprefix("http") + "/graphql"


async def send(ws: ClientConnection, message: dict[str, Any]) -> None:
    await ws.send(json.dumps(message))


async def receive(ws: ClientConnection) -> dict[str, Any]:
    """The next protocol message other than a keep-alive ping, within WAIT seconds."""
    async with asyncio.timeout(WAIT):
        while True:
            message: dict[str, Any] = json.loads(await ws.recv())
            if message["type"] != "ping":
                return message
            await send(ws, {"type": "pong"})


class Subscriber:
    """One leadChanged subscription on its own connection, read as a client library would."""

    def __init__(self, ws: ClientConnection) -> None:
        self._ws = ws

    async def next_change(self) -> dict[str, Any]:
        message = await receive(self._ws)
        assert (message["type"], message.get("id")) == ("next", "1"), message
        assert "errors" not in message["payload"], message["payload"]["errors"]
        change: dict[str, Any] = message["payload"]["data"]["leadChanged"]
        return change

    async def changes_of(self, lead_ids: set[str], count: int) -> list[dict[str, Any]]:
        """The next `count` changes of these leads, skipping other leads' changes."""
        changes: list[dict[str, Any]] = []
        while len(changes) < count:
            change = await self.next_change()
            if change["lead"]["id"] in lead_ids:
                changes.append(change)
        return changes


@contextlib.asynccontextmanager
async def subscribe(api_url: str, **variables: Any) -> AsyncIterator[Subscriber]:
    """leadChanged with these arguments, live once this returns.

    The server starts the operation's task when it reads `subscribe` and the resolver registers
    with the change feed before it first waits, without any I/O in between; the answer to a ping
    sent after it therefore comes back to a subscription that is already registered.
    """
    async with connect(ws_url(api_url), subprotocols=[TRANSPORT_WS], open_timeout=WAIT) as ws:
        assert ws.subprotocol == TRANSPORT_WS
        await send(ws, {"type": "connection_init", "payload": {}})
        assert (await receive(ws))["type"] == "connection_ack"
        await send(ws, {"id": "1", "type": "subscribe", "payload": {"query": LEAD_CHANGED, "variables": variables}})
        await send(ws, {"type": "ping"})
        assert await receive(ws) == {"type": "pong"}
        yield Subscriber(ws)


@contextlib.asynccontextmanager
async def feed_held_back(database_url: str) -> AsyncIterator[None]:
    """An older transaction stays open meanwhile: changes committed inside wait, then arrive together.

    The server then turns them into messages only after the lead has moved on, so a lead read
    live instead of from each change's snapshot would show.
    """
    connection = await asyncpg.connect(plain_url(database_url))
    try:
        async with connection.transaction():
            await connection.execute("SELECT pg_current_xact_id()")  # takes a transaction id
            yield
    finally:
        await connection.close()


def summary(change: dict[str, Any]) -> tuple[str, str | None, str | None, int]:
    return change["kind"], change["fromStage"], change["toStage"], change["lead"]["version"]


def as_of(change: dict[str, Any]) -> tuple[int, str, str, int]:
    lead = change["lead"]
    return lead["version"], lead["stage"], lead["temperature"], lead["score"]


def allowed(change: dict[str, Any], event: str) -> bool:
    return next(t["allowed"] for t in change["lead"]["availableTransitions"] if t["event"] == event)


async def result(gql: GraphQLClient, mutation: str, field: str, **input: Any) -> dict[str, Any]:
    data: dict[str, Any] = (await gql.data(mutation, input=input))[field]
    return data


async def published_lead(gql: GraphQLClient, api_url: str) -> str:
    """A new lead whose creation has been pushed already, so it cannot be a later subscriber's first change.

    Its creation may otherwise still be on its way: an open transaction anywhere on the server
    (another test run, a benchmark) holds delivery back.
    """
    async with subscribe(api_url) as everything:
        lead_id: str = (await create_lead(gql))["id"]
        await everything.changes_of({lead_id}, 1)
    return lead_id


async def drive_to_won(gql: GraphQLClient, lead_id: str) -> None:
    """Activities until WARM then MQL, a refused QUALIFY, BANT confirmed, QUALIFY to WIN, an assignment."""
    await asyncio.gather(*(record(gql, lead_id, "webinar_attended") for _ in range(4)))
    for _ in range(2):
        await record(gql, lead_id, "pricing_page_view")
    assert (await transition(gql, lead_id, "QUALIFY"))["__typename"] == "TransitionRejected"
    await result(gql, UPDATE_BANT, "updateBant", leadId=lead_id, **ALL_CONFIRMED)
    for event in ("QUALIFY", "OPEN_OPPORTUNITY", "WIN"):
        assert (await transition(gql, lead_id, event))["__typename"] == "LeadPayload"
    await result(gql, ASSIGN_LEAD, "assignLead", leadId=lead_id, ownerTeam="Enterprise")


class TestLifeOfALeadAsPushed:
    async def test_every_change_of_a_won_lead_arrives_once_in_order_with_the_lead_as_of_that_change(
        self, gql: GraphQLClient, api_url: str, database_url: str
    ) -> None:
        async with subscribe(api_url) as everything:
            lead_id = (await create_lead(gql))["id"]
            # Subscribe to the lead once its creation has been published, or it may be the first change.
            created = await everything.changes_of({lead_id}, 1)
            async with subscribe(api_url, leadId=lead_id) as this_lead:
                async with feed_held_back(database_url):
                    await drive_to_won(gql, lead_id)
                pushed = await this_lead.changes_of({lead_id}, 11)
            seen_by_all = created + await everything.changes_of({lead_id}, 11)

        assert [summary(c) for c in pushed] == [
            ("activity", None, None, 2),
            ("activity", "COLD", "WARM", 3),
            ("activity", None, None, 4),
            ("activity", None, None, 5),
            ("activity", None, None, 6),
            ("activity", "WARM", "MQL", 7),
            ("bant", None, None, 8),
            ("transition", "MQL", "SQL", 9),
            ("transition", "SQL", "OPPORTUNITY", 10),
            ("transition", "OPPORTUNITY", "WON", 11),
            ("assignment", None, None, 12),
        ]
        assert summary(seen_by_all[0]) == ("created", None, "COLD", 1)
        assert [summary(c) for c in seen_by_all[1:]] == [summary(c) for c in pushed]
        assert [as_of(c) for c in seen_by_all[:8]] == [
            (1, "COLD", "COLD", 0),
            (2, "COLD", "COLD", 10),
            (3, "WARM", "WARM", 20),
            (4, "WARM", "WARM", 30),
            (5, "WARM", "WARM", 40),
            (6, "WARM", "WARM", 45),
            (7, "MQL", "HOT", 50),
            (8, "MQL", "HOT", 50),
        ]
        before_bant, after_bant = pushed[5], pushed[6]
        assert (before_bant["lead"]["bant"]["satisfied"], allowed(before_bant, "QUALIFY")) == (False, False)
        assert (after_bant["lead"]["bant"]["satisfied"], allowed(after_bant, "QUALIFY")) == (True, True)
        assert [c["lead"]["stage"] for c in pushed[-4:]] == ["SQL", "OPPORTUNITY", "WON", "WON"]


class TestStagesFilter:
    async def test_only_changes_that_leave_the_lead_in_a_wanted_stage_are_pushed(
        self, gql: GraphQLClient, api_url: str
    ) -> None:
        lead_id = (await create_lead(gql))["id"]
        async with subscribe(api_url, leadId=lead_id, stages=["MQL", "WON"]) as hot_or_won:
            await record(gql, lead_id, "email_open")  # still COLD
            await record(gql, lead_id, "demo_request")  # COLD -> MQL
            await record(gql, lead_id, "email_open")  # stays MQL
            await result(gql, UPDATE_BANT, "updateBant", leadId=lead_id, **ALL_CONFIRMED)
            for event in ("QUALIFY", "OPEN_OPPORTUNITY", "WIN"):
                await transition(gql, lead_id, event)
            await result(gql, ASSIGN_LEAD, "assignLead", leadId=lead_id, owner=unique("Owner"))

            pushed = [await hot_or_won.next_change() for _ in range(5)]

        assert [summary(c) for c in pushed] == [
            ("activity", "COLD", "MQL", 3),
            ("activity", None, None, 4),
            ("bant", None, None, 5),
            ("transition", "OPPORTUNITY", "WON", 8),
            ("assignment", None, None, 9),
        ]

    async def test_stages_filter_without_a_lead_sees_other_leads_entering_the_stage(
        self, gql: GraphQLClient, api_url: str
    ) -> None:
        async with subscribe(api_url, stages=["MQL"]) as mql:
            cold, hot = (await create_lead(gql))["id"], (await create_lead(gql))["id"]
            await record(gql, cold, "email_open")
            await record(gql, hot, "trial_signup")

            (pushed,) = await mql.changes_of({cold, hot}, 1)

        assert (pushed["lead"]["id"], *summary(pushed)) == (hot, "activity", "COLD", "MQL", 2)


class TestNothingPublishedWithoutAChange:
    async def test_refused_invalid_stale_and_idle_mutations_push_nothing(
        self, gql: GraphQLClient, api_url: str
    ) -> None:
        lead_id = await published_lead(gql, api_url)
        async with subscribe(api_url, leadId=lead_id) as changes:
            outcomes = [
                await transition(gql, lead_id, "QUALIFY"),
                await result(gql, UPDATE_LEAD, "updateLead", leadId=lead_id, contact={"email": "not an email"}),
                await result(
                    gql, UPDATE_LEAD, "updateLead", leadId=lead_id, company={"industry": "X"}, expectedVersion=7
                ),
                await record(gql, lead_id, "Not A Slug"),
                await transition(gql, lead_id, "RECYCLE"),
            ]
            unchanged = await result(gql, ASSIGN_LEAD, "assignLead", leadId=lead_id, ownerTeam=None)
            await result(gql, ASSIGN_LEAD, "assignLead", leadId=lead_id, ownerTeam="Inside Sales")

            first = await changes.next_change()

        assert [o["__typename"] for o in outcomes] == [
            "TransitionRejected",
            "ValidationProblem",
            "VersionConflict",
            "ValidationProblem",
            "TransitionRejected",
        ]
        assert unchanged["lead"]["version"] == 1
        assert summary(first) == ("assignment", None, None, 2)


class TestSubprotocol:
    @pytest.mark.parametrize("offered", [["graphql-ws"], []], ids=["legacy-graphql-ws", "none"])
    async def test_connection_without_graphql_transport_ws_is_refused(self, api_url: str, offered: list[str]) -> None:
        subprotocols = [Subprotocol(p) for p in offered] or None
        async with connect(ws_url(api_url), subprotocols=subprotocols, open_timeout=WAIT) as ws:
            assert ws.subprotocol is None
            with contextlib.suppress(ConnectionClosed):
                await send(ws, {"type": "connection_init", "payload": {}})
                await send(ws, {"id": "1", "type": "start", "payload": {"query": LEAD_CHANGED}})
            with pytest.raises(ConnectionClosed) as closed:
                await receive(ws)

        assert closed.value.rcvd is not None
        assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (4406, "Subprotocol not acceptable")


class TestReadLive:
    async def test_activities_are_read_anew_for_every_change(self, gql: GraphQLClient, api_url: str) -> None:
        lead_id = (await create_lead(gql))["id"]
        kinds = ["web_visit", "email_open", "webinar_attended"]
        seen = []
        async with subscribed(api_url, WITH_ACTIVITIES, leadId=lead_id) as subscriber:
            for version, kind in enumerate(kinds, start=2):
                await record(gql, lead_id, kind)
                change = await subscriber.data("leadChanged")
                while change["lead"]["version"] < version:  # its creation may come first
                    change = await subscriber.data("leadChanged")
                seen.append([activity["kind"] for activity in change["lead"]["activities"]])

        assert seen == [kinds[:1], kinds[1::-1], kinds[::-1]]


class TestRefusedDocuments:
    async def test_a_subscription_the_schema_refuses_gets_an_error_message(self, api_url: str) -> None:
        async with live(api_url) as connection:
            await connection.send({"id": "1", "type": "subscribe", "payload": {"query": UNKNOWN_FIELD}})
            refused = await connection.message()
            await connection.subscribe(WITH_ACTIVITIES)  # the connection carries on

        assert (refused["type"], refused["id"]) == ("error", "1")
        assert "noSuchField" in refused["payload"][0]["message"]

    async def test_a_syntax_error_closes_the_connection_with_4400(self, api_url: str) -> None:
        async with live(api_url) as connection:
            await connection.send(
                {"id": "1", "type": "subscribe", "payload": {"query": "subscription { leadChanged {"}}
            )
            with pytest.raises(ConnectionClosed) as closed:
                await connection.message()

        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 4400
        assert "Syntax Error" in closed.value.rcvd.reason


class TestTextFrames:
    async def test_every_protocol_message_is_a_text_frame(self, gql: GraphQLClient, api_url: str) -> None:
        """Browsers' graphql-ws parses only text frames: a binary one arrives as a Blob and closes the socket."""
        lead_id = (await create_lead(gql))["id"]
        async with connect(ws_url(api_url), subprotocols=[TRANSPORT_WS], open_timeout=WAIT) as ws:
            frames = []

            async def exchange(message: dict[str, Any], answers: int) -> None:
                await send(ws, message)
                for _ in range(answers):
                    async with asyncio.timeout(WAIT):
                        frames.append(await ws.recv())

            await exchange({"type": "connection_init", "payload": {}}, 1)
            await exchange({"type": "ping"}, 1)
            await exchange({"id": "1", "type": "subscribe", "payload": {"query": UNKNOWN_FIELD}}, 1)
            after_bad_cursor = {"query": LEAD_CHANGED_AFTER, "variables": {"leadId": lead_id, "after": "nonsense"}}
            await exchange({"id": "2", "type": "subscribe", "payload": after_bad_cursor}, 2)

        types = [json.loads(frame)["type"] for frame in frames]
        assert types == ["connection_ack", "pong", "error", "next", "complete"]
        assert [type(frame) for frame in frames] == [str] * 5
