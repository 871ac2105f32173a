"""Live subscriptions executed once per distinct document and variables, their frames shared.

Run per subscriber, every change cost each subscriber a whole GraphQL execution of its selection
(collecting fields, resolvers, extension hooks) and a JSON encoding: with 1,000 subscribers one
change took more than half a second to reach the last. Subscribers asking the same thing get the
same answer, so a process runs one execution per group of equal subscriptions (same document,
operation and variables) and encodes each result once. The group then writes the frame to every
member in one pass (see `Member`): a member whose client stops reading gets a bounded queue of
its own, falls behind alone, ends with FELL_BEHIND and a cursor to resume from, and never slows
the group or the other subscribers.

Only live subscriptions are shared. One resuming with `after` replays the log from its own cursor
and runs alone, the ordinary way, as does any other operation; so does a document the group found
invalid, so that its errors reach the client exactly as they would without sharing.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
from collections import deque
from collections.abc import Callable, Coroutine, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from graphql import (
    FieldNode,
    GraphQLError,
    GraphQLSyntaxError,
    NullValueNode,
    OperationDefinitionNode,
    OperationType,
    VariableNode,
    parse,
)
from starlette.websockets import WebSocket
from strawberry.types import ExecutionResult
from strawberry.types.execution import PreExecutionError

from leadcycle.graph.context import Context
from leadcycle.graph.errors import ClientError, fell_behind
from leadcycle.persistence.change_feed import Position, SubscriberTooSlow
from leadcycle.persistence.change_log import encode_cursor

if TYPE_CHECKING:
    from strawberry import Schema
    from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import Operation

log = logging.getLogger(__name__)
Key = tuple[str, str | None, str]  # document, operation name, variables as canonical JSON
_WRITES_PER_TURN = 100


@dataclass(frozen=True)
class Frame:
    """One result of a group, encoded once: the `payload` of a `next` message."""

    payload: str
    position: Position | None  # the change it was made from


class Member:
    """One subscriber of a group: each frame is written at once, or queued behind a write that waits.

    Writing to a client that keeps up never suspends (the transport takes the bytes at once), so the
    group writes to all such members in one pass: no task, queue or wake-up per member and frame
    (with a sending task each, every member cost some 20 µs more CPU per frame). Only a write
    that must wait (the client's socket is full) gets a task, which finishes it and then the frames
    queued behind it; with more than `capacity` queued the member ends with SubscriberTooSlow.
    """

    def __init__(self, send: Callable[[str], Coroutine[Any, Any, None]], head: str, capacity: int) -> None:
        self._send, self._head, self._capacity = send, head, capacity
        self._queue: deque[Frame] = deque()
        self._writing: asyncio.Task[None] | None = None
        self._ended: asyncio.Future[BaseException | None] = asyncio.get_running_loop().create_future()
        self._closing = False
        self._failure: BaseException | None = None
        self.shared = True  # False: the group gave it nothing to send; run it the ordinary way
        self.received = False
        self.last: Position | None = None  # the change of the newest frame written or queued

    def offer(self, frame: Frame) -> bool:
        """Write the frame, or queue it behind a write that waits; False once this member is over."""
        if self._closing:
            return False
        if self._writing is None:
            self._write_now(frame)
        elif len(self._queue) < self._capacity:
            self._queue.append(frame)
        else:
            self.close(SubscriberTooSlow(f"more than {self._capacity} changes behind"))
        if self._closing:  # the write failed, or the queue overflowed
            return False
        self.received = True
        self.last = frame.position or self.last
        return True

    def _write_now(self, frame: Frame) -> None:
        """Run the write up to its first wait, if any; only then does it get a task to finish it in."""
        write = self._send(self._message(frame))
        try:
            waiting = write.send(None)
        except StopIteration:
            return
        except Exception as error:  # the client is gone
            self._end(error)
            return
        self._writing = asyncio.create_task(self._finish(write, waiting))

    async def _finish(self, write: Coroutine[Any, Any, None], waiting: object) -> None:
        try:
            await _resume(write, waiting)
            while self._queue:
                await self._send(self._message(self._queue.popleft()))
        except Exception as error:
            self._end(error)
            return
        self._writing = None
        if self._closing:
            self._end(self._failure)

    def _message(self, frame: Frame) -> str:
        return f"{self._head}{frame.payload}}}"

    def close(self, failure: BaseException | None = None) -> None:
        """No more frames: the member ends once those queued are written, with `failure` if any."""
        if self._closing:
            return
        self._closing, self._failure = True, failure
        if self._writing is None:
            self._end(failure)

    def _end(self, failure: BaseException | None) -> None:
        self._closing, self._failure = True, failure
        if not self._ended.done():
            self._ended.set_result(failure)

    async def ended(self) -> BaseException | None:
        """Wait until every frame is written; the failure that ended the member, if any."""
        return await self._ended

    def leave(self) -> None:
        """The subscriber left (its operation ended): write nothing more, drop a write still waiting."""
        self._closing = True
        if self._writing is not None:
            self._writing.cancel()


async def _resume(write: Coroutine[Any, Any, None], waiting: object) -> None:
    """Finish a coroutine started by hand: wait for what it waits on, resume it, until it returns.

    What `waiting` ends with (a result, an error) reaches the coroutine as it resumes, as a task would
    hand it; asyncio.wait itself never raises it.
    """
    try:
        while True:
            if isinstance(waiting, asyncio.Future):
                await asyncio.wait([waiting])
            else:  # a bare yield (asyncio.sleep(0)): give the loop one round
                await asyncio.sleep(0)
            waiting = write.send(None)
    except StopIteration:
        return
    finally:
        write.close()


class Group:
    """One execution of a subscription, its results handed to every member."""

    def __init__(self, fanout: Fanout, key: Key, context: Context) -> None:
        self._fanout = fanout
        self._key = key
        self._context = context
        self.members: set[Member] = set()
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        shared = True
        try:
            shared = await self._publish_results()
        except Exception:  # strawberry turns resolver failures into results: this is a bug of ours
            log.exception("a shared subscription failed")
        finally:
            self._end(shared=shared)

    async def _publish_results(self) -> bool:
        """Publish every result of the subscription; False when its document could not run at all."""
        query, operation_name, variables = self._key
        stream = await self._fanout.schema.subscribe(
            query, variable_values=json.loads(variables), context_value=self._context, operation_name=operation_name
        )
        async with contextlib.aclosing(stream):
            async for result in stream:
                if isinstance(result, PreExecutionError):  # only ever the first: the document is invalid
                    return False
                if not await self._publish(Frame(_payload(result), self._context.change_position)):
                    break  # every member fell behind: nobody is left to execute for
        return True

    async def _publish(self, frame: Frame) -> bool:
        """Hand a frame to every member; False when none is left.

        The loop gets a turn every `_WRITES_PER_TURN` members, so that a thousand writes do not hold
        up the requests and reads waiting meanwhile.
        """
        for number, member in enumerate(list(self.members), start=1):
            if not member.offer(frame):
                self.members.discard(member)
            if number % _WRITES_PER_TURN == 0:
                await asyncio.sleep(0)
        return bool(self.members)

    def _end(self, *, shared: bool = True) -> None:
        """No more frames. A member that got none (the document was refused, or it joined as the
        group was ending) runs the ordinary way, as if it had never met the group."""
        self._fanout.forget(self)
        for member in self.members:
            member.shared = shared and member.received
            member.close()

    @property
    def key(self) -> Key:
        return self._key


class Fanout:
    """One per process: the groups of live subscriptions now running."""

    def __init__(self, schema: Schema, capacity: int) -> None:
        self.schema = schema
        self._capacity = capacity
        self._groups: dict[Key, Group] = {}

    @contextlib.contextmanager
    def join(
        self, key: Key, context: Context, send: Callable[[str], Coroutine[Any, Any, None]], head: str
    ) -> Iterator[Member]:
        """A member of the group for `key`, started with a context like `context` if none runs.

        It writes each frame with `send`, as `head`, the frame's payload and a closing brace.
        """
        group = self._groups.get(key)
        if group is None:
            group = self._groups[key] = Group(self, key, _group_context(context))
        member = Member(send, head, self._capacity)
        group.members.add(member)
        try:
            yield member
        finally:
            member.leave()
            group.members.discard(member)
            if not group.members:
                self.forget(group)
                group.task.cancel()

    def forget(self, group: Group) -> None:
        if self._groups.get(group.key) is group:
            del self._groups[group.key]


def shared_key(query: str, operation_name: str | None, variables: Mapping[str, Any] | None) -> Key | None:
    """The group a subscription belongs to; None when it must run alone (not a live subscription)."""
    operation = _operation(query, operation_name)
    if operation is None or not _is_live(operation, variables or {}):
        return None
    return query, operation_name, json.dumps(variables or {}, sort_keys=True)


@functools.lru_cache(maxsize=256)
def _operation(query: str, operation_name: str | None) -> OperationDefinitionNode | None:
    """The subscription operation the document runs; None for anything else or a syntax error."""
    try:
        document = parse(query)
    except GraphQLSyntaxError:
        return None
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    chosen = [o for o in operations if operation_name is None or (o.name and o.name.value == operation_name)]
    if len(chosen) != 1 or chosen[0].operation is not OperationType.SUBSCRIPTION:
        return None
    return chosen[0]


def _is_live(operation: OperationDefinitionNode, variables: Mapping[str, Any]) -> bool:
    """Every root field is written out (no fragments) and none resumes with a non-null `after`."""
    defaults = {d.variable.name.value: d.default_value for d in operation.variable_definitions or ()}
    for selection in operation.selection_set.selections:
        if not isinstance(selection, FieldNode):
            return False
        for argument in selection.arguments or ():
            if argument.name.value != "after" or isinstance(argument.value, NullValueNode):
                continue
            if not isinstance(argument.value, VariableNode):
                return False
            name = argument.value.name.value
            if variables.get(name) is not None or (name not in variables and defaults.get(name) is not None):
                return False
    return True


def _group_context(context: Context) -> Context:
    """A context of the group's own: resolvers label its results with their change's position."""
    return Context(request=context.request, response=None, services=context.services, actor=context.actor)


def _payload(result: ExecutionResult) -> str:
    """What strawberry's graphql-transport-ws handler sends as a `next` message's payload."""
    payload: dict[str, Any] = {"data": result.data}
    if result.errors:
        payload["errors"] = [error.formatted for error in result.errors]
    if result.extensions:
        payload["extensions"] = result.extensions
    return json.dumps(payload)


async def serve_shared(fanout: Fanout, operation: Operation[Context, None], context: Context) -> bool:
    """Send `operation` the frames of its group, then end it; False when it must run the ordinary way."""
    key = shared_key(operation.query, operation.operation_name, operation.variables)
    websocket = context.request
    if key is None or not isinstance(websocket, WebSocket):
        return False
    head = _next_message_head(operation.id)
    with fanout.join(key, context, websocket.send_text, head) as member:
        failure = await member.ended()
    if isinstance(failure, SubscriberTooSlow):  # the frames queued were sent: end as if the stream had raised
        last = encode_cursor(member.last) if member.last is not None else None
        await websocket.send_text(f"{head}{_error_payload(fell_behind(str(failure), last))}}}")
    elif failure is not None:
        raise failure
    if not member.shared:
        return False
    await operation.send_operation_message({"id": operation.id, "type": "complete"})
    return True


def _next_message_head(operation_id: str) -> str:
    """A `next` message of the operation up to its payload, which follows, then a closing brace."""
    return f'{{"id": {json.dumps(operation_id)}, "type": "next", "payload": '


def _error_payload(error: ClientError) -> str:
    """A result ending the operation with `error`, as strawberry reports an error raised by a stream."""
    return json.dumps({"data": None, "errors": [GraphQLError(str(error), extensions=error.extensions).formatted]})
