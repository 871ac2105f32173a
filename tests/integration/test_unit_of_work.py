"""The unit of work: one transaction for the lead writes and the key claims, all or nothing; what a save writes."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from types import SimpleNamespace
from unittest.mock import Mock

import pytest
import pytest_asyncio
from asyncpg.connection import LoggedQuery
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from leadcycle.domain.commands import CreateLead, RecordActivity
from leadcycle.domain.model import Company, Contact, HistoryEntry, Lead
from leadcycle.domain.ports import LeadChange
from leadcycle.domain.stages import ChangeKind, Stage
from leadcycle.domain.use_cases import LeadUseCases
from leadcycle.persistence import mapping
from leadcycle.persistence.database import create_engine
from leadcycle.persistence.mapping import lead_from_snapshot, lead_to_row
from leadcycle.persistence.unit_of_work import SqlUnitOfWork, unit_of_work_factory

ACTOR = "unit-of-work-test"


class Refused(Exception):
    """What the use case in these tests raises after writing."""


@pytest_asyncio.fixture
async def one_connection(engine: AsyncEngine, database_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine (on the migrated database) whose units of work run one after the other on one pooled connection."""
    engine = create_engine(database_url, pool_size=1)
    yield engine
    await engine.dispose()


def new_lead() -> tuple[Lead, LeadChange]:
    now = datetime.now(UTC)
    suffix = uuid.uuid4().hex[:10]
    lead = Lead(uuid.uuid4(), Company(f"Unit of work {suffix}"), Contact(f"Contact {suffix}"), "web_ad", created_at=now)
    return lead, LeadChange(ChangeKind.CREATED, now, ACTOR, to_stage=Stage.COLD)


async def write_lead_and_key(engine: AsyncEngine, key: str, *, commit: bool) -> Lead:
    lead, change = new_lead()
    async with SqlUnitOfWork(engine) as uow:
        assert await uow.idempotency.claim("test", key, "fingerprint", lead.id) is None
        await uow.leads.add(lead, change)
        if commit:
            await uow.commit()
    return lead


class TestUnitOfWork:
    async def test_commit_keeps_the_lead_and_the_key_together(self, one_connection: AsyncEngine) -> None:
        key = uuid.uuid4().hex
        lead = await write_lead_and_key(one_connection, key, commit=True)
        async with SqlUnitOfWork(one_connection) as uow:
            assert await uow.leads.get(lead.id) == lead
            stored = await uow.idempotency.claim("test", key, "fingerprint", uuid.uuid4())
        assert stored is not None
        assert stored.lead_id == lead.id

    async def test_leaving_without_commit_undoes_the_lead_and_the_key(self, one_connection: AsyncEngine) -> None:
        key = uuid.uuid4().hex
        lead = await write_lead_and_key(one_connection, key, commit=False)
        async with SqlUnitOfWork(one_connection) as uow:
            assert await uow.leads.get(lead.id) is None
            assert await uow.idempotency.claim("test", key, "fingerprint", lead.id) is None

    async def test_an_error_rolls_back_before_the_connection_is_reused(self, one_connection: AsyncEngine) -> None:
        lead, change = new_lead()

        async def add_then_fail() -> None:
            async with SqlUnitOfWork(one_connection) as uow:
                await uow.leads.add(lead, change)
                raise Refused

        with pytest.raises(Refused):
            await add_then_fail()
        async with SqlUnitOfWork(one_connection) as uow:
            assert await uow.leads.get(lead.id) is None

    async def test_one_cancelled_while_it_waits_keeps_neither_its_connection_nor_its_transaction(
        self, engine: AsyncEngine, one_connection: AsyncEngine
    ) -> None:
        lead = await write_lead_and_key(engine, uuid.uuid4().hex, commit=True)

        async def lock_and_wait() -> None:
            async with SqlUnitOfWork(one_connection) as uow:
                await uow.leads.lock(lead.id)
                await asyncio.Event().wait()

        async with SqlUnitOfWork(engine) as holder:
            await holder.leads.lock(lead.id)
            waiter = asyncio.create_task(lock_and_wait())
            await waiting_for_an_advisory_lock(engine)
            waiter.cancel()
            with pytest.raises(asyncio.CancelledError):
                await waiter
        assert one_connection.pool.checkedout() == 0  # type: ignore[attr-defined]

        async with asyncio.timeout(10), one_connection.connect() as reader:  # SQLAlchemy begins its own transaction
            assert (await reader.execute(text("SELECT 1"))).scalar_one() == 1
        async with asyncio.timeout(10), SqlUnitOfWork(one_connection) as uow:
            assert await uow.leads.lock(lead.id) is not None


async def waiting_for_an_advisory_lock(engine: AsyncEngine) -> None:
    """Returns once a transaction of this database waits for an advisory lock."""
    query = text(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
        " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    )
    async with asyncio.timeout(10):
        while True:
            async with engine.connect() as connection:
                if (await connection.execute(query)).scalar_one():
                    return
            await asyncio.sleep(0.02)


async def snapshots(engine: AsyncEngine, lead_id: uuid.UUID) -> list[Lead]:
    """The lead as each of its changes logged it, read back as the change feed reads it."""
    query = text("SELECT snapshot::text AS snapshot FROM lead_changes WHERE lead_id = :id ORDER BY version")
    async with engine.connect() as connection:
        rows = (await connection.execute(query, {"id": lead_id})).all()
    return [lead_from_snapshot(json.loads(row.snapshot)) for row in rows]


class TestLeadWrites:
    async def test_every_step_of_one_save_logs_the_lead_as_of_that_step(self, engine: AsyncEngine) -> None:
        use_cases = LeadUseCases(unit_of_work_factory(engine), lambda: datetime.now(UTC))
        created = await use_cases.create(
            CreateLead(Company(f"Steps {uuid.uuid4().hex[:10]}"), Contact("C"), "web_ad"), ACTOR
        )
        kinds = ["email_open", "web_visit", "demo_request"]

        steps = await use_cases.record_activities([RecordActivity(str(created.id), kind) for kind in kinds], ACTOR)

        logged = await snapshots(engine, created.id)
        assert [lead_to_row(lead) for lead in logged] == [lead_to_row(lead) for lead in [created, *steps]]
        assert len({lead.score for lead in logged}) > 1

    async def test_properties_with_integers_beyond_64_bits_are_written_exactly(self, engine: AsyncEngine) -> None:
        use_cases = LeadUseCases(unit_of_work_factory(engine), lambda: datetime.now(UTC))
        created = await use_cases.create(
            CreateLead(Company(f"Big {uuid.uuid4().hex[:10]}"), Contact("C"), "web_ad"), ACTOR
        )
        properties = {"order": 2**70, "nested": [-(2**63) - 1]}

        recorded = await use_cases.record_activity(
            RecordActivity(str(created.id), "email_open", properties=properties), ACTOR
        )

        assert [lead_to_row(lead) for lead in await snapshots(engine, created.id)] == [
            lead_to_row(lead) for lead in [created, recorded]
        ]
        async with SqlUnitOfWork(engine) as uow:
            locked = await uow.leads.lock(created.id)
        assert locked is not None
        assert [activity.properties for activity in locked.cycle_activities] == [properties]

    async def test_a_lock_for_a_new_cycle_reads_the_lead_without_its_cycles_activities(
        self, engine: AsyncEngine
    ) -> None:
        use_cases = LeadUseCases(unit_of_work_factory(engine), lambda: datetime.now(UTC))
        created = await use_cases.create(
            CreateLead(Company(f"Cycle {uuid.uuid4().hex[:10]}"), Contact("C"), "seo"), ACTOR
        )
        await use_cases.record_activity(RecordActivity(str(created.id), "document_request"), ACTOR)

        async with SqlUnitOfWork(engine) as uow:
            whole = await uow.leads.lock(created.id)
        async with SqlUnitOfWork(engine) as uow:
            alone = await uow.leads.lock(created.id, cycle_activities=False)

        assert whole is not None
        assert alone is not None
        assert [a.kind for a in whole.cycle_activities] == ["document_request"]
        assert alone.cycle_activities == ()
        assert lead_to_row(alone) == lead_to_row(whole)

    async def test_a_save_that_finds_another_version_writes_none_of_its_records(self, engine: AsyncEngine) -> None:
        lead, change = new_lead()
        async with SqlUnitOfWork(engine) as uow:
            await uow.leads.add(lead, change)
            await uow.commit()

        async def save_from_a_version_never_read() -> None:
            async with SqlUnitOfWork(engine) as uow:
                stale = await uow.leads.lock(lead.id)
                assert stale is not None
                stale.version += 2
                stale.record(HistoryEntry(change.at, "note", ACTOR, "never written"))
                await uow.leads.save(stale, LeadChange(ChangeKind.ACTIVITY, change.at, ACTOR))
                await uow.commit()

        with pytest.raises(RuntimeError, match="without holding its lock"):
            await save_from_a_version_never_read()

        assert [logged.version for logged in await snapshots(engine, lead.id)] == [lead.version]
        async with engine.connect() as connection:
            history = await connection.execute(
                text("SELECT kind FROM lead_history WHERE lead_id = :id"), {"id": lead.id}
            )
            assert history.scalars().all() == []


@pytest_asyncio.fixture
async def round_trips(one_connection: AsyncEngine) -> AsyncIterator[list[str]]:
    """The statements sent on the one connection of `one_connection`, each a round trip, as they are sent."""
    sent: list[str] = []
    pooled = await one_connection.raw_connection()
    driver = pooled.driver_connection
    assert driver is not None

    def log(query: LoggedQuery) -> None:
        sent.append(" ".join(query.query.split()[:2]))

    driver.add_query_logger(log)
    pooled.close()
    yield sent
    driver.remove_query_logger(log)


class TestRoundTrips:
    async def test_a_change_begins_with_its_writer_lock_and_reads_the_model_with_its_row(
        self, one_connection: AsyncEngine, round_trips: list[str]
    ) -> None:
        use_cases = LeadUseCases(unit_of_work_factory(one_connection), lambda: datetime.now(UTC))
        created = await use_cases.create(
            CreateLead(Company(f"Trips {uuid.uuid4().hex[:10]}"), Contact("C"), "web_ad"), ACTOR
        )
        await use_cases.record_activity(RecordActivity(str(created.id), "email_open"), ACTOR)  # types introspected
        await asyncio.sleep(0.01)  # asyncpg calls query loggers soon after, not during, a statement
        round_trips.clear()

        await use_cases.record_activity(RecordActivity(str(created.id), "email_open"), ACTOR)
        await asyncio.sleep(0.01)

        assert round_trips == ["BEGIN; SELECT", "SELECT l.*,", "WITH written", "COMMIT"]

    async def test_a_write_goes_out_as_one_document_that_orjson_writes(
        self, engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        use_cases = LeadUseCases(unit_of_work_factory(engine), lambda: datetime.now(UTC))
        created = await use_cases.create(
            CreateLead(Company(f"Document {uuid.uuid4().hex[:10]}"), Contact("C"), "web_ad"), ACTOR
        )
        fallback = SimpleNamespace(loads=json.loads, dumps=Mock(side_effect=AssertionError("the slow fallback")))
        monkeypatch.setattr(mapping, "json", fallback)

        recorded = await use_cases.record_activity(RecordActivity(str(created.id), "demo_request"), ACTOR)

        assert [lead.stage for lead in await snapshots(engine, created.id)] == [Stage.COLD, Stage.MQL]
        assert type(recorded.id) is uuid.UUID  # orjson writes it itself; asyncpg's subclass would take a detour
