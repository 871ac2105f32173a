"""A deliberately tiny HTTP/1.1 client for load generation: one keep-alive connection per worker.

The load generator shares the machine's two cores with the server, so every microsecond it
spends is taken from the server under test. httpx costs a few hundred microseconds of Python per
request; this client writes pre-encoded request bytes and reads a response framed by
Content-Length in a few microseconds. It understands just what uvicorn sends back to these
requests and fails loudly on anything else (e.g. a chunked body).
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
from collections.abc import Callable
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


# The subscriptions' client: as lean as the HTTP one, for the same reason. With 1,000 subscribers the
# `websockets` library cost ~65 µs of Python per message received (its reader task, frame parsing,
# asyncio queue), so reading one change on 1,000 sockets took as long as the server took to send it.
_TEXT, _CLOSE, _PING, _PONG = 0x1, 0x8, 0x9, 0xA


class WebSocketError(Exception):
    """A handshake or frame this client does not read, or a connection that closed."""


class _WebSocketProtocol(asyncio.Protocol):
    """Unmasked frames from the server, each handed whole to `on_message` (or queued until one is set)."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.on_message: Callable[[bytes], None] | None = None
        self._buffer = bytearray()
        self._upgraded = False
        self._pending: list[bytes] = []
        self._waiter: asyncio.Future[None] | None = None
        self.closed: Exception | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = WebSocketError(f"connection closed: {exc}")
        self._wake()

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        try:
            if not self._upgraded:
                self._read_handshake()
            while self._upgraded and self._read_frame():
                pass
        except WebSocketError as error:
            self.closed = error
            self._wake()

    def _read_handshake(self) -> None:
        end = self._buffer.find(_HEAD_END)
        if end < 0:
            return
        status_line = bytes(self._buffer[: self._buffer.find(b"\r\n")])
        if status_line.split(b" ", 2)[1:2] != [b"101"]:
            raise WebSocketError(f"handshake refused: {status_line!r}")
        del self._buffer[: end + len(_HEAD_END)]
        self._upgraded = True
        self._wake()

    def _read_frame(self) -> bool:
        """Take one whole frame off the buffer, if there is one."""
        buffer = self._buffer
        if len(buffer) < 2:
            return False
        first, length = buffer[0], buffer[1]
        if length & 0x80 or not first & 0x80:
            raise WebSocketError("a masked or fragmented frame from the server")
        start, length = 2, length & 0x7F
        if length >= 126:
            start = 4 if length == 126 else 10
            if len(buffer) < start:
                return False
            length = int.from_bytes(buffer[2:start], "big")
        if len(buffer) < start + length:
            return False
        payload = bytes(buffer[start : start + length])
        del buffer[: start + length]
        self._on_frame(first & 0x0F, payload)
        return True

    def _on_frame(self, opcode: int, payload: bytes) -> None:
        if opcode == _TEXT:
            if self.on_message is not None:
                self.on_message(payload)
            else:
                self._pending.append(payload)
                self._wake()
        elif opcode == _PING:
            self.send(_PONG, payload)
        elif opcode == _CLOSE:
            raise WebSocketError(f"closed by the server: {payload!r}")
        elif opcode != _PONG:
            raise WebSocketError(f"unexpected frame opcode {opcode}")

    def send(self, opcode: int, payload: bytes) -> None:
        """One masked frame, as a client must send (payloads under 64 KiB)."""
        assert self.transport is not None
        mask = os.urandom(4)
        size = bytes([0x80 | len(payload)]) if len(payload) < 126 else b"\xfe" + len(payload).to_bytes(2, "big")
        self.transport.write(bytes([0x80 | opcode]) + size + mask + _masked(payload, mask))

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def wait(self, ready: Callable[[], bool]) -> None:
        while not ready():
            if self.closed is not None:
                raise self.closed
            self._waiter = asyncio.get_running_loop().create_future()
            await self._waiter


def _masked(payload: bytes, mask: bytes) -> bytes:
    repeated = (mask * (len(payload) // 4 + 1))[: len(payload)]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")).to_bytes(len(payload), "big")


class WebSocket:
    """One client WebSocket: text frames out, received text frames to `on_message` once it is set."""

    def __init__(self, protocol: _WebSocketProtocol) -> None:
        self._protocol = protocol

    @classmethod
    async def open(cls, port: int, path: str, subprotocol: str | None = None) -> WebSocket:
        loop = asyncio.get_running_loop()
        _, protocol = await loop.create_connection(_WebSocketProtocol, "127.0.0.1", port)
        key = base64.b64encode(os.urandom(16))
        lines = [
            f"GET {path} HTTP/1.1",
            f"Host: 127.0.0.1:{port}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {key.decode()}",
            "Sec-WebSocket-Version: 13",
            *([f"Sec-WebSocket-Protocol: {subprotocol}"] if subprotocol else []),
        ]
        assert protocol.transport is not None
        protocol.transport.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        await protocol.wait(lambda: protocol._upgraded)
        return cls(protocol)

    def send_text(self, text: str) -> None:
        self._protocol.send(_TEXT, text.encode())

    async def receive(self) -> bytes:
        """The next text message (only before `on_message` is set)."""
        protocol = self._protocol
        await protocol.wait(lambda: bool(protocol._pending))
        return protocol._pending.pop(0)

    def on_message(self, handler: Callable[[bytes], None]) -> None:
        """From now on every text message goes straight to `handler`, in the event loop's reading callback."""
        self._protocol.on_message = handler

    def close(self) -> None:
        if self._protocol.transport is not None:
            self._protocol.transport.close()
