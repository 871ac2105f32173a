"""The use cases of scoring models: draft, activate, read. Each call is one unit of work."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from leadcycle.domain import validation
from leadcycle.domain.errors import InvalidInput
from leadcycle.domain.ports import UnitOfWork
from leadcycle.domain.rules_json import parse_model
from leadcycle.domain.scoring_models import ModelStatus, StoredModel

MAX_LISTED_MODELS = 200


class ScoringModelUseCases:
    """What marketing does with scoring models, each call in its own unit of work."""

    def __init__(self, uow_factory: Callable[[], UnitOfWork], clock: Callable[[], datetime]) -> None:
        self._uow_factory = uow_factory
        self._clock = clock

    async def create_draft(self, document: Any, note: str | None, actor: str) -> StoredModel:
        """Store a valid document as a new draft version; ModelRejected names every problem."""
        actor = validation.actor(actor)
        note = validation.text(note, "note", limit=validation.LONG_TEXT)
        model = parse_model(document)
        async with self._uow_factory() as uow:
            stored = await uow.scoring_models.add_draft(model, note, actor, self._clock())
            await uow.commit()
        return stored

    async def activate(self, version: int, actor: str) -> StoredModel:
        """Put `version` in force; refused (on `version`) when it is unknown or already active."""
        actor = validation.actor(actor)
        async with self._uow_factory() as uow:
            found = await uow.scoring_models.lock(version)
            if found is None:
                raise InvalidInput("version", f"There is no scoring model version {version}")
            if found.status is ModelStatus.ACTIVE:
                raise InvalidInput("version", f"Scoring model version {version} is already active")
            await uow.scoring_models.activate(version, actor, self._clock())
            activated = await uow.scoring_models.get(version)
            await uow.commit()
        assert activated is not None
        return activated

    async def active(self) -> StoredModel:
        """The model in force, with its history."""
        async with self._uow_factory() as uow:
            model = await uow.scoring_models.active()
            found = await uow.scoring_models.get(model.version)
        assert found is not None
        return found

    async def newest(self, first: int) -> list[StoredModel]:
        """Up to `first` versions, newest first."""
        async with self._uow_factory() as uow:
            return await uow.scoring_models.newest(min(first, MAX_LISTED_MODELS))
