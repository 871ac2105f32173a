"""The scoring rule language as JSON: what it accepts, and every problem named by its path."""

from copy import deepcopy
from typing import Any

import pytest

from leadcycle.domain.errors import ModelRejected
from leadcycle.domain.rules import ActivityRule, AttributeRule, Op, Window
from leadcycle.domain.rules_json import model_to_json, parse_model
from leadcycle.domain.scoring import DEFAULT_SCORING_MODEL

PRICING_BURST = {
    "type": "activity",
    "name": "activity.pricing_burst",
    "activity": "web_visit",
    "when": {"page": {"in": ["/pricing", "/plans"]}},
    "points": 5,
    "cap": 15,
    "window": {"days": 30, "atLeast": 3},
}
MID_SIZE = {
    "type": "attribute",
    "name": "company.mid_size",
    "when": {"company.employeeCount": {"gte": 100, "lt": 1000}},
    "points": 5,
}
DOCUMENT: dict[str, Any] = {"warmThreshold": 20, "hotThreshold": 50, "rules": [PRICING_BURST, MID_SIZE]}


def problems(document: Any) -> dict[str | None, str]:
    with pytest.raises(ModelRejected) as refused:
        parse_model(document)
    return {p.field: p.message for p in refused.value.problems}


def changed(path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    document = deepcopy(DOCUMENT)
    target: Any = document
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return document


class TestParse:
    def test_reads_activity_rules_with_conditions_cap_and_window(self) -> None:
        model = parse_model(DOCUMENT, version=4)

        [burst] = model.activity_rules
        assert (model.version, burst.kind, burst.points, burst.cap) == (4, "web_visit", 5, 15)
        assert burst.window == Window(30, 3)
        assert [(c.subject, c.op, c.value) for c in burst.when] == [("page", Op.IN, ("/pricing", "/plans"))]

    def test_reads_ranges_as_several_conditions_on_one_field(self) -> None:
        [mid_size] = parse_model(DOCUMENT).attribute_rules

        assert [(c.op, c.value) for c in mid_size.when] == [(Op.GTE, 100), (Op.LT, 1000)]

    def test_half_life_defaults_to_90_days_and_null_means_no_decay(self) -> None:
        assert parse_model(DOCUMENT).half_life_days == 90
        assert parse_model(DOCUMENT | {"halfLifeDays": None}).half_life_days is None

    def test_keeps_the_order_of_the_rules(self) -> None:
        model = parse_model(DOCUMENT)

        assert [type(r) for r in model.rules] == [ActivityRule, AttributeRule]

    def test_the_default_model_survives_a_round_trip_through_json(self) -> None:
        document = model_to_json(DEFAULT_SCORING_MODEL)

        assert parse_model(document, version=1) == DEFAULT_SCORING_MODEL

    def test_writes_back_the_document_it_read(self) -> None:
        document = DOCUMENT | {"halfLifeDays": 30}

        written = model_to_json(parse_model(document))

        assert written["rules"][0] == PRICING_BURST | {"immediateHot": False}
        assert written["rules"][1] == MID_SIZE
        assert written["halfLifeDays"] == 30


class TestValidation:
    def test_names_an_unknown_lead_field(self) -> None:
        found = problems(changed(("rules", 1, "when"), {"company.employees": {"gte": 1}}))

        assert list(found) == ["rules[1].when.company.employees"]
        assert "unknown field" in found["rules[1].when.company.employees"]

    def test_names_an_operator_that_does_not_fit_the_field_type(self) -> None:
        found = problems(changed(("rules", 1, "when"), {"company.industry": {"gte": 5}}))

        assert "'gte' does not apply to text values" in found["rules[1].when.company.industry.gte"]

    def test_names_a_property_condition_with_the_wrong_operand(self) -> None:
        found = problems(changed(("rules", 0, "when", "page"), {"in": "/pricing"}))

        assert list(found) == ["rules[0].when.page.in"]

    def test_refuses_thresholds_out_of_order(self) -> None:
        found = problems(DOCUMENT | {"warmThreshold": 50, "hotThreshold": 50})

        assert "thresholds out of order" in found["hotThreshold"]

    def test_reports_every_problem_at_once(self) -> None:
        document = changed(("rules", 0, "points"), "five")
        document["rules"][1]["when"] = {"bant.budget": {"eq": "MAYBE"}}
        document["halfLifeDays"] = 0

        assert set(problems(document)) == {"rules[0].points", "rules[1].when.bant.budget.eq", "halfLifeDays"}

    def test_the_refusal_names_the_first_problem_and_counts_the_others(self) -> None:
        with pytest.raises(ModelRejected) as refused:
            parse_model({"rules": []})

        assert refused.value.field == "warmThreshold"
        assert refused.value.message.endswith("(and 1 more problem)")

    def test_refuses_duplicate_rule_names(self) -> None:
        document = DOCUMENT | {"rules": [MID_SIZE, MID_SIZE]}

        assert "unique" in problems(document)["rules[1].name"]

    @pytest.mark.parametrize(
        ("path", "value", "field"),
        [
            (("rules", 0, "cap"), 0, "rules[0].cap"),
            (("rules", 0, "window"), {"days": 30, "atleast": 3}, "rules[0].window.atleast"),
            (("rules", 0, "activity"), "Pricing Page", "rules[0].activity"),
            (("rules", 0, "immediateHot"), "yes", "rules[0].immediateHot"),
            (("rules", 1, "cap"), 10, "rules[1].cap"),
            (("rules", 1, "type"), "bonus", "rules[1].type"),
            (("rules", 1, "when"), {}, "rules[1].when"),
            (("rules", 1, "name"), "Mid Size", "rules[1].name"),
            (("rules", 1, "when"), {"bant.targetDate": {"monthsAwayOver": -1}}, "rules[1].when.bant.targetDate."),
            (
                ("rules", 1, "when"),
                {"contact.isDecisionMaker": {"eq": "yes"}},
                "rules[1].when.contact.isDecisionMaker.",
            ),
            (("warmThreshold",), None, "warmThreshold"),
            (("rules",), "all of them", "rules"),
            (("colour",), "blue", "colour"),
            (("rules", 0), "web_visit", "rules[0]"),
        ],
    )
    def test_names_the_offending_field(self, path: tuple[str | int, ...], value: Any, field: str) -> None:
        found = problems(changed(path, value))

        assert [f for f in found if f and f.startswith(field)], found

    def test_refuses_a_document_that_is_not_an_object(self) -> None:
        assert list(problems(["rules"])) == ["definition", "warmThreshold", "hotThreshold", "rules"]
