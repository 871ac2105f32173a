"""Idempotent retries over HTTP: one outcome per key and mutation, replayed with the lead as it is now."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from tests.api.operations import (
    CREATE_LEAD,
    RECORD_ACTIVITY,
    UPDATE_BANT,
    count_matching,
    create_lead,
    lead_in_stage,
    lead_state,
    record,
    transition,
)
from tests.conftest import GraphQLClient

CONCURRENT_RETRIES = 10


def new_key() -> str:
    return f"key-{uuid.uuid4()}"


def new_lead_input(key: str | None = None) -> tuple[dict[str, Any], str]:
    """A createLead input with unique names; returns (input, marker to search them by)."""
    marker = uuid.uuid4().hex[:12]
    payload: dict[str, Any] = {
        "company": {"name": f"Company {marker}", "employeeCount": 30},
        "contact": {"name": f"Contact {marker}", "email": f"{marker}@example.jp"},
        "source": "referral",
    }
    if key is not None:
        payload["idempotencyKey"] = key
    return payload, marker


async def create(gql: GraphQLClient, payload: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = (await gql.data(CREATE_LEAD, input=payload))["createLead"]
    return result


def lead_of(result: dict[str, Any]) -> dict[str, Any]:
    assert result["__typename"] == "LeadPayload", result
    lead: dict[str, Any] = result["lead"]
    return lead


def assert_key_reused(result: dict[str, Any]) -> None:
    assert result["__typename"] == "ValidationProblem", result
    assert result["field"] == "idempotencyKey"


async def record_with_key(gql: GraphQLClient, lead_id: str, key: str, **fields: Any) -> dict[str, Any]:
    result: dict[str, Any] = (
        await gql.data(RECORD_ACTIVITY, input={"leadId": lead_id, "idempotencyKey": key, **fields})
    )["recordActivity"]
    return result


async def confirm_bant(gql: GraphQLClient, lead_id: str) -> None:
    confirmed = {c: {"status": "CONFIRMED"} for c in ("budget", "authority", "need", "timeframe")}
    assert (await gql.data(UPDATE_BANT, input={"leadId": lead_id, **confirmed}))["updateBant"]["lead"]


class TestCreateLeadRetry:
    async def test_retry_returns_the_same_lead_and_creates_no_other(self, gql: GraphQLClient) -> None:
        payload, marker = new_lead_input(new_key())
        first = lead_of(await create(gql, payload))
        retried = lead_of(await create(gql, payload))
        assert retried == first
        assert await count_matching(gql, marker) == 1

    async def test_retry_returns_the_lead_as_it_is_now(self, gql: GraphQLClient) -> None:
        payload, marker = new_lead_input(new_key())
        first = lead_of(await create(gql, payload))
        await record(gql, first["id"], "pricing_page_view")
        now = await lead_state(gql, first["id"])
        retried = lead_of(await create(gql, payload))
        assert (retried["id"], retried["version"], retried["score"]) == (first["id"], first["version"] + 1, 5)
        assert await lead_state(gql, first["id"]) == now
        assert await count_matching(gql, marker) == 1

    async def test_same_key_with_other_input_is_refused(self, gql: GraphQLClient) -> None:
        key = new_key()
        first_input, first_marker = new_lead_input(key)
        other_input, other_marker = new_lead_input(key)
        lead_of(await create(gql, first_input))
        assert_key_reused(await create(gql, other_input))
        assert (await count_matching(gql, first_marker), await count_matching(gql, other_marker)) == (1, 0)

    async def test_retry_must_repeat_the_request_as_sent(self, gql: GraphQLClient) -> None:
        payload, marker = new_lead_input(new_key())
        lead_of(await create(gql, payload))
        equivalent = {**payload, "source": f"  {payload['source'].upper()} "}  # same source once normalised
        assert_key_reused(await create(gql, equivalent))
        assert await count_matching(gql, marker) == 1

    async def test_refused_request_stores_nothing_so_a_corrected_retry_succeeds(self, gql: GraphQLClient) -> None:
        payload, marker = new_lead_input(new_key())
        invalid = {**payload, "contact": {**payload["contact"], "email": "not-an-email"}}
        refused = await create(gql, invalid)
        assert (refused["__typename"], refused["field"]) == ("ValidationProblem", "contact.email")
        lead = lead_of(await create(gql, payload))
        assert lead["contact"]["email"] == payload["contact"]["email"]
        assert await count_matching(gql, marker) == 1

    async def test_concurrent_requests_with_one_key_create_one_lead(self, gql: GraphQLClient) -> None:
        payload, marker = new_lead_input(new_key())
        results = await asyncio.gather(*(create(gql, payload) for _ in range(CONCURRENT_RETRIES)))
        assert {lead_of(r)["id"] for r in results} == {lead_of(results[0])["id"]}
        assert await count_matching(gql, marker) == 1


class TestRecordActivityRetry:
    async def test_retry_records_the_activity_once(self, gql: GraphQLClient) -> None:
        lead = await create_lead(gql)
        key = new_key()
        first = lead_of(await record(gql, lead["id"], "document_download", idempotencyKey=key))
        after_first = await lead_state(gql, lead["id"])
        retried = lead_of(await record(gql, lead["id"], "document_download", idempotencyKey=key))
        assert retried == first
        assert (retried["version"], retried["score"]) == (lead["version"] + 1, 5)
        assert await lead_state(gql, lead["id"]) == after_first
        assert len(after_first["activities"]) == 1

    async def test_retry_returns_the_lead_as_it_is_now(self, gql: GraphQLClient) -> None:
        lead = await create_lead(gql)
        key = new_key()
        lead_of(await record(gql, lead["id"], "email_open", idempotencyKey=key))
        later = lead_of(await record(gql, lead["id"], "webinar_attended"))
        retried = lead_of(await record(gql, lead["id"], "email_open", idempotencyKey=key))
        assert (retried["version"], retried["score"]) == (later["version"], 11)
        assert [a["kind"] for a in (await lead_state(gql, lead["id"]))["activities"]] == [
            "webinar_attended",
            "email_open",
        ]

    @pytest.mark.parametrize(
        "other",
        [
            {"kind": "web_visit"},
            {"kind": "email_open", "properties": {"campaign": "spring"}},
            {"kind": "email_open", "occurredAt": "2026-01-05T09:00:00+09:00"},
        ],
        ids=["kind", "properties", "occurredAt"],
    )
    async def test_same_key_with_other_input_is_refused(self, gql: GraphQLClient, other: dict[str, Any]) -> None:
        lead = await create_lead(gql)
        key = new_key()
        lead_of(await record(gql, lead["id"], "email_open", idempotencyKey=key))
        before = await lead_state(gql, lead["id"])
        assert_key_reused(await record_with_key(gql, lead["id"], key, **other))
        assert await lead_state(gql, lead["id"]) == before

    async def test_same_key_for_another_lead_is_other_input(self, gql: GraphQLClient) -> None:
        first, second = await create_lead(gql), await create_lead(gql)
        key = new_key()
        lead_of(await record(gql, first["id"], "email_open", idempotencyKey=key))
        assert_key_reused(await record(gql, second["id"], "email_open", idempotencyKey=key))
        assert (await lead_state(gql, second["id"]))["activities"] == []

    async def test_not_found_stores_nothing(self, gql: GraphQLClient) -> None:
        lead = await create_lead(gql)
        key = new_key()
        missing = await record(gql, str(uuid.uuid4()), "email_open", idempotencyKey=key)
        assert missing["__typename"] == "NotFound"
        lead_of(await record(gql, lead["id"], "email_open", idempotencyKey=key))
        assert len((await lead_state(gql, lead["id"]))["activities"]) == 1

    async def test_concurrent_requests_with_one_key_record_once(self, gql: GraphQLClient) -> None:
        lead = await create_lead(gql)
        key = new_key()
        results = await asyncio.gather(
            *(record(gql, lead["id"], "inquiry", idempotencyKey=key) for _ in range(CONCURRENT_RETRIES))
        )
        assert {(lead_of(r)["version"], lead_of(r)["score"]) for r in results} == {(lead["version"] + 1, 15)}
        stored = await lead_state(gql, lead["id"])
        assert [a["kind"] for a in stored["activities"]] == ["inquiry"]
        assert stored["version"] == lead["version"] + 1


class TestTransitionRetry:
    async def test_retry_changes_nothing(self, gql: GraphQLClient) -> None:
        lead = await lead_in_stage(gql, "MQL")
        key = new_key()
        first = lead_of(await transition(gql, lead["id"], "RECYCLE", reason="No budget", idempotencyKey=key))
        after_first = await lead_state(gql, lead["id"])
        retried = lead_of(await transition(gql, lead["id"], "RECYCLE", reason="No budget", idempotencyKey=key))
        assert retried == first
        assert (retried["stage"], retried["version"]) == ("RECYCLED", lead["version"] + 1)
        assert await lead_state(gql, lead["id"]) == after_first

    async def test_same_key_with_other_input_is_refused(self, gql: GraphQLClient) -> None:
        lead = await lead_in_stage(gql, "MQL")
        key = new_key()
        lead_of(await transition(gql, lead["id"], "RECYCLE", reason="No budget", idempotencyKey=key))
        before = await lead_state(gql, lead["id"])
        assert_key_reused(await transition(gql, lead["id"], "RECYCLE", reason="Wrong contact", idempotencyKey=key))
        assert await lead_state(gql, lead["id"]) == before

    async def test_refused_transition_stores_nothing_so_a_retry_after_fixing_succeeds(self, gql: GraphQLClient) -> None:
        lead = await lead_in_stage(gql, "MQL")
        key = new_key()
        refused = await transition(gql, lead["id"], "QUALIFY", idempotencyKey=key)
        assert refused["__typename"] == "TransitionRejected"
        await confirm_bant(gql, lead["id"])
        assert lead_of(await transition(gql, lead["id"], "QUALIFY", idempotencyKey=key))["stage"] == "SQL"

    async def test_version_conflict_stores_nothing(self, gql: GraphQLClient) -> None:
        lead = await lead_in_stage(gql, "MQL")
        key = new_key()
        stale = await transition(
            gql, lead["id"], "RECYCLE", reason="Later", expectedVersion=lead["version"] - 1, idempotencyKey=key
        )
        assert stale["__typename"] == "VersionConflict"
        current = await transition(
            gql, lead["id"], "RECYCLE", reason="Later", expectedVersion=lead["version"], idempotencyKey=key
        )
        assert lead_of(current)["stage"] == "RECYCLED"

    async def test_replay_is_recognised_before_the_version_check(self, gql: GraphQLClient) -> None:
        lead = await lead_in_stage(gql, "MQL")
        key = new_key()
        request = {"reason": "Reorganisation", "expectedVersion": lead["version"], "idempotencyKey": key}
        first = lead_of(await transition(gql, lead["id"], "RECYCLE", **request))
        after_first = await lead_state(gql, lead["id"])

        retried = lead_of(await transition(gql, lead["id"], "RECYCLE", **request))
        assert retried == first
        assert await lead_state(gql, lead["id"]) == after_first

        fresh = await transition(gql, lead["id"], "RECYCLE", **{**request, "idempotencyKey": new_key()})
        assert (fresh["__typename"], fresh["currentVersion"]) == ("VersionConflict", first["version"])

    async def test_concurrent_requests_with_one_key_transition_once(self, gql: GraphQLClient) -> None:
        lead = await lead_in_stage(gql, "MQL")
        key = new_key()
        results = await asyncio.gather(
            *(
                transition(gql, lead["id"], "RECYCLE", reason="Budget frozen", idempotencyKey=key)
                for _ in range(CONCURRENT_RETRIES)
            )
        )
        assert {(lead_of(r)["stage"], lead_of(r)["version"]) for r in results} == {("RECYCLED", lead["version"] + 1)}
        timeline = (await lead_state(gql, lead["id"]))["timeline"]
        assert sum(entry["summary"] == "MQL -> RECYCLED (RECYCLE)" for entry in timeline) == 1


class TestKeysAreScopedPerMutation:
    async def test_one_key_on_create_record_activity_and_transition_is_three_keys(self, gql: GraphQLClient) -> None:
        key = new_key()
        payload, marker = new_lead_input(key)
        lead = lead_of(await create(gql, payload))

        hot = lead_of(await record(gql, lead["id"], "demo_request", idempotencyKey=key))
        assert (hot["stage"], hot["version"]) == ("MQL", lead["version"] + 1)

        recycled = lead_of(await transition(gql, lead["id"], "RECYCLE", reason="Later", idempotencyKey=key))
        assert (recycled["stage"], recycled["version"]) == ("RECYCLED", hot["version"] + 1)

        stored = await lead_state(gql, lead["id"])
        assert [a["kind"] for a in stored["activities"]] == ["demo_request"]
        assert await count_matching(gql, marker) == 1

    async def test_keys_of_one_mutation_do_not_replay_another_mutation(self, gql: GraphQLClient) -> None:
        """A recordActivity retry under a key first used by transitionLead still records."""
        lead = await lead_in_stage(gql, "MQL")
        key = new_key()
        lead_of(await transition(gql, lead["id"], "RECYCLE", reason="Later", idempotencyKey=key))
        lead_of(await record(gql, lead["id"], "email_open", idempotencyKey=key))
        lead_of(await record(gql, lead["id"], "email_open", idempotencyKey=key))
        kinds = [a["kind"] for a in (await lead_state(gql, lead["id"]))["activities"]]
        assert kinds == ["email_open", "demo_request"]
