"""Input validation of the use cases: each refusal names the field the client sent."""

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest

from leadcycle.domain.commands import (
    AssignLead,
    RecordActivity,
    RecordSalesFeedback,
    TransitionLead,
    UpdateBant,
    UpdateLead,
)
from leadcycle.domain.errors import InvalidInput
from leadcycle.domain.model import BantCriterion, Company, Contact
from leadcycle.domain.stages import BantStatus, LeadEvent, SalesVerdict, Stage
from tests.unit.use_case_harness import create_lead, harness, new_lead, seed_lead

JST = timezone(timedelta(hours=9))
MISSING_ID = str(UUID(int=999_999))


def company(**fields: Any) -> Company:
    return Company(**{"name": "Example KK", **fields})


def contact(**fields: Any) -> Contact:
    return Contact(**{"name": "Sato Hanako", **fields})


class TestCreateLeadValidation:
    @pytest.mark.parametrize(
        ("command_fields", "field"),
        [
            ({"contact": contact(email="not-an-email")}, "contact.email"),
            ({"contact": contact(email="sato@example")}, "contact.email"),
            ({"contact": contact(email="sato hanako@example.co.jp")}, "contact.email"),
            ({"contact": contact(phone="12345")}, "contact.phone"),
            ({"contact": contact(phone="03-1234-567a")}, "contact.phone"),
            ({"contact": contact(phone="1" * 21)}, "contact.phone"),
            ({"source": "9bad"}, "source"),
            ({"source": "web ad"}, "source"),
            ({"source": "web-ad"}, "source"),
            ({"source": "   "}, "source"),
            ({"source": "a" * 65}, "source"),
            ({"company": company(employee_count=-1)}, "company.employeeCount"),
            ({"company": company(capital=Decimal("NaN"))}, "company.capital"),
            ({"company": company(capital=Decimal("Infinity"))}, "company.capital"),
            ({"company": company(capital=Decimal("-0.01"))}, "company.capital"),
            ({"company": company(name="x" * 201)}, "company.name"),
            ({"company": company(name="   ")}, "company.name"),
            ({"company": company(department="x" * 201)}, "company.department"),
            ({"company": company(industry="x" * 201)}, "company.industry"),
            ({"contact": contact(name="")}, "contact.name"),
            ({"contact": contact(title="x" * 201)}, "contact.title"),
        ],
    )
    async def test_refuses_naming_the_field(self, command_fields: dict[str, Any], field: str) -> None:
        h = harness()

        with pytest.raises(InvalidInput) as invalid:
            await h.cases.create(new_lead(**command_fields), "web")

        assert invalid.value.field == field
        assert h.db.state.leads == {}

    @pytest.mark.parametrize("phone", ["03-1234-5678", "+81 3 1234 5678", "(03) 1234-5678", "090-1234-5678", "123456"])
    async def test_accepts_japanese_and_international_phone_formats(self, phone: str) -> None:
        h = harness()

        lead = await h.cases.create(new_lead(contact=contact(phone=phone)), "web")

        assert lead.contact.phone == phone

    @pytest.mark.parametrize(
        ("source", "normalised"), [(" Web_Ad ", "web_ad"), ("SEMINAR", "seminar"), ("a" * 64, "a" * 64)]
    )
    async def test_normalises_the_source(self, source: str, normalised: str) -> None:
        h = harness()

        lead = await h.cases.create(new_lead(source=source), "web")

        assert lead.source == normalised

    async def test_trims_names_and_accepts_200_characters(self) -> None:
        h = harness()
        name = "x" * 200

        lead = await h.cases.create(new_lead(company=company(name=f"  {name}  ")), "web")

        assert lead.company.name == name

    async def test_empty_optional_strings_become_null(self) -> None:
        h = harness()

        lead = await h.cases.create(
            new_lead(company=company(department="", industry="  "), contact=contact(email=" ", phone="", title="")),
            "web",
        )

        assert (lead.company.department, lead.company.industry) == (None, None)
        assert (lead.contact.email, lead.contact.phone, lead.contact.title) == (None, None, None)

    async def test_an_explicit_null_decision_maker_means_no(self) -> None:
        h = harness()

        lead = await h.cases.create(new_lead(contact=contact(is_decision_maker=None)), "web")

        assert lead.contact.is_decision_maker is False
        assert lead.score == 0

    async def test_an_actor_over_200_characters_is_refused(self) -> None:
        h = harness()

        with pytest.raises(InvalidInput) as invalid:
            await h.cases.create(new_lead(), "a" * 201)

        assert invalid.value.field == "X-Actor"

    async def test_an_actor_over_200_characters_is_refused_on_a_change_before_looking_up_the_lead(self) -> None:
        h = harness()

        with pytest.raises(InvalidInput) as invalid:
            await h.cases.update(UpdateLead(MISSING_ID, company={"industry": "IT"}), "a" * 201)

        assert invalid.value.field == "X-Actor"


class TestRecordActivityValidation:
    @pytest.mark.parametrize("kind", ["Email_Open", "", "1st_visit", "email-open", "a" * 65])
    async def test_the_kind_must_be_a_slug(self, kind: str) -> None:
        h = harness()
        lead = await create_lead(h)

        with pytest.raises(InvalidInput) as invalid:
            await h.cases.record_activity(RecordActivity(str(lead.id), kind), "ma")

        assert invalid.value.field == "kind"
        assert h.db.state.activities[lead.id] == []

    @pytest.mark.parametrize("properties", [["buy_now"], "intent=buy_now", 3])
    async def test_properties_must_be_an_object(self, properties: Any) -> None:
        h = harness()
        lead = await create_lead(h)

        with pytest.raises(InvalidInput) as invalid:
            await h.cases.record_activity(RecordActivity(str(lead.id), "web_visit", properties=properties), "ma")

        assert invalid.value.field == "properties"

    @pytest.mark.parametrize("number", [float("nan"), float("inf"), float("-inf")])
    async def test_properties_may_hold_only_finite_numbers(self, number: float) -> None:
        h = harness()
        lead = await create_lead(h)
        command = RecordActivity(str(lead.id), "web_visit", properties={"budget": {"yen": number}})

        with pytest.raises(InvalidInput) as invalid:
            await h.cases.record_activity(command, "ma")

        assert invalid.value.field == "properties"
        assert h.db.state.activities[lead.id] == []

    @pytest.mark.parametrize(
        ("value", "accepted"),
        [("x" * 16_376, True), ("x" * 16_377, False), ("\u3042" * 5_460, False)],
        ids=["exactly-16KiB", "one-byte-over", "multibyte-counted-as-utf8"],
    )
    async def test_properties_may_hold_at_most_16_kib_of_compact_utf8(self, value: str, accepted: bool) -> None:
        h = harness()
        lead = await create_lead(h)
        command = RecordActivity(str(lead.id), "web_visit", properties={"k": value})

        if accepted:
            stored = await h.cases.record_activity(command, "ma")
            assert stored.version == 2
        else:
            with pytest.raises(InvalidInput) as invalid:
                await h.cases.record_activity(command, "ma")
            assert invalid.value.field == "properties"

    async def test_occurred_at_without_an_offset_is_refused(self) -> None:
        h = harness()
        lead = await create_lead(h)
        naive = datetime(2025, 6, 1, 12, 0)

        with pytest.raises(InvalidInput) as invalid:
            await h.cases.record_activity(RecordActivity(str(lead.id), "web_visit", occurred_at=naive), "ma")

        assert invalid.value.field == "occurredAt"

    async def test_occurred_at_more_than_five_minutes_ahead_is_refused(self) -> None:
        h = harness()
        lead = await create_lead(h)
        too_soon = h.clock.now + timedelta(minutes=5, seconds=1)

        with pytest.raises(InvalidInput) as invalid:
            await h.cases.record_activity(RecordActivity(str(lead.id), "web_visit", occurred_at=too_soon), "ma")

        assert invalid.value.field == "occurredAt"

    async def test_occurred_at_up_to_five_minutes_ahead_is_kept_in_utc(self) -> None:
        h = harness()
        lead = await create_lead(h)
        ahead = (h.clock.now + timedelta(minutes=5)).astimezone(JST)

        await h.cases.record_activity(RecordActivity(str(lead.id), "web_visit", occurred_at=ahead), "ma")

        [activity] = h.db.state.activities[lead.id]
        assert activity.occurred_at == ahead
        assert activity.occurred_at.tzinfo is UTC

    async def test_omitted_occurred_at_means_now(self) -> None:
        h = harness()
        lead = await create_lead(h)

        await h.cases.record_activity(RecordActivity(str(lead.id), "web_visit"), "ma")

        [activity] = h.db.state.activities[lead.id]
        assert activity.occurred_at == h.clock.now

    async def test_validation_comes_before_looking_up_the_lead(self) -> None:
        h = harness()

        with pytest.raises(InvalidInput) as invalid:
            await h.cases.record_activity(RecordActivity(MISSING_ID, "Bad Kind"), "ma")

        assert invalid.value.field == "kind"


class TestOtherMutationsValidation:
    async def test_update_refuses_a_negative_employee_count(self) -> None:
        h = harness()
        lead = await create_lead(h)

        with pytest.raises(InvalidInput) as invalid:
            await h.cases.update(UpdateLead(str(lead.id), company={"employee_count": -5}), "bob")

        assert invalid.value.field == "company.employeeCount"

    async def test_a_transition_reason_may_hold_2000_characters_not_more(self) -> None:
        h = harness()
        lead = seed_lead(h, stage=Stage.SQL)

        with pytest.raises(InvalidInput) as invalid:
            await h.cases.transition(TransitionLead(str(lead.id), LeadEvent.RECYCLE, reason="r" * 2001), "k")
        recycled = await h.cases.transition(TransitionLead(str(lead.id), LeadEvent.RECYCLE, reason="r" * 2000), "k")

        assert invalid.value.field == "reason"
        assert recycled.stage is Stage.RECYCLED

    async def test_a_feedback_reason_over_2000_characters_is_refused(self) -> None:
        h = harness()
        lead = seed_lead(h, stage=Stage.MQL)

        with pytest.raises(InvalidInput) as invalid:
            await h.cases.record_sales_feedback(
                RecordSalesFeedback(str(lead.id), SalesVerdict.REJECTED, reason="r" * 2001), "sales"
            )

        assert invalid.value.field == "reason"

    @pytest.mark.parametrize(
        ("command_fields", "field"),
        [
            ({"criteria": {"budget": BantCriterion(BantStatus.NOT_MET, note="n" * 2001)}}, "budget.note"),
            ({"details": {"budget_amount": Decimal(-1)}}, "budgetAmount"),
            ({"details": {"budget_amount": Decimal("NaN")}}, "budgetAmount"),
        ],
    )
    async def test_bant_refuses_naming_the_field(self, command_fields: dict[str, Any], field: str) -> None:
        h = harness()
        lead = seed_lead(h, stage=Stage.MQL)

        with pytest.raises(InvalidInput) as invalid:
            await h.cases.update_bant(UpdateBant(str(lead.id), **command_fields), "s")

        assert invalid.value.field == field

    async def test_assignment_refuses_an_owner_over_200_characters(self) -> None:
        h = harness()
        lead = await create_lead(h)

        with pytest.raises(InvalidInput) as invalid:
            await h.cases.assign(AssignLead(str(lead.id), {"owner": "o" * 201}), "mgr")

        assert invalid.value.field == "owner"
