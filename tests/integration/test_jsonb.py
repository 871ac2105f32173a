"""jsonb values between Postgres and Python: read as the standard library reads them, by our codec."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from leadcycle.persistence import database, driver
from leadcycle.persistence.mapping import dumps, loads

BEYOND_64_BITS = {"big": 2**70, "low": -(2**63) - 1, "high": 2**64, "fraction": 1.5, "digits": "1234567890123456789012"}


async def round_trip(engine: AsyncEngine, value: Any) -> Any:
    async with driver.connection(engine) as connection:
        return await connection.fetchval("SELECT $1::jsonb", dumps(value))


class TestJsonb:
    async def test_integers_beyond_64_bits_come_back_exact(self, engine: AsyncEngine) -> None:
        assert await round_trip(engine, BEYOND_64_BITS) == BEYOND_64_BITS

    async def test_text_and_numbers_of_any_script_come_back_as_written(self, engine: AsyncEngine) -> None:
        fullwidth_digits = "\uff11" * 20  # Unicode digits, not a JSON number
        value = {"note": f"来期予算 {fullwidth_digits}", "at": "2026-11-29T13:31:43.315602+00:00", "n": [0, -1]}
        assert await round_trip(engine, value) == value

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
