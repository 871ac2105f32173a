"""Postgres: tables, repositories and the unit of work behind the domain's ports, the change log."""
