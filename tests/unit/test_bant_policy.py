"""The qualification policy: which BANT criteria QUALIFY still needs, and what to tell sales."""

import pytest

from leadcycle.domain.bant import BantPolicy
from leadcycle.domain.model import Bant, BantCriterion
from leadcycle.domain.stages import BantStatus

CONFIRMED = BantCriterion(BantStatus.CONFIRMED)
NOT_MET = BantCriterion(BantStatus.NOT_MET)
UNKNOWN = BantCriterion(BantStatus.UNKNOWN)
AUTHORITY_NEED_AND_3_OF_4 = BantPolicy(required=frozenset({"authority", "need"}), minimum_confirmed=3)


def bant(**criteria: BantCriterion) -> Bant:
    """A BANT where the criteria named are as given and the others UNKNOWN."""
    return Bant(**criteria)


def criteria(missing: list[tuple[str, str]]) -> list[str]:
    return [criterion for criterion, _message in missing]


class TestDefaultPolicy:
    def test_is_satisfied_with_all_four_confirmed(self) -> None:
        full = bant(budget=CONFIRMED, authority=CONFIRMED, need=CONFIRMED, timeframe=CONFIRMED)

        assert BantPolicy().missing(full) == []
        assert BantPolicy().satisfied(full)

    def test_needs_all_four_when_nothing_is_known(self) -> None:
        missing = BantPolicy().missing(bant())

        assert criteria(missing) == ["budget", "authority", "need", "timeframe"]
        assert not BantPolicy().satisfied(bant())

    @pytest.mark.parametrize("unconfirmed", ["budget", "authority", "need", "timeframe"])
    def test_names_the_one_criterion_not_confirmed(self, unconfirmed: str) -> None:
        others = {c: CONFIRMED for c in ("budget", "authority", "need", "timeframe") if c != unconfirmed}

        missing = BantPolicy().missing(bant(**others))

        assert criteria(missing) == [unconfirmed]

    def test_unknown_criterion_says_it_is_not_confirmed_yet_with_advice(self) -> None:
        [(criterion, message)] = BantPolicy().missing(
            bant(budget=UNKNOWN, authority=CONFIRMED, need=CONFIRMED, timeframe=CONFIRMED)
        )

        assert criterion == "budget"
        assert message == "Budget is not confirmed yet: confirm that a budget exists for this purchase"

    def test_not_met_criterion_says_it_was_judged_not_met(self) -> None:
        [(criterion, message)] = BantPolicy().missing(
            bant(budget=CONFIRMED, authority=NOT_MET, need=CONFIRMED, timeframe=CONFIRMED)
        )

        assert criterion == "authority"
        assert message.startswith("Authority was judged not met: ")
        assert "not confirmed yet" not in message

    def test_a_note_does_not_change_the_judgement(self) -> None:
        noted = BantCriterion(BantStatus.UNKNOWN, note="CFO said maybe next quarter")

        missing = BantPolicy().missing(bant(budget=noted, authority=CONFIRMED, need=CONFIRMED, timeframe=CONFIRMED))

        assert criteria(missing) == ["budget"]


class TestAuthorityAndNeedAndThreeOfFour:
    @pytest.mark.parametrize(
        "third",
        ["budget", "timeframe"],
    )
    def test_is_satisfied_with_authority_need_and_one_more(self, third: str) -> None:
        partial = bant(authority=CONFIRMED, need=CONFIRMED, **{third: CONFIRMED})

        assert AUTHORITY_NEED_AND_3_OF_4.missing(partial) == []
        assert AUTHORITY_NEED_AND_3_OF_4.satisfied(partial)

    def test_is_satisfied_with_all_four(self) -> None:
        full = bant(budget=CONFIRMED, authority=CONFIRMED, need=CONFIRMED, timeframe=CONFIRMED)

        assert AUTHORITY_NEED_AND_3_OF_4.satisfied(full)

    def test_three_confirmed_without_authority_reports_only_authority(self) -> None:
        missing = AUTHORITY_NEED_AND_3_OF_4.missing(
            bant(budget=CONFIRMED, authority=NOT_MET, need=CONFIRMED, timeframe=CONFIRMED)
        )

        assert criteria(missing) == ["authority"]
        assert missing[0][1].startswith("Authority was judged not met")

    def test_authority_and_need_alone_report_both_optional_criteria_with_a_count(self) -> None:
        missing = AUTHORITY_NEED_AND_3_OF_4.missing(bant(authority=CONFIRMED, need=CONFIRMED, budget=NOT_MET))

        assert criteria(missing) == ["budget", "timeframe"]
        budget_message, timeframe_message = (message for _criterion, message in missing)
        hint = "(3 of the 4 BANT criteria must be confirmed: confirm 1 more of budget, timeframe)"
        assert budget_message.startswith("Budget was judged not met")
        assert timeframe_message.startswith("Timeframe is not confirmed yet")
        assert budget_message.endswith(hint)
        assert timeframe_message.endswith(hint)

    def test_missing_required_criterion_that_would_make_three_reports_only_it(self) -> None:
        missing = AUTHORITY_NEED_AND_3_OF_4.missing(bant(budget=CONFIRMED, need=CONFIRMED))

        assert criteria(missing) == ["authority"]

    def test_nothing_known_reports_required_ones_plain_and_optional_ones_with_the_count(self) -> None:
        missing = AUTHORITY_NEED_AND_3_OF_4.missing(bant())

        assert criteria(missing) == ["authority", "need", "budget", "timeframe"]
        messages = dict(missing)
        assert "of the 4 BANT criteria" not in messages["authority"]
        assert "of the 4 BANT criteria" not in messages["need"]
        assert messages["budget"].endswith("confirm 1 more of budget, timeframe)")
        assert not AUTHORITY_NEED_AND_3_OF_4.satisfied(bant())
