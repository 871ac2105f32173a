"""A deliberately tiny HTTP/1.1 client for load generation: one keep-alive connection per worker.

The load generator shares the machine's two cores with the server, so every microsecond it
spends is taken from the server under test. httpx costs a few hundred microseconds of Python per
request; this client writes pre-encoded request bytes and reads a response framed by
Content-Length in a few microseconds. It understands just what uvicorn sends back to these
requests and fails loudly on anything else (e.g. a chunked body).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, cast

_HEAD_END = b"\r\n\r\n"


class HttpError(Exception):
    """A response this client cannot read, or a connection that closed under a request."""


def post(port: int, path: str, body: bytes, headers: dict[str, str] | None = None) -> bytes:
    """The bytes of one POST request with a JSON body, ready to send again and again."""
    lines = [
        f"POST {path} HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
        *(f"{name}: {value}" for name, value in (headers or {}).items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def get(port: int, path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()


def graphql(port: int, query: str, variables: dict[str, Any] | None = None) -> bytes:
    """A GraphQL POST to /graphql."""
    payload: dict[str, Any] = {"query": query}
    if variables:
        payload["variables"] = variables
    return post(port, "/graphql", json.dumps(payload, separators=(",", ":")).encode())


class _Protocol(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self._status = 0
        self._body_start = -1
        self._length = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's are not asyncio.Transport subclasses

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(HttpError(f"connection closed: {exc}"))

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        try:
            self._complete()
        except HttpError as error:
            self._fail(error)

    def _fail(self, error: Exception) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(error)

    def _complete(self) -> None:
        if self._body_start < 0:
            end = self._buffer.find(_HEAD_END)
            if end < 0:
                return
            self._read_head(bytes(self._buffer[:end]))
            self._body_start = end + len(_HEAD_END)
        end = self._body_start + self._length
        if len(self._buffer) < end or self._waiter is None:
            return
        body = bytes(self._buffer[self._body_start : end])
        del self._buffer[:end]
        self._body_start = -1
        if not self._waiter.done():
            self._waiter.set_result((self._status, body))

    def _read_head(self, head: bytes) -> None:
        status_line, *header_lines = head.split(b"\r\n")
        self._status = int(status_line.split(b" ", 2)[1])
        self._length = -1
        for line in header_lines:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                self._length = int(value)
            elif name == b"transfer-encoding":
                raise HttpError(f"unsupported transfer-encoding {value.strip().decode()}")
        if self._length < 0:
            raise HttpError("response without Content-Length")

    async def request(self, data: bytes) -> tuple[int, bytes]:
        assert self.transport is not None
        self._waiter = asyncio.get_running_loop().create_future()
        self.transport.write(data)
        return await self._waiter


class Connection:
    """One keep-alive connection; `request` sends pre-encoded bytes and returns (status, body)."""

    def __init__(self, protocol: _Protocol) -> None:
        self._protocol = protocol

    @classmethod
    async def open(cls, port: int, host: str = "127.0.0.1") -> Connection:
        _, protocol = await asyncio.get_running_loop().create_connection(_Protocol, host, port)
        return cls(protocol)

    async def request(self, data: bytes) -> tuple[int, bytes]:
        return await self._protocol.request(data)

    def close(self) -> None:
        if self._protocol.transport is not None:
            self._protocol.transport.close()
