"""The use cases of scoring models: draft, activate, read. Each call is one unit of work."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from leadcycle.domain import validation
from leadcycle.domain.dry_run import MAX_SAMPLE, PAGE, DryRun, DryRunTally
from leadcycle.domain.errors import InvalidInput
from leadcycle.domain.lifecycle import Policy
from leadcycle.domain.ports import UnitOfWork
from leadcycle.domain.rules_json import parse_model
from leadcycle.domain.scoring_models import ModelStatus, RescoringRun, StoredModel

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
        """Put `version` in force and start rescoring every lead with it (in the background).

        Refused (on `version`) when it is unknown or already active.
        """
        actor = validation.actor(actor)
        async with self._uow_factory() as uow:
            found = await uow.scoring_models.lock(version)
            if found is None:
                raise InvalidInput("version", f"There is no scoring model version {version}")
            if found.status is ModelStatus.ACTIVE:
                raise InvalidInput("version", f"Scoring model version {version} is already active")
            now = self._clock()
            await uow.scoring_models.activate(version, actor, now)
            await uow.rescoring.start(version, actor, now)
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

    async def rescorings_of(self, versions: Sequence[int]) -> dict[int, RescoringRun]:
        """The newest rescoring run of each version that has one: how far putting it in force has got."""
        async with self._uow_factory() as uow:
            return await uow.rescoring.latest_of(versions)

    async def dry_run(self, version: int, sample: int) -> DryRun:
        """What activating `version` now would do to every lead, with up to `sample` examples; writes nothing."""
        if not 0 <= sample <= MAX_SAMPLE:
            raise InvalidInput("sample", f"sample must be between 0 and {MAX_SAMPLE}")
        now = self._clock()
        async with self._uow_factory() as uow:
            stored = await uow.scoring_models.get(version)
            if stored is None:
                raise InvalidInput("version", f"There is no scoring model version {version}")
            tally, policy = DryRunTally(version, sample), Policy(scoring=stored.model)
            after = None
            while page := await uow.leads.page_for_scoring(after, PAGE):
                for lead in page:
                    tally.add(lead, policy, now)
                after = page[-1].id
        return tally.result()
