"""A plan's root resolver called as strawberry calls it, with its arguments converted by functions compiled once.

strawberry turns graphql-core's coerced arguments into the resolver's Python inputs on every call, looking up
each argument's and input field's type and GraphQL name again: for recordActivity's one input, a fifth of what a
planned request cost around its use case (bench/RESULTS.md). Here that conversion is compiled per field, step
for step as `strawberry.types.arguments.convert_argument` takes it: optional and list wrappers, leaves (scalars
and enums, already parsed by graphql-core) as they are, input types built from their fields, omitted fields
left to their defaults. What it does not cover (Maybe, GlobalID, inputs that build themselves, field
extensions or permissions, exception handlers) raises Unsupported, and strawberry's own resolver is called.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import MISSING
from typing import Any

from graphql import FieldNode, GraphQLField, GraphQLObjectType
from graphql.pyutils import Path
from strawberry import Schema
from strawberry.relay import GlobalID
from strawberry.scalars import is_scalar
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.base import StrawberryList, StrawberryMaybe, StrawberryOptional, has_object_definition
from strawberry.types.enum import StrawberryEnumDefinition, has_enum_definition
from strawberry.types.field import StrawberryField
from strawberry.types.lazy_type import LazyType
from strawberry.types.unset import UNSET

from leadcycle.graph.completion import Unsupported
from leadcycle.graph.resolution import Resolution
from leadcycle.graph.variables import argument_values

Convert = Callable[[Any], Any]
Call = Callable[[Any, Path, Resolution], Any]


def strawberry_call(
    schema: Schema, parent_type: GraphQLObjectType, definition: GraphQLField, nodes: list[FieldNode]
) -> tuple[Call, bool]:
    """The field's resolver called as strawberry's own calls it, and whether calling it starts nothing until awaited."""
    field = definition.extensions.get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if not isinstance(field, StrawberryField) or field.base_resolver is None or field.extensions:
        raise Unsupported("a field with a resolver of its own and no extensions")
    if schema.schema_converter._exception_handler_specs:
        raise Unsupported("a schema with exception handlers")
    resolver, node, info_class = field.base_resolver, nodes[0], schema.config.info_class
    conversion = Conversion(schema)
    converters = [(conversion.names.from_argument(a), a.python_name, conversion.of(a.type)) for a in field.arguments]
    source_names = [p.name for p in (resolver.parent_parameter, resolver.root_parameter) if p is not None]
    takes_self, info_name = resolver.self_parameter is not None, getattr(resolver.info_parameter, "name", None)
    function, values_of = resolver.wrapped_func, argument_values(definition, node)
    if not callable(function):
        raise Unsupported("a resolver that cannot be called")  # strawberry's own reports it

    def call(source: Any, path: Path, run: Resolution) -> Any:
        values = values_of(run.variable_values)
        arguments = {python: convert(values[name]) for name, python, convert in converters if name in values}
        arguments.update(dict.fromkeys(source_names, source))
        if info_name is not None:
            info = run.info(definition, nodes, parent_type, path)
            arguments[info_name] = info_class(_raw_info=info, _field=field)
        return function(source, **arguments) if takes_self else function(**arguments)

    return call, inspect.iscoroutinefunction(function)


class Conversion:
    """`convert_argument(value, type_)` compiled: its decisions about `type_` taken once, for every value."""

    def __init__(self, schema: Schema) -> None:
        self.registry = schema.schema_converter.scalar_registry
        self.names = schema.config.name_converter
        self.inputs: set[type] = set()  # the input types being compiled: one that holds itself is left to strawberry

    def of(self, type_: Any) -> Convert:
        if isinstance(type_, StrawberryMaybe):
            raise Unsupported("a Maybe argument")
        if isinstance(type_, StrawberryOptional):
            return self.of(type_.of_type)
        if isinstance(type_, LazyType):
            return self.of(type_.resolve_type())
        convert = self._present(type_)

        def present_or_not(value: Any) -> Any:
            return value if value is None or value is UNSET else convert(value)

        return present_or_not

    def _present(self, type_: Any) -> Convert:
        """The conversion of a value that is neither null nor unset."""
        if isinstance(type_, StrawberryList):
            items = type_.of_type
            if self._is_leaf(items.of_type if isinstance(items, StrawberryOptional) else items):
                return list  # still a copy: graphql-core hands every request the same default list
            item = self.of(items)
            return lambda values: [item(value) for value in values]
        if self._is_leaf(type_) or has_enum_definition(type_):
            return lambda value: value
        if has_object_definition(type_) and type_.__strawberry_definition__.from_input is None:
            return self._input(type_)
        raise Unsupported(f"an argument of type {type_}")

    def _input(self, type_: type) -> Convert:
        """An input type built from the fields given, the others left to their defaults or None."""
        if type_ in self.inputs:
            raise Unsupported("an input type that holds itself")
        definition = type_.__strawberry_definition__  # type: ignore[attr-defined]
        implicit = {
            f.python_name: None
            for f in definition.fields
            if definition.is_input and f.default_value is MISSING and f.default_factory is MISSING
        }
        self.inputs.add(type_)
        fields = [
            (self.names.from_field(f), f.python_name, self.of(f.resolve_type(type_definition=definition)))
            for f in definition.fields
        ]
        self.inputs.remove(type_)  # (after Unsupported, the whole conversion is dropped)

        def build(value: Any) -> Any:
            given = {python: convert(value[name]) for name, python, convert in fields if name in value}
            return type_(**(implicit | given))

        return build

    def _is_leaf(self, type_: Any) -> bool:
        """strawberry's `_is_leaf_type` with GlobalID skipped: a scalar or an enum's definition."""
        if isinstance(type_, LazyType):
            return self._is_leaf(type_.resolve_type())
        if type_ is GlobalID:  # its conversion decodes: strawberry's own resolver does that
            return False
        return is_scalar(type_, self.registry) or isinstance(type_, StrawberryEnumDefinition)
