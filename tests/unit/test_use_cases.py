"""The use cases against an in-memory unit of work: what each mutation stores, and what it refuses."""

import dataclasses
from uuid import UUID

import pytest

from leadcycle.domain.commands import AssignLead, TransitionLead, UpdateBant, UpdateLead
from leadcycle.domain.errors import InvalidInput, LeadNotFound, TransitionRefused, VersionConflict
from leadcycle.domain.lifecycle import Policy
from leadcycle.domain.model import Bant, BantCriterion, Company, Contact
from leadcycle.domain.scoring import DEFAULT_SCORING_MODEL
from leadcycle.domain.stages import BantStatus, ChangeKind, LeadEvent, Stage, Temperature
from tests.unit.use_case_harness import create_lead, harness, record, seed_lead

CONFIRMED = BantCriterion(BantStatus.CONFIRMED)
QUALIFIED = Bant(budget=CONFIRMED, authority=CONFIRMED, need=CONFIRMED, timeframe=CONFIRMED)
CRITERIA = ("budget", "authority", "need", "timeframe")
MISSING_ID = str(UUID(int=999_999))


class TestCreateLead:
    async def test_starts_cold_at_version_1_and_stores_what_it_returns(self) -> None:
        h = harness()

        lead = await create_lead(h, actor="alice")

        assert (lead.stage, lead.temperature, lead.score, lead.version) == (Stage.COLD, Temperature.COLD, 0, 1)
        assert (lead.created_at, lead.cycle_started_at) == (h.clock.now, h.clock.now)
        assert h.db.lead(lead.id) == lead
        [created] = h.db.timeline(lead.id)
        assert (created.kind, created.actor, created.data) == ("created", "alice", {"source": "web_ad"})
        [change] = h.db.changes(lead.id)
        assert (change.kind, change.actor, change.from_stage, change.to_stage) == (
            ChangeKind.CREATED,
            "alice",
            None,
            Stage.COLD,
        )

    async def test_decision_maker_at_a_thousand_employee_company_ends_its_creation_warm(self) -> None:
        h = harness()

        lead = await create_lead(h, decision_maker=True, employees=1000, actor="alice")

        assert (lead.score, lead.stage, lead.temperature, lead.version) == (20, Stage.WARM, Temperature.WARM, 1)
        assert [e.kind for e in h.db.timeline(lead.id)] == ["created", "score", "transition"]
        [step] = h.db.timeline(lead.id, "transition")
        assert step.actor == "system"
        assert step.data == {
            "event": "WARM",
            "from": "COLD",
            "to": "WARM",
            "rule": "score.warm_threshold",
            "requestedBy": "alice",
            "modelVersion": 1,
            "score": {
                "value": 20,
                "temperature": "WARM",
                "modelVersion": 1,
                "breakdown": [
                    {"rule": "contact.decision_maker", "points": 10, "reason": "The contact is a decision maker"},
                    {
                        "rule": "company.employees_1000_plus",
                        "points": 10,
                        "reason": "The company has 1,000 employees or more",
                    },
                ],
            },
        }
        assert [c.to_stage for c in h.db.changes(lead.id)] == [Stage.WARM]


class TestAutomaticProgress:
    async def test_activities_move_a_lead_from_cold_to_warm_and_then_to_mql(self) -> None:
        h = harness()
        lead = await create_lead(h)

        after_one = await record(h, lead.id, "webinar_attended", actor="ma-tool")
        after_two = await record(h, lead.id, "webinar_attended", actor="ma-tool")
        for _ in range(3):
            last = await record(h, lead.id, "webinar_attended", actor="ma-tool")

        assert [after_one.stage, after_two.stage, last.stage] == [Stage.COLD, Stage.WARM, Stage.MQL]
        steps = h.db.timeline(lead.id, "transition")
        assert [(s.data["from"], s.data["to"]) for s in steps] == [("COLD", "WARM"), ("WARM", "MQL")]
        assert [s.data["rule"] for s in steps] == ["score.warm_threshold", "score.hot_threshold"]
        assert all(s.actor == "system" and s.data["requestedBy"] == "ma-tool" for s in steps)
        assert last.reached_mql_at == h.clock.now

    async def test_an_immediate_hot_activity_passes_warm_and_mql_in_one_mutation_and_one_version(self) -> None:
        h = harness()
        lead = await create_lead(h)

        hot = await record(h, lead.id, "quote_request")

        assert (hot.stage, hot.temperature, hot.score, hot.version) == (Stage.MQL, Temperature.HOT, 20, 2)
        steps = h.db.timeline(lead.id, "transition")
        assert [s.data["rule"] for s in steps] == ["score.warm_threshold", "activity.quote_request"]
        last_change = h.db.changes(lead.id)[-1]
        assert (last_change.kind, last_change.from_stage, last_change.to_stage) == (
            ChangeKind.ACTIVITY,
            Stage.COLD,
            Stage.MQL,
        )

    async def test_when_the_warm_guard_fails_an_immediate_hot_activity_moves_cold_straight_to_mql(self) -> None:
        policy = Policy(scoring=dataclasses.replace(DEFAULT_SCORING_MODEL, warm_threshold=30))
        h = harness(policy)
        lead = await create_lead(h)

        hot = await record(h, lead.id, "demo_request", actor="web-form")

        assert (hot.stage, hot.score, hot.version) == (Stage.MQL, 20, 2)
        [step] = h.db.timeline(lead.id, "transition")
        assert (step.actor, step.data["from"], step.data["to"]) == ("system", "COLD", "MQL")
        assert (step.data["rule"], step.data["requestedBy"]) == ("activity.demo_request", "web-form")

    async def test_updating_the_lead_advances_it(self) -> None:
        h = harness()
        lead = await create_lead(h)

        warm = await h.cases.update(
            UpdateLead(str(lead.id), company={"employee_count": 3000}, contact={"is_decision_maker": True}), "bob"
        )

        assert (warm.stage, warm.score, warm.version) == (Stage.WARM, 20, 2)
        assert h.db.timeline(lead.id, "transition")[0].data["requestedBy"] == "bob"

    async def test_updating_bant_advances_a_recycled_lead(self) -> None:
        h = harness()
        far = h.clock.now.date().replace(year=h.clock.now.year + 2)
        lead = seed_lead(h, stage=Stage.RECYCLED, bant=Bant(target_date=far))
        for _ in range(2):
            still_recycled = await record(h, lead.id, "webinar_attended")

        near = await h.cases.update_bant(UpdateBant(str(lead.id), details={"target_date": None}), "bob")

        assert (still_recycled.stage, still_recycled.score) == (Stage.RECYCLED, 10)
        assert (near.stage, near.score) == (Stage.WARM, 20)
        assert [e.kind for e in h.db.timeline(lead.id)][-3:] == ["bant", "score", "transition"]

    @pytest.mark.parametrize("stage", [Stage.MQL, Stage.SQL, Stage.OPPORTUNITY, Stage.WON, Stage.LOST])
    async def test_stages_after_nurture_never_move_by_score(self, stage: Stage) -> None:
        h = harness()
        lead = seed_lead(h, stage=stage)

        after = await record(h, lead.id, "trial_signup")

        assert (after.stage, after.temperature) == (stage, Temperature.HOT)
        assert h.db.timeline(lead.id, "transition") == []

    async def test_a_transition_never_advances_as_a_side_effect(self) -> None:
        h = harness()
        lead = seed_lead(
            h,
            stage=Stage.MQL,
            company=Company("Big KK", employee_count=5000),
            contact=Contact("X", is_decision_maker=True),
        )

        recycled = await h.cases.transition(TransitionLead(str(lead.id), LeadEvent.RECYCLE, reason="not now"), "sales")

        assert (recycled.stage, recycled.score) == (Stage.RECYCLED, 20)
        assert len(h.db.timeline(lead.id, "transition")) == 1


class TestVersion:
    async def test_each_mutation_bumps_the_version_exactly_once(self) -> None:
        h = harness()
        lead = await create_lead(h)
        lead_id = str(lead.id)

        await record(h, lead_id, "quote_request")
        await h.cases.update_bant(UpdateBant(lead_id, criteria={c: CONFIRMED for c in ("budget", "need")}), "s")
        await h.cases.update_bant(UpdateBant(lead_id, criteria={c: CONFIRMED for c in ("authority", "timeframe")}), "s")
        sql = await h.cases.transition(TransitionLead(lead_id, LeadEvent.QUALIFY, expected_version=4), "s")

        assert (sql.stage, sql.version) == (Stage.SQL, 5)
        assert len(h.db.changes(lead.id)) == 5

    async def test_a_change_touches_updated_at_with_the_clock(self) -> None:
        h = harness()
        lead = await create_lead(h)
        later = h.clock.advance(hours=2)

        updated = await record(h, lead.id, "web_visit")

        assert (updated.updated_at, updated.created_at) == (later, lead.created_at)

    async def test_an_update_with_the_same_values_changes_nothing(self) -> None:
        h = harness()
        lead = await create_lead(h)
        commits = h.db.commits

        same = await h.cases.update(
            UpdateLead(str(lead.id), company={"name": "  Example KK "}, contact={"email": "sato@example.co.jp"}), "bob"
        )

        assert same.version == 1
        assert h.db.commits == commits
        assert h.db.lead(lead.id) == lead
        assert len(h.db.timeline(lead.id)) == 1

    async def test_a_bant_update_with_the_same_values_changes_nothing(self) -> None:
        h = harness()
        lead = seed_lead(h, stage=Stage.MQL, bant=QUALIFIED)

        same = await h.cases.update_bant(UpdateBant(str(lead.id), criteria={"budget": CONFIRMED}), "bob")

        assert same.version == 1
        assert h.db.changes(lead.id) == []

    async def test_a_stale_expected_version_is_a_conflict_naming_the_current_version(self) -> None:
        h = harness()
        lead = await create_lead(h)
        await record(h, lead.id, "web_visit")

        with pytest.raises(VersionConflict) as conflict:
            await h.cases.update(UpdateLead(str(lead.id), company={"industry": "IT"}, expected_version=1), "bob")

        assert conflict.value.current_version == 2
        assert h.db.lead(lead.id).company.industry is None

    async def test_the_current_expected_version_is_accepted(self) -> None:
        h = harness()
        lead = await create_lead(h)

        updated = await h.cases.update(UpdateLead(str(lead.id), company={"industry": "IT"}, expected_version=1), "b")

        assert (updated.company.industry, updated.version) == ("IT", 2)


class TestOrderOfChecks:
    async def test_invalid_input_comes_before_a_missing_lead(self) -> None:
        h = harness()

        with pytest.raises(InvalidInput) as invalid:
            await h.cases.update(UpdateLead(MISSING_ID, contact={"email": "nope"}, expected_version=7), "bob")

        assert invalid.value.field == "contact.email"

    async def test_a_missing_lead_comes_before_a_version_conflict(self) -> None:
        h = harness()

        with pytest.raises(LeadNotFound):
            await h.cases.transition(TransitionLead(MISSING_ID, LeadEvent.WIN, expected_version=7), "bob")

    @pytest.mark.parametrize("lead_id", ["not-a-uuid", "", "12345"])
    async def test_a_malformed_lead_id_is_not_found(self, lead_id: str) -> None:
        h = harness()

        with pytest.raises(LeadNotFound):
            await record(h, lead_id, "web_visit")  # type: ignore[arg-type]

    async def test_a_version_conflict_comes_before_the_guards(self) -> None:
        h = harness()
        lead = seed_lead(h, stage=Stage.COLD, version=3)

        with pytest.raises(VersionConflict):
            await h.cases.transition(TransitionLead(str(lead.id), LeadEvent.WIN, expected_version=2), "bob")

    async def test_guards_are_judged_once_the_version_matches(self) -> None:
        h = harness()
        lead = seed_lead(h, stage=Stage.COLD, version=3)

        with pytest.raises(TransitionRefused) as refused:
            await h.cases.transition(TransitionLead(str(lead.id), LeadEvent.WIN, expected_version=3), "bob")

        assert [f.guard for f in refused.value.failures] == ["stage.not_allowed"]


class TestUpdateLead:
    async def test_absent_fields_stay_and_null_clears(self) -> None:
        h = harness()
        lead = await create_lead(h)
        lead_id = str(lead.id)
        await h.cases.update(UpdateLead(lead_id, company={"department": "Sales", "industry": "IT"}), "bob")

        updated = await h.cases.update(UpdateLead(lead_id, company={"department": None}, contact={"email": None}), "b")

        assert (updated.company.department, updated.company.industry) == (None, "IT")
        assert (updated.contact.email, updated.contact.name) == (None, "Sato Hanako")
        assert h.db.timeline(lead.id, "update")[-1].data["changes"] == {
            "company.department": {"from": "Sales", "to": None},
            "contact.email": {"from": "sato@example.co.jp", "to": None},
        }
        assert h.db.changes(lead.id)[-1].kind is ChangeKind.UPDATE

    @pytest.mark.parametrize(("part", "field"), [("company", "company.name"), ("contact", "contact.name")])
    async def test_a_required_name_set_to_null_is_refused(self, part: str, field: str) -> None:
        h = harness()
        lead = await create_lead(h)

        with pytest.raises(InvalidInput) as invalid:
            await h.cases.update(UpdateLead(str(lead.id), **{part: {"name": None}}), "bob")

        assert invalid.value.field == field
        assert h.db.lead(lead.id) == lead

    async def test_an_unknown_field_is_refused(self) -> None:
        h = harness()
        lead = await create_lead(h)

        with pytest.raises(InvalidInput) as invalid:
            await h.cases.update(UpdateLead(str(lead.id), company={"website": "https://example.com"}), "bob")

        assert invalid.value.field == "company.website"

    async def test_decision_maker_set_to_null_means_no_and_loses_its_points(self) -> None:
        h = harness()
        lead = await create_lead(h, decision_maker=True)

        updated = await h.cases.update(UpdateLead(str(lead.id), contact={"is_decision_maker": None}), "bob")

        assert (updated.contact.is_decision_maker, updated.score) == (False, 0)


class TestUpdateBant:
    async def test_a_criterion_set_to_null_goes_back_to_unknown(self) -> None:
        h = harness()
        lead = seed_lead(h, stage=Stage.MQL)
        noted = BantCriterion(BantStatus.NOT_MET, note="  no budget this year ")
        first = await h.cases.update_bant(UpdateBant(str(lead.id), criteria={"budget": noted, "need": CONFIRMED}), "s")

        cleared = await h.cases.update_bant(UpdateBant(str(lead.id), criteria={"budget": None}), "s")

        assert first.bant.budget == BantCriterion(BantStatus.NOT_MET, "no budget this year")
        assert cleared.bant.budget == BantCriterion()
        assert cleared.bant.need == CONFIRMED
        assert cleared.version == 3

    async def test_a_target_date_more_than_a_year_away_lowers_the_score(self) -> None:
        h = harness()
        lead = await create_lead(h, decision_maker=True)
        far = h.clock.now.date().replace(year=h.clock.now.year + 2)

        updated = await h.cases.update_bant(UpdateBant(str(lead.id), details={"target_date": far}), "s")

        assert (updated.bant.target_date, updated.score) == (far, 0)
        assert h.db.changes(lead.id)[-1].kind is ChangeKind.BANT

    async def test_confirming_bant_does_not_qualify_by_itself(self) -> None:
        h = harness()
        lead = seed_lead(h, stage=Stage.MQL)

        updated = await h.cases.update_bant(UpdateBant(str(lead.id), criteria={c: CONFIRMED for c in CRITERIA}), "s")

        assert (updated.stage, updated.bant) == (Stage.MQL, QUALIFIED)


class TestAssignLead:
    async def test_sets_and_clears_the_owner_without_touching_the_rest(self) -> None:
        h = harness()
        lead = await create_lead(h)
        await h.cases.assign(AssignLead(str(lead.id), {"owner_team": "Enterprise", "owner": "yamada"}), "mgr")

        cleared = await h.cases.assign(AssignLead(str(lead.id), {"owner": None}), "mgr")

        assert (cleared.owner_team, cleared.owner, cleared.version) == ("Enterprise", None, 3)
        assert h.db.changes(lead.id)[-1].kind is ChangeKind.ASSIGNMENT
        assert h.db.timeline(lead.id, "assignment")[-1].data == {"ownerTeam": "Enterprise", "owner": None}

    async def test_the_same_assignment_again_changes_nothing(self) -> None:
        h = harness()
        lead = await create_lead(h)
        first = await h.cases.assign(AssignLead(str(lead.id), {"owner": "yamada"}), "mgr")

        again = await h.cases.assign(AssignLead(str(lead.id), {"owner": "yamada"}), "mgr")

        assert first.version == again.version == 2
        assert len(h.db.changes(lead.id)) == 2
