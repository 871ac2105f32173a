"""The unit of work: one transaction for the lead writes (asyncpg) and the key claims (SQLAlchemy), all or nothing."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncEngine

from leadcycle.domain.model import Company, Contact, Lead
from leadcycle.domain.ports import LeadChange
from leadcycle.domain.stages import ChangeKind, Stage
from leadcycle.persistence.database import create_engine
from leadcycle.persistence.unit_of_work import SqlUnitOfWork

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
