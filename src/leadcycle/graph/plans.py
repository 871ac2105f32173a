"""Compiled plans: an operation answered without strawberry's request pipeline and graphql-core's per-field execution.

A lead mutation over HTTP spent more CPU in the GraphQL layer than in its use case: six extensions with their
hooks, parse and validation cache look-ups, the executor's set-up, field collection and completion of the
LeadResult union field by field (bench/RESULTS.md). A document the generic path has parsed and validated once
(every protection in force: tokens, depth, aliases, introspection) is compiled here into a plan, kept by its
text and operation name: one root query or mutation field (or the root's `__typename`), its variables coerced by
compiled coercion where graphql-core would accept them (graph/variables.py), its resolver called as graphql-core
would call it with an info built without an executor (graph/resolution.py), and its result completed by
compiled completion (graph/completion.py). The plan answers that first request already, right after
validation; every later GET or POST with the same text skips strawberry's view and pipeline and goes straight
to the resolver (graph/view.py).

A mutation's resolver runs exactly once. Whatever the plan cannot answer before it runs (variables that do not
coerce, anything unusual about the request) goes to the generic path instead; whatever it cannot answer after
(the resolver raised, a value compiled completion refuses) is replayed through graphql-core with the resolver's
outcome in place of a second call, and its errors are logged and masked as the generic path does. A read
has no effect to protect: whatever goes wrong, the generic path answers it from the start.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, cast

from graphql import (
    DocumentNode,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLObjectType,
    OperationType,
    get_operation_ast,
)
from graphql import ExecutionResult as GraphQLExecutionResult
from graphql import execute as graphql_execute
from graphql.execution import Executor, MiddlewareManager
from graphql.pyutils import Path
from strawberry import Schema
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionContext, ExecutionResult
from strawberry.utils.await_maybe import await_maybe

from leadcycle.graph.arguments import strawberry_call
from leadcycle.graph.completion import Compiled, Unsupported, collect_fields, completion, resolver
from leadcycle.graph.errors import mask_errors
from leadcycle.graph.resolution import IS_AWAITABLE, Executable, Resolution
from leadcycle.graph.variables import Variables

PlanKey = tuple[str, str | None]  # the document's text, the operation name
ROOTS = {OperationType.QUERY: "query_type", OperationType.MUTATION: "mutation_type"}


class Plans:
    """The plans of documents the generic path accepted, by text and operation name; None where no plan answers.

    Bounded: once full, the oldest entry makes room (a client sending ever new texts only fills it with misses).
    """

    def __init__(self, capacity: int = 256) -> None:
        self.capacity = capacity
        self._plans: dict[PlanKey, Plan | None] = {}

    def get(self, query: str, operation_name: str | None) -> Plan | None:
        return self._plans.get((query, operation_name))

    def learn(self, context: ExecutionContext, query: str, document: DocumentNode) -> Plan | None:
        """Compile `document` (valid: the generic path is about to execute it) unless it was seen already.

        Kept under the operation name the request gave, compiled for the one strawberry executes (the first
        operation's, when none was given). Returns the plan only when it is new: a document that comes back to
        the generic path after that is one its plan gave up on.
        """
        key = (query, context._provided_operation_name)
        if key in self._plans:
            return None
        if len(self._plans) >= self.capacity:
            del self._plans[next(iter(self._plans))]
        try:
            plan: Plan | None = Plan.compile(context.schema, document, context.operation_name)
        except Unsupported:
            plan = None
        self._plans[key] = plan
        return plan

    def extension(self) -> SchemaExtension:
        """The extension that compiles each operation the generic path is about to execute (validation passed)."""
        return LearnPlans(self)


class LearnPlans(SchemaExtension):
    """Compiles what the generic path is about to execute, and lets a new plan answer that first request already.

    graphql-core then executes nothing: strawberry logs and masks the plan's errors as it would its own.
    """

    def __init__(self, plans: Plans) -> None:
        self.plans = plans

    async def on_execute(self) -> AsyncIterator[None]:
        context = self.execution_context
        if context.query is not None and context.graphql_document is not None and context.result is None:
            plan = self.plans.learn(context, context.query, context.graphql_document)
            if plan is not None:
                context.result = await plan.run(context.context, context.variables, context.operation_extensions)
        yield


@dataclass(frozen=True)
class Plan:
    """The one root field of a valid query or mutation, with its resolver and the compiled completion of its result."""

    schema: Schema
    document: DocumentNode
    operation_name: str | None
    executable: Executable
    variables: Variables
    root_type: GraphQLObjectType
    key: str
    resolve: Callable[[Any, Path, Resolution], Any]
    compiled: Compiled
    mutation: bool

    @classmethod
    def compile(cls, schema: Schema, document: DocumentNode, operation_name: str | None) -> Plan:
        operation = get_operation_ast(document, operation_name)
        if operation is None or operation.operation not in ROOTS:
            raise Unsupported("a query or a mutation")
        root_type = getattr(schema._schema, ROOTS[operation.operation])
        if operation.directives or any(v.directives for v in operation.variable_definitions or ()):
            raise Unsupported("a directive")
        fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
        if any(fragment.variable_definitions for fragment in fragments.values()):
            raise Unsupported("a fragment with variables")
        executable = Executable(schema.execution_context_class, schema._schema, operation, fragments)
        variables = Variables(schema._schema, operation.variable_definitions or ())
        common = (schema, document, operation_name, executable, variables, root_type)
        root = collect_fields(schema._schema, fragments, root_type, [operation.selection_set])
        if len(root) != 1:
            raise Unsupported("one root field")
        [(key, nodes)] = root.items()
        mutation = operation.operation is OperationType.MUTATION
        if nodes[0].name.value == "__typename":  # the smallest operation there is, as clients probe with it
            typename = root_type.name
            compiled = Compiled(lambda value, _path, _run: value, resolves=False)
            return cls(*common, key, lambda *_: typename, compiled, mutation)
        field = root_type.fields.get(nodes[0].name.value)
        if field is None:
            raise Unsupported("a root field of the schema's own")
        try:
            resolve, lazy = strawberry_call(schema, root_type, field, nodes)
        except Unsupported:
            resolve, lazy = resolver(root_type, field, nodes), inspect.iscoroutinefunction(field.resolve)
        if mutation and not lazy:
            raise Unsupported("a mutation whose resolver runs when called, not only once awaited")
        compiled = completion(schema._schema, fragments, field.type, nodes)
        return cls(*common, key, resolve, compiled, mutation)

    async def run(
        self, context: Any, variables: dict[str, Any] | None, extensions: dict[str, Any] | None
    ) -> GraphQLExecutionResult | None:
        """The operation's result, or None where the generic path must answer it (a mutation: nothing ran).

        Its errors are graphql-core's, not yet logged nor masked: `reported` does that, as strawberry's pipeline does.
        """
        resolution = self._resolution(context, variables, extensions)
        if resolution is None:  # variables that do not coerce: graphql-core says so
            return None
        path = Path(None, self.key, self.root_type.name)
        try:
            called = self.resolve(None, path, resolution)
        except Exception:  # arguments that do not coerce, a read's resolver failing; a mutation's has not started
            return None
        # Awaited here, not through strawberry's await_maybe: one coroutine fewer to resume at each of its waits.
        if not self.mutation:  # a read: whatever goes wrong, graphql-core answers it again, errors and all
            with contextlib.suppress(Exception):
                return await self._complete(await called if IS_AWAITABLE(called) else called, path, resolution)
            return None
        try:
            value = await called if IS_AWAITABLE(called) else called
        except Exception as error:  # the generic path makes it a GraphQL error: so does the replay
            return await self._replay(Raised(error), context, variables, extensions)
        try:
            return await self._complete(value, path, resolution)
        except Exception:  # Unsupported, or a field graphql-core would answer with an error
            return await self._replay(Returned(value), context, variables, extensions)

    def _resolution(
        self, context: Any, variables: dict[str, Any] | None, extensions: dict[str, Any] | None
    ) -> Resolution | None:
        """The request's resolution, its variables coerced by the plan or, where it declines, by graphql-core's
        executor (None: they do not coerce)."""

        def executor() -> Executor[Any] | list[GraphQLError]:
            return self.schema.execution_context_class.build(
                self.schema._schema,
                self.document,
                context_value=context,
                raw_variable_values=variables,
                operation_name=self.operation_name,
                is_awaitable=IS_AWAITABLE,
                operation_extensions=extensions,
            )

        coerced = self.variables.coerce(variables or {})
        if coerced is not None:  # so graphql-core's executor, if a resolver asks for it, is built without errors
            return Resolution(self.executable, context, coerced, extensions, lambda: cast(Executor[Any], executor()))
        built = executor()
        if isinstance(built, list):
            return None
        return Resolution(self.executable, context, built.variable_values, extensions, lambda: built)

    async def _complete(self, value: Any, path: Path, resolution: Resolution) -> GraphQLExecutionResult:
        try:
            data = {self.key: self.compiled.complete(value, path, resolution)}
            await resolution.settle()
        except BaseException:
            resolution.abandon()
            raise
        return GraphQLExecutionResult(data)

    async def _replay(
        self, outcome: Outcome, context: Any, variables: dict[str, Any] | None, extensions: dict[str, Any] | None
    ) -> GraphQLExecutionResult:
        """graphql-core's answer with `outcome` as the root field's."""
        result: GraphQLExecutionResult = await await_maybe(
            graphql_execute(
                self.schema._schema,
                self.document,
                context_value=context,
                variable_values=variables,
                operation_name=self.operation_name,
                middleware=MiddlewareManager(Replay(self.key, outcome)),
                executor_class=self.schema.execution_context_class,
                is_awaitable=IS_AWAITABLE,
                operation_extensions=extensions,
            )
        )
        return result

    def reported(self, result: GraphQLExecutionResult) -> ExecutionResult:
        """`result` as strawberry's pipeline hands it to the client: errors logged, the unexpected ones masked."""
        errors = result.errors
        if errors:
            self.schema._process_errors(errors)
            masking = mask_errors()
            errors = [masking.anonymise_error(e) if masking.should_mask_error(e) else e for e in errors]
        return ExecutionResult(data=result.data, errors=errors)


@dataclass(frozen=True)
class Returned:
    value: Any


@dataclass(frozen=True)
class Raised:
    error: Exception


Outcome = Returned | Raised


@dataclass(frozen=True)
class Replay:
    """graphql-core middleware answering the root field `key` with its recorded outcome instead of resolving it."""

    key: str
    outcome: Outcome

    def resolve(self, next_: Callable[..., Any], root: Any, info: Any, **arguments: Any) -> Any:
        if info.path.prev is not None or info.path.key != self.key:
            return next_(root, info, **arguments)
        if isinstance(self.outcome, Raised):
            raise self.outcome.error
        return self.outcome.value
