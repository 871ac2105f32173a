"""Scoring model versions in `scoring_models`, parsed once per version and process."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import asyncpg
from sqlalchemy import func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from leadcycle.domain.rules import ScoringModel
from leadcycle.domain.rules_json import model_to_json, parse_model
from leadcycle.domain.scoring_models import ModelStatus, StoredModel
from leadcycle.persistence.tables import scoring_models

_ACTIVE_VERSION = f"SELECT version FROM scoring_models WHERE status = '{ModelStatus.ACTIVE.value}'"
# Serialises activations and version numbering (one key for the whole table).
_MODELS_WRITER_LOCK = text("SELECT pg_advisory_xact_lock(hashtextextended('scoring_models', 0))")


class ModelCache:
    """Parsed definitions by version: a version's definition never changes once stored."""

    def __init__(self) -> None:
        self._models: dict[int, ScoringModel] = {}

    def model(self, version: int, definition: Any) -> ScoringModel:
        if version not in self._models:
            self._models[version] = parse_model(definition, version)
        return self._models[version]

    def known(self, version: int) -> ScoringModel | None:
        return self._models.get(version)


class SqlScoringModels:
    """Model versions on the unit of work's connection; `driver` is that connection's asyncpg side."""

    def __init__(self, connection: AsyncConnection, driver: asyncpg.Connection, cache: ModelCache) -> None:
        self._connection = connection
        self._driver = driver
        self._cache = cache

    async def active(self) -> ScoringModel:
        """The model in force: one indexed lookup of its version, parsed only the first time.

        Every write asks, so the lookup is a prepared statement on the driver (as the lead repository's are).
        """
        version: int = await self._driver.fetchval(_ACTIVE_VERSION)
        known = self._cache.known(version)
        if known is not None:
            return known
        query = select(scoring_models.c.definition).where(scoring_models.c.version == version)
        return self._cache.model(version, (await self._connection.execute(query)).scalar_one())

    async def get(self, version: int) -> StoredModel | None:
        """One version, or None."""
        query = select(scoring_models).where(scoring_models.c.version == version)
        row = (await self._connection.execute(query)).mappings().first()
        return self._stored(row) if row else None

    async def lock(self, version: int) -> StoredModel | None:
        """One version, read after every earlier activation has committed."""
        await self._connection.execute(_MODELS_WRITER_LOCK)
        return await self.get(version)

    async def newest(self, first: int) -> list[StoredModel]:
        """The `first` newest versions, newest first."""
        query = select(scoring_models).order_by(scoring_models.c.version.desc()).limit(first)
        return [self._stored(row) for row in (await self._connection.execute(query)).mappings()]

    async def add_draft(self, model: ScoringModel, note: str | None, actor: str, at: datetime) -> StoredModel:
        """Store `model` as a draft under the next version number."""
        await self._connection.execute(_MODELS_WRITER_LOCK)
        next_version = select(func.coalesce(func.max(scoring_models.c.version), 0) + 1).scalar_subquery()
        row = {
            "status": ModelStatus.DRAFT.value,
            "definition": model_to_json(model),
            "note": note,
            "created_at": at,
            "created_by": actor,
        }
        inserted = await self._connection.execute(
            insert(scoring_models).values(version=next_version, **row).returning(scoring_models)
        )
        return self._stored(inserted.mappings().one())

    async def activate(self, version: int, actor: str, at: datetime) -> None:
        """Retire the model in force and make `version` active (the caller holds `lock`)."""
        active = scoring_models.c.status == ModelStatus.ACTIVE.value
        await self._connection.execute(update(scoring_models).where(active).values(status=ModelStatus.RETIRED.value))
        await self._connection.execute(
            update(scoring_models)
            .where(scoring_models.c.version == version)
            .values(status=ModelStatus.ACTIVE.value, activated_at=at, activated_by=actor)
        )

    def _stored(self, row: Mapping[Any, Any]) -> StoredModel:
        return StoredModel(
            model=self._cache.model(row["version"], row["definition"]),
            status=ModelStatus(row["status"]),
            note=row["note"],
            created_at=row["created_at"],
            created_by=row["created_by"],
            activated_at=row["activated_at"],
            activated_by=row["activated_by"],
        )
