"""Idempotency keys: a retry replays, a reused key with other input is refused, failures store nothing."""

import pytest

from leadcycle.domain.commands import RecordActivity, TransitionLead, UpdateBant
from leadcycle.domain.errors import InvalidInput, TransitionRefused
from leadcycle.domain.model import BantCriterion, Company
from leadcycle.domain.stages import BantStatus, LeadEvent, Stage
from tests.unit.use_case_harness import create_lead, harness, new_lead, record, seed_lead

CONFIRMED = BantCriterion(BantStatus.CONFIRMED)


class TestCreateLeadIdempotency:
    async def test_a_retry_with_the_same_key_and_input_returns_the_first_lead(self) -> None:
        h = harness()
        first = await h.cases.create(new_lead(key="form-42"), "web")
        commits = h.db.commits

        retry = await h.cases.create(new_lead(key="form-42"), "web")

        assert retry.id == first.id
        assert retry == h.db.lead(first.id)
        assert list(h.db.state.leads) == [first.id]
        assert h.db.commits == commits

    async def test_a_retry_returns_the_lead_as_it_is_now(self) -> None:
        h = harness()
        first = await h.cases.create(new_lead(key="form-42"), "web")
        await record(h, first.id, "webinar_attended")

        retry = await h.cases.create(new_lead(key="form-42"), "web")

        assert (retry.version, retry.score) == (2, 10)

    async def test_the_same_key_with_different_input_is_refused(self) -> None:
        h = harness()
        await h.cases.create(new_lead(key="form-42"), "web")

        with pytest.raises(InvalidInput) as invalid:
            await h.cases.create(new_lead(company=Company("Other KK"), key="form-42"), "web")

        assert invalid.value.field == "idempotencyKey"
        assert len(h.db.state.leads) == 1

    async def test_an_invalid_request_stores_no_key(self) -> None:
        h = harness()

        with pytest.raises(InvalidInput):
            await h.cases.create(new_lead(source="9bad", key="form-42"), "web")
        lead = await h.cases.create(new_lead(key="form-42"), "web")

        assert list(h.db.state.leads) == [lead.id]

    @pytest.mark.parametrize("key", ["", "k" * 201])
    async def test_a_key_must_be_1_to_200_characters(self, key: str) -> None:
        h = harness()

        with pytest.raises(InvalidInput) as invalid:
            await h.cases.create(new_lead(key=key), "web")

        assert invalid.value.field == "idempotencyKey"


class TestRecordActivityIdempotency:
    async def test_a_retry_does_not_record_the_activity_twice(self) -> None:
        h = harness()
        lead = await create_lead(h)
        command = RecordActivity(str(lead.id), "pricing_page_view", properties={"plan": "pro"}, idempotency_key="ev-1")
        first = await h.cases.record_activity(command, "ma-tool")
        h.clock.advance(minutes=1)

        retry = await h.cases.record_activity(command, "ma-tool")

        assert (retry.version, retry.score, retry.updated_at) == (first.version, 5, first.updated_at)
        assert len(h.db.state.activities[lead.id]) == 1
        assert len(h.db.changes(lead.id)) == 2

    async def test_the_same_key_with_different_input_is_refused(self) -> None:
        h = harness()
        lead = await create_lead(h)
        await h.cases.record_activity(RecordActivity(str(lead.id), "web_visit", idempotency_key="ev-1"), "ma")

        with pytest.raises(InvalidInput) as invalid:
            await h.cases.record_activity(RecordActivity(str(lead.id), "email_open", idempotency_key="ev-1"), "ma")

        assert invalid.value.field == "idempotencyKey"
        assert [a.kind for a in h.db.state.activities[lead.id]] == ["web_visit"]

    async def test_keys_are_scoped_per_mutation(self) -> None:
        h = harness()
        lead = await h.cases.create(new_lead(key="shared"), "web")

        after = await h.cases.record_activity(RecordActivity(str(lead.id), "web_visit", idempotency_key="shared"), "w")

        assert (after.version, after.score) == (2, 1)
        assert set(h.db.state.keys) == {("createLead", "shared"), ("recordActivity", "shared")}


class TestTransitionLeadIdempotency:
    async def test_a_refused_request_stores_no_key_so_a_retry_is_judged_afresh(self) -> None:
        h = harness()
        lead = seed_lead(h, stage=Stage.MQL)
        qualify = TransitionLead(str(lead.id), LeadEvent.QUALIFY, idempotency_key="q-1")
        with pytest.raises(TransitionRefused):
            await h.cases.transition(qualify, "kato")
        keys_after_refusal = dict(h.db.state.keys)
        criteria = {c: CONFIRMED for c in ("budget", "authority", "need", "timeframe")}
        await h.cases.update_bant(UpdateBant(str(lead.id), criteria=criteria), "kato")

        sql = await h.cases.transition(qualify, "kato")

        assert keys_after_refusal == {}
        assert sql.stage is Stage.SQL

    async def test_a_replay_is_recognised_before_the_version_check(self) -> None:
        h = harness()
        lead = seed_lead(h, stage=Stage.SQL)
        command = TransitionLead(str(lead.id), LeadEvent.OPEN_OPPORTUNITY, expected_version=1, idempotency_key="o-1")
        first = await h.cases.transition(command, "kato")
        commits = h.db.commits

        retry = await h.cases.transition(command, "kato")

        assert (retry.stage, retry.version) == (Stage.OPPORTUNITY, first.version)
        assert h.db.commits == commits
        assert len(h.db.timeline(lead.id, "transition")) == 1
