"""Leads and jsonb values between Python and Postgres: exact, and written and read by orjson where it can."""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from leadcycle.domain.model import Bant, BantCriterion, Company, Contact, Lead, ScoreContribution
from leadcycle.domain.stages import BantStatus
from leadcycle.persistence import database, driver
from leadcycle.persistence.mapping import (
    bant_from_json,
    breakdown_from_json,
    dumps,
    dumps_utf8,
    lead_to_row,
    loads,
)

BEYOND_64_BITS = {"big": 2**70, "low": -(2**63) - 1, "high": 2**64, "fraction": 1.5, "digits": "1234567890123456789012"}


async def round_trip(engine: AsyncEngine, value: Any, serialize: Callable[[Any], str | bytes] = dumps) -> Any:
    async with driver.connection(engine) as connection:
        return await connection.fetchval("SELECT $1::jsonb", serialize(value))


class TestJsonb:
    @pytest.mark.parametrize("serialize", [dumps, dumps_utf8], ids=["text", "UTF-8"])
    async def test_integers_beyond_64_bits_come_back_exact(
        self, engine: AsyncEngine, serialize: Callable[[Any], str | bytes]
    ) -> None:
        assert await round_trip(engine, BEYOND_64_BITS, serialize) == BEYOND_64_BITS

    async def test_text_and_numbers_of_any_script_come_back_as_written(self, engine: AsyncEngine) -> None:
        fullwidth_digits = "\uff11" * 20  # Unicode digits, not a JSON number
        value = {"note": f"来期予算 {fullwidth_digits}", "at": "2026-11-29T13:31:43.315602+00:00", "n": [0, -1]}
        assert await round_trip(engine, value) == await round_trip(engine, value, dumps_utf8) == value

    async def test_every_jsonb_value_is_read_by_our_decoder(
        self, database_url: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        read: list[bytes] = []
        decoder: Callable[[bytes], Any] = database.jsonb_decoder
        monkeypatch.setattr(database, "jsonb_decoder", lambda data: read.append(data) or decoder(data))
        engine = database.create_engine(database_url, pool_size=1)
        try:
            assert await round_trip(engine, {"n": 1}) == {"n": 1}
        finally:
            await engine.dispose()
        assert read == [b'\x01{"n": 1}']  # not SQLAlchemy's codec, which this engine also sets up


class TestLoads:
    def test_reads_integers_beyond_64_bits_exactly(self) -> None:
        assert loads(dumps(BEYOND_64_BITS)) == BEYOND_64_BITS

    def test_reads_numbers_beyond_a_double_as_infinity(self) -> None:
        assert loads("[1e400]") == [math.inf]


AT = datetime(2026, 11, 29, 13, 31, 43, 315602, tzinfo=UTC)
BANT = Bant(
    budget=BantCriterion(BantStatus.CONFIRMED, "来期予算に計上予定"),
    need=BantCriterion(BantStatus.CONFIRMED),
    budget_amount=Decimal("3.7E+7"),
    target_date=date(2027, 1, 24),
)
BREAKDOWN = (
    ScoreContribution("activity.email_open", 4, "4 x email_open at +1", AT, count=4, behaviour=True),
    ScoreContribution("contact.decision_maker", 10, "The contact is a decision maker", AT.replace(microsecond=0)),
)
BANT_JSON = {
    "budget": {"status": "CONFIRMED", "note": "来期予算に計上予定"},
    "authority": {"status": "UNKNOWN", "note": None},
    "need": {"status": "CONFIRMED", "note": None},
    "timeframe": {"status": "UNKNOWN", "note": None},
    "budget_amount": "3.7E+7",
    "target_date": "2027-01-24",
}
BREAKDOWN_JSON = [
    {
        "rule": "activity.email_open",
        "points": 4,
        "reason": "4 x email_open at +1",
        "at": "2026-11-29T13:31:43.315602+00:00",
        "count": 4,
        "behaviour": True,
    },
    {
        "rule": "contact.decision_maker",
        "points": 10,
        "reason": "The contact is a decision maker",
        "at": "2026-11-29T13:31:43+00:00",
        "count": 1,
        "behaviour": False,
    },
]


class TestLeadRow:
    lead = Lead(uuid.uuid4(), Company("Acme"), Contact("C"), "web_ad", AT, bant=BANT, breakdown=BREAKDOWN)

    @pytest.mark.parametrize("extra", [{}, {"big": 2**70}], ids=["orjson", "the standard library"])
    def test_writes_bant_and_breakdown_as_json_objects_of_their_fields(self, extra: dict[str, Any]) -> None:
        written = loads(dumps(lead_to_row(self.lead) | extra))

        assert (written["bant"], written["score_breakdown"]) == (BANT_JSON, BREAKDOWN_JSON)
        assert bant_from_json(written["bant"]) == BANT
        assert breakdown_from_json(written["score_breakdown"]) == BREAKDOWN
