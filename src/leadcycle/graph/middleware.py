"""ASGI middleware: a request id on every response and log line, a request body limit, and CORS.

Every request passes all three, so each does its usual case with as little as it can (bench/RESULTS.md).
"""

from __future__ import annotations

import contextvars
import json
import logging
import os

from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


def header(scope: Scope, name: bytes) -> bytes | None:
    """The first value of the header `name` (lower case), read from the scope without building Starlette's Headers."""
    return next((value for key, value in scope["headers"] if key == name), None)


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to log records, for a format like "%(request_id)s %(message)s"."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


class RequestId:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        token = request_id.set(os.urandom(8).hex())  # 16 hex digits, as uuid4().hex[:16] gave at a tenth the cost

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", []).append((b"x-request-id", request_id.get().encode()))
            await send(message)

        try:  # a WebSocket has no response headers: its many sends go straight through
            await self.app(scope, receive, send_with_id if scope["type"] == "http" else send)
        finally:
            request_id.reset(token)


class BodyTooLarge(Exception):
    pass


class BodyLimit:
    """Refuses request bodies over `max_bytes` with 413, whether announced or streamed."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(send)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                raise BodyTooLarge
            return message

        try:
            await self.app(scope, counting_receive, send)
        except BodyTooLarge:
            await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        body = json.dumps({"errors": [{"message": f"Request body larger than {self.max_bytes} bytes"}]}).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})


class CORS(CORSMiddleware):
    """Starlette's CORS; a request without an Origin header (not a browser's cross-origin call) skips its machinery.

    Such a request gets from Starlette's only `Vary: Origin` on its response, and gets it here too.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or header(scope, b"origin") is not None:
            await super().__call__(scope, receive, send)
            return

        async def send_varying(message: Message) -> None:
            if message["type"] == "http.response.start":
                _vary_on_origin(message.setdefault("headers", []))
            await send(message)

        await self.app(scope, receive, send_varying)


def _vary_on_origin(headers: list[tuple[bytes, bytes]]) -> None:
    """Starlette's `headers["Vary"] = ", ".join([*headers.getlist("Vary"), "Origin"])` on raw headers."""
    at = [index for index, (name, _) in enumerate(headers) if name == b"vary"]
    if not at:  # the usual case: nothing to merge with
        headers.append((b"vary", b"Origin"))
        return
    value = b", ".join([*(headers[index][1] for index in at), b"Origin"])
    for index in reversed(at[1:]):
        del headers[index]
    headers[at[0]] = (b"vary", value)
