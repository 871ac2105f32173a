"""Scalars whose wire format the contract fixes more tightly than strawberry's defaults."""

from decimal import Decimal, DecimalException

import strawberry


def _parse_decimal(value: object) -> Decimal:
    """A string or a number; a value that is neither becomes a GraphQL error."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"Decimal cannot represent {value!r}: send a string or a number")
    try:
        return Decimal(str(value))
    except DecimalException:
        raise ValueError(f"Decimal cannot represent {value!r}") from None


# Postgres hands numerics back as e.g. Decimal('5.00E+10'); clients get plain digits, "50000000000".
DECIMAL = strawberry.scalar(
    name="Decimal",
    description="Decimal (fixed-point), as a JSON string of plain digits on output; a string or a number on input.",
    serialize=lambda value: format(value, "f"),
    parse_value=_parse_decimal,
)
