"""Webhooks across real `leadcycle serve` processes: killed mid-delivery, and two serving at once.

Each test has a database of its own, servers started as subprocesses with DATABASE_URL, and a
receiver in the test. At-least-once: after a SIGKILL every delivery still arrives (duplicates
allowed); with two healthy processes each arrives once.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx

from tests.api.commands import START_SECONDS, STOP_SECONDS, free_port
from tests.servers import fresh_database
from tests.webhook_receiver import Receiver, receiving

SECRET = "process-test-secret-0123"
WEBHOOK_SETTINGS = {
    "LEADCYCLE_WEBHOOK_TIMEOUT_SECONDS": "1",  # a killed process's claims run out after 1 + 5 s
    "LEADCYCLE_WEBHOOK_POLL_SECONDS": "0.1",
    "LEADCYCLE_WEBHOOK_BACKOFF_BASE_SECONDS": "0.1",
    "LEADCYCLE_WEBHOOK_CONCURRENCY": "4",
    "LEADCYCLE_WEBHOOK_ALLOW_PRIVATE_ADDRESSES": "true",  # the receiver listens on 127.0.0.1
}
REGISTER = """mutation($url: String!, $secret: String!) { registerWebhookEndpoint(input: {url: $url, secret: $secret}) {
  ... on WebhookEndpointPayload { endpoint { id } } } }"""
CREATE_LEAD = """mutation($name: String!) { createLead(input: {
  company: { name: $name }, contact: { name: "C" }, source: "seo" }) { ... on LeadPayload { lead { id } } } }"""
ALL_DELIVERED = 60.0


class Server:
    """A `leadcycle serve` subprocess on DATABASE_URL, and an HTTP client for its API."""

    def __init__(self, process: asyncio.subprocess.Process, api: str) -> None:
        self.process, self.api = process, api

    async def graphql(self, query: str, **variables: str) -> dict[str, object]:
        async with httpx.AsyncClient(base_url=self.api, timeout=10) as http:
            response = await http.post("/graphql", json={"query": query, "variables": variables})
        body = response.json()
        assert "errors" not in body, body
        data: dict[str, object] = body["data"]
        return data


@contextlib.asynccontextmanager
async def serve(database_url: str, log: Path) -> AsyncIterator[Server]:
    """A healthy server; interrupted on the way out if it is still running."""
    port = free_port()
    environment = {**os.environ, "DATABASE_URL": database_url, **WEBHOOK_SETTINGS}
    command = [sys.executable, "-m", "leadcycle.graph.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
    with log.open("wb") as output:
        process = await asyncio.create_subprocess_exec(*command, stdout=output, stderr=output, env=environment)
    server = Server(process, f"http://127.0.0.1:{port}")
    try:
        await _healthy(server, log)
        yield server
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGINT)
            async with asyncio.timeout(STOP_SECONDS):
                await process.wait()


def _output(log: Path) -> str:
    """The server's output so far, for a failure message (small: read at once)."""
    return log.read_text()


async def _healthy(server: Server, log: Path) -> None:
    async with asyncio.timeout(START_SECONDS), httpx.AsyncClient(timeout=1) as http:
        while True:
            assert server.process.returncode is None, f"serve exited early:\n{_output(log)}"
            with contextlib.suppress(httpx.TransportError):
                if (await http.get(f"{server.api}/healthz")).status_code == 200:
                    return
            await asyncio.sleep(0.2)


async def create_leads(servers: list[Server], count: int) -> None:
    for n in range(count):
        await servers[n % len(servers)].graphql(CREATE_LEAD, name=f"Proc {uuid.uuid4().hex[:8]}")


async def until_all_delivered(sql: asyncpg.Connection, expected: int) -> list[str]:
    """The delivery ids, once `expected` deliveries exist and all are DELIVERED."""
    async with asyncio.timeout(ALL_DELIVERED):
        while True:
            rows = await sql.fetch("SELECT id, status FROM webhook_deliveries")
            if len(rows) == expected and all(row["status"] == "DELIVERED" for row in rows):
                return [str(row["id"]) for row in rows]
            await asyncio.sleep(0.2)


async def test_killing_a_server_mid_delivery_loses_no_delivery(server_url: str, tmp_path: Path) -> None:
    leads = 80
    async with (
        fresh_database(server_url) as url,
        receiving(Receiver(delay=0.05)) as receiver,
    ):
        sql = await asyncpg.connect(url)
        try:
            async with serve(url, tmp_path / "killed.log") as doomed:
                await doomed.graphql(REGISTER, url=receiver.url, secret=SECRET)
                await create_leads([doomed], leads)
                await receiver.wait_until(lambda posts: len(posts) >= 10)
                doomed.process.kill()
                await doomed.process.wait()
            delivered = await sql.fetchval("SELECT count(*) FROM webhook_deliveries WHERE status = 'DELIVERED'")
            changes = await sql.fetchval("SELECT count(*) FROM lead_changes")

            async with serve(url, tmp_path / "after.log"):
                delivery_ids = await until_all_delivered(sql, expected=changes)
        finally:
            await sql.close()

    assert doomed.process.returncode == -signal.SIGKILL
    assert delivered < changes, "the kill came after every delivery: the test proved nothing"
    assert changes == leads
    assert set(receiver.ids()) == set(delivery_ids)
    assert all(post.signed_with(SECRET) for post in receiver.received)


async def test_two_servers_deliver_each_change_once_per_endpoint(server_url: str, tmp_path: Path) -> None:
    leads = 40
    async with (
        fresh_database(server_url) as url,
        receiving(Receiver()) as first_receiver,
        receiving(Receiver()) as second_receiver,
        serve(url, tmp_path / "one.log") as one,
        serve(url, tmp_path / "two.log") as two,
    ):
        await one.graphql(REGISTER, url=first_receiver.url, secret=SECRET)
        await two.graphql(REGISTER, url=second_receiver.url, secret=SECRET)
        await create_leads([one, two], leads)
        sql = await asyncpg.connect(url)
        try:
            delivery_ids = await until_all_delivered(sql, expected=2 * leads)
        finally:
            await sql.close()

    for receiver in (first_receiver, second_receiver):
        assert len(receiver.ids()) == len(set(receiver.ids())) == leads
    assert set(first_receiver.ids()) | set(second_receiver.ids()) == set(delivery_ids)
