"""Completion compiled once per selection: graphql-core's response map without its per-field cost.

graphql-core completes each field of a result through a resolver call, a ResolveInfo, an awaitable check and
a completion; for a lead that is some sixty fields, for a page of fifty some 3,000 (bench/RESULTS.md). Here a
selection is compiled once into plain functions that build the same map: fields collected per runtime type as
graphql-core collects them (inline fragments, fragment spreads, merged fields, response keys in order), each
read as an attribute or through a synchronous resolver taking nothing but its object (availableTransitions:
the domain still decides it), leaves serialised with the schema's own scalar and enum types, abstract types
resolved from the object's class. Anything else (directives, arguments below the root, resolvers that need
more, a value graphql-core would turn into an error) raises Unsupported, and graphql-core answers instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import Enum
from operator import attrgetter
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    InlineFragmentNode,
    NamedTypeNode,
    SelectionSetNode,
    is_abstract_type,
    is_leaf_type,
    type_from_ast,
)
from graphql.execution.values import get_argument_values
from graphql.pyutils import Path, Undefined
from graphql.type.scalars import (
    GRAPHQL_MAX_INT,
    GRAPHQL_MIN_INT,
    serialize_boolean,
    serialize_id,
    serialize_int,
    serialize_string,
)
from strawberry.execution import optimized_is_awaitable
from strawberry.schema.schema_converter import CustomGraphQLEnumType, GraphQLCoreConverter
from strawberry.types.base import StrawberryObjectDefinition
from strawberry.types.field import StrawberryField

from leadcycle.graph.resolution import Complete, Pending, Resolution

Fragments = dict[str, FragmentDefinitionNode]


class Unsupported(Exception):
    """The selection or a value is outside what compiled completion answers exactly like graphql-core."""


@dataclass(frozen=True)
class Compiled:
    """A compiled completion; `resolves`: its selection has fields only a resolver call answers (they need a path)."""

    complete: Complete
    resolves: bool


def completion(
    schema: GraphQLSchema, fragments: Fragments, graphql_type: GraphQLOutputType, nodes: list[FieldNode]
) -> Compiled:
    """Completion of a value of `graphql_type` for the (merged) field `nodes`, as graphql-core's would produce it."""
    if isinstance(graphql_type, GraphQLNonNull):
        inner = _nullable(schema, fragments, graphql_type.of_type, nodes)
        finish = inner.complete

        def non_null(value: Any, path: Path | None, run: Resolution) -> Any:
            return finish(value, path, run) if value is not None else _refuse("null for a non-null field")

        return Compiled(non_null, inner.resolves)
    nullable = _nullable(schema, fragments, graphql_type, nodes)
    complete = nullable.complete

    def maybe(value: Any, path: Path | None, run: Resolution) -> Any:
        return complete(value, path, run) if value is not None else None

    return Compiled(maybe, nullable.resolves)


def _nullable(
    schema: GraphQLSchema, fragments: Fragments, graphql_type: GraphQLOutputType, nodes: list[FieldNode]
) -> Compiled:
    if isinstance(graphql_type, GraphQLList):
        return _list(completion(schema, fragments, graphql_type.of_type, nodes))
    if is_leaf_type(graphql_type):
        return Compiled(_leaf(graphql_type), resolves=False)
    if is_abstract_type(graphql_type):
        return _abstract(schema, fragments, schema.get_possible_types(graphql_type), nodes)
    assert isinstance(graphql_type, GraphQLObjectType)
    return _object(schema, fragments, graphql_type, nodes, checked=True)


# graphql-core's serialisers that answer a value of exactly this class with the value itself.
_UNCHANGED: dict[Callable[[Any], Any], type] = {serialize_string: str, serialize_boolean: bool, serialize_id: str}


def _leaf(leaf_type: Any) -> Complete:
    """A scalar or enum value serialised as the schema's type serialises it; the commonest values without a call.

    An enum member's name is looked up (strawberry's enum compares the member with every value in turn);
    a str, bool or 32-bit int is what graphql-core's String, ID, Boolean or Int would answer for it.
    """
    coerce: Callable[[Any], Any] = leaf_type.coerce_output_value
    if isinstance(leaf_type, CustomGraphQLEnumType):
        members: type[Enum] = leaf_type.wrapped_cls  # type: ignore[assignment]  # typed as EnumMeta
        names = {member: coerce(member) for member in members}
        return lambda value, _path, _run: names[value] if type(value) is members else _present(coerce(value))
    if coerce is serialize_int:
        return lambda value, _path, _run: (
            value if type(value) is int and GRAPHQL_MIN_INT <= value <= GRAPHQL_MAX_INT else _present(coerce(value))
        )
    unchanged = _UNCHANGED.get(coerce)
    if unchanged is not None:
        return lambda value, _path, _run: value if type(value) is unchanged else _present(coerce(value))
    return lambda value, _path, _run: _present(coerce(value))


def _list(item: Compiled) -> Compiled:
    complete = item.complete
    if not item.resolves:
        return Compiled(lambda values, _path, run: [complete(value, None, run) for value in values], resolves=False)

    def with_paths(values: Any, path: Path | None, run: Resolution) -> list[Any]:
        return [complete(value, Path(path, index, None), run) for index, value in enumerate(values)]

    return Compiled(with_paths, resolves=True)


def _abstract(
    schema: GraphQLSchema, fragments: Fragments, possible: Iterable[GraphQLObjectType], nodes: list[FieldNode]
) -> Compiled:
    """A union or interface: the object's class names its type, as strawberry's type resolver would find it."""
    compiled = {
        _origin(object_type): _object(schema, fragments, object_type, nodes, checked=False) for object_type in possible
    }
    by_class = {origin: member.complete for origin, member in compiled.items()}

    def complete(value: Any, path: Path | None, run: Resolution) -> Any:
        found = by_class.get(type(value))
        return found(value, path, run) if found is not None else _refuse("an object of no member type")

    return Compiled(complete, any(member.resolves for member in compiled.values()))


def _object(
    schema: GraphQLSchema,
    fragments: Fragments,
    object_type: GraphQLObjectType,
    nodes: list[FieldNode],
    *,
    checked: bool,
) -> Compiled:
    """The function turning an object of `object_type` into the response map of the `nodes`' selections.

    `checked`: it first refuses an object of another class than the type's (a union's members are
    told apart by class already).
    """
    selection_sets = [node.selection_set for node in nodes if node.selection_set is not None]
    if not selection_sets:
        raise Unsupported("an object without a selection")
    fields = [
        _field(schema, fragments, object_type, key, merged)
        for key, merged in collect_fields(schema, fragments, object_type, selection_sets).items()
    ]
    origin = _origin(object_type) if checked else None
    if not any(field.resolves for field in fields):
        plain = [(field.key, field.read, field.finish) for field in fields]

        def complete_plain(source: Any, _path: Path | None, run: Resolution) -> dict[str, Any]:
            if origin is not None and type(source) is not origin:
                _refuse("an object of another class")
            return {key: finish(read(source), None, run) for key, read, finish in plain}

        return Compiled(complete_plain, resolves=False)

    typename = object_type.name

    def complete(source: Any, path: Path | None, run: Resolution) -> dict[str, Any]:
        if origin is not None and type(source) is not origin:
            _refuse("an object of another class")
        result: dict[str, Any] = {}
        for field in fields:
            field_path = Path(path, field.key, typename)
            value = field.resolve(source, field_path, run) if field.resolve else field.read(source)
            if field.resolve and optimized_is_awaitable(value):
                result[field.key] = None  # its place in the response map, until it is settled
                run.pending.append(Pending(result, field.key, value, field.finish, field_path))
            else:
                result[field.key] = field.finish(value, field_path, run)
        return result

    return Compiled(complete, resolves=True)


@dataclass(frozen=True)
class Field:
    """One response key of an object: read plainly, or resolved through its resolver (`resolve`)."""

    key: str
    read: Callable[[Any], Any]
    resolve: Callable[[Any, Path, Resolution], Any] | None
    finish: Complete
    resolves: bool


def _field(
    schema: GraphQLSchema, fragments: Fragments, object_type: GraphQLObjectType, key: str, merged: list[FieldNode]
) -> Field:
    name = merged[0].name.value
    if name == "__typename":
        typename = object_type.name
        return Field(key, lambda _source: typename, None, _itself, resolves=False)
    definition = object_type.fields.get(name)
    if definition is None:
        raise Unsupported("an introspection field")
    finish = completion(schema, fragments, definition.type, merged)
    strawberry_field = definition.extensions.get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if any(node.arguments for node in merged) or not _is_plain(strawberry_field):
        resolve = resolver(object_type, definition, merged)
        return Field(key, _itself, resolve, finish.complete, resolves=True)
    return Field(key, _reader(strawberry_field), None, finish.complete, finish.resolves)


def resolver(
    parent_type: GraphQLObjectType, definition: GraphQLField, nodes: list[FieldNode]
) -> Callable[[Any, Path, Resolution], Any]:
    """The field's resolver called as graphql-core calls it: with its ResolveInfo and its coerced arguments."""
    resolve, node = definition.resolve, nodes[0]
    if resolve is None:
        raise Unsupported("a field without a resolver")
    has_arguments = bool(definition.args or node.arguments)

    def call(source: Any, path: Path, run: Resolution) -> Any:
        info = run.info(definition, nodes, parent_type, path)
        arguments = get_argument_values(definition, node, run.variable_values) if has_arguments else {}
        return resolve(source, info, **arguments)

    return call


def collect_fields(
    schema: GraphQLSchema,
    fragments: Fragments,
    runtime_type: GraphQLObjectType,
    selection_sets: list[SelectionSetNode],
) -> dict[str, list[FieldNode]]:
    """The fields of `selection_sets` for an object of `runtime_type`, by response key, as graphql-core collects them.

    Without directives (refused) the collection does not depend on variables, so it is done once per type.
    """
    fields: dict[str, list[FieldNode]] = {}
    visited: set[str] = set()

    def visit(selection_set: SelectionSetNode) -> None:
        for selection in selection_set.selections:
            if selection.directives:
                raise Unsupported("a directive")
            if isinstance(selection, FieldNode):
                fields.setdefault(selection.alias.value if selection.alias else selection.name.value, []).append(
                    selection
                )
            elif isinstance(selection, InlineFragmentNode):
                if _applies(schema, selection.type_condition, runtime_type):
                    visit(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name in visited:
                    continue
                visited.add(name)
                fragment = fragments.get(name)
                if fragment is None or fragment.variable_definitions:
                    raise Unsupported("a fragment with variables")
                if _applies(schema, fragment.type_condition, runtime_type):
                    visit(fragment.selection_set)

    for selection_set in selection_sets:
        visit(selection_set)
    return fields


def _applies(schema: GraphQLSchema, condition: NamedTypeNode | None, runtime_type: GraphQLObjectType) -> bool:
    """graphql-core's `does_fragment_condition_match`."""
    if condition is None:
        return True
    conditional_type = type_from_ast(schema, condition)
    if conditional_type is runtime_type:
        return True
    return is_abstract_type(conditional_type) and schema.is_sub_type(conditional_type, runtime_type)


def _origin(object_type: GraphQLObjectType) -> type:
    definition = object_type.extensions.get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if not isinstance(definition, StrawberryObjectDefinition) or definition.is_type_of or definition.concrete_of:
        raise Unsupported("a type other than a plain strawberry type")
    return definition.origin


def _is_plain(field: StrawberryField | None) -> bool:
    """A field read as an attribute or through a synchronous resolver taking nothing but self."""
    if field is None or field.permission_classes or field.extensions:
        raise Unsupported("a field with permissions or extensions")
    resolver = field.base_resolver
    if resolver is None:
        return True
    needs = resolver.arguments or resolver.info_parameter or resolver.root_parameter or resolver.parent_parameter
    return not (resolver.is_async or needs or resolver.self_parameter is None or not callable(resolver.wrapped_func))


def _reader(field: StrawberryField) -> Callable[[Any], Any]:
    """How to get a plain field's value: the attribute, or its resolver called on the object."""
    if field.base_resolver is None:
        return attrgetter(field.python_name)
    method: Callable[[Any], Any] = field.base_resolver.wrapped_func  # type: ignore[assignment]
    return method


def _itself(value: Any, *_ignored: Any) -> Any:
    return value


def _present(value: Any) -> Any:
    return value if value is not None and value is not Undefined else _refuse("a leaf that serialised to null")


def _refuse(reason: str) -> Any:
    raise Unsupported(reason)
