"""The default scoring model: behaviour and attribute points, breakdown, temperature and cycles."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest

from leadcycle.domain.model import Activity, Bant, Company, Contact, Lead
from leadcycle.domain.scoring import DEFAULT_SCORING_MODEL, rescore, score_activity, start_new_cycle, temperature
from leadcycle.domain.stages import Temperature

CREATED = datetime(2025, 4, 1, 9, 0, tzinfo=UTC)
NOW = datetime(2025, 6, 2, 10, 30, tzinfo=UTC)
LEAD_ID = UUID("0b7e3f7c-2d1a-4e55-9a3b-5c6d7e8f9012")
MODEL = DEFAULT_SCORING_MODEL
PLAIN_COMPANY = Company("Example KK")
PLAIN_CONTACT = Contact("Tanaka Ichiro")
NOTHING_KNOWN = Bant()
IMMEDIATE_HOT = ["quote_request", "demo_request", "trial_signup", "consultation_request"]


def a_lead(
    *,
    company: Company = PLAIN_COMPANY,
    contact: Contact = PLAIN_CONTACT,
    bant: Bant = NOTHING_KNOWN,
) -> Lead:
    return Lead(LEAD_ID, company, contact, "seminar", created_at=CREATED, bant=bant)


def record(lead: Lead, kind: str, *, at: datetime = NOW, properties: dict[str, Any] | None = None) -> Activity:
    """Score one activity and settle the lead, as a use case does."""
    activity = score_activity(lead, MODEL, kind, at, properties or {}, NOW)
    rescore(lead, MODEL, NOW)
    return activity


def scored(lead: Lead, at: datetime = NOW) -> Lead:
    rescore(lead, MODEL, at)
    return lead


def rows(lead: Lead) -> dict[str, tuple[int, str]]:
    return {c.rule: (c.points, c.reason) for c in lead.breakdown}


class TestActivityPoints:
    @pytest.mark.parametrize(
        ("kind", "points"),
        [
            ("email_open", 1),
            ("email_click", 3),
            ("web_visit", 1),
            ("pricing_page_view", 5),
            ("document_download", 5),
            ("webinar_attended", 10),
            ("inquiry", 15),
        ],
    )
    def test_scores_listed_activity_without_making_the_lead_hot(self, kind: str, points: int) -> None:
        lead = a_lead()

        activity = record(lead, kind)

        assert (activity.points, activity.rule) == (points, f"activity.{kind}")
        assert lead.score == points
        assert lead.hot_signal is None
        assert lead.temperature is Temperature.COLD

    @pytest.mark.parametrize("kind", IMMEDIATE_HOT)
    def test_request_activities_score_20_and_make_the_lead_hot_at_once(self, kind: str) -> None:
        lead = a_lead()

        activity = record(lead, kind)

        assert activity.points == 20
        assert lead.score == 20
        assert lead.hot_signal == f"activity.{kind}"
        assert lead.temperature is Temperature.HOT

    def test_survey_answer_with_intent_buy_now_scores_20_and_is_immediate_hot(self) -> None:
        lead = a_lead()

        activity = record(lead, "survey_answer", properties={"intent": "buy_now", "question": "q3"})

        assert (activity.points, activity.rule) == (20, "activity.survey_answer.buy_now")
        assert lead.temperature is Temperature.HOT
        assert rows(lead)["activity.survey_answer.buy_now"] == (20, "1 x survey_answer (intent buy_now) at +20")

    @pytest.mark.parametrize("properties", [{}, {"intent": "researching"}, {"answer": "buy_now"}])
    def test_survey_answer_without_buy_now_intent_scores_nothing(self, properties: dict[str, Any]) -> None:
        lead = a_lead()

        activity = record(lead, "survey_answer", properties=properties)

        assert (activity.points, activity.rule) == (0, None)
        assert (lead.score, lead.hot_signal, lead.temperature) == (0, None, Temperature.COLD)

    def test_unknown_kind_is_recorded_with_zero_points(self) -> None:
        lead = a_lead()

        activity = record(lead, "booth_visit", properties={"event": "expo"})

        assert (activity.kind, activity.points, activity.rule) == ("booth_visit", 0, None)
        assert lead.new_activities == [activity]
        assert lead.score == 0
        assert lead.breakdown == ()

    def test_activity_remembers_its_cycle_and_properties(self) -> None:
        lead = a_lead()
        lead.cycle = 3

        activity = record(lead, "web_visit", properties={"url": "/pricing"})

        assert (activity.cycle, activity.properties, activity.occurred_at) == (3, {"url": "/pricing"}, NOW)

    def test_the_hot_signal_names_the_first_immediate_hot_rule_of_the_model_whatever_came_first(self) -> None:
        lead = a_lead()

        record(lead, "consultation_request")
        record(lead, "demo_request")
        record(lead, "quote_request")

        assert lead.hot_signal == "activity.quote_request"
        assert [c.rule for c in lead.breakdown] == [
            "activity.quote_request",
            "activity.demo_request",
            "activity.consultation_request",
        ]


class TestAttributePoints:
    def test_decision_maker_adds_10(self) -> None:
        lead = scored(a_lead(contact=Contact("Tanaka Ichiro", is_decision_maker=True)))

        assert lead.score == 10
        assert rows(lead) == {"contact.decision_maker": (10, "The contact is a decision maker")}

    @pytest.mark.parametrize(("employees", "points"), [(None, 0), (999, 0), (1000, 10), (250_000, 10)])
    def test_a_thousand_employees_or_more_add_10(self, employees: int | None, points: int) -> None:
        lead = scored(a_lead(company=Company("Example KK", employee_count=employees)))

        assert lead.score == points

    @pytest.mark.parametrize(
        ("capital", "points"),
        [(None, 0), (Decimal("49999999999.99"), 0), (Decimal(50_000_000_000), 10), (Decimal("1E+12"), 10)],
    )
    def test_capital_of_50_billion_or_more_adds_10(self, capital: Decimal | None, points: int) -> None:
        lead = scored(a_lead(company=Company("Example KK", capital=capital)))

        assert lead.score == points

    @pytest.mark.parametrize(
        ("target", "points"),
        [(None, 0), (date(2025, 12, 24), 0), (date(2026, 6, 2), 0), (date(2026, 6, 3), -10), (date(2028, 1, 1), -10)],
    )
    def test_target_date_more_than_a_year_away_subtracts_10(self, target: date | None, points: int) -> None:
        lead = scored(a_lead(bant=Bant(target_date=target)), at=NOW)

        assert lead.score == points

    def test_target_date_exactly_one_year_away_across_a_leap_day_subtracts_nothing(self) -> None:
        new_year_2024 = datetime(2024, 1, 1, 9, 0, tzinfo=UTC)

        lead = scored(a_lead(bant=Bant(target_date=date(2025, 1, 1))), at=new_year_2024)

        assert lead.score == 0

    def test_a_year_away_is_judged_at_the_moment_of_scoring(self) -> None:
        lead = a_lead(bant=Bant(target_date=date(2026, 6, 3)))

        rescore(lead, MODEL, NOW)
        far = lead.score
        rescore(lead, MODEL, NOW + timedelta(days=1))

        assert (far, lead.score) == (-10, 0)

    def test_the_score_is_an_honest_sum_and_may_be_negative(self) -> None:
        lead = scored(a_lead(bant=Bant(target_date=date(2030, 1, 1))))

        assert lead.score == -10
        assert lead.temperature is Temperature.COLD

    def test_attribute_and_behaviour_points_add_up(self) -> None:
        company = Company("Example KK", employee_count=1200, capital=Decimal(80_000_000_000))
        lead = a_lead(company=company, contact=Contact("Tanaka", is_decision_maker=True))

        record(lead, "inquiry")

        assert lead.score == 10 + 10 + 10 + 15

    def test_attribute_points_stop_when_the_attribute_no_longer_holds(self) -> None:
        lead = scored(a_lead(contact=Contact("Tanaka", is_decision_maker=True)))
        lead.contact = Contact("Tanaka", is_decision_maker=False)

        rescore(lead, MODEL, NOW)

        assert (lead.score, lead.breakdown) == (0, ())


class TestBreakdown:
    def test_aggregates_applications_of_one_rule_into_one_row(self) -> None:
        lead = a_lead()
        first, second, third = (NOW - timedelta(hours=h) for h in (3, 2, 1))

        for at in (first, third, second):
            record(lead, "email_open", at=at)

        [row] = lead.breakdown
        assert (row.rule, row.points, row.count) == ("activity.email_open", 3, 3)
        assert row.reason == "3 x email_open at +1"
        assert row.at == third

    def test_has_one_row_per_contributing_rule_and_sums_to_the_score(self) -> None:
        lead = a_lead(
            company=Company("Example KK", employee_count=5000),
            contact=Contact("Tanaka", is_decision_maker=True),
            bant=Bant(target_date=date(2027, 1, 1)),
        )

        for kind in ("email_open", "email_open", "pricing_page_view", "booth_visit", "email_click"):
            record(lead, kind)

        assert rows(lead) == {
            "activity.email_open": (2, "2 x email_open at +1"),
            "activity.pricing_page_view": (5, "1 x pricing_page_view at +5"),
            "activity.email_click": (3, "1 x email_click at +3"),
            "contact.decision_maker": (10, "The contact is a decision maker"),
            "company.employees_1000_plus": (10, "The company has 1,000 employees or more"),
            "bant.target_date_over_a_year": (-10, "The target date is more than a year away"),
        }
        assert sum(c.points for c in lead.breakdown) == lead.score == 20

    def test_attribute_row_keeps_the_time_it_first_applied(self) -> None:
        lead = a_lead(contact=Contact("Tanaka", is_decision_maker=True))
        rescore(lead, MODEL, CREATED)

        rescore(lead, MODEL, NOW)

        [row] = lead.breakdown
        assert row.at == CREATED


class TestTemperature:
    @pytest.mark.parametrize(
        ("score", "hot_signal", "expected"),
        [
            (-10, False, Temperature.COLD),
            (19, False, Temperature.COLD),
            (20, False, Temperature.WARM),
            (49, False, Temperature.WARM),
            (50, False, Temperature.HOT),
            (0, True, Temperature.HOT),
            (-10, True, Temperature.HOT),
        ],
    )
    def test_follows_the_thresholds_and_the_hot_signal(
        self, score: int, hot_signal: bool, expected: Temperature
    ) -> None:
        assert temperature(score, hot_signal, MODEL) is expected

    def test_behaviour_alone_warms_and_then_heats_a_lead(self) -> None:
        lead = a_lead()

        for _ in range(3):
            record(lead, "pricing_page_view")
        cold = lead.temperature
        record(lead, "pricing_page_view")
        warm = lead.temperature
        for _ in range(6):
            record(lead, "document_download")

        assert (cold, warm, lead.temperature) == (Temperature.COLD, Temperature.WARM, Temperature.HOT)
        assert lead.score == 50


class TestCycles:
    def test_activity_before_the_current_cycle_scores_nothing(self) -> None:
        lead = a_lead()
        start_new_cycle(lead, NOW)

        activity = record(lead, "webinar_attended", at=NOW - timedelta(seconds=1))

        assert (activity.points, activity.rule) == (0, None)
        assert (lead.score, lead.breakdown) == (0, ())

    def test_immediate_hot_activity_before_the_current_cycle_does_not_make_the_lead_hot(self) -> None:
        lead = a_lead()
        start_new_cycle(lead, NOW)

        record(lead, "demo_request", at=NOW - timedelta(days=1))

        assert (lead.hot_signal, lead.temperature) == (None, Temperature.COLD)

    def test_first_cycle_counts_behaviour_from_before_the_lead_was_created(self) -> None:
        lead = a_lead()

        activity = record(lead, "inquiry", at=CREATED - timedelta(seconds=2))

        assert (activity.points, lead.score) == (15, 15)

    def test_activity_at_the_start_of_the_cycle_counts(self) -> None:
        lead = a_lead()
        start_new_cycle(lead, NOW)

        activity = record(lead, "webinar_attended", at=NOW)

        assert activity.points == 10

    def test_new_cycle_drops_behaviour_points_and_keeps_attribute_points(self) -> None:
        lead = a_lead(contact=Contact("Tanaka", is_decision_maker=True))
        record(lead, "quote_request")
        record(lead, "webinar_attended")

        start_new_cycle(lead, NOW)
        rescore(lead, MODEL, NOW)

        assert (lead.cycle, lead.cycle_started_at, lead.hot_signal) == (2, NOW, None)
        assert rows(lead) == {"contact.decision_maker": (10, "The contact is a decision maker")}
        assert (lead.score, lead.temperature) == (10, Temperature.COLD)

    def test_behaviour_counts_again_from_zero_in_the_new_cycle(self) -> None:
        lead = a_lead()
        record(lead, "email_open")
        record(lead, "email_open")
        start_new_cycle(lead, NOW)

        record(lead, "email_open", at=NOW + timedelta(minutes=1))

        assert rows(lead) == {"activity.email_open": (1, "1 x email_open at +1")}
        assert lead.score == 1
