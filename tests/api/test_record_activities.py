"""recordActivities over HTTP: many activities in one call, each as recordActivity would record it."""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any

from tests.api.operations import RESULT, create_lead, lead_state, post, record
from tests.conftest import GraphQLClient

RECORD_ACTIVITIES = f"mutation($inputs: [ActivityInput!]!) {{ recordActivities(inputs: $inputs) {{ {RESULT} }} }}"
LIMIT = 1_000


async def record_all(
    gql: GraphQLClient, inputs: list[dict[str, Any]], actor: str | None = None
) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = (await gql.data(RECORD_ACTIVITIES, actor, inputs=inputs))["recordActivities"]
    assert len(results) == len(inputs)
    return results


def activity(lead: dict[str, Any], kind: str, **fields: Any) -> dict[str, Any]:
    return {"leadId": lead["id"], "kind": kind, **fields}


def lead_of(result: dict[str, Any]) -> dict[str, Any]:
    assert result["__typename"] == "LeadPayload", result
    lead: dict[str, Any] = result["lead"]
    return lead


def new_key() -> str:
    return f"key-{uuid.uuid4()}"


async def kinds_recorded(gql: GraphQLClient, lead: dict[str, Any]) -> list[str]:
    """The kinds of the lead's activities, oldest first."""
    return [a["kind"] for a in reversed((await lead_state(gql, lead["id"]))["activities"])]


class TestResultsInInputOrder:
    async def test_each_result_is_its_inputs_lead_after_that_activity(self, gql: GraphQLClient) -> None:
        a, b, c = await create_lead(gql), await create_lead(gql), await create_lead(gql)
        inputs = [
            activity(a, "email_open"),
            activity(b, "webinar_attended"),
            activity(a, "email_click"),
            activity(c, "pricing_page_view"),
            activity(b, "email_open"),
            activity(a, "web_visit"),
        ]

        results = [lead_of(r) for r in await record_all(gql, inputs)]

        assert [r["id"] for r in results] == [i["leadId"] for i in inputs]
        assert [(r["version"], r["score"]) for r in results] == [
            (a["version"] + 1, 1),
            (b["version"] + 1, 10),
            (a["version"] + 2, 4),
            (c["version"] + 1, 5),
            (b["version"] + 2, 11),
            (a["version"] + 3, 5),
        ]
        assert await kinds_recorded(gql, a) == ["email_open", "email_click", "web_visit"]

    async def test_an_empty_list_records_nothing(self, gql: GraphQLClient) -> None:
        assert await record_all(gql, []) == []


class TestBadInputsDropNoGoodOnes:
    async def test_each_bad_input_gets_its_problem_and_the_good_ones_are_recorded(self, gql: GraphQLClient) -> None:
        a, b = await create_lead(gql), await create_lead(gql)
        inputs = [
            activity(a, "email_open"),
            activity(a, "Not A Slug"),
            {"leadId": str(uuid.uuid4()), "kind": "email_open"},
            activity(b, "webinar_attended"),
            {"leadId": "not-a-uuid", "kind": "email_open"},
            activity(a, "email_open", occurredAt="2999-01-01T00:00:00+00:00"),
            activity(b, "email_open", properties=["not", "an", "object"]),
            activity(a, "inquiry", idempotencyKey=""),
            activity(a, "document_download"),
        ]

        results = await record_all(gql, inputs)

        outcomes = [(r["__typename"], r.get("field")) for r in results]
        assert outcomes == [
            ("LeadPayload", None),
            ("ValidationProblem", "kind"),
            ("NotFound", None),
            ("LeadPayload", None),
            ("NotFound", None),
            ("ValidationProblem", "occurredAt"),
            ("ValidationProblem", "properties"),
            ("ValidationProblem", "idempotencyKey"),
            ("LeadPayload", None),
        ]
        assert (lead_of(results[8])["version"], lead_of(results[8])["score"]) == (a["version"] + 2, 6)
        assert await kinds_recorded(gql, a) == ["email_open", "document_download"]
        assert await kinds_recorded(gql, b) == ["webinar_attended"]

    async def test_input_problems_come_before_an_unknown_lead(self, gql: GraphQLClient) -> None:
        results = await record_all(gql, [{"leadId": str(uuid.uuid4()), "kind": "Bad"}])
        assert (results[0]["__typename"], results[0]["field"]) == ("ValidationProblem", "kind")

    async def test_an_over_long_actor_refuses_every_input(self, gql: GraphQLClient) -> None:
        lead = await create_lead(gql)
        results = await record_all(gql, [activity(lead, "email_open")] * 2, actor="x" * 201)
        assert {(r["__typename"], r["field"]) for r in results} == {("ValidationProblem", "X-Actor")}
        assert await kinds_recorded(gql, lead) == []


class TestOneChangePerActivity:
    async def test_each_activity_bumps_the_version_once_and_is_on_the_timeline(self, gql: GraphQLClient) -> None:
        lead = await create_lead(gql)
        kinds = ["email_open", "web_visit", "email_click", "email_open", "document_download"]

        results = [lead_of(r) for r in await record_all(gql, [activity(lead, k) for k in kinds], actor="tracker")]

        assert [r["version"] for r in results] == [lead["version"] + n for n in range(1, 6)]
        assert [r["score"] for r in results] == [1, 2, 5, 6, 11]
        stored = await lead_state(gql, lead["id"])
        assert stored["version"] == lead["version"] + 5
        entries = [(e["kind"], e["actor"]) for e in stored["timeline"]]
        assert Counter(entries) == Counter(
            {("activity", "tracker"): 5, ("score", "tracker"): 5, ("created", "anonymous"): 1}
        )

    async def test_the_lead_moves_automatically_at_the_activity_that_allows_it(self, gql: GraphQLClient) -> None:
        lead = await create_lead(gql)
        kinds = ["webinar_attended", "webinar_attended", "email_open", "demo_request", "email_open"]

        results = [lead_of(r) for r in await record_all(gql, [activity(lead, k) for k in kinds])]

        assert [(r["stage"], r["temperature"]) for r in results] == [
            ("COLD", "COLD"),
            ("WARM", "WARM"),
            ("WARM", "WARM"),
            ("MQL", "HOT"),
            ("MQL", "HOT"),
        ]
        assert [r["version"] for r in results] == [lead["version"] + n for n in range(1, 6)]
        timeline = (await lead_state(gql, lead["id"]))["timeline"]
        moves = [(e["summary"], e["actor"]) for e in reversed(timeline) if e["kind"] == "transition"]
        assert moves == [("COLD -> WARM (WARM)", "system"), ("WARM -> MQL (MARK_HOT)", "system")]


class TestIdempotentRetries:
    async def test_retrying_a_whole_call_records_nothing_again(self, gql: GraphQLClient) -> None:
        a, b = await create_lead(gql), await create_lead(gql)
        inputs = [
            activity(a, "email_open", idempotencyKey=new_key()),
            activity(b, "inquiry", idempotencyKey=new_key()),
            activity(a, "email_click", idempotencyKey=new_key()),
        ]
        first = [lead_of(r) for r in await record_all(gql, inputs)]
        after_first = [await lead_state(gql, a["id"]), await lead_state(gql, b["id"])]

        retried = [lead_of(r) for r in await record_all(gql, inputs)]

        assert [(r["version"], r["score"]) for r in retried] == [
            (a["version"] + 2, 4),
            (b["version"] + 1, 15),
            (a["version"] + 2, 4),
        ]
        assert (first[2]["version"], first[1]["version"]) == (a["version"] + 2, b["version"] + 1)
        assert [await lead_state(gql, a["id"]), await lead_state(gql, b["id"])] == after_first

    async def test_a_retry_of_part_of_a_call_records_only_the_new_inputs(self, gql: GraphQLClient) -> None:
        lead = await create_lead(gql)
        sent = activity(lead, "email_open", idempotencyKey=new_key())
        await record_all(gql, [sent])

        results = [
            lead_of(r) for r in await record_all(gql, [sent, activity(lead, "web_visit", idempotencyKey=new_key())])
        ]

        assert [r["version"] for r in results] == [lead["version"] + 1, lead["version"] + 2]
        assert await kinds_recorded(gql, lead) == ["email_open", "web_visit"]

    async def test_a_key_repeated_within_a_call_records_once(self, gql: GraphQLClient) -> None:
        lead = await create_lead(gql)
        repeated = activity(lead, "pricing_page_view", idempotencyKey=new_key())

        results = [lead_of(r) for r in await record_all(gql, [repeated, activity(lead, "email_open"), repeated])]

        assert [(r["version"], r["score"]) for r in results] == [
            (lead["version"] + 1, 5),
            (lead["version"] + 2, 6),
            (lead["version"] + 2, 6),  # the replay answers with the lead as it is then
        ]
        assert await kinds_recorded(gql, lead) == ["pricing_page_view", "email_open"]

    async def test_a_key_reused_for_other_input_within_a_call_refuses_only_that_input(self, gql: GraphQLClient) -> None:
        lead = await create_lead(gql)
        key = new_key()
        inputs = [
            activity(lead, "email_open", idempotencyKey=key),
            activity(lead, "web_visit", idempotencyKey=key),
            activity(lead, "inquiry"),
        ]

        results = await record_all(gql, inputs)

        assert [(r["__typename"], r.get("field")) for r in results] == [
            ("LeadPayload", None),
            ("ValidationProblem", "idempotencyKey"),
            ("LeadPayload", None),
        ]
        assert lead_of(results[2])["version"] == lead["version"] + 2
        assert await kinds_recorded(gql, lead) == ["email_open", "inquiry"]

    async def test_a_key_reused_for_other_input_across_calls_is_refused(self, gql: GraphQLClient) -> None:
        lead = await create_lead(gql)
        key = new_key()
        await record_all(gql, [activity(lead, "email_open", idempotencyKey=key)])

        results = await record_all(
            gql, [activity(lead, "email_click", idempotencyKey=key), activity(lead, "web_visit")]
        )

        assert [(r["__typename"], r.get("field")) for r in results] == [
            ("ValidationProblem", "idempotencyKey"),
            ("LeadPayload", None),
        ]
        assert await kinds_recorded(gql, lead) == ["email_open", "web_visit"]

    async def test_one_key_on_inputs_of_two_leads_records_one_of_them(self, gql: GraphQLClient) -> None:
        a, b = await create_lead(gql), await create_lead(gql)
        key = new_key()

        results = await record_all(
            gql, [activity(a, "email_open", idempotencyKey=key), activity(b, "email_open", idempotencyKey=key)]
        )

        assert sorted((r["__typename"], r.get("field")) for r in results) == [
            ("LeadPayload", None),
            ("ValidationProblem", "idempotencyKey"),
        ]
        assert len(await kinds_recorded(gql, a) + await kinds_recorded(gql, b)) == 1

    async def test_keys_are_shared_with_record_activity(self, gql: GraphQLClient) -> None:
        """A tracker that sent an activity alone and retries it in a batch records it once."""
        lead = await create_lead(gql)
        key = new_key()
        single = lead_of(await record(gql, lead["id"], "document_download", idempotencyKey=key))

        results = await record_all(gql, [activity(lead, "document_download", idempotencyKey=key)])

        assert lead_of(results[0])["version"] == single["version"]
        assert await kinds_recorded(gql, lead) == ["document_download"]
        again = await record(gql, lead["id"], "document_download", idempotencyKey=key)
        assert lead_of(again)["version"] == single["version"]


class TestLimit:
    async def test_a_full_call_is_recorded(self, gql: GraphQLClient) -> None:
        leads = [await create_lead(gql) for _ in range(20)]
        inputs = [activity(leads[n % 20], "email_open") for n in range(LIMIT)]

        results = [lead_of(r) for r in await record_all(gql, inputs)]

        assert [r["id"] for r in results] == [i["leadId"] for i in inputs]
        final = {r["id"]: r for r in results[-20:]}
        assert {(r["version"], r["score"]) for r in final.values()} == {(leads[0]["version"] + 50, 50)}
        assert {r["stage"] for r in final.values()} == {"MQL"}

    async def test_more_than_the_limit_is_a_graphql_error_and_records_nothing(self, gql: GraphQLClient) -> None:
        lead = await create_lead(gql)

        response = await post(gql, RECORD_ACTIVITIES, inputs=[activity(lead, "email_open")] * (LIMIT + 1))

        body = response.json()
        assert body["data"] is None
        assert [e["message"] for e in body["errors"]] == [
            "recordActivities takes at most 1,000 inputs per call; this call sent 1,001: split it"
        ]
        assert await kinds_recorded(gql, lead) == []
