"""Scoring model versions in `scoring_models`, parsed once per version and process."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from leadcycle.domain.rules import ScoringModel
from leadcycle.domain.rules_json import model_to_json, parse_model
from leadcycle.domain.scoring_models import ModelStatus, StoredModel
from leadcycle.persistence.mapping import dumps
from leadcycle.persistence.transaction import Transaction

_ACTIVE = f"status = '{ModelStatus.ACTIVE.value}'"
ACTIVE_VERSION = f"SELECT version FROM scoring_models WHERE {_ACTIVE}"
_DEFINITION = "SELECT definition FROM scoring_models WHERE version = $1"
_VERSION = "SELECT * FROM scoring_models WHERE version = $1"
_NEWEST = "SELECT * FROM scoring_models ORDER BY version DESC LIMIT $1"
_ADD_DRAFT = f"""
    INSERT INTO scoring_models (version, status, definition, note, created_at, created_by)
    SELECT coalesce(max(version), 0) + 1, '{ModelStatus.DRAFT.value}', $1, $2, $3, $4 FROM scoring_models
    RETURNING *
"""
_RETIRE_ACTIVE = f"UPDATE scoring_models SET status = '{ModelStatus.RETIRED.value}' WHERE {_ACTIVE}"
_ACTIVATE = f"""
    UPDATE scoring_models SET status = '{ModelStatus.ACTIVE.value}', activated_at = $2, activated_by = $3
    WHERE version = $1
"""
# Serialises activations and version numbering (one key for the whole table).
_MODELS_WRITER_LOCK = "SELECT pg_advisory_xact_lock(hashtextextended('scoring_models', 0))"


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
    """Model versions on the unit of work's asyncpg connection."""

    def __init__(self, connection: Transaction, cache: ModelCache) -> None:
        self._connection = connection
        self._cache = cache

    async def active(self) -> ScoringModel:
        """The model in force, parsed only the first time.

        Every write asks, once it holds its lead: the statement that locked the lead read the
        version already (repositories.py), else it is one indexed lookup.
        """
        version: int = self._connection.active_model_version or await self._connection.fetchval(ACTIVE_VERSION)
        known = self._cache.known(version)
        if known is not None:
            return known
        return self._cache.model(version, await self._connection.fetchval(_DEFINITION, version))

    async def get(self, version: int) -> StoredModel | None:
        """One version, or None."""
        row = await self._connection.fetchrow(_VERSION, version)
        return self._stored(row) if row else None

    async def lock(self, version: int) -> StoredModel | None:
        """One version, read after every earlier activation has committed."""
        await self._connection.execute(_MODELS_WRITER_LOCK)
        return await self.get(version)

    async def newest(self, first: int) -> list[StoredModel]:
        """The `first` newest versions, newest first."""
        return [self._stored(row) for row in await self._connection.fetch(_NEWEST, first)]

    async def add_draft(self, model: ScoringModel, note: str | None, actor: str, at: datetime) -> StoredModel:
        """Store `model` as a draft under the next version number."""
        await self._connection.execute(_MODELS_WRITER_LOCK)
        row = await self._connection.fetchrow(_ADD_DRAFT, dumps(model_to_json(model)), note, at, actor)
        return self._stored(row)

    async def activate(self, version: int, actor: str, at: datetime) -> None:
        """Retire the model in force and make `version` active (the caller holds `lock`)."""
        await self._connection.execute(_RETIRE_ACTIVE)
        await self._connection.execute(_ACTIVATE, version, at, actor)

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
