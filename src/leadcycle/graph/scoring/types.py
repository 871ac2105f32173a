"""Scoring models as marketing reads them: thresholds, rules, the document, and their history."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from leadcycle.domain import errors, scoring_models
from leadcycle.domain.dry_run import DryRun
from leadcycle.domain.lifecycle import Policy
from leadcycle.domain.rules import ActivityRule
from leadcycle.domain.rules import ScoringModel as DomainModel
from leadcycle.domain.rules_json import model_to_json
from leadcycle.domain.scoring_models import StoredModel
from leadcycle.graph.context import Info
from leadcycle.graph.leads.enums import LeadStage, Temperature
from leadcycle.graph.leads.types import Lead
from leadcycle.graph.problems import ValidationProblem

strawberry.enum(
    scoring_models.ModelStatus,
    name="ScoringModelStatus",
    description="DRAFT: written, never in force. ACTIVE: the one model in force. RETIRED: was in force once.",
)
ScoringModelStatus = scoring_models.ModelStatus  # the domain's enum, registered above under its API name
strawberry.enum(
    scoring_models.RunState,
    name="RescoringState",
    description="RUNNING: leads are being rescored. DONE: every lead was. SUPERSEDED: a newer activation took over.",
)
RescoringState = scoring_models.RunState


@strawberry.type(description="How far rescoring every lead with a newly activated version has got.")
class RescoringProgress:
    state: RescoringState = strawberry.field(description="Running, done, or superseded by a newer activation.")
    total: int = strawberry.field(description="Leads scored by another version when the activation happened.")
    rescored: int = strawberry.field(description="Leads rescored so far (leads created meanwhile may add to it).")
    changed: int = strawberry.field(
        description="Of those, leads whose score, breakdown, temperature or stage changed (a new version each)."
    )
    started_at: datetime = strawberry.field(description="When the version was activated.")
    started_by: str = strawberry.field(description="Who activated it.")
    finished_at: datetime | None = strawberry.field(description="When it was done or superseded.")

    @classmethod
    def from_domain(cls, run: scoring_models.RescoringRun) -> RescoringProgress:
        return cls(
            state=run.state,
            total=run.total,
            rescored=run.rescored,
            changed=run.changed,
            started_at=run.started_at,
            started_by=run.started_by,
            finished_at=run.finished_at,
        )


@strawberry.type(description="One scoring rule.")
class ScoringRule:
    name: str = strawberry.field(description="Stable name of the rule.")
    description: str = strawberry.field(description="What the rule rewards or penalises.")
    points: int = strawberry.field(description="Points per application (negative penalises).")
    immediate_hot: bool = strawberry.field(description="An activity matching this rule moves the lead straight to MQL.")


@strawberry.type(description="A scoring model version: thresholds and rules.")
class ScoringModel:
    version: int = strawberry.field(description="Version of the model.")
    warm_threshold: int = strawberry.field(description="Score at which a lead is WARM.")
    hot_threshold: int = strawberry.field(description="Score at which a lead is HOT and moves to MQL.")
    rules: list[ScoringRule] = strawberry.field(description="Behaviour and attribute rules.")
    half_life_days: int | None = strawberry.field(
        description="Days after which behaviour points are worth half; null means they never fade."
    )
    definition: JSON = strawberry.field(
        description="The model as the JSON document createScoringModelDraft takes (docs/semantics.md)."
    )
    status: ScoringModelStatus = strawberry.field(description="Draft, active or retired.")
    note: str | None = strawberry.field(description="What its author said of it.")
    created_at: datetime = strawberry.field(description="When the version was stored.")
    created_by: str = strawberry.field(description="Who stored it (X-Actor).")
    activated_at: datetime | None = strawberry.field(description="When it was last put in force; null for drafts.")
    activated_by: str | None = strawberry.field(description="Who last put it in force.")

    @strawberry.field(
        description="The newest rescoring of every lead with this version, started by activating it; null for "
        "a version never activated (and for version 1, the model leads were scored with from the start)."
    )
    async def rescoring(self, info: Info) -> RescoringProgress | None:
        run = await info.context.loaders.rescoring.load(self.version)
        return RescoringProgress.from_domain(run) if run else None

    @classmethod
    def from_domain(cls, stored: StoredModel) -> ScoringModel:
        model = stored.model
        return cls(
            version=model.version,
            warm_threshold=model.warm_threshold,
            hot_threshold=model.hot_threshold,
            rules=_rules(model),
            half_life_days=model.half_life_days,
            definition=JSON(model_to_json(model)),
            status=stored.status,
            note=stored.note,
            created_at=stored.created_at,
            created_by=stored.created_by,
            activated_at=stored.activated_at,
            activated_by=stored.activated_by,
        )


def _rules(model: DomainModel) -> list[ScoringRule]:
    return [
        ScoringRule(
            name=r.name,
            description=r.explanation,
            points=r.points,
            immediate_hot=isinstance(r, ActivityRule) and r.immediate_hot,
        )
        for r in model.rules
    ]


@strawberry.type(description="What validateScoringModel found: every problem of the document, or none.")
class ScoringModelValidation:
    valid: bool = strawberry.field(description="True when createScoringModelDraft would accept the document.")
    problems: list[ValidationProblem] = strawberry.field(
        description="Every problem, each naming its path in the document, e.g. 'rules[2].when.page'."
    )

    @classmethod
    def of(cls, problems: list[errors.InvalidInput]) -> ScoringModelValidation:
        return cls(valid=not problems, problems=[ValidationProblem(message=p.message, field=p.field) for p in problems])


@strawberry.type(description="One lead as it is, and as the dry-run version would leave it.")
class DryRunLead:
    lead: Lead = strawberry.field(description="The lead as it is now.")
    old_score: int = strawberry.field(description="Its score now.")
    new_score: int = strawberry.field(description="Its score under the version.")
    old_temperature: Temperature = strawberry.field(description="Its temperature now.")
    new_temperature: Temperature = strawberry.field(description="Its temperature under the version.")
    old_stage: LeadStage = strawberry.field(description="Its stage now.")
    new_stage: LeadStage = strawberry.field(description="Its stage after the automatic moves rescoring would make.")


@strawberry.type(description="What activating a version now would do to the leads; nothing was written.")
class ScoringDryRun:
    version: int = strawberry.field(description="The version tried.")
    leads: int = strawberry.field(description="Leads examined: all of them.")
    score_changes: int = strawberry.field(description="Leads whose score would change.")
    temperature_changes: int = strawberry.field(description="Leads whose temperature would change.")
    stage_changes: int = strawberry.field(description="Leads the automatic moves would take to another stage.")
    sample: list[DryRunLead] = strawberry.field(
        description="The first leads (in id order) whose score, breakdown, temperature or stage would change."
    )

    @classmethod
    def from_domain(cls, run: DryRun, policy: Policy) -> ScoringDryRun:
        sample = [
            DryRunLead(
                lead=Lead.from_domain(o.before, policy),
                old_score=o.before.score,
                new_score=o.after.score,
                old_temperature=o.before.temperature,
                new_temperature=o.after.temperature,
                old_stage=o.before.stage,
                new_stage=o.after.stage,
            )
            for o in run.sample
        ]
        return cls(
            version=run.model_version,
            leads=run.leads,
            score_changes=run.score_changes,
            temperature_changes=run.temperature_changes,
            stage_changes=run.stage_changes,
            sample=sample,
        )
