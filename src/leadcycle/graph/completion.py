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
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
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
from graphql.pyutils import Undefined
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.base import StrawberryObjectDefinition
from strawberry.types.field import StrawberryField

Complete = Callable[[Any], Any]
Fragments = dict[str, FragmentDefinitionNode]


class Unsupported(Exception):
    """The selection or a value is outside what compiled completion answers exactly like graphql-core."""


def completion(
    schema: GraphQLSchema, fragments: Fragments, graphql_type: GraphQLOutputType, nodes: list[FieldNode]
) -> Complete:
    """Completion of a value of `graphql_type` for the (merged) field `nodes`, as graphql-core's would produce it."""
    if isinstance(graphql_type, GraphQLNonNull):
        inner = completion(schema, fragments, graphql_type.of_type, nodes)
        return lambda value: inner(value) if value is not None else _refuse("null for a non-null field")
    nullable = _nullable(schema, fragments, graphql_type, nodes)
    return lambda value: nullable(value) if value is not None else None


def _nullable(
    schema: GraphQLSchema, fragments: Fragments, graphql_type: GraphQLOutputType, nodes: list[FieldNode]
) -> Complete:
    if isinstance(graphql_type, GraphQLList):
        item = completion(schema, fragments, graphql_type.of_type, nodes)
        return lambda values: [item(value) for value in values]
    if is_leaf_type(graphql_type):
        leaf = graphql_type.coerce_output_value
        return lambda value: _present(leaf(value))
    if is_abstract_type(graphql_type):
        return _abstract(schema, fragments, schema.get_possible_types(graphql_type), nodes)
    assert isinstance(graphql_type, GraphQLObjectType)
    complete = _object(schema, fragments, graphql_type, nodes)
    origin = _origin(graphql_type)
    return lambda value: complete(value) if type(value) is origin else _refuse("an object of another class")


def _abstract(
    schema: GraphQLSchema, fragments: Fragments, possible: Iterable[GraphQLObjectType], nodes: list[FieldNode]
) -> Complete:
    """A union or interface: the object's class names its type, as strawberry's type resolver would find it."""
    by_class = {_origin(object_type): _object(schema, fragments, object_type, nodes) for object_type in possible}
    if any(issubclass(one, other) for one in by_class for other in by_class if one is not other):
        raise Unsupported("member types that subclass one another")

    def complete(value: Any) -> Any:
        found = by_class.get(type(value))
        return found(value) if found is not None else _refuse("an object of no member type")

    return complete


def _object(
    schema: GraphQLSchema, fragments: Fragments, object_type: GraphQLObjectType, nodes: list[FieldNode]
) -> Complete:
    """The function turning an object of `object_type` into the response map of the `nodes`' selections."""
    selection_sets = [node.selection_set for node in nodes if node.selection_set is not None]
    if not selection_sets:
        raise Unsupported("an object without a selection")
    fields: list[tuple[str, Callable[[Any], Any], Complete]] = []
    for key, merged in collect_fields(schema, fragments, object_type, selection_sets).items():
        name = merged[0].name.value
        if any(node.arguments for node in merged):
            raise Unsupported("a field with arguments")
        if name == "__typename":
            fields.append((key, _constant(object_type.name), _itself))
            continue
        definition = object_type.fields.get(name)
        if definition is None:
            raise Unsupported("an introspection field")
        read = _reader(definition.extensions.get(GraphQLCoreConverter.DEFINITION_BACKREF))
        fields.append((key, read, completion(schema, fragments, definition.type, merged)))

    def complete(source: Any) -> dict[str, Any]:
        return {key: finish(read(source)) for key, read, finish in fields}

    return complete


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


def _constant(value: Any) -> Complete:
    return lambda _source: value


def _itself(value: Any) -> Any:
    return value


def _present(value: Any) -> Any:
    return value if value is not None and value is not Undefined else _refuse("a leaf that serialised to null")


def _refuse(reason: str) -> Any:
    raise Unsupported(reason)
