"""A graphql-transport-ws client for the real-time tests: several operations on one connection."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

WAIT = 10.0  # seconds: the bound of every wait on the socket
TRANSPORT_WS = Subprotocol("graphql-transport-ws")


def ws_url(api_url: str) -> str:
    return "ws" + api_url.removeprefix("http") + "/graphql"


class Live:
    """One acknowledged connection; answers the server's pings as client libraries do."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.pings = 0
        self._operations = 0

    async def send(self, message: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(message))

    async def message(self, wait: float = WAIT) -> dict[str, Any]:
        """The next message other than a ping, within `wait` seconds."""
        async with asyncio.timeout(wait):
            while True:
                message: dict[str, Any] = json.loads(await self.ws.recv())
                if message["type"] != "ping":
                    return message
                self.pings += 1
                await self.send({"type": "pong"})

    async def subscribe(self, query: str, **variables: Any) -> str:
        """Start an operation; once this returns the server has registered it (see test_subscriptions.subscribe)."""
        self._operations += 1
        operation = str(self._operations)
        await self.send({"id": operation, "type": "subscribe", "payload": {"query": query, "variables": variables}})
        await self.send({"type": "ping"})
        assert await self.message() == {"type": "pong"}
        return operation

    async def data(self, field: str) -> dict[str, Any]:
        """The next result, which must be data, of the one operation on this connection."""
        message = await self.message()
        assert message["type"] == "next", message
        assert "errors" not in message["payload"], message["payload"]["errors"]
        data: dict[str, Any] = message["payload"]["data"][field]
        return data

    async def error(self) -> dict[str, Any]:
        """The error that ends the operation: a result with errors, then `complete`."""
        message = await self.message()
        assert message["type"] == "next", message
        (error,) = message["payload"]["errors"]
        assert message["payload"]["data"] is None
        assert (await self.message())["type"] == "complete"
        return dict(error)


@contextlib.asynccontextmanager
async def live(api_url: str, **options: Any) -> AsyncIterator[Live]:
    """A connection to the API, initialised and acknowledged."""
    async with connect(ws_url(api_url), subprotocols=[TRANSPORT_WS], open_timeout=WAIT, **options) as ws:
        connection = Live(ws)
        await connection.send({"type": "connection_init", "payload": {}})
        assert (await connection.message())["type"] == "connection_ack"
        yield connection


@contextlib.asynccontextmanager
async def subscribed(api_url: str, query: str, **variables: Any) -> AsyncIterator[Live]:
    """A connection with one live operation."""
    async with live(api_url) as connection:
        await connection.subscribe(query, **variables)
        yield connection
