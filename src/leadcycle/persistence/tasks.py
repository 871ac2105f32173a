"""Small helpers for the background loops of one process (webhook dispatcher and worker)."""

from __future__ import annotations

import asyncio
import contextlib


async def woken(event: asyncio.Event, within: float) -> None:
    """Wait until `event` is set or `within` seconds have passed, then clear it."""
    # asyncio.timeout, not wait_for: see ChangeFeed._read_forever.
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(within):
            await event.wait()
    event.clear()


async def cancel(task: asyncio.Task[None] | None) -> None:
    """Cancel the task (if started) and wait until it has ended."""
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
