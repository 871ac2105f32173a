"""The `leadcycle` command line as people use it: a real process on a real Postgres.

`serve` runs as a newcomer would run it, with no database configured (so on the embedded
Postgres); `migrate` and `demo` run against databases of their own on the test server.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import signal
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio
from sqlalchemy.engine import make_url
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect
from websockets.typing import Subprotocol

from leadcycle.domain.stages import Stage
from leadcycle.persistence import queries
from leadcycle.persistence.database import create_engine, current_revision, is_ready, plain_url
from tests.api.commands import CLI, STOP_SECONDS, embedded_data_dir, serving, stop

COMMAND_SECONDS = 180
CREATE_LEAD = """mutation($input: CreateLeadInput!) {
  createLead(input: $input) { __typename ... on LeadPayload { lead { id stage company { name } } } } }"""
READ_LEAD = "query($id: ID!) { lead(id: $id) { id stage company { name } contact { name } } }"

NewDatabase = Callable[[], Awaitable[str]]


def graphql(api: str, query: str, **variables: Any) -> dict[str, Any]:
    response = httpx.post(f"{api}/graphql", json={"query": query, "variables": variables}, timeout=10)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    """The embedded Postgres's folder; a Postgres left running there (a failed test) is stopped after."""
    with embedded_data_dir(tmp_path / "data") as data_dir:
        yield data_dir


class TestServe:
    def test_newcomer_serves_on_embedded_postgres_stops_on_a_signal_and_keeps_the_data(
        self, data_dir: Path, tmp_path: Path
    ) -> None:
        first_log = tmp_path / "first.log"
        with serving(["--data-dir", str(data_dir)], first_log) as (api, process):
            assert httpx.get(f"{api}/readyz", timeout=10).status_code == 200
            lead_input = {"company": {"name": "さくら商事株式会社"}, "contact": {"name": "佐藤 健太"}, "source": "seo"}
            created = graphql(api, CREATE_LEAD, input=lead_input)["createLead"]["lead"]
            assert graphql(api, READ_LEAD, id=created["id"])["lead"]["company"]["name"] == "さくら商事株式会社"
            assert stop(process, signal.SIGINT) == 0, first_log.read_text()

        printed = first_log.read_text()
        assert f"{api}/graphql" in printed
        assert str(data_dir.resolve()) in printed
        assert not (data_dir / "postmaster.pid").exists(), "the embedded Postgres is still running"

        with serving(["--data-dir", str(data_dir)], tmp_path / "second.log") as (api, process):
            lead = graphql(api, READ_LEAD, id=created["id"])["lead"]
            assert (lead["company"]["name"], lead["contact"]["name"]) == ("さくら商事株式会社", "佐藤 健太")
            with subscribed(api) as subscription:
                assert stop(process, signal.SIGTERM) == 0
                with pytest.raises(ConnectionClosed) as closed:
                    subscription.recv(timeout=STOP_SECONDS)
            assert closed.value.rcvd is not None
            assert closed.value.rcvd.code == 1012  # "service restart": clients reconnect and resubscribe
        assert not (data_dir / "postmaster.pid").exists()


@contextlib.contextmanager
def subscribed(api: str) -> Iterator[ClientConnection]:
    """A live leadChanged subscription over graphql-transport-ws."""
    with connect(api.replace("http", "ws") + "/graphql", subprotocols=[Subprotocol("graphql-transport-ws")]) as ws:
        ws.send(json.dumps({"type": "connection_init"}))
        assert json.loads(ws.recv(timeout=10))["type"] == "connection_ack"
        query = "subscription { leadChanged { kind } }"
        ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": query}}))
        ws.send(json.dumps({"type": "ping"}))
        assert json.loads(ws.recv(timeout=10))["type"] == "pong"
        yield ws


# -- migrate and demo, each on a database of its own --------------------------------------------------


async def run_cli(*args: str) -> str:
    """Run a leadcycle command to completion; its output (it must succeed)."""
    process = await asyncio.create_subprocess_exec(
        *CLI, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    output = (await asyncio.wait_for(process.communicate(), COMMAND_SECONDS))[0].decode()
    assert process.returncode == 0, output
    return output


@pytest_asyncio.fixture(scope="module")
async def new_database(server_url: str) -> AsyncIterator[NewDatabase]:
    """Creates empty databases on the test server, dropped after this module's tests."""
    admin = await asyncpg.connect(plain_url(server_url))
    names: list[str] = []

    async def create() -> str:
        names.append(f"leadcycle_cli_{uuid.uuid4().hex[:12]}")
        await admin.execute(f'CREATE DATABASE "{names[-1]}"')
        return make_url(plain_url(server_url)).set(database=names[-1]).render_as_string(hide_password=False)

    try:
        yield create
    finally:
        for name in names:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest_asyncio.fixture(scope="module")
async def demo(new_database: NewDatabase) -> tuple[str, str]:
    """A fresh database, migrated then filled by `leadcycle demo --leads 60 --seed 1`; (url, output)."""
    url = await new_database()
    await run_cli("migrate", "--database-url", url)
    return url, await run_cli("demo", "--database-url", url, "--leads", "60", "--seed", "1")


async def pipeline(url: str) -> dict[Stage, int]:
    """Leads per stage, as the `pipeline` query counts them."""
    engine = create_engine(url)
    try:
        return await queries.stage_counts(engine, queries.LeadFilter())
    finally:
        await engine.dispose()


class TestMigrate:
    async def test_brings_a_fresh_database_to_the_newest_revision(self, new_database: NewDatabase) -> None:
        url = await new_database()
        output = await run_cli("migrate", "--database-url", url)

        engine = create_engine(url)
        try:
            assert await is_ready(engine)
            assert f"revision {await current_revision(engine)}" in output
        finally:
            await engine.dispose()


class TestDemo:
    async def test_fills_every_stage_and_prints_the_counts(self, demo: tuple[str, str]) -> None:
        url, output = demo
        counts = await pipeline(url)
        assert sum(counts.values()) == 60
        assert [stage for stage, count in counts.items() if count == 0] == []
        for stage, count in counts.items():
            assert re.search(rf"\b{stage.value}\s+{count}\b", output), output

    async def test_heats_leads_up_automatically_and_records_sales_work(self, demo: tuple[str, str]) -> None:
        connection = await asyncpg.connect(plain_url(demo[0]))
        try:
            kinds = {r["kind"] for r in await connection.fetch("SELECT DISTINCT kind FROM lead_history")}
            system = await connection.fetchval("SELECT count(*) FROM lead_history WHERE actor = 'system'")
            activities = await connection.fetchval("SELECT count(*) FROM activities")
            lost = await connection.fetch("SELECT loss_reason FROM leads WHERE stage = 'LOST'")
            recycled = await connection.fetch("SELECT cycle FROM leads WHERE stage = 'RECYCLED'")
            unowned = await connection.fetchval(
                "SELECT count(*) FROM leads WHERE stage IN ('SQL', 'OPPORTUNITY', 'WON', 'LOST') AND owner IS NULL"
            )
        finally:
            await connection.close()
        assert kinds >= {"created", "activity", "score", "transition", "bant", "feedback", "assignment"}
        assert system > 0, "no lead heated up by itself"
        assert activities > 60
        assert all(r["loss_reason"] for r in lost)
        assert all(r["cycle"] >= 2 for r in recycled)
        assert unowned == 0

    async def test_back_dates_leads_over_months_with_big_and_small_companies(self, demo: tuple[str, str]) -> None:
        connection = await asyncpg.connect(plain_url(demo[0]))
        try:
            facts = await connection.fetchrow(
                """SELECT now() - min(created_at) > interval '90 days' AS months_old,
                          max(updated_at) <= now() AS none_in_future,
                          count(DISTINCT source) AS sources,
                          count(*) FILTER (WHERE company_employee_count >= 1000) AS big,
                          count(*) FILTER (WHERE company_capital >= 50000000000) AS rich,
                          count(*) FILTER (WHERE company_employee_count < 300) AS small
                   FROM leads"""
            )
        finally:
            await connection.close()
        assert facts["months_old"], "created over months"
        assert facts["none_in_future"]
        assert facts["sources"] >= 5
        assert min(facts["big"], facts["rich"], facts["small"]) > 0, dict(facts)

    async def test_same_seed_gives_the_same_pipeline(self, demo: tuple[str, str], new_database: NewDatabase) -> None:
        again = await new_database()
        await run_cli("demo", "--database-url", again, "--leads", "60", "--seed", "1")

        assert await pipeline(again) == await pipeline(demo[0])
        assert await who_is_where(again) == await who_is_where(demo[0])


async def who_is_where(url: str) -> list[tuple[str, str, str]]:
    connection = await asyncpg.connect(plain_url(url))
    try:
        rows = await connection.fetch("SELECT company_name, contact_name, stage FROM leads ORDER BY 1, 2, 3")
    finally:
        await connection.close()
    return [(r["company_name"], r["contact_name"], r["stage"]) for r in rows]
