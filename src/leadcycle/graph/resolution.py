"""One planned request's resolution: the state a resolver's info is built from, and the fields being awaited.

graphql-core's executor holds a request's state (schema, operation, fragments, variables, context, extensions)
and builds each resolver's info from it. A plan needs that state, not an executor: building one per request
(its set-up for incremental delivery) cost as much as the rest of a plan around its resolver. Here the infos
are built by the executor class's own `build_resolve_info`, called on this state; the one thing only a real
executor does, tracking a resolver's asynchronous work, builds it when a resolver first asks for that.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeGuard, cast

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    GraphQLField,
    GraphQLObjectType,
    GraphQLResolveInfo,
    GraphQLResolveInfoHelpers,
    GraphQLSchema,
    OperationDefinitionNode,
)
from graphql.execution import Executor
from graphql.execution.values import VariableValues
from graphql.pyutils import Path
from strawberry.execution import optimized_is_awaitable

Complete = Callable[[Any, Path | None, "Resolution"], Any]
IS_AWAITABLE = cast("Callable[[Any], TypeGuard[Awaitable[Any]]]", optimized_is_awaitable)


@dataclass(frozen=True)
class Executable:
    """What graphql-core's executor holds of an operation whatever the request: built once per plan."""

    executor_class: type[Executor[Any]]
    schema: GraphQLSchema
    operation: OperationDefinitionNode
    fragment_definitions: dict[str, FragmentDefinitionNode]


@dataclass
class Pending:
    """A resolved field whose value is awaited: it goes at `key` of `container` once completed."""

    container: dict[str, Any]
    key: str
    value: Awaitable[Any]
    complete: Complete
    path: Path


class Resolution:
    """One request's state as its executor would hold it (the attributes `build_resolve_info` reads), and the
    fields being awaited."""

    root_value = None
    abort_signal = None
    is_awaitable = staticmethod(IS_AWAITABLE)

    def __init__(
        self,
        executable: Executable,
        context_value: Any,
        variable_values: VariableValues,
        operation_extensions: dict[str, Any] | None,
        executor: Callable[[], Executor[Any]],
    ) -> None:
        self.executor_class = executable.executor_class
        self.schema = executable.schema
        self.operation = executable.operation
        self.fragment_definitions = executable.fragment_definitions
        self.context_value = context_value
        self.variable_values = variable_values
        self.operation_extensions = operation_extensions
        self.async_helpers = GraphQLResolveInfoHelpers(gather=self._gather, track=self._track)
        self._build_executor = executor
        self._executor: Executor[Any] | None = None
        self.pending: list[Pending] = []

    def info(
        self, definition: GraphQLField, nodes: list[FieldNode], parent_type: GraphQLObjectType, path: Path
    ) -> GraphQLResolveInfo[Any]:
        """The info the executor (of the schema's class) would hand the field's resolver."""
        return self.executor_class.build_resolve_info(cast(Any, self), definition, nodes, parent_type, path)

    async def settle(self) -> None:
        """Await the pending fields together (so DataLoaders batch them, as under graphql-core) and complete them."""
        while self.pending:
            batch, self.pending = self.pending, []
            values = await asyncio.gather(*(item.value for item in batch), return_exceptions=True)
            for item, value in zip(batch, values, strict=True):
                if isinstance(value, BaseException):
                    raise value
                item.container[item.key] = item.complete(value, item.path, self)

    def abandon(self) -> None:
        """Close the resolver calls never awaited, as the completion gave up (no "never awaited" warnings)."""
        for item in self.pending:
            if inspect.iscoroutine(item.value):
                item.value.close()
        self.pending = []

    def _gather(self, values: Sequence[Awaitable[Any]]) -> Awaitable[list[Any]]:
        return self._executor_for_work().gather_async_work(values)

    def _track(self, values: Sequence[Any]) -> None:
        self._executor_for_work().track_async_work(values)

    def _executor_for_work(self) -> Executor[Any]:
        """The request's executor, for a resolver's asynchronous work: built on the first such call."""
        if self._executor is None:
            self._executor = self._build_executor()
        return self._executor
