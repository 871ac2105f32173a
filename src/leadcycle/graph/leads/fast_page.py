"""The fast path of the commonest read, a page of leads: graphql-core's answer without its per-field cost.

A page of 50 leads with ten fields and their availableTransitions is some 3,000 fields, and graphql-core
resolves each through a resolver call, a ResolveInfo, an awaitable check and a completion: two thirds of
the page's CPU (bench/RESULTS.md). This extension answers a query whose only root field is `leads`, with
no arguments but `first` and `after`, when every field under it is a plain attribute or a synchronous
resolver without arguments (availableTransitions: the domain still decides it). It reads the page with the
resolver's own code (`read_page`), then walks the selection once, serialising leaves with the schema's own
scalar and enum types. Anything else (fragments, directives, other arguments, fields that need a loader or
the database, a value that would be an error) is left to graphql-core, which then answers as always.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

from graphql import (
    ExecutionResult,
    FieldNode,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    IntValueNode,
    NullValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    StringValueNode,
    ValueNode,
    VariableNode,
    is_leaf_type,
)
from graphql.pyutils import Undefined
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField

from leadcycle.graph.context import Context
from leadcycle.graph.leads.queries import DEFAULT_PAGE, read_page
from leadcycle.persistence import queries

Complete = Callable[[Any], Any]
PAGE_ARGUMENTS = {"first": int, "after": str}


class Unsupported(Exception):
    """The selection or a value is outside what the fast path answers exactly like graphql-core."""


class LeadPageFastPath(SchemaExtension):
    """Answers plain `leads` pages before graphql-core executes them; leaves every other operation alone."""

    async def on_execute(self) -> AsyncIterator[None]:
        context = self.execution_context
        if isinstance(context.context, Context) and context.graphql_document is not None:
            try:
                field, arguments = _page_field(context.graphql_document.definitions, context.variables or {})
                leads = context.schema._schema.query_type.fields["leads"]  # type: ignore[union-attr]
                complete = _complete(leads.type, field.selection_set)
                page = await read_page(context.context.services, queries.LeadFilter(), queries.LeadOrder(), **arguments)
                data = {field.alias.value if field.alias else "leads": complete(page)}
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


def _complete_object(graphql_type: Any, selection_set: SelectionSetNode | None) -> Complete:
    """The function turning an object of `graphql_type` into the response map of `selection_set`."""
    if not isinstance(graphql_type, GraphQLObjectType) or selection_set is None:
        raise Unsupported("an object with a selection")
    fields: list[tuple[str, Callable[[Any], Any], Complete]] = []
    for selection in selection_set.selections:
        if not isinstance(selection, FieldNode) or selection.directives or selection.arguments:
            raise Unsupported("plain fields only")
        key = selection.alias.value if selection.alias else selection.name.value
        if any(key == known for known, _, _ in fields):
            raise Unsupported("a response key selected twice")
        if selection.name.value == "__typename":
            fields.append((key, _constant(graphql_type.name), _constant(graphql_type.name)))
            continue
        definition = graphql_type.fields.get(selection.name.value)
        if definition is None:
            raise Unsupported("an unknown field")
        read = _reader(definition.extensions.get(GraphQLCoreConverter.DEFINITION_BACKREF))
        fields.append((key, read, _complete(definition.type, selection.selection_set)))

    def complete(source: Any) -> dict[str, Any]:
        return {key: finish(read(source)) for key, read, finish in fields}

    return complete


def _reader(field: StrawberryField | None) -> Callable[[Any], Any]:
    """How to get a field's value: the attribute, or a synchronous resolver taking nothing but self."""
    if field is None or field.permission_classes or field.extensions:
        raise Unsupported("a field with permissions or extensions")
    resolver = field.base_resolver
    if resolver is None:
        name = field.python_name
        return lambda source: getattr(source, name)
    plain = not (resolver.arguments or resolver.info_parameter or resolver.root_parameter or resolver.parent_parameter)
    if resolver.is_async or not plain or resolver.self_parameter is None:
        raise Unsupported("a resolver that needs more than its object")
    method = resolver.wrapped_func
    if not callable(method):
        raise Unsupported("a static or class method")
    return method


def _complete(graphql_type: GraphQLOutputType, selection_set: SelectionSetNode | None) -> Complete:
    """Completion of a value of `graphql_type`, as graphql-core's would produce it (or Unsupported)."""
    if isinstance(graphql_type, GraphQLNonNull):
        inner = _complete(graphql_type.of_type, selection_set)
        return lambda value: inner(value) if value is not None else _refuse("null for a non-null field")
    nullable = _complete_nullable(graphql_type, selection_set)
    return lambda value: nullable(value) if value is not None else None


def _complete_nullable(graphql_type: GraphQLOutputType, selection_set: SelectionSetNode | None) -> Complete:
    if isinstance(graphql_type, GraphQLList):
        item = _complete(graphql_type.of_type, selection_set)
        return lambda values: [item(value) for value in values]
    if is_leaf_type(graphql_type):
        leaf = graphql_type.coerce_output_value
        return lambda value: _present(leaf(value))
    return _complete_object(graphql_type, selection_set)


def _constant(value: Any) -> Complete:
    return lambda _source: value


def _present(value: Any) -> Any:
    return value if value is not None and value is not Undefined else _refuse("a leaf that serialised to null")


def _refuse(reason: str) -> Any:
    raise Unsupported(reason)
