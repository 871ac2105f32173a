"""A page of leads with their activities, timeline and available transitions costs the same number of
SQL statements whatever its size: child lists are loaded in one batch per list, never once per lead.

Runs the app's schema in-process on the test database and counts the statements the engine sends.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import strawberry
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from leadcycle.domain.commands import CreateLead, RecordActivity
from leadcycle.domain.model import Company, Contact
from leadcycle.domain.model_use_cases import ScoringModelUseCases
from leadcycle.domain.stages import LeadEvent
from leadcycle.domain.use_cases import LeadUseCases
from leadcycle.graph.context import Context, Services
from leadcycle.graph.schema import build_schema
from leadcycle.graph.settings import Settings
from leadcycle.persistence.unit_of_work import unit_of_work_factory

PAGE = """
query($sources: [String!]) {
  leads(filter: {sources: $sources}, first: 50) {
    totalCount
    edges {
      node {
        id stage score
        activities { kind points }
        timeline { kind summary }
        availableTransitions { event allowed blockers { guard } }
      }
    }
  }
}
"""
ACTIVITIES = ("email_open", "pricing_page_view")


def utc_now() -> datetime:
    return datetime.now(UTC)


@pytest.fixture(scope="module")
def schema() -> strawberry.Schema:
    return build_schema(Settings())


@pytest.fixture
def use_cases(engine: AsyncEngine) -> LeadUseCases:
    return LeadUseCases(unit_of_work_factory(engine), utc_now)


async def leads_with_history(use_cases: LeadUseCases, count: int) -> str:
    """`count` new leads of a unique source, each with a few activities; returns the source."""
    source = f"src_{uuid.uuid4().hex[:8]}"
    for number in range(count):
        command = CreateLead(Company(f"Company {number} {source}"), Contact(f"Contact {number}"), source)
        lead = await use_cases.create(command, "test")
        for kind in ACTIVITIES:
            await use_cases.record_activity(RecordActivity(str(lead.id), kind), "test")
    return source


@contextlib.contextmanager
def statements_sent(engine: AsyncEngine) -> Iterator[list[str]]:
    """Every SQL statement the engine sends inside the block."""
    sent: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sent.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", note)
    try:
        yield sent
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", note)


async def read_page(
    schema: strawberry.Schema, engine: AsyncEngine, use_cases: LeadUseCases, source: str
) -> tuple[list[dict[str, Any]], list[str]]:
    """The page's nodes, and the statements it took (a fresh context, as for each request)."""
    scoring = ScoringModelUseCases(unit_of_work_factory(engine), utc_now)
    services = Services(engine=engine, leads=use_cases, feed=None, scoring=scoring)  # type: ignore[arg-type]
    context = Context(request=None, response=None, services=services, actor="test")  # type: ignore[arg-type]
    with statements_sent(engine) as sent:
        result = await schema.execute(PAGE, variable_values={"sources": [source]}, context_value=context)
    assert result.errors is None, result.errors
    assert result.data is not None
    return [edge["node"] for edge in result.data["leads"]["edges"]], sent


def assert_complete(nodes: list[dict[str, Any]], count: int) -> None:
    assert len(nodes) == count
    for node in nodes:
        assert [a["kind"] for a in node["activities"]] == list(reversed(ACTIVITIES))
        assert {"created", "activity", "score"} <= {entry["kind"] for entry in node["timeline"]}
        assert len(node["availableTransitions"]) == len(LeadEvent)


class TestLeadPageCost:
    async def test_fifty_leads_cost_as_many_statements_as_five(
        self, schema: strawberry.Schema, engine: AsyncEngine, use_cases: LeadUseCases
    ) -> None:
        few, many = await leads_with_history(use_cases, 5), await leads_with_history(use_cases, 50)
        await read_page(schema, engine, use_cases, few)  # warm-up: connections, type codecs

        few_nodes, few_sent = await read_page(schema, engine, use_cases, few)
        many_nodes, many_sent = await read_page(schema, engine, use_cases, many)

        assert_complete(few_nodes, 5)
        assert_complete(many_nodes, 50)
        assert len(many_sent) == len(few_sent), many_sent

    async def test_each_child_list_is_one_batched_statement(
        self, schema: strawberry.Schema, engine: AsyncEngine, use_cases: LeadUseCases
    ) -> None:
        source = await leads_with_history(use_cases, 20)
        nodes, sent = await read_page(schema, engine, use_cases, source)
        assert_complete(nodes, 20)
        assert sum("FROM activities" in statement for statement in sent) == 1, sent
        assert sum("FROM lead_history" in statement for statement in sent) == 1, sent
        assert len(sent) <= 4, sent  # the page, its count, activities, timeline
