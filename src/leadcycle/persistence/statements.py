"""The write path's statements as plain SQL for asyncpg, built once from the Core tables.

Built with SQLAlchemy's `insert(...).values(...)` on every call, their construction, cache keys and
parameter processing cost more CPU than asyncpg's round trips (bench/RESULTS.md). Built once here,
they run as asyncpg's cached prepared statements, and the tables stay the one description of the
columns. Each round trip still costs some 100 us of CPU on the client, so a lead's row and its
records go in as one statement (`together`).

Its rows travel as one JSON document, which Postgres reads back into rows of each table's type
(`jsonb_populate_record`, and `jsonb_populate_recordset` for a table's records: one call per table
costs Postgres less than one per record): orjson writes the document in microseconds, where
asyncpg encodes a column array element by element, with several ABC checks each, and a write had
two dozen arrays.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table

from leadcycle.persistence.mapping import dumps_utf8

ROW = "$1::jsonb -> 'row'"  # the document's row, as SQL


@dataclass(frozen=True)
class Write:
    """One statement of data-modifying WITH queries that writes a lead's row and its records.

    Its first parameter is a JSON document: the row under "row", each table's records under the
    table's name; $2 and on are the first query's own. Its result is the number of rows the first
    query wrote (an UPDATE that found no row: 0).
    """

    sql: str
    tables: tuple[str, ...]

    def document(self, row: Mapping[str, Any], records: Sequence[Sequence[Mapping[str, Any]]]) -> bytes:
        """`row`, and the records of each table in the order the tables were given, as JSON in UTF-8."""
        document: dict[str, Any] = {"row": row}
        document.update(zip(self.tables, records, strict=True))
        return dumps_utf8(document)


def _record(table: Table, value: str) -> str:
    """The JSON object `value` as a row `r` of `table`'s type: each column from the key of its name (NULL if absent)."""
    return f"jsonb_populate_record(NULL::{table.name}, {value}) AS r"


def _selected(names: Sequence[str], computed: Mapping[str, str] | None = None) -> str:
    return ", ".join((computed or {}).get(name, f"r.{name}") for name in names)


def insert_one(table: Table) -> str:
    """INSERT of the document's row into `table`, every column."""
    names = [column.name for column in table.columns]
    return f"INSERT INTO {table.name} ({', '.join(names)}) SELECT {_selected(names)} FROM {_record(table, ROW)}"


def update_versioned(table: Table) -> str:
    """UPDATE of every column of the row `id` ($2) from the document's row, if its version is still $3."""
    names = [column.name for column in table.columns if column.name != "id"]
    return (
        f"UPDATE {table.name} SET ({', '.join(names)}) = ({_selected(names)}) FROM {_record(table, ROW)} "
        f"WHERE {table.name}.id = $2 AND {table.name}.version = $3"
    )


def together(first: str, inserts: Mapping[Table, Sequence[str]], computed: Mapping[str, str] | None = None) -> Write:
    """`first`, then an INSERT of the document's records into each table (the named columns), as one statement.

    They all run on one snapshot (none sees another's rows: fine for inserts of new rows), each
    in the records' order (identity ids follow it: the change log relies on that); foreign keys
    are checked at the end of the statement. `computed`: SQL over the record `r` in place of some
    columns' `r.<name>`.
    """
    parts = [f"written AS ({first} RETURNING 1)"]
    for n, (table, names) in enumerate(inserts.items(), 1):
        records = f"jsonb_populate_recordset(NULL::{table.name}, $1::jsonb -> '{table.name}') WITH ORDINALITY AS r"
        insert = f"INSERT INTO {table.name} ({', '.join(names)}) SELECT {_selected(names, computed)} FROM {records}"
        parts.append(f"insert_{n} AS ({insert} ORDER BY r.ordinality)")
    sql = f"WITH {', '.join(parts)} SELECT count(*) FROM written"
    return Write(sql, tuple(str(table.name) for table in inserts))  # orjson takes plain str keys only
