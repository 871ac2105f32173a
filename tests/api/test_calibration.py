"""The calibration report over HTTP, on a data set built through the public mutations.

Seven leads of a source of their own, each driven to a known peak score, rule set and outcome;
the expected counts per band and per rule are worked out by hand in the comments of `data_set`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio

from tests.api.operations import FEEDBACK, UPDATE_BANT, create_lead, record, transition, unique_source
from tests.conftest import GraphQLClient

OUTCOMES = "leads reachedMql reachedOpportunity won salesAccepted salesRejected"
REPORT = f"""
query($from: DateTime!, $to: DateTime!, $filter: LeadFilter, $bandWidth: Int, $minEvidence: Int) {{
  calibrationReport(from: $from, to: $to, filter: $filter, bandWidth: $bandWidth, minEvidence: $minEvidence) {{
    from to minEvidence
    total {{ {OUTCOMES} }}
    bands {{ label minScore maxScore outcomes {{ {OUTCOMES} }} }}
    rules {{ rule currentPoints suggestedPoints note outcomes {{ {OUTCOMES} }} }}
  }}
}}
"""
BIG_COMPANY = {"employeeCount": 1000}
DECISION_MAKER = {"name": "Decision Maker", "isDecisionMaker": True}


def outcomes(
    leads: int, mql: int = 0, opportunity: int = 0, won: int = 0, accepted: int = 0, rejected: int = 0
) -> dict[str, int]:
    return {
        "leads": leads,
        "reachedMql": mql,
        "reachedOpportunity": opportunity,
        "won": won,
        "salesAccepted": accepted,
        "salesRejected": rejected,
    }


async def repeat(gql: GraphQLClient, lead_id: str, kind: str, times: int) -> None:
    for _ in range(times):
        assert (await record(gql, lead_id, kind))["__typename"] == "LeadPayload"


async def feedback(gql: GraphQLClient, lead_id: str, verdict: str, reason: str | None = None) -> None:
    result = await gql.data(FEEDBACK, input={"leadId": lead_id, "verdict": verdict, "reason": reason})
    assert result["recordSalesFeedback"]["__typename"] == "LeadPayload", result


async def to_opportunity(gql: GraphQLClient, lead_id: str) -> None:
    confirmed = {c: {"status": "CONFIRMED"} for c in ("budget", "authority", "need", "timeframe")}
    await gql.data(UPDATE_BANT, input={"leadId": lead_id, **confirmed})
    for event in ("QUALIFY", "OPEN_OPPORTUNITY"):
        assert (await transition(gql, lead_id, event))["__typename"] == "LeadPayload"


@pytest_asyncio.fixture(scope="module")
async def data_set(api_url: str) -> tuple[str, datetime]:
    """Seven leads of a new source; returns the source and a moment just before the first was created."""
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as http:
        return await _build(GraphQLClient(http))


async def _build(gql: GraphQLClient) -> tuple[str, datetime]:
    source = unique_source()
    start = datetime.now(UTC) - timedelta(seconds=1)
    # A: 2 webinars (20) + pricing page (25); stays WARM. Peak 25.
    a = await create_lead(gql, source=source)
    await repeat(gql, a["id"], "webinar_attended", 2)
    await repeat(gql, a["id"], "pricing_page_view", 1)
    # B: demo request (20, immediate hot) -> MQL, accepted, OPPORTUNITY, WON; a webinar after the deal
    # opened counts neither for the peak (stays 20) nor as a rule that fired.
    b = await create_lead(gql, source=source)
    await repeat(gql, b["id"], "demo_request", 1)
    await feedback(gql, b["id"], "ACCEPTED")
    await to_opportunity(gql, b["id"])
    await transition(gql, b["id"], "WIN")
    await repeat(gql, b["id"], "webinar_attended", 1)
    # C: decision maker at a 1,000-employee company (20) + demo request (40) -> MQL, rejected -> RECYCLED (20).
    c = await create_lead(gql, source=source, contact=DECISION_MAKER, **BIG_COMPANY)
    await repeat(gql, c["id"], "demo_request", 1)
    await feedback(gql, c["id"], "REJECTED", "Only collecting quotes")
    # D: pricing page (5). E: nothing (0).
    d = await create_lead(gql, source=source)
    await repeat(gql, d["id"], "pricing_page_view", 1)
    await create_lead(gql, source=source)
    # F: 5 webinars (50) -> MQL by score, accepted, OPPORTUNITY, LOST. Peak 50.
    f = await create_lead(gql, source=source)
    await repeat(gql, f["id"], "webinar_attended", 5)
    await feedback(gql, f["id"], "ACCEPTED")
    await to_opportunity(gql, f["id"])
    await transition(gql, f["id"], "LOSE", lossReason="TIMING")
    # G: decision maker, 1,000 employees, capital 50 billion JPY (30) + 5 webinars (80), MQL at 50.
    g = await create_lead(gql, source=source, contact=DECISION_MAKER, capital="50000000000", **BIG_COMPANY)
    await repeat(gql, g["id"], "webinar_attended", 5)
    return source, start


async def report(gql: GraphQLClient, source: str, since: datetime, **arguments: Any) -> dict[str, Any]:
    window = {"from": since.isoformat(), "to": (datetime.now(UTC) + timedelta(minutes=1)).isoformat()}
    variables = window | {"filter": {"sources": [source]}} | arguments
    result: dict[str, Any] = (await gql.data(REPORT, **variables))["calibrationReport"]
    return result


def rows_by(rows: list[dict[str, Any]], key: str) -> dict[str, dict[str, Any]]:
    return {row[key]: row for row in rows}


class TestBands:
    async def test_counts_each_threshold_band_by_peak_score_before_opportunity(
        self, gql: GraphQLClient, data_set: tuple[str, datetime]
    ) -> None:
        bands = (await report(gql, *data_set))["bands"]
        assert [(b["label"], b["minScore"], b["maxScore"]) for b in bands] == [
            ("below 20", None, 19),
            ("20-49", 20, 49),
            ("50-79", 50, 79),
            ("80+", 80, None),
        ]
        assert [b["outcomes"] for b in bands] == [
            outcomes(2),  # D, E
            outcomes(3, mql=2, opportunity=1, won=1, accepted=1, rejected=1),  # A, B, C
            outcomes(1, mql=1, opportunity=1, accepted=1),  # F
            outcomes(1, mql=1),  # G
        ]

    async def test_total_counts_every_lead_of_the_window(
        self, gql: GraphQLClient, data_set: tuple[str, datetime]
    ) -> None:
        total = (await report(gql, *data_set))["total"]
        assert total == outcomes(7, mql=4, opportunity=2, won=1, accepted=2, rejected=1)

    async def test_band_width_gives_equal_bands_up_to_the_highest_peak(
        self, gql: GraphQLClient, data_set: tuple[str, datetime]
    ) -> None:
        bands = (await report(gql, *data_set, bandWidth=25))["bands"]
        assert [(b["label"], b["outcomes"]["leads"]) for b in bands] == [
            ("0-24", 3),  # B 20, D 5, E 0
            ("25-49", 2),  # A 25, C 40
            ("50-74", 1),  # F 50
            ("75-99", 1),  # G 80
        ]

    async def test_leads_created_before_the_window_are_left_out(
        self, gql: GraphQLClient, data_set: tuple[str, datetime]
    ) -> None:
        result = await report(gql, data_set[0], datetime.now(UTC))
        assert result["total"] == outcomes(0)
        assert [b["outcomes"] for b in result["bands"]] == [outcomes(0)] * 4

    async def test_a_band_width_making_too_many_bands_is_a_graphql_error(
        self, gql: GraphQLClient, data_set: tuple[str, datetime]
    ) -> None:
        source, since = data_set
        window = {"from": since.isoformat(), "to": datetime.now(UTC).isoformat()}
        body = await gql.execute(REPORT, **window, filter={"sources": [source]}, bandWidth=1)
        assert body["data"] is None
        assert "bandWidth 1 makes 81 bands of these scores; at most 50" in body["errors"][0]["message"]


class TestRules:
    async def test_counts_the_leads_each_rule_fired_for_before_opportunity(
        self, gql: GraphQLClient, data_set: tuple[str, datetime]
    ) -> None:
        rules = rows_by((await report(gql, *data_set))["rules"], "rule")
        fired = {name: row["outcomes"] for name, row in rules.items() if row["outcomes"]["leads"]}
        assert fired == {
            "activity.webinar_attended": outcomes(3, mql=2, opportunity=1, accepted=1),  # A, F, G (not B)
            "activity.pricing_page_view": outcomes(2),  # A, D
            "activity.demo_request": outcomes(2, mql=2, opportunity=1, won=1, accepted=1, rejected=1),  # B, C
            "contact.decision_maker": outcomes(2, mql=2, rejected=1),  # C, G
            "company.employees_1000_plus": outcomes(2, mql=2, rejected=1),  # C, G
            "company.capital_50b_jpy_plus": outcomes(1, mql=1),  # G
        }

    async def test_lists_every_rule_of_the_active_model_with_its_points(
        self, gql: GraphQLClient, data_set: tuple[str, datetime]
    ) -> None:
        rules = (await report(gql, *data_set))["rules"]
        model = (await gql.data("{ scoringModel { rules { name points } } }"))["scoringModel"]["rules"]
        assert [(r["rule"], r["currentPoints"]) for r in rules] == [(m["name"], m["points"]) for m in model]

    async def test_suggests_no_points_below_the_evidence_needed(
        self, gql: GraphQLClient, data_set: tuple[str, datetime]
    ) -> None:
        rules = (await report(gql, *data_set))["rules"]
        assert {r["suggestedPoints"] for r in rules} == {None}
        assert all(r["note"].startswith("Too little evidence") for r in rules)

    async def test_suggests_points_where_the_evidence_suffices(
        self, gql: GraphQLClient, data_set: tuple[str, datetime]
    ) -> None:
        rules = rows_by((await report(gql, *data_set, minEvidence=2))["rules"], "rule")
        suggested = {name for name, row in rules.items() if row["suggestedPoints"] is not None}
        assert suggested == {
            "activity.webinar_attended",
            "activity.pricing_page_view",
            "activity.demo_request",
            "contact.decision_maker",
            "company.employees_1000_plus",
        }
        # demo requests led to OPPORTUNITY half the time, pricing page views never
        assert (
            rules["activity.demo_request"]["suggestedPoints"] > rules["activity.pricing_page_view"]["suggestedPoints"]
        )
        assert rules["company.capital_50b_jpy_plus"]["note"].startswith("Too little evidence")


class TestArguments:
    @pytest.mark.parametrize(
        ("arguments", "message"),
        [
            ({"from": "2026-02-01T00:00:00+00:00", "to": "2026-01-01T00:00:00+00:00"}, "to lies before from"),
            ({"from": "2026-01-01T00:00:00", "to": "2026-02-01T00:00:00+00:00"}, "from needs a UTC offset"),
            ({"bandWidth": 0}, "bandWidth must be at least 1"),
            ({"minEvidence": 0}, "minEvidence must be at least 1"),
        ],
    )
    async def test_refuses_with_a_graphql_error(
        self, gql: GraphQLClient, arguments: dict[str, Any], message: str
    ) -> None:
        window = {"from": "2026-01-01T00:00:00+00:00", "to": "2026-02-01T00:00:00+00:00"}
        body = await gql.execute(REPORT, **(window | arguments))
        assert body["data"] is None
        assert message in body["errors"][0]["message"]
