"""The GraphQL view: strawberry's, with compiled plans answered at the ASGI level and pings on graphql-transport-ws."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Mapping
from typing import Any

import orjson
from cross_web import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.types import Message, Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect
from strawberry import Schema
from strawberry.asgi import ASGIWebSocketAdapter, GraphQL
from strawberry.http import process_result
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.http.parse_content_type import parse_content_type
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import BaseGraphQLTransportWSHandler, Operation
from strawberry.subscriptions.protocols.graphql_transport_ws.types import ConnectionInitMessage

from leadcycle.graph.context import ANONYMOUS, Context
from leadcycle.graph.fanout import Fanout, serve_shared
from leadcycle.graph.middleware import header
from leadcycle.graph.plans import Plan, Plans

JsonObject = dict[str, Any]
Planned = tuple[Plan, JsonObject | None, JsonObject | None]  # a plan with the request's variables and extensions


class KeepAliveHandler(BaseGraphQLTransportWSHandler[Context, None]):
    """graphql-transport-ws with pings from the server every `keep_alive_interval` once acknowledged.

    strawberry's `keep_alive` drives only the legacy graphql-ws protocol; this does the same for
    graphql-transport-ws, whose `ping` clients answer with `pong`. A client that hears nothing for
    two intervals can take the connection for dead, reconnect, and resume from its last cursor.
    """

    _pinger: asyncio.Task[None] | None = None

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        await super().handle_connection_init(message)
        interval = self.view.keep_alive_interval
        if self.connection_acknowledged and self.view.keep_alive and interval and self._pinger is None:
            self._pinger = asyncio.create_task(self._ping_every(interval))

    async def _ping_every(self, interval: float) -> None:
        with contextlib.suppress(WebSocketDisconnected, RuntimeError):  # RuntimeError: socket already closed
            while True:
                await asyncio.sleep(interval)
                await self.send_message({"type": "ping"})

    async def run_operation(self, operation: Operation[Context, None]) -> None:
        view = self.view
        assert isinstance(view, LeadcycleGraphQL)
        if not await serve_shared(view.fanout, operation, self.context):
            await super().run_operation(operation)

    async def shutdown(self) -> None:
        if self._pinger is not None:
            self._pinger.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pinger
        await super().shutdown()


class TextWebSocketAdapter(ASGIWebSocketAdapter):
    """Protocol messages as text frames: strawberry sends `encode_json`'s bytes (orjson) as binary ones,
    which browsers' graphql-ws cannot parse (a Blob, not a string)."""

    async def send_json(self, message: Mapping[str, object]) -> None:
        try:
            await self.ws.send_text(self.view.encode_json_string(message))
        except WebSocketDisconnect as exc:
            raise WebSocketDisconnected from exc


class LeadcycleGraphQL(GraphQL[Context, None]):
    graphql_transport_ws_handler_class = KeepAliveHandler
    websocket_adapter_class = TextWebSocketAdapter

    def __init__(self, schema: Schema, *, plans: Plans, subscriber_buffer: int, **options: Any) -> None:
        super().__init__(schema, **options)
        self.plans = plans
        self.fanout = Fanout(schema, subscriber_buffer)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A GET or POST whose document has a compiled plan is answered here (graph/plans.py); all else by strawberry.

        Planned, a request costs no Request, sub-response, Response or strawberry pipeline: the body is read,
        the plan run and its JSON sent. A body read here is handed on unchanged to strawberry if the plan declines.
        """
        if scope["type"] == "http" and scope["method"] in ("GET", "POST"):
            request = Request(scope)
            body = await _read_body(receive) if scope["method"] == "POST" and _is_json(request) else None
            if await self._answer_planned(request, body, send):
                return
            if body is not None:
                receive = _replaying(body, receive)
        await super().__call__(scope, receive, send)

    async def _answer_planned(self, request: Request, body: bytes | None, send: Send) -> bool:
        """Whether the request's plan answered it; False (nothing ran) leaves it to strawberry."""
        planned = self._planned(request, body)
        if planned is None:
            return False
        plan, variables, extensions = planned
        result = await plan.run(self._context(request), variables, extensions)
        if result is None:
            return False
        encoded = self.encode_json(process_result(plan.reported(result)))
        await _send_json(send, encoded if isinstance(encoded, bytes) else encoded.encode())
        return True

    def _planned(self, request: Request, body: bytes | None) -> Planned | None:
        """The plan of the request's one operation with its variables and extensions, if the request is that plain.

        Plain: a JSON body or GET parameters, read as strawberry reads them (through `decode_json`), holding one
        operation whose fields have the types strawberry accepts, and no mutation over GET; anything else
        strawberry answers.
        """
        if self._stream_transport_map and self._get_stream_transport_from_headers(request.headers):
            return None
        data = self._request_data(request, body)
        if data is None:
            return None
        query, name = data.get("query"), data.get("operationName")
        variables, extensions = data.get("variables"), data.get("extensions")
        if not (isinstance(variables, dict | None) and isinstance(extensions, dict | None)):
            return None
        if not (isinstance(query, str) and isinstance(name, str | None)):
            return None
        plan = self.plans.get(query, name)
        if plan is None or (body is None and (plan.mutation or not self.allow_queries_via_get)):
            return None
        return plan, variables, extensions

    def _request_data(self, request: Request, body: bytes | None) -> JsonObject | None:
        """The request's parameters: its JSON body, or for a GET its query string (variables and extensions decoded)."""
        try:
            data = self.decode_json(body) if body is not None else self.parse_query_params(request.query_params)
        except (json.JSONDecodeError, HTTPException):
            return None
        return data if isinstance(data, dict) else None

    def decode_json(self, data: str | bytes) -> object:
        """orjson where it reads exactly what the standard library reads: a document without a float.

        Twice as fast on a request body, the walk for floats included. orjson reads integers beyond 64 bits as
        floats, and refuses what the standard library still reads (NaN, a BOM, lone surrogates, nesting beyond
        1,024): such documents, and any with a float, are read by the standard library, which raises its own errors.
        """
        try:
            decoded = orjson.loads(data)
        except orjson.JSONDecodeError:
            return super().decode_json(data)
        return super().decode_json(data) if _has_float(decoded) else decoded

    def encode_json(self, data: object) -> str | bytes:
        """orjson: a page of leads encodes several times faster than with the standard library.

        The standard library still answers what orjson refuses (integers beyond 64 bits in a JSON scalar).
        """
        try:
            return orjson.dumps(data)
        except TypeError:
            return super().encode_json(data)

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        return self._context(request, response)

    def _context(self, request: Request | WebSocket, response: Any = None) -> Context:
        actor = _text(header(request.scope, b"x-actor")) or ANONYMOUS
        return Context(request=request, response=response, services=request.app.state.services, actor=actor)


def _has_float(decoded: object) -> bool:
    """Whether a float is anywhere in a decoded JSON document (walked without recursion: it may nest deep)."""
    pending = [decoded]
    while pending:
        value = pending.pop()
        if isinstance(value, dict):
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
        elif isinstance(value, float):
            return True
    return False


def _text(value: bytes | None) -> str | None:
    """A header's value as Starlette gives it (latin-1)."""
    return value.decode("latin-1") if value is not None else None


def _is_json(request: Request) -> bool:
    """strawberry's test of a JSON body, without its parse of the header for the usual exact value."""
    content_type = _text(header(request.scope, b"content-type")) or ""
    return content_type == "application/json" or "application/json" in parse_content_type(content_type)[0]


async def _read_body(receive: Receive) -> bytes:
    """The whole request body, as Starlette's `Request.body` reads it."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replaying(body: bytes, receive: Receive) -> Receive:
    """`receive` with the body already read in front: strawberry reads it again as if it were the first time."""
    pending: list[Message] = [{"type": "http.request", "body": body, "more_body": False}]

    async def replay() -> Message:
        return pending.pop() if pending else await receive()

    return replay


async def _send_json(send: Send, body: bytes) -> None:
    """A 200 response with a JSON body: the messages, headers and order strawberry's Response sends."""
    headers = [(b"content-length", str(len(body)).encode()), (b"content-type", b"application/json")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})
