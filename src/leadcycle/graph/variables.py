"""A plan's variables and its root field's arguments, coerced by functions compiled once per plan.

graphql-core coerces the variables of every request anew (`coerce_variable_values`): it looks up each variable's
type and walks the value twice, once for its depth and once to coerce it; then it coerces each argument again
from them (`get_argument_values`). `Variables` is that coercion compiled per operation, step for step as
`coerce_input_value` takes it, for the values it accepts: anything it does not take exactly as graphql-core would
(a default to apply, a value graphql-core would refuse, an unknown field, a one-of input, an input type that
holds itself) it leaves to graphql-core, which coerces the request's variables again itself. `argument_values`
is `get_argument_values` compiled for a field whose arguments are variables: their values are looked up.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial
from typing import Any

from graphql import (
    FieldNode,
    GraphQLArgument,
    GraphQLError,
    GraphQLField,
    GraphQLInputField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLSchema,
    VariableDefinitionNode,
    VariableNode,
    is_leaf_type,
)
from graphql.execution.get_variable_signature import get_variable_signature
from graphql.execution.values import VariableValues, VariableValueSource, get_argument_values
from graphql.language.parser import MAX_NESTING_DEPTH
from graphql.pyutils import Undefined, is_iterable
from graphql.type import is_required_argument, is_required_input_field
from graphql.utilities.coerce_input_value import coerce_default_value

from leadcycle.graph.completion import Unsupported

Convert = Callable[[Any], Any]
ArgumentValues = Callable[[VariableValues], dict[str, Any]]


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
    return REQUIRED if is_required_input_field(field) else _default(field)


def _default(value: GraphQLInputField | GraphQLArgument) -> Any:
    """The coerced default of an input field or argument, or Undefined."""
    try:
        return coerce_default_value(value)  # memoised by graphql-core: every request shares the one value
    except TypeError as error:  # an invalid default: graphql-core reports it at each request
        raise Unsupported("an invalid default") from error


def _declined() -> Any:
    raise Declined


def argument_values(definition: GraphQLField, node: FieldNode) -> ArgumentValues:
    """`get_argument_values(definition, node, variables)`, its arguments looked up where each is a variable or
    left out; graphql-core's own where one is a literal, and wherever it would refuse a value."""
    given = {argument.name.value: argument.value for argument in node.arguments or ()}
    generic: ArgumentValues = partial(get_argument_values, definition, node)
    if not all(isinstance(value, VariableNode) for value in given.values()):
        return generic
    try:
        arguments = [_argument(name, argument, given.get(name)) for name, argument in definition.args.items()]
    except Unsupported:
        return generic

    def values(variables: VariableValues) -> dict[str, Any]:
        coerced, result = variables.coerced, {}
        for out_name, variable, omitted, nullable in arguments:
            value = coerced.get(variable, Undefined) if variable is not None else Undefined
            if value is not Undefined and (value is not None or nullable):
                result[out_name] = value
            elif value is not Undefined or omitted is REQUIRED:
                return generic(variables)  # graphql-core's error: a null or no value for a non-null argument
            elif omitted is not Undefined:
                result[out_name] = omitted
        return result

    return values


def _argument(name: str, argument: GraphQLArgument, value: Any) -> tuple[str, str | None, Any, bool]:
    """The argument's out name, its variable's name (None: left out), what it is when the variable has no value
    (REQUIRED, its coerced default, or Undefined), and whether it takes null."""
    omitted = REQUIRED if is_required_argument(argument) else _default(argument)
    variable = value.name.value if isinstance(value, VariableNode) else None
    return argument.out_name or name, variable, omitted, not isinstance(argument.type, GraphQLNonNull)
