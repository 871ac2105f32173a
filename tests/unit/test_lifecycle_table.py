"""Every (stage, event) pair of the lifecycle, against a table written out by hand.

The expected table is deliberately not derived from `TRANSITIONS`: it is the contract's table,
so a wrong edit of the domain's table shows up here.
"""

import dataclasses
from datetime import UTC, datetime
from uuid import UUID

import pytest

from leadcycle.domain.bant import BantPolicy
from leadcycle.domain.errors import TransitionRefused
from leadcycle.domain.lifecycle import (
    AUTOMATIC_EVENTS,
    TRANSITIONS,
    Policy,
    TransitionRequest,
    blockers,
    fire,
    mermaid_diagram,
)
from leadcycle.domain.model import Bant, BantCriterion, Company, Contact, Lead
from leadcycle.domain.stages import BantStatus, LeadEvent, LossReason, Stage

CREATED = datetime(2025, 4, 1, 9, 0, tzinfo=UTC)
NOW = datetime(2025, 6, 2, 10, 30, tzinfo=UTC)
LEAD_ID = UUID("6f1c2a9e-3b4d-4c5e-8f70-123456789abc")
POLICY = Policy()

N = ("stage.not_allowed",)
W = ("score.warm_threshold",)
H = ("score.hot_threshold",)
B = ("bant.budget", "bant.authority", "bant.need", "bant.timeframe")
L = ("loss_reason.required",)
R = ("reason.required",)
OK: tuple[str, ...] = ()
INPUT_GUARDS = {*L, *R}

EVENTS = (
    LeadEvent.WARM,
    LeadEvent.MARK_HOT,
    LeadEvent.QUALIFY,
    LeadEvent.OPEN_OPPORTUNITY,
    LeadEvent.WIN,
    LeadEvent.LOSE,
    LeadEvent.RECYCLE,
    LeadEvent.COOL,
)
# Guards failing for a lead that fails every guard (score 0, no hot signal, BANT unknown) when the
# request supplies neither a reason nor a loss reason.
# fmt: off
FAILING = {
    #                   WARM   MARK_HOT QUALIFY OPEN_OPP WIN  LOSE   RECYCLE COOL
    Stage.COLD:        (W,     H,       N + B,  N,       N,   N + L, N + R,  N),
    Stage.WARM:        (N + W, H,       N + B,  N,       N,   N + L, N + R,  OK),
    Stage.MQL:         (N + W, N + H,   B,      N,       N,   N + L, R,      N),
    Stage.SQL:         (N + W, N + H,   N + B,  OK,      N,   N + L, R,      N),
    Stage.OPPORTUNITY: (N + W, N + H,   N + B,  N,       OK,  L,     R,      N),
    Stage.WON:         (N + W, N + H,   N + B,  N,       N,   N + L, N + R,  N),
    Stage.LOST:        (N + W, N + H,   N + B,  N,       N,   N + L, R,      N),
    Stage.RECYCLED:    (W,     H,       N + B,  N,       N,   N + L, N + R,  N),
}
# fmt: on
TARGET = {
    LeadEvent.WARM: Stage.WARM,
    LeadEvent.MARK_HOT: Stage.MQL,
    LeadEvent.QUALIFY: Stage.SQL,
    LeadEvent.OPEN_OPPORTUNITY: Stage.OPPORTUNITY,
    LeadEvent.WIN: Stage.WON,
    LeadEvent.LOSE: Stage.LOST,
    LeadEvent.RECYCLE: Stage.RECYCLED,
    LeadEvent.COOL: Stage.COLD,
}
CELLS = [
    pytest.param(stage, event, guards, id=f"{stage.name}-{event.name}")
    for stage, row in FAILING.items()
    for event, guards in zip(EVENTS, row, strict=True)
]
ALLOWED_CELLS = [cell for cell in CELLS if "stage.not_allowed" not in cell.values[2]]
REFUSED_CELLS = [cell for cell in CELLS if cell.values[2]]

NOTHING_KNOWN = Bant()
CONFIRMED = BantCriterion(BantStatus.CONFIRMED)
QUALIFIED_BANT = Bant(budget=CONFIRMED, authority=CONFIRMED, need=CONFIRMED, timeframe=CONFIRMED)
COMPLETE_REQUEST = TransitionRequest(reason="budget frozen until next fiscal year", loss_reason=LossReason.COMPETITOR)


def a_lead(stage: Stage, *, score: int = 0, bant: Bant = NOTHING_KNOWN, hot_signal: str | None = None) -> Lead:
    return Lead(
        id=LEAD_ID,
        company=Company("Kabushiki Kaisha Example"),
        contact=Contact("Sato Hanako"),
        source="web_ad",
        created_at=CREATED,
        stage=stage,
        score=score,
        version=3,
        bant=bant,
        hot_signal=hot_signal,
    )


def a_lead_failing_every_guard(stage: Stage) -> Lead:
    return a_lead(stage)


def a_lead_meeting_every_guard(stage: Stage) -> Lead:
    return a_lead(stage, score=60, bant=QUALIFIED_BANT)


def names(failures: list) -> list[str]:
    return [f.guard for f in failures]


def test_the_table_covers_every_stage_and_event() -> None:
    assert set(FAILING) == set(Stage)
    assert set(EVENTS) == set(LeadEvent)
    assert len(CELLS) == 64


class TestBlockers:
    @pytest.mark.parametrize(("stage", "event", "guards"), CELLS)
    def test_lead_failing_every_guard_is_blocked_by_exactly_these_guards(
        self, stage: Stage, event: LeadEvent, guards: tuple[str, ...]
    ) -> None:
        lead = a_lead_failing_every_guard(stage)

        failures = blockers(lead, event, POLICY, TransitionRequest())

        assert names(failures) == list(guards)

    @pytest.mark.parametrize(("stage", "event", "guards"), CELLS)
    def test_without_a_request_input_guards_are_not_blockers(
        self, stage: Stage, event: LeadEvent, guards: tuple[str, ...]
    ) -> None:
        lead = a_lead_failing_every_guard(stage)

        failures = blockers(lead, event, POLICY)

        assert names(failures) == [g for g in guards if g not in INPUT_GUARDS]

    @pytest.mark.parametrize(("stage", "event", "guards"), CELLS)
    def test_lead_meeting_every_guard_is_blocked_only_by_its_stage(
        self, stage: Stage, event: LeadEvent, guards: tuple[str, ...]
    ) -> None:
        lead = a_lead_meeting_every_guard(stage)

        failures = blockers(lead, event, POLICY, COMPLETE_REQUEST)

        expected = ["stage.not_allowed"] if "stage.not_allowed" in guards else []
        assert names(failures) == expected

    def test_every_failure_carries_a_message(self) -> None:
        lead = a_lead_failing_every_guard(Stage.COLD)

        failures = blockers(lead, LeadEvent.QUALIFY, POLICY, TransitionRequest())

        assert all(f.message for f in failures)
        assert "QUALIFY starts only from MQL; the lead is COLD" in failures[0].message

    def test_warm_threshold_is_inclusive_and_says_how_many_points_are_missing(self) -> None:
        below, at = a_lead(Stage.COLD, score=19), a_lead(Stage.COLD, score=20)

        refused = blockers(below, LeadEvent.WARM, POLICY)
        allowed = blockers(at, LeadEvent.WARM, POLICY)

        assert names(refused) == ["score.warm_threshold"]
        assert "1 more points" in refused[0].message
        assert allowed == []

    def test_hot_threshold_is_inclusive(self) -> None:
        below, at = a_lead(Stage.WARM, score=49), a_lead(Stage.WARM, score=50)

        assert names(blockers(below, LeadEvent.MARK_HOT, POLICY)) == ["score.hot_threshold"]
        assert blockers(at, LeadEvent.MARK_HOT, POLICY) == []

    def test_mark_hot_passes_below_the_threshold_with_an_immediate_hot_activity(self) -> None:
        lead = a_lead(Stage.COLD, score=0, hot_signal="activity.demo_request")

        assert blockers(lead, LeadEvent.MARK_HOT, POLICY) == []

    def test_thresholds_come_from_the_policy(self) -> None:
        lenient = Policy(scoring=dataclasses.replace(POLICY.scoring, warm_threshold=5))
        lead = a_lead(Stage.COLD, score=5)

        assert blockers(lead, LeadEvent.WARM, lenient) == []
        assert names(blockers(lead, LeadEvent.WARM, POLICY)) == ["score.warm_threshold"]

    def test_qualify_names_only_the_criteria_the_bant_policy_still_needs(self) -> None:
        policy = Policy(bant=BantPolicy(required=frozenset({"authority", "need"}), minimum_confirmed=3))
        bant = Bant(budget=CONFIRMED, authority=BantCriterion(BantStatus.NOT_MET), need=CONFIRMED)
        lead = a_lead(Stage.MQL, bant=bant)

        failures = blockers(lead, LeadEvent.QUALIFY, policy)

        assert names(failures) == ["bant.authority"]

    def test_an_empty_reason_does_not_satisfy_recycle(self) -> None:
        lead = a_lead(Stage.LOST)

        failures = blockers(lead, LeadEvent.RECYCLE, POLICY, TransitionRequest(reason=""))

        assert names(failures) == ["reason.required"]


class TestFire:
    @pytest.mark.parametrize(("stage", "event", "guards"), ALLOWED_CELLS)
    def test_moves_a_lead_meeting_every_guard_to_the_target_stage(
        self, stage: Stage, event: LeadEvent, guards: tuple[str, ...]
    ) -> None:
        lead = a_lead_meeting_every_guard(stage)

        fire(lead, event, POLICY, actor="suzuki", now=NOW, request=COMPLETE_REQUEST)

        assert lead.stage is TARGET[event]
        assert lead.stage_changed_at == NOW
        [entry] = lead.new_history
        assert (entry.kind, entry.actor, entry.at) == ("transition", "suzuki", NOW)
        assert entry.data["event"] == event.value
        assert (entry.data["from"], entry.data["to"]) == (stage.value, TARGET[event].value)

    @pytest.mark.parametrize(("stage", "event", "guards"), REFUSED_CELLS)
    def test_refuses_naming_every_failing_guard_and_changes_nothing(
        self, stage: Stage, event: LeadEvent, guards: tuple[str, ...]
    ) -> None:
        lead = a_lead_failing_every_guard(stage)
        before = lead.snapshot()

        with pytest.raises(TransitionRefused) as refused:
            fire(lead, event, POLICY, actor="suzuki", now=NOW, request=TransitionRequest())

        assert names(refused.value.failures) == list(guards)
        assert (refused.value.event, refused.value.from_stage) == (event, stage)
        assert lead == before
        assert (lead.stage, lead.version) == (stage, 3)
        assert lead.new_history == []

    def test_refusal_message_includes_every_failure_message(self) -> None:
        lead = a_lead_failing_every_guard(Stage.SQL)

        with pytest.raises(TransitionRefused) as refused:
            fire(lead, LeadEvent.LOSE, POLICY, actor="suzuki", now=NOW)

        assert all(f.message in refused.value.message for f in refused.value.failures)
        assert len(refused.value.failures) == 2

    def test_without_a_request_input_guards_still_refuse(self) -> None:
        lead = a_lead_meeting_every_guard(Stage.OPPORTUNITY)

        with pytest.raises(TransitionRefused) as refused:
            fire(lead, LeadEvent.LOSE, POLICY, actor="suzuki", now=NOW)

        assert names(refused.value.failures) == ["loss_reason.required"]
        assert lead.stage is Stage.OPPORTUNITY

    def test_does_not_bump_the_version(self) -> None:
        lead = a_lead_meeting_every_guard(Stage.SQL)

        fire(lead, LeadEvent.OPEN_OPPORTUNITY, POLICY, actor="suzuki", now=NOW)

        assert lead.version == 3

    def test_lose_records_the_loss_reason(self) -> None:
        lead = a_lead_meeting_every_guard(Stage.OPPORTUNITY)

        fire(lead, LeadEvent.LOSE, POLICY, actor="suzuki", now=NOW, request=COMPLETE_REQUEST)

        assert lead.loss_reason is LossReason.COMPETITOR
        assert lead.new_history[0].data["lossReason"] == "COMPETITOR"

    def test_recycle_records_the_reason_clears_the_loss_reason_and_starts_a_new_cycle(self) -> None:
        lead = dataclasses.replace(
            a_lead(Stage.LOST, hot_signal="activity.quote_request"), loss_reason=LossReason.TIMING
        )

        fire(lead, LeadEvent.RECYCLE, POLICY, actor="suzuki", now=NOW, request=COMPLETE_REQUEST)

        assert lead.new_history[0].data["reason"] == COMPLETE_REQUEST.reason
        assert lead.loss_reason is None
        assert (lead.cycle, lead.cycle_started_at, lead.hot_signal) == (2, NOW, None)

    def test_entering_mql_and_opportunity_remembers_the_first_time(self) -> None:
        earlier = datetime(2025, 5, 1, tzinfo=UTC)
        lead = dataclasses.replace(a_lead_meeting_every_guard(Stage.WARM), reached_mql_at=earlier)
        in_sql = a_lead_meeting_every_guard(Stage.SQL)

        fire(lead, LeadEvent.MARK_HOT, POLICY, actor="system", now=NOW)
        fire(in_sql, LeadEvent.OPEN_OPPORTUNITY, POLICY, actor="suzuki", now=NOW)

        assert lead.reached_mql_at == earlier
        assert in_sql.reached_opportunity_at == NOW

    def test_extra_data_is_recorded_with_the_transition(self) -> None:
        lead = a_lead(Stage.COLD, score=25)

        fire(lead, LeadEvent.WARM, POLICY, actor="system", now=NOW, data={"rule": "score.warm_threshold"})

        assert lead.new_history[0].data["rule"] == "score.warm_threshold"


class TestDerivedFromTheTable:
    def test_automatic_events_are_warm_then_mark_hot(self) -> None:
        assert AUTOMATIC_EVENTS == (LeadEvent.WARM, LeadEvent.MARK_HOT)

    def test_domain_table_has_the_contract_sources_and_targets(self) -> None:
        for transition in TRANSITIONS:
            column = EVENTS.index(transition.event)
            sources = {s for s, row in FAILING.items() if "stage.not_allowed" not in row[column]}
            assert set(transition.sources) == sources, transition.event
            assert transition.target is TARGET[transition.event]

    def test_mermaid_diagram_draws_every_transition(self) -> None:
        diagram = mermaid_diagram()

        lines = diagram.splitlines()
        assert lines[:2] == ["stateDiagram-v2", "    [*] --> COLD"]
        for transition in TRANSITIONS:
            for source in transition.sources:
                arrow = f"{source.value} --> {transition.target.value}: {transition.event.value}"
                assert any(line.strip().startswith(arrow) for line in lines), arrow

    def test_mermaid_diagram_names_the_guards_and_ends_only_at_won(self) -> None:
        diagram = mermaid_diagram()

        assert "OPPORTUNITY --> LOST: LOSE [loss_reason.required]" in diagram
        assert "COLD --> WARM: WARM [score.warm_threshold]" in diagram
        assert "SQL --> OPPORTUNITY: OPEN_OPPORTUNITY\n" in diagram
        assert [line.strip() for line in diagram.splitlines() if line.endswith("--> [*]")] == ["WON --> [*]"]
