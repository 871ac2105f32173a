"""The fast path of the commonest read, a page of leads: graphql-core's answer without its per-field cost.

A page of 50 leads with ten fields and their availableTransitions is some 3,000 fields, and graphql-core
resolves each through a resolver call, a ResolveInfo, an awaitable check and a completion: two thirds of
the page's CPU (bench/RESULTS.md). This extension answers a query whose only root field is `leads`, with
no arguments but `first` and `after`, when every field under it is a plain attribute or a synchronous
resolver without arguments (availableTransitions: the domain still decides it). It reads the page with the
resolver's own code (`read_page`), then builds the response map with compiled completion (graph/completion.py).
Anything else (named fragments, directives, other arguments, fields that need a loader or the database, a
value that would be an error) is left to graphql-core, which then answers as always.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from graphql import (
    ExecutionResult,
    FieldNode,
    IntValueNode,
    NullValueNode,
    OperationDefinitionNode,
    OperationType,
    StringValueNode,
    ValueNode,
    VariableNode,
)
from strawberry.extensions import SchemaExtension

from leadcycle.graph.completion import Resolution, Unsupported, completion
from leadcycle.graph.context import Context
from leadcycle.graph.leads.queries import DEFAULT_PAGE, read_page
from leadcycle.persistence import queries

PAGE_ARGUMENTS = {"first": int, "after": str}


class LeadPageFastPath(SchemaExtension):
    """Answers plain `leads` pages before graphql-core executes them; leaves every other operation alone."""

    async def on_execute(self) -> AsyncIterator[None]:
        context = self.execution_context
        if isinstance(context.context, Context) and context.graphql_document is not None:
            try:
                field, arguments = _page_field(context.graphql_document.definitions, context.variables or {})
                schema = context.schema._schema
                leads = schema.query_type.fields["leads"]  # type: ignore[union-attr]
                compiled = completion(schema, {}, leads.type, [field])
                if compiled.resolves:
                    raise Unsupported("a field that needs its resolver")
                page = await read_page(context.context.services, queries.LeadFilter(), queries.LeadOrder(), **arguments)
                data = {field.alias.value if field.alias else "leads": compiled.complete(page, None, Resolution(None))}
            except Exception:  # graphql-core answers instead, errors and all
                data = None
            if data is not None:
                context.result = ExecutionResult(data)
        yield


def _page_field(definitions: Any, variables: dict[str, Any]) -> tuple[FieldNode, dict[str, Any]]:
    """The operation's one `leads` field and its page arguments."""
    if len(definitions) != 1 or not isinstance(definitions[0], OperationDefinitionNode):
        raise Unsupported("one operation, no fragments")
    operation = definitions[0]
    selections = operation.selection_set.selections
    if operation.operation is not OperationType.QUERY or operation.directives or len(selections) != 1:
        raise Unsupported("a query of one root field")
    field = selections[0]
    if not isinstance(field, FieldNode) or field.name.value != "leads" or field.directives:
        raise Unsupported("the root field is leads")
    arguments: dict[str, Any] = {"first": DEFAULT_PAGE, "after": None}
    for argument in field.arguments or ():
        name = argument.name.value
        if name not in PAGE_ARGUMENTS:
            raise Unsupported(f"argument {name}")
        arguments[name] = _argument(argument.value, PAGE_ARGUMENTS[name], variables)
    return field, arguments


def _argument(node: ValueNode, kind: type, variables: dict[str, Any]) -> Any:
    if isinstance(node, NullValueNode):
        return None
    if isinstance(node, IntValueNode | StringValueNode):
        value: Any = int(node.value) if isinstance(node, IntValueNode) else node.value
    elif isinstance(node, VariableNode) and node.name.value in variables:
        value = variables[node.name.value]
    else:
        raise Unsupported("an argument of another form")
    if value is not None and type(value) is not kind:
        raise Unsupported("an argument of another type")
    return value
