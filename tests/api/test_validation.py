"""Every input rule of SEMANTICS.md over HTTP: a ValidationProblem naming the field, and nothing written.

"Nothing written" is checked as a client can see it: a refused createLead leaves no lead matching its
unique names, a refused change leaves the lead exactly as it was (version, fields, activities, timeline).
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.api.operations import (
    ASSIGN_LEAD,
    CREATE_LEAD,
    FEEDBACK,
    RECORD_ACTIVITY,
    RESULT,
    TRANSITION,
    UPDATE_BANT,
    UPDATE_LEAD,
    count_matching,
    create_lead,
    lead_in_stage,
    lead_state,
    post,
    record,
    unique,
    unique_source,
)
from tests.conftest import GraphQLClient

CONFIRMED = {"status": "CONFIRMED"}
MUTATIONS = {
    "updateLead": UPDATE_LEAD,
    "assignLead": ASSIGN_LEAD,
    "recordActivity": RECORD_ACTIVITY,
    "updateBant": UPDATE_BANT,
    "transitionLead": TRANSITION,
    "recordSalesFeedback": FEEDBACK,
}
# A request each mutation would accept for a COLD lead, apart from `leadId`.
VALID_CHANGES: dict[str, dict[str, Any]] = {
    "updateLead": {"company": {"industry": "Manufacturing"}},
    "assignLead": {"ownerTeam": "Enterprise"},
    "recordActivity": {"kind": "email_open"},
    "updateBant": {"need": CONFIRMED},
    "transitionLead": {"event": "WARM"},
    "recordSalesFeedback": {"verdict": "ACCEPTED"},
}
# A request each mutation refuses whatever the lead, with the field it names.
INVALID_CHANGES: dict[str, tuple[dict[str, Any], str]] = {
    "updateLead": ({"contact": {"email": "not-an-email"}}, "contact.email"),
    "assignLead": ({"ownerTeam": "t" * 201}, "ownerTeam"),
    "recordActivity": ({"kind": "Email Open"}, "kind"),
    "updateBant": ({"budgetAmount": "-1"}, "budgetAmount"),
    "transitionLead": ({"event": "RECYCLE", "reason": "r" * 2001}, "reason"),
    "recordSalesFeedback": ({"verdict": "REJECTED"}, "reason"),
}


async def mutate(gql: GraphQLClient, mutation: str, actor: str | None = None, **fields: Any) -> dict[str, Any]:
    """The LeadResult of one lead mutation."""
    result: dict[str, Any] = (await gql.data(MUTATIONS[mutation], actor, input=fields))[mutation]
    return result


async def create(
    gql: GraphQLClient,
    *,
    company: dict[str, Any] | None = None,
    contact: dict[str, Any] | None = None,
    source: str = "web_ad",
    actor: str | None = None,
    **extra: Any,
) -> tuple[dict[str, Any], str]:
    """Send createLead with a unique marker in both names (unless overridden); returns (result, marker)."""
    marker = uuid.uuid4().hex[:12]
    payload = {
        "company": {"name": f"Company {marker}", **(company or {})},
        "contact": {"name": f"Contact {marker}", **(contact or {})},
        "source": source,
        **extra,
    }
    result: dict[str, Any] = (await gql.data(CREATE_LEAD, actor, input=payload))["createLead"]
    return result, marker


def assert_problem(result: dict[str, Any], field: str) -> None:
    assert result["__typename"] == "ValidationProblem", result
    assert result["field"] == field
    assert result["message"]


async def assert_create_refused(gql: GraphQLClient, field: str, **request: Any) -> None:
    result, marker = await create(gql, **request)
    assert_problem(result, field)
    assert await count_matching(gql, marker) == 0


async def created(gql: GraphQLClient, **request: Any) -> dict[str, Any]:
    result, _ = await create(gql, **request)
    assert result["__typename"] == "LeadPayload", result
    lead: dict[str, Any] = result["lead"]
    return lead


@pytest.fixture
async def lead(gql: GraphQLClient) -> dict[str, Any]:
    """A fresh COLD lead, as stored (with activities and timeline)."""
    new = await create_lead(gql, department="Sales", industry="Retail", contact={"name": unique("Contact")})
    return await lead_state(gql, new["id"])


SHORT_TEXT_FIELDS = [
    ("company", "name", "company.name"),
    ("company", "department", "company.department"),
    ("company", "industry", "company.industry"),
    ("contact", "name", "contact.name"),
    ("contact", "title", "contact.title"),
]


class TestShortTexts:
    @pytest.mark.parametrize(("part", "name", "path"), SHORT_TEXT_FIELDS)
    async def test_refuses_more_than_200_characters(self, gql: GraphQLClient, part: str, name: str, path: str) -> None:
        await assert_create_refused(gql, path, **{part: {name: "x" * 201}})

    @pytest.mark.parametrize(("part", "name", "path"), SHORT_TEXT_FIELDS)
    async def test_accepts_200_characters_after_trimming(
        self, gql: GraphQLClient, part: str, name: str, path: str
    ) -> None:
        value = uuid.uuid4().hex.ljust(200, "y")
        lead = await created(gql, **{part: {name: f"  {value}\n"}})
        assert lead[part][name] == value

    @pytest.mark.parametrize(("part", "path"), [("company", "company.name"), ("contact", "contact.name")])
    @pytest.mark.parametrize("blank", ["", "   ", "\t\n"])
    async def test_refuses_blank_required_names(self, gql: GraphQLClient, part: str, path: str, blank: str) -> None:
        await assert_create_refused(gql, path, **{part: {"name": blank}})

    async def test_empty_optional_strings_become_null(self, gql: GraphQLClient) -> None:
        lead = await created(
            gql,
            company={"department": "", "industry": "   "},
            contact={"email": "", "phone": " ", "title": "\t"},
        )
        stored = await lead_state(gql, lead["id"])
        for shown in (lead, stored):
            assert (shown["company"]["department"], shown["company"]["industry"]) == (None, None)
            assert (shown["contact"]["email"], shown["contact"]["phone"], shown["contact"]["title"]) == (
                None,
                None,
                None,
            )

    async def test_empty_string_in_a_patch_clears_the_field(self, gql: GraphQLClient, lead: dict[str, Any]) -> None:
        result = await mutate(gql, "updateLead", leadId=lead["id"], company={"department": ""})
        assert result["lead"]["company"]["department"] is None
        assert result["lead"]["version"] == lead["version"] + 1


class TestEmail:
    @pytest.mark.parametrize("email", ["taro.yamada@example.co.jp", "a+tag@sub.example.com"])
    async def test_accepts_local_at_domain_tld(self, gql: GraphQLClient, email: str) -> None:
        lead = await created(gql, contact={"email": email})
        assert lead["contact"]["email"] == email

    @pytest.mark.parametrize(
        "email", ["not-an-email", "taro@localhost", "taro yamada@example.jp", "@example.jp", "taro@example.", "a@@b.jp"]
    )
    async def test_refuses_other_shapes(self, gql: GraphQLClient, email: str) -> None:
        await assert_create_refused(gql, "contact.email", contact={"email": email})

    async def test_refuses_a_bad_email_in_a_patch_and_keeps_the_lead(
        self, gql: GraphQLClient, lead: dict[str, Any]
    ) -> None:
        result = await mutate(gql, "updateLead", leadId=lead["id"], contact={"email": "taro@"})
        assert_problem(result, "contact.email")
        assert await lead_state(gql, lead["id"]) == lead


class TestPhone:
    @pytest.mark.parametrize("phone", ["03-1234-5678", "+81 3 1234 5678", "(03) 1234-5678", "0120123456"])
    async def test_accepts_japanese_formats(self, gql: GraphQLClient, phone: str) -> None:
        lead = await created(gql, contact={"phone": phone})
        assert lead["contact"]["phone"] == phone

    @pytest.mark.parametrize("phone", ["abc", "12345", "1" * 21, "03.1234.5678", "03-1234-5678 ext 9"])
    async def test_refuses_anything_else(self, gql: GraphQLClient, phone: str) -> None:
        await assert_create_refused(gql, "contact.phone", contact={"phone": phone})


class TestSource:
    async def test_is_trimmed_and_lower_cased(self, gql: GraphQLClient) -> None:
        source = unique_source()
        lead = await created(gql, source=f"  {source.upper()} ")
        assert lead["source"] == source
        assert (await lead_state(gql, lead["id"]))["source"] == source

    async def test_accepts_a_64_character_slug(self, gql: GraphQLClient) -> None:
        source = unique_source().ljust(64, "x")
        assert (await created(gql, source=source))["source"] == source

    @pytest.mark.parametrize("source", ["", "   ", "web ad", "web-ad", "1st_party", "_web", "ウェブ広告", "a" * 65])
    async def test_refuses_what_is_no_slug_after_normalising(self, gql: GraphQLClient, source: str) -> None:
        await assert_create_refused(gql, "source", source=source)


class TestCompanyNumbers:
    @pytest.mark.parametrize(
        ("company", "path"),
        [
            ({"employeeCount": -1}, "company.employeeCount"),
            ({"capital": -1}, "company.capital"),
            ({"capital": "-0.5"}, "company.capital"),
            ({"capital": "NaN"}, "company.capital"),
            ({"capital": "Infinity"}, "company.capital"),
        ],
    )
    async def test_refuses_negative_or_infinite_values(
        self, gql: GraphQLClient, company: dict[str, Any], path: str
    ) -> None:
        await assert_create_refused(gql, path, company=company)

    async def test_accepts_zero(self, gql: GraphQLClient) -> None:
        lead = await created(gql, company={"employeeCount": 0, "capital": "0"})
        assert (lead["company"]["employeeCount"], lead["company"]["capital"]) == (0, "0")

    @pytest.mark.parametrize("capital", ["50000000000", 50_000_000_000], ids=["string", "number"])
    async def test_capital_beyond_32_bits_is_accepted_as_string_or_number(
        self, gql: GraphQLClient, capital: object
    ) -> None:
        lead = await created(gql, company={"capital": capital})
        assert lead["company"]["capital"] == "50000000000"
        assert lead["score"] == 10  # compared as a number: the "capital 50 billion JPY or more" rule applies

    @pytest.mark.parametrize("capital", ["50000000000", 50_000_000_000], ids=["string", "number"])
    async def test_capital_is_served_back_as_the_same_string(self, gql: GraphQLClient, capital: object) -> None:
        lead = await created(gql, company={"capital": capital})
        assert (await lead_state(gql, lead["id"]))["company"]["capital"] == "50000000000"
        changed = await mutate(gql, "updateLead", leadId=lead["id"], company={"industry": "Finance"})
        assert changed["lead"]["company"]["capital"] == "50000000000"

    async def test_capital_as_a_literal_number_in_the_document(self, gql: GraphQLClient) -> None:
        name = unique("Literal")
        document = (
            f'mutation {{ createLead(input: {{company: {{name: "{name}", capital: 50000000000}}, '
            f'contact: {{name: "Hanako"}}, source: "web_ad"}}) {{ {RESULT} }} }}'
        )
        result = (await gql.data(document))["createLead"]
        assert result["lead"]["company"]["capital"] == "50000000000"

    async def test_refuses_a_negative_employee_count_in_a_patch(self, gql: GraphQLClient, lead: dict[str, Any]) -> None:
        result = await mutate(gql, "updateLead", leadId=lead["id"], company={"employeeCount": -5})
        assert_problem(result, "company.employeeCount")
        assert await lead_state(gql, lead["id"]) == lead


class TestDecisionMaker:
    async def test_explicit_null_on_create_means_false(self, gql: GraphQLClient) -> None:
        lead = await created(gql, contact={"isDecisionMaker": None})
        assert (lead["contact"]["isDecisionMaker"], lead["score"]) == (False, 0)

    async def test_explicit_null_in_a_patch_means_false(self, gql: GraphQLClient) -> None:
        lead = await created(gql, contact={"isDecisionMaker": True})
        assert lead["score"] == 10
        result = await mutate(gql, "updateLead", leadId=lead["id"], contact={"isDecisionMaker": None})
        assert (result["lead"]["contact"]["isDecisionMaker"], result["lead"]["score"]) == (False, 0)


class TestActivityInput:
    @pytest.mark.parametrize("kind", ["Email Open", "email-open", "", "1st_visit", "k" * 65])
    async def test_refuses_a_kind_that_is_no_slug(self, gql: GraphQLClient, lead: dict[str, Any], kind: str) -> None:
        assert_problem(await record(gql, lead["id"], kind), "kind")
        assert await lead_state(gql, lead["id"]) == lead

    async def test_refuses_occurred_at_without_offset(self, gql: GraphQLClient, lead: dict[str, Any]) -> None:
        result = await record(gql, lead["id"], "email_open", occurredAt="2026-01-31T09:00:00")
        assert_problem(result, "occurredAt")
        assert await lead_state(gql, lead["id"]) == lead

    async def test_refuses_occurred_at_more_than_5_minutes_ahead(
        self, gql: GraphQLClient, lead: dict[str, Any]
    ) -> None:
        ahead = (datetime.now(UTC) + timedelta(minutes=6)).isoformat()
        assert_problem(await record(gql, lead["id"], "email_open", occurredAt=ahead), "occurredAt")
        assert await lead_state(gql, lead["id"]) == lead

    async def test_accepts_occurred_at_a_little_ahead(self, gql: GraphQLClient, lead: dict[str, Any]) -> None:
        ahead = (datetime.now(UTC) + timedelta(minutes=4)).isoformat()
        result = await record(gql, lead["id"], "email_open", occurredAt=ahead)
        assert result["__typename"] == "LeadPayload"

    async def test_occurred_at_with_an_offset_is_served_in_utc(self, gql: GraphQLClient, lead: dict[str, Any]) -> None:
        await record(gql, lead["id"], "email_open", occurredAt="2026-01-05T09:30:00+09:00")
        (activity,) = (await lead_state(gql, lead["id"]))["activities"]
        assert activity["occurredAt"] == "2026-01-05T00:30:00+00:00"

    @pytest.mark.parametrize("properties", [[1, 2], "buy_now", 42, True], ids=["list", "string", "number", "bool"])
    async def test_refuses_properties_that_are_not_an_object(
        self, gql: GraphQLClient, lead: dict[str, Any], properties: object
    ) -> None:
        assert_problem(await record(gql, lead["id"], "survey_answer", properties=properties), "properties")
        assert await lead_state(gql, lead["id"]) == lead

    async def test_accepts_properties_of_exactly_16_kib(self, gql: GraphQLClient, lead: dict[str, Any]) -> None:
        properties = {"p": "x" * (16 * 1024 - len('{"p":""}'))}
        assert len(json.dumps(properties, separators=(",", ":"))) == 16 * 1024
        result = await record(gql, lead["id"], "survey_answer", properties=properties)
        assert result["__typename"] == "LeadPayload"

    async def test_refuses_properties_over_16_kib(self, gql: GraphQLClient, lead: dict[str, Any]) -> None:
        properties = {"p": "x" * (16 * 1024 - len('{"p":""}') + 1)}
        assert_problem(await record(gql, lead["id"], "survey_answer", properties=properties), "properties")
        assert await lead_state(gql, lead["id"]) == lead

    async def test_measures_properties_in_utf8_bytes(self, gql: GraphQLClient, lead: dict[str, Any]) -> None:
        properties = {"comment": "見積" * 2800}  # 5,600 characters, 16,800 bytes
        assert_problem(await record(gql, lead["id"], "survey_answer", properties=properties), "properties")
        assert await lead_state(gql, lead["id"]) == lead


class TestIdempotencyKeyShape:
    @pytest.mark.parametrize("key", ["", "k" * 201], ids=["empty", "201 characters"])
    async def test_create_refuses_a_key_outside_1_to_200_characters(self, gql: GraphQLClient, key: str) -> None:
        await assert_create_refused(gql, "idempotencyKey", idempotencyKey=key)

    @pytest.mark.parametrize("key", ["", "k" * 201], ids=["empty", "201 characters"])
    @pytest.mark.parametrize(
        ("mutation", "fields"),
        [("recordActivity", {"kind": "email_open"}), ("transitionLead", {"event": "WARM"})],
    )
    async def test_changes_refuse_a_key_outside_1_to_200_characters(
        self, gql: GraphQLClient, lead: dict[str, Any], mutation: str, fields: dict[str, Any], key: str
    ) -> None:
        assert_problem(await mutate(gql, mutation, leadId=lead["id"], idempotencyKey=key, **fields), "idempotencyKey")
        assert await lead_state(gql, lead["id"]) == lead

    async def test_accepts_a_200_character_key(self, gql: GraphQLClient) -> None:
        await created(gql, idempotencyKey=uuid.uuid4().hex.ljust(200, "k"))


class TestLeadPatch:
    async def test_omitted_fields_stay_and_explicit_null_clears(self, gql: GraphQLClient) -> None:
        lead = await created(
            gql,
            company={"department": "IT", "industry": "Retail", "employeeCount": 1200},
            contact={"email": "sato@example.jp", "phone": "03-1234-5678", "title": "CIO"},
        )
        result = await mutate(
            gql,
            "updateLead",
            leadId=lead["id"],
            company={"department": None, "employeeCount": None},
            contact={"email": None},
        )
        after = result["lead"]
        assert after["company"] == {**lead["company"], "department": None, "employeeCount": None}
        assert after["contact"] == {**lead["contact"], "email": None}
        assert (after["version"], after["score"]) == (lead["version"] + 1, 0)

    @pytest.mark.parametrize(("part", "path"), [("company", "company.name"), ("contact", "contact.name")])
    @pytest.mark.parametrize("value", [None, "  "], ids=["null", "blank"])
    async def test_refuses_to_clear_a_name(
        self, gql: GraphQLClient, lead: dict[str, Any], part: str, path: str, value: str | None
    ) -> None:
        assert_problem(await mutate(gql, "updateLead", leadId=lead["id"], **{part: {"name": value}}), path)
        assert await lead_state(gql, lead["id"]) == lead

    async def test_renames_when_a_name_is_given(self, gql: GraphQLClient, lead: dict[str, Any]) -> None:
        name = unique("Renamed")
        result = await mutate(gql, "updateLead", leadId=lead["id"], company={"name": f" {name} "})
        assert result["lead"]["company"] == {**lead["company"], "name": name}


class TestBantPatch:
    async def test_null_criterion_goes_back_to_unknown_and_omitted_ones_stay(
        self, gql: GraphQLClient, lead: dict[str, Any]
    ) -> None:
        budget = {"status": "CONFIRMED", "note": "10M JPY approved"}
        await mutate(gql, "updateBant", leadId=lead["id"], budget=budget, authority=CONFIRMED)
        result = await mutate(gql, "updateBant", leadId=lead["id"], budget=None)
        bant = result["lead"]["bant"]
        assert bant["budget"] == {"status": "UNKNOWN", "note": None}
        assert bant["authority"]["status"] == "CONFIRMED"
        assert result["lead"]["version"] == lead["version"] + 2

    async def test_refuses_a_note_over_2000_characters(self, gql: GraphQLClient, lead: dict[str, Any]) -> None:
        result = await mutate(gql, "updateBant", leadId=lead["id"], budget={"status": "CONFIRMED", "note": "n" * 2001})
        assert_problem(result, "budget.note")
        assert await lead_state(gql, lead["id"]) == lead

    async def test_accepts_a_note_of_2000_characters(self, gql: GraphQLClient, lead: dict[str, Any]) -> None:
        result = await mutate(gql, "updateBant", leadId=lead["id"], need={"status": "NOT_MET", "note": "n" * 2000})
        assert result["__typename"] == "LeadPayload"

    async def test_refuses_a_negative_budget_amount(self, gql: GraphQLClient, lead: dict[str, Any]) -> None:
        assert_problem(await mutate(gql, "updateBant", leadId=lead["id"], budgetAmount=-100), "budgetAmount")
        assert await lead_state(gql, lead["id"]) == lead


class TestAssignment:
    @pytest.mark.parametrize("field", ["ownerTeam", "owner"])
    async def test_refuses_more_than_200_characters(self, gql: GraphQLClient, lead: dict[str, Any], field: str) -> None:
        assert_problem(await mutate(gql, "assignLead", leadId=lead["id"], **{field: "o" * 201}), field)
        assert await lead_state(gql, lead["id"]) == lead

    async def test_empty_string_clears_and_omitted_stays(self, gql: GraphQLClient, lead: dict[str, Any]) -> None:
        await mutate(gql, "assignLead", leadId=lead["id"], ownerTeam="Enterprise", owner="Suzuki")
        result = await mutate(gql, "assignLead", leadId=lead["id"], ownerTeam=" ")
        assert (result["lead"]["ownerTeam"], result["lead"]["owner"]) == (None, "Suzuki")


class TestTransitionChecks:
    async def test_qualify_on_a_cold_lead_names_the_stage_and_every_bant_guard(
        self, gql: GraphQLClient, lead: dict[str, Any]
    ) -> None:
        result = await mutate(gql, "transitionLead", leadId=lead["id"], event="QUALIFY")
        assert result["__typename"] == "TransitionRejected"
        assert (result["event"], result["fromStage"]) == ("QUALIFY", "COLD")
        assert [g["guard"] for g in result["failedGuards"]] == [
            "stage.not_allowed",
            "bant.budget",
            "bant.authority",
            "bant.need",
            "bant.timeframe",
        ]
        assert all(g["message"] for g in result["failedGuards"])
        assert await lead_state(gql, lead["id"]) == lead

    async def test_refuses_a_reason_over_2000_characters(self, gql: GraphQLClient) -> None:
        mql = await lead_in_stage(gql, "MQL")
        before = await lead_state(gql, mql["id"])
        result = await mutate(gql, "transitionLead", leadId=mql["id"], event="RECYCLE", reason="r" * 2001)
        assert_problem(result, "reason")
        assert await lead_state(gql, mql["id"]) == before

    @pytest.mark.parametrize("mutation", [m for m in MUTATIONS if m != "recordActivity"])  # it takes none
    async def test_stale_expected_version_is_a_conflict_naming_the_current_version(
        self, gql: GraphQLClient, mutation: str
    ) -> None:
        lead = await lead_in_stage(gql, "MQL")  # where each of these changes would otherwise succeed
        current = await lead_state(gql, lead["id"])
        recycle = {"event": "RECYCLE", "reason": "Budget frozen"}
        change = recycle if mutation == "transitionLead" else VALID_CHANGES[mutation]
        result = await mutate(gql, mutation, leadId=lead["id"], expectedVersion=current["version"] - 1, **change)
        assert result["__typename"] == "VersionConflict", result
        assert result["currentVersion"] == current["version"]
        assert await lead_state(gql, lead["id"]) == current

    async def test_current_expected_version_goes_through(self, gql: GraphQLClient, lead: dict[str, Any]) -> None:
        result = await mutate(gql, "assignLead", leadId=lead["id"], ownerTeam="SMB", expectedVersion=lead["version"])
        assert result["lead"]["version"] == lead["version"] + 1


class TestSalesFeedbackChecks:
    @pytest.mark.parametrize("reason", [None, "   "], ids=["missing", "blank"])
    async def test_rejected_needs_a_reason(self, gql: GraphQLClient, reason: str | None) -> None:
        mql = await lead_in_stage(gql, "MQL")
        before = await lead_state(gql, mql["id"])
        result = await mutate(gql, "recordSalesFeedback", leadId=mql["id"], verdict="REJECTED", reason=reason)
        assert_problem(result, "reason")
        assert await lead_state(gql, mql["id"]) == before

    async def test_refuses_a_reason_over_2000_characters(self, gql: GraphQLClient) -> None:
        mql = await lead_in_stage(gql, "MQL")
        before = await lead_state(gql, mql["id"])
        result = await mutate(gql, "recordSalesFeedback", leadId=mql["id"], verdict="REJECTED", reason="r" * 2001)
        assert_problem(result, "reason")
        assert await lead_state(gql, mql["id"]) == before

    async def test_applies_to_mql_leads_only(self, gql: GraphQLClient, lead: dict[str, Any]) -> None:
        result = await mutate(gql, "recordSalesFeedback", leadId=lead["id"], verdict="ACCEPTED")
        assert_problem(result, "verdict")
        assert await lead_state(gql, lead["id"]) == lead


class TestUnknownLead:
    @pytest.mark.parametrize("mutation", list(MUTATIONS))
    @pytest.mark.parametrize(
        "lead_id", [str(uuid.uuid4()), "not-a-uuid", "", "12345"], ids=["unknown", "malformed", "empty", "number"]
    )
    async def test_is_not_found(self, gql: GraphQLClient, mutation: str, lead_id: str) -> None:
        result = await mutate(gql, mutation, leadId=lead_id, **VALID_CHANGES[mutation])
        assert result["__typename"] == "NotFound", result
        assert result["message"]


class TestOrderOfChecks:
    @pytest.mark.parametrize("mutation", list(MUTATIONS))
    @pytest.mark.parametrize("lead_id", [str(uuid.uuid4()), "not-a-uuid"], ids=["unknown", "malformed"])
    async def test_invalid_input_on_a_missing_lead_is_a_validation_problem(
        self, gql: GraphQLClient, mutation: str, lead_id: str
    ) -> None:
        fields, path = INVALID_CHANGES[mutation]
        assert_problem(await mutate(gql, mutation, leadId=lead_id, **fields), path)

    async def test_missing_lead_comes_before_a_stale_version(self, gql: GraphQLClient) -> None:
        result = await mutate(gql, "assignLead", leadId=str(uuid.uuid4()), ownerTeam="SMB", expectedVersion=99)
        assert result["__typename"] == "NotFound"

    async def test_invalid_input_comes_before_a_stale_version(self, gql: GraphQLClient, lead: dict[str, Any]) -> None:
        result = await mutate(gql, "assignLead", leadId=lead["id"], ownerTeam="t" * 201, expectedVersion=99)
        assert_problem(result, "ownerTeam")

    async def test_stale_version_comes_before_failing_guards(self, gql: GraphQLClient, lead: dict[str, Any]) -> None:
        result = await mutate(gql, "transitionLead", leadId=lead["id"], event="QUALIFY", expectedVersion=99)
        assert result["__typename"] == "VersionConflict"
        assert result["currentVersion"] == lead["version"]


class TestActorHeader:
    async def test_create_refuses_an_actor_over_200_characters(self, gql: GraphQLClient) -> None:
        await assert_create_refused(gql, "X-Actor", actor="a" * 201)

    async def test_changes_refuse_an_actor_over_200_characters(self, gql: GraphQLClient, lead: dict[str, Any]) -> None:
        result = await mutate(gql, "recordActivity", "a" * 201, leadId=lead["id"], kind="email_open")
        assert_problem(result, "X-Actor")
        assert await lead_state(gql, lead["id"]) == lead

    async def test_an_actor_of_200_characters_is_recorded(self, gql: GraphQLClient, lead: dict[str, Any]) -> None:
        actor = "a" * 200
        await mutate(gql, "recordActivity", actor, leadId=lead["id"], kind="email_open")
        actors = {entry["kind"]: entry["actor"] for entry in (await lead_state(gql, lead["id"]))["timeline"]}
        assert actors["activity"] == actor


MALFORMED: dict[str, tuple[str, dict[str, Any]]] = {
    "unknown enum value": (TRANSITION, {"input": {"leadId": str(uuid.uuid4()), "event": "FLY"}}),
    "unknown enum literal": ('mutation { transitionLead(input: {leadId: "x", event: FLY}) { __typename } }', {}),
    "Int beyond 32 bits": (
        CREATE_LEAD,
        {
            "input": {
                "company": {"name": "Big", "employeeCount": 3_000_000_000},
                "contact": {"name": "C"},
                "source": "s",
            }
        },
    ),
    "Int literal beyond 32 bits": ("{ leads(first: 3000000000) { totalCount } }", {}),
    "expectedVersion beyond 32 bits": (
        ASSIGN_LEAD,
        {"input": {"leadId": str(uuid.uuid4()), "expectedVersion": 2**31}},
    ),
    "string for an Int": (
        CREATE_LEAD,
        {"input": {"company": {"name": "C", "employeeCount": "many"}, "contact": {"name": "C"}, "source": "s"}},
    ),
    "string for a Boolean": (
        CREATE_LEAD,
        {"input": {"company": {"name": "C"}, "contact": {"name": "C", "isDecisionMaker": "yes"}, "source": "s"}},
    ),
    "word for a Decimal": (
        CREATE_LEAD,
        {"input": {"company": {"name": "C", "capital": "lots"}, "contact": {"name": "C"}, "source": "s"}},
    ),
    "word for a DateTime": (
        RECORD_ACTIVITY,
        {"input": {"leadId": str(uuid.uuid4()), "kind": "email_open", "occurredAt": "yesterday"}},
    ),
    "number for a DateTime": (
        RECORD_ACTIVITY,
        {"input": {"leadId": str(uuid.uuid4()), "kind": "email_open", "occurredAt": 1767225600}},
    ),
    "word for a Date": (UPDATE_BANT, {"input": {"leadId": str(uuid.uuid4()), "targetDate": "next spring"}}),
    "object for an ID": ("query($id: ID!) { lead(id: $id) { id } }", {"id": {"uuid": "x"}}),
    "null for a required field": (
        CREATE_LEAD,
        {"input": {"company": {"name": None}, "contact": {"name": "C"}, "source": "s"}},
    ),
    "missing required input": (CREATE_LEAD, {}),
    "syntax error": ("query { leads { totalCount }", {}),
    "unknown field": ("{ leads { totalCount nope } }", {}),
    "unknown argument": ('{ lead(id: "x", nope: 1) { id } }', {}),
    "naive since": ('{ channelFunnel(since: "2026-01-01T00:00:00") { source } }', {}),
    "naive until": ('{ channelFunnel(until: "2026-01-01T00:00:00") { source } }', {}),
}


class TestMalformedGraphQL:
    @pytest.mark.parametrize(("query", "variables"), MALFORMED.values(), ids=MALFORMED.keys())
    async def test_is_a_graphql_error_never_a_500(
        self, gql: GraphQLClient, query: str, variables: dict[str, Any]
    ) -> None:
        response = await post(gql, query, **variables)
        assert response.status_code in (200, 400), response.text
        body = response.json()
        assert body["errors"], body
        assert all(error["message"] for error in body["errors"])
        assert body.get("data") is None

    async def test_naive_datetime_error_says_what_to_send(self, gql: GraphQLClient) -> None:
        body = (await post(gql, '{ channelFunnel(since: "2026-01-01T00:00:00") { source } }')).json()
        assert "offset" in body["errors"][0]["message"]

    async def test_channel_funnel_accepts_since_with_an_offset(self, gql: GraphQLClient) -> None:
        data = await gql.data('{ channelFunnel(since: "2026-01-01T00:00:00+09:00") { source } }')
        assert isinstance(data["channelFunnel"], list)

    @pytest.mark.parametrize(
        "body", [b"{not json", b'{"variables": {}}', b""], ids=["not JSON", "no query", "empty body"]
    )
    async def test_a_request_that_is_no_graphql_is_a_400(self, gql: GraphQLClient, body: bytes) -> None:
        response = await gql.http.post("/graphql", content=body, headers={"content-type": "application/json"})
        assert response.status_code == 400
