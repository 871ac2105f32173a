"""A plan's variables and its root resolver's arguments, converted by functions compiled once per plan.

graphql-core coerces the variables of every request anew (`coerce_variable_values`): it looks up each variable's
type and walks the value twice, once for its depth and once to coerce it. `Variables` is that coercion compiled
per operation, step for step as `coerce_input_value` takes it, for the values it accepts: anything it does not
take exactly as graphql-core would (a default to apply, a value graphql-core would refuse, an unknown field, a
one-of input, an input type that holds itself) it leaves to graphql-core, which coerces the request again itself.

A plan's root resolver is then called as strawberry calls it.

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
from collections.abc import Callable, Iterable
from dataclasses import MISSING
from typing import Any

from graphql import (
    FieldNode,
    GraphQLError,
    GraphQLField,
    GraphQLInputField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    VariableDefinitionNode,
    is_leaf_type,
)
from graphql.execution.get_variable_signature import get_variable_signature
from graphql.execution.values import VariableValues, VariableValueSource, get_argument_values
from graphql.language.parser import MAX_NESTING_DEPTH
from graphql.pyutils import Path, Undefined, is_iterable
from graphql.type import is_required_input_field
from graphql.utilities.coerce_input_value import coerce_default_value
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

Convert = Callable[[Any], Any]
Call = Callable[[Any, Path, Resolution], Any]


class Declined(Exception):
    """A variable's value compiled coercion leaves to graphql-core: one it may refuse, or take otherwise."""


class Variables:
    """`coerce_variable_values` for one operation's variable definitions, compiled (module docstring)."""

    def __init__(self, schema: GraphQLSchema, definitions: Iterable[VariableDefinitionNode]) -> None:
        self.inputs: set[GraphQLInputObjectType] = set()  # the input types being compiled (one may hold itself)
        try:
            self.variables: list[tuple[Any, ...]] | None = [self._variable(schema, d) for d in definitions]
        except Unsupported:  # graphql-core coerces every request's variables
            self.variables = None

    def coerce(self, values: dict[str, Any]) -> VariableValues | None:
        """The variables as graphql-core coerces `values`; None where graphql-core must coerce them itself."""
        if self.variables is None:
            return None
        sources: dict[str, VariableValueSource] = {}
        coerced: dict[str, Any] = {}
        try:
            for name, signature, coerce, omissible in self.variables:
                value = values.get(name, Undefined)
                if value is Undefined:
                    if not omissible:
                        raise Declined
                    sources[name] = VariableValueSource(signature)
                    continue
                sources[name] = VariableValueSource(signature, value)
                coerced[name] = coerce(value)
        except Declined:
            return None
        return VariableValues(sources, coerced)

    def _variable(self, schema: GraphQLSchema, definition: VariableDefinitionNode) -> tuple[Any, ...]:
        """The variable's name, signature, coercion, and whether it may be omitted (nullable, without a default)."""
        signature = get_variable_signature(schema, definition)
        if isinstance(signature, GraphQLError):
            raise Unsupported("a variable of no input type")
        omissible = not (definition.default_value or isinstance(signature.type, GraphQLNonNull))
        return signature.name, signature, self._of(signature.type, 0), omissible

    def _of(self, type_: GraphQLInputType, depth: int) -> Convert:
        """`coerce_input_value` for a value at `depth` (graphql-core refuses values nested deeper than it allows)."""
        if depth > MAX_NESTING_DEPTH:
            raise Unsupported("an input nested too deeply")
        if isinstance(type_, GraphQLNonNull):
            inner = self._present(type_.of_type, depth)
            return lambda value: _declined() if value is None or value is Undefined else inner(value)
        present = self._present(type_, depth)
        return lambda value: None if value is None or value is Undefined else present(value)

    def _present(self, type_: GraphQLInputType, depth: int) -> Convert:
        """The coercion of a value that is neither null nor undefined."""
        if isinstance(type_, GraphQLList):
            item = self._of(type_.of_type, depth + 1)
            return lambda value: [item(each) for each in value] if is_iterable(value) else [item(value)]
        if isinstance(type_, GraphQLInputObjectType):
            return self._input(type_, depth)
        assert is_leaf_type(type_)
        parse = type_.coerce_input_value

        def leaf(value: Any) -> Any:
            try:
                parsed = parse(value)
            except Exception as error:
                raise Declined from error
            return parsed if parsed is not Undefined else _declined()

        return leaf

    def _input(self, type_: GraphQLInputObjectType, depth: int) -> Convert:
        """An input object: its fields given coerced, the omitted ones with their defaults, under their out names."""
        if type_.is_one_of or type_ in self.inputs:
            raise Unsupported("a one-of input, or an input type that holds itself")
        self.inputs.add(type_)
        fields = [
            (name, field.out_name or name, self._of(field.type, depth + 1), _omitted(field))
            for name, field in type_.fields.items()
        ]
        self.inputs.remove(type_)
        names, out_type = type_.fields.keys(), type_.out_type

        def input_object(value: Any) -> Any:
            if not isinstance(value, dict) or not names >= value.keys():
                raise Declined
            coerced: dict[str, Any] = {}
            for name, out_name, coerce, omitted in fields:
                given = value.get(name, Undefined)
                if given is not Undefined:
                    coerced[out_name] = coerce(given)
                elif omitted is REQUIRED:
                    raise Declined
                elif omitted is not Undefined:
                    coerced[out_name] = omitted
            return out_type(coerced)

        return input_object


REQUIRED = object()  # an input field without a default that a value must give


def _omitted(field: GraphQLInputField) -> Any:
    """What an input field is when a value omits it: REQUIRED, its coerced default, or Undefined (left out)."""
    if is_required_input_field(field):
        return REQUIRED
    try:
        return coerce_default_value(field)  # memoised by graphql-core: every request shares the one value
    except TypeError as error:  # an invalid default: graphql-core reports it at each request
        raise Unsupported("an input field with an invalid default") from error


def _declined() -> Any:
    raise Declined


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

    def call(source: Any, path: Path, run: Resolution) -> Any:
        values = get_argument_values(definition, node, run.variable_values)
        arguments = {python: convert(values[name]) for name, python, convert in converters if name in values}
        arguments.update(dict.fromkeys(source_names, source))
        if info_name is not None:
            info = run.info(definition, nodes, parent_type, path)
            arguments[info_name] = info_class(_raw_info=info, _field=field)
        return resolver(source, **arguments) if takes_self else resolver(**arguments)

    return call, inspect.iscoroutinefunction(resolver.wrapped_func)


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
