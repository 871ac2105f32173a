"""The write path's statements as plain SQL for asyncpg, built once from the Core tables.

Built with SQLAlchemy's `insert(...).values(...)` on every call, their construction, cache keys and
parameter processing cost more CPU than asyncpg's round trips (bench/RESULTS.md). Built once here,
they run as asyncpg's cached prepared statements, and the tables stay the one description of the
columns. Each round trip still costs some 100 us of CPU on the client, so a lead's row and its
records go in as one statement (`together`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql.base import PGDialect

from leadcycle.persistence.mapping import dumps


@dataclass(frozen=True)
class Statement:
    """SQL with numbered parameters, and how a row of named values becomes its arguments."""

    sql: str
    parameters: tuple[str, ...]
    json_parameters: frozenset[str]

    def arguments(self, row: Mapping[str, Any]) -> list[Any]:
        """The row's values in parameter order; jsonb values as JSON text (the engine's codec takes text)."""
        return [dumps(row[name]) if name in self.json_parameters else row[name] for name in self.parameters]


def _columns(table: Table, names: Iterable[str]) -> tuple[tuple[str, ...], frozenset[str]]:
    names = tuple(names)
    return names, frozenset(name for name in names if isinstance(table.c[name].type, JSONB))


def insert(table: Table, names: Sequence[str]) -> Statement:
    """INSERT of one row with the named columns."""
    parameters, json_parameters = _columns(table, names)
    placeholders = ", ".join(f"${n}" for n in range(1, len(parameters) + 1))
    sql = f"INSERT INTO {table.name} ({', '.join(parameters)}) VALUES ({placeholders})"
    return Statement(sql, parameters, json_parameters)


@dataclass(frozen=True)
class RowsInsert:
    """INSERT of any number of rows in one statement: one array per column, rows inserted in order."""

    sql: str
    statement: Statement

    def arguments(self, rows: Sequence[Mapping[str, Any]]) -> list[list[Any]]:
        """One array per column, in parameter order (empty arrays for no rows: the INSERT then adds none)."""
        if not rows:
            return [[] for _ in self.statement.parameters]
        columns = zip(*(self.statement.arguments(row) for row in rows), strict=True)
        return [list(values) for values in columns]


def insert_rows(table: Table, names: Sequence[str]) -> RowsInsert:
    """INSERT of the rows given as column arrays (`unnest`), so that any count is one prepared statement.

    Rows go in in the order given, so identity ids follow it (the change log relies on that).
    """
    statement = insert(table, names)
    dialect = PGDialect()  # type: ignore[no-untyped-call]  # SQLAlchemy leaves dialect constructors untyped
    arrays = ", ".join(
        f"${n}::{table.c[name].type.compile(dialect=dialect)}[]" for n, name in enumerate(statement.parameters, 1)
    )
    columns = ", ".join(statement.parameters)
    sql = (
        f"INSERT INTO {table.name} ({columns}) SELECT {columns} "
        f"FROM unnest({arrays}) WITH ORDINALITY AS r({columns}, n) ORDER BY n"
    )
    return RowsInsert(sql, statement)


def update_versioned(table: Table) -> Statement:
    """UPDATE of every column of the row `id` whose version is still `expected_version` (zero rows: a conflict)."""
    names = [column.name for column in table.columns if column.name != "id"]
    parameters, json_parameters = _columns(table, ["id", *names])
    assignments = ", ".join(f"{name} = ${n}" for n, name in enumerate(names, start=2))
    expected = len(parameters) + 1
    sql = f"UPDATE {table.name} SET {assignments} WHERE id = $1 AND version = ${expected}"
    return Statement(sql, (*parameters, "expected_version"), json_parameters)


@dataclass(frozen=True)
class Together:
    """A one-row statement and row inserts run as one statement: one round trip instead of one each.

    Its result is the number of rows the first statement wrote (an UPDATE that found no row: 0).
    """

    sql: str
    first: Statement
    inserts: tuple[RowsInsert, ...]

    def arguments(self, row: Mapping[str, Any], *rows: Sequence[Mapping[str, Any]]) -> list[Any]:
        """The first statement's row, then each insert's rows, as its numbered parameters."""
        arguments = self.first.arguments(row)
        for insert, its_rows in zip(self.inserts, rows, strict=True):
            arguments += insert.arguments(its_rows)
        return arguments


def together(first: Statement, *inserts: RowsInsert) -> Together:
    """`first` and `inserts` as data-modifying WITH queries of one statement.

    They all run, on one snapshot (none sees another's rows: fine for inserts of new rows), each
    keeping its own row order; foreign keys are checked at the end of the statement.
    """
    parts, offset = [f"written AS ({first.sql} RETURNING 1)"], len(first.parameters)
    for n, insert in enumerate(inserts, 1):
        parts.append(f"insert_{n} AS ({_renumbered(insert.sql, offset)})")
        offset += len(insert.statement.parameters)
    sql = f"WITH {', '.join(parts)} SELECT count(*) FROM written"
    return Together(sql, first, inserts)


def _renumbered(sql: str, offset: int) -> str:
    """The SQL with its parameters $n numbered from `offset` + 1 (these statements have no other `$`)."""
    return re.sub(r"\$(\d+)", lambda number: f"${int(number[1]) + offset}", sql)
