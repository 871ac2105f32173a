"""A local webhook receiver for the tests: a real HTTP server on a free port that records every post."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from leadcycle.domain.webhooks import DELIVERY_HEADER, SIGNATURE_HEADER, sign
from tests.servers import uvicorn_serving

WAIT = 30.0


@dataclass(frozen=True)
class Received:
    """One post as it arrived: its headers of interest and the raw body."""

    delivery_id: str
    signature: str
    body: bytes

    @property
    def document(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed

    def signed_with(self, secret: str) -> bool:
        return self.signature == sign(secret, self.body)


class Receiver:
    """Answers each post with `answer(post)` (an HTTP status), after `delay` seconds."""

    def __init__(self, answer: Callable[[Received], int] = lambda _post: 200, delay: float = 0.0) -> None:
        self.answer = answer
        self.delay = delay
        self.received: list[Received] = []
        self.url = ""
        self._arrived = asyncio.Condition()

    async def handle(self, request: Request) -> Response:
        post = Received(request.headers[DELIVERY_HEADER], request.headers[SIGNATURE_HEADER], await request.body())
        await asyncio.sleep(self.delay)
        status = self.answer(post)
        async with self._arrived:
            self.received.append(post)
            self._arrived.notify_all()
        return Response(b"" if status < 400 else b"refused", status_code=status)

    def ids(self) -> list[str]:
        return [post.delivery_id for post in self.received]

    async def wait_until(self, done: Callable[[list[Received]], bool], wait: float = WAIT) -> None:
        """Until `done(received)` holds; fails after `wait` seconds."""
        async with asyncio.timeout(wait), self._arrived:
            await self._arrived.wait_for(lambda: done(self.received))


@contextlib.asynccontextmanager
async def receiving(receiver: Receiver) -> AsyncIterator[Receiver]:
    """The receiver served by uvicorn on a free local port, at `receiver.url`, until the block ends."""
    app = Starlette(routes=[Route("/hook", receiver.handle, methods=["POST"])])
    async with uvicorn_serving(app) as url:
        receiver.url = f"{url}/hook"
        yield receiver
