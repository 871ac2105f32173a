"""Rescoring one lead under a newly activated model, and the dry run that predicts it."""

from datetime import UTC, datetime, timedelta
from uuid import UUID

from leadcycle.domain.dry_run import DryRunTally
from leadcycle.domain.lifecycle import Policy
from leadcycle.domain.model import Activity, Company, Contact, Lead
from leadcycle.domain.rescoring import rescore_lead
from leadcycle.domain.rules_json import parse_model
from leadcycle.domain.scoring import DEFAULT_SCORING_MODEL, rescore
from leadcycle.domain.stages import ChangeKind, Stage, Temperature
from tests.model_documents import opens_worth

NOW = datetime(2025, 6, 2, 10, 30, tzinfo=UTC)


def opens_policy(points: int) -> Policy:
    return Policy(scoring=parse_model(opens_worth(points), version=2))


def lead_with_an_open(stage: Stage = Stage.COLD, n: int = 1) -> Lead:
    lead = Lead(UUID(int=n), Company("Example KK"), Contact("Mori"), "seo", created_at=NOW - timedelta(days=3))
    lead.stage, lead.version = stage, 4
    lead.cycle_activities = (Activity("email_open", NOW - timedelta(days=1), {}, 1, 1, "activity.email_open"),)
    rescore(lead, DEFAULT_SCORING_MODEL, NOW)
    return lead


class TestRescoreLead:
    def test_a_lead_the_new_model_warms_moves_to_warm_in_one_new_version(self) -> None:
        lead = lead_with_an_open()

        change = rescore_lead(lead, opens_policy(25), "marketing-lead", NOW)

        assert change is not None
        assert (change.kind, change.actor, change.from_stage, change.to_stage) == (
            ChangeKind.SCORE,
            "system",
            Stage.COLD,
            Stage.WARM,
        )
        assert (lead.version, lead.score, lead.scoring_model_version) == (5, 25, 2)
        [score, warmed] = lead.new_history
        assert (score.kind, score.data["modelVersion"]) == ("score", 2)
        assert (warmed.data["requestedBy"], warmed.data["modelVersion"], warmed.data["score"]["value"]) == (
            "marketing-lead",
            2,
            25,
        )

    def test_a_lead_past_mql_gets_its_new_score_but_stays_where_sales_put_it(self) -> None:
        lead = lead_with_an_open(Stage.SQL)

        change = rescore_lead(lead, opens_policy(60), "marketing-lead", NOW)

        assert change is not None
        assert (lead.stage, lead.temperature, change.to_stage) == (Stage.SQL, Temperature.HOT, None)

    def test_a_lead_the_new_model_scores_the_same_is_left_as_it_was(self) -> None:
        lead = lead_with_an_open()

        change = rescore_lead(lead, opens_policy(1), "marketing-lead", NOW)

        assert (change, lead.version, lead.new_history) == (None, 4, [])


class TestDryRunTally:
    def test_counts_changes_and_samples_changing_leads_without_touching_them(self) -> None:
        leads = [lead_with_an_open(n=n) for n in range(3)] + [lead_with_an_open(Stage.SQL, n=9)]
        tally = DryRunTally(model_version=2, sample_size=2)

        for lead in leads:
            tally.add(lead, opens_policy(25), NOW)
        run = tally.result()

        assert (run.leads, run.score_changes, run.temperature_changes, run.stage_changes) == (4, 4, 4, 3)
        assert [(o.before.score, o.after.score, o.after.stage) for o in run.sample] == [(1, 25, Stage.WARM)] * 2
        assert [(lead.score, lead.stage, lead.version) for lead in leads] == [(1, Stage.COLD, 4)] * 3 + [
            (1, Stage.SQL, 4)
        ]
