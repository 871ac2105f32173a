"""Scoring models over HTTP: validate a document, store a draft, activate it, read the versions."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio

from leadcycle.domain.rules_json import model_to_json
from leadcycle.domain.scoring import DEFAULT_SCORING_MODEL
from tests.conftest import GraphQLClient

MODEL_FIELDS = "version status note createdBy activatedBy halfLifeDays warmThreshold hotThreshold definition"
RESULT = f"""
  __typename
  ... on ScoringModelPayload {{ model {{ {MODEL_FIELDS} }} }}
  ... on ValidationProblem {{ field message }}
"""
CREATE = f"""mutation($definition: JSON!, $note: String) {{
  createScoringModelDraft(input: {{definition: $definition, note: $note}}) {{ {RESULT} }}
}}"""
ACTIVATE = f"mutation($version: Int!) {{ activateScoringModel(version: $version) {{ {RESULT} }} }}"
VALIDATE = "query($definition: JSON!) { validateScoringModel(definition: $definition) { valid problems { field } } }"
CREATE_LEAD = """mutation($name: String!) {
  createLead(input: {company: {name: $name}, contact: {name: "Ito"}, source: "seo"}) {
    ... on LeadPayload { lead { id } }
  }
}"""
RECORD_OPEN = """mutation($id: ID!) {
  recordActivity(input: {leadId: $id, kind: "email_open"}) {
    ... on LeadPayload { lead { score scoringModelVersion scoreBreakdown { rule points } } }
  }
}"""


def with_open_bonus() -> dict[str, Any]:
    document = model_to_json(DEFAULT_SCORING_MODEL)
    bonus = {
        "type": "activity",
        "name": "activity.email_open_bonus",
        "activity": "email_open",
        "points": 4,
        "when": {},
        "immediateHot": False,
    }
    return document | {"halfLifeDays": None, "rules": [*document["rules"], bonus]}


PROGRESS = "{ scoringModel { version rescoring { state total rescored changed startedBy finishedAt } } }"


async def rescoring_done(gql: GraphQLClient) -> dict[str, Any]:
    """The active model's rescoring progress, once the server's background rescoring has finished it."""
    async with asyncio.timeout(60):
        while True:
            progress: dict[str, Any] = (await gql.data(PROGRESS))["scoringModel"]["rescoring"]
            if progress["state"] == "DONE":
                return progress
            await asyncio.sleep(0.2)


@pytest_asyncio.fixture
async def marketing(gql: GraphQLClient) -> AsyncIterator[GraphQLClient]:
    """The client; version 1 is active again after the test, and every lead rescored by it."""
    yield gql
    active = (await gql.data("{ scoringModel { version } }"))["scoringModel"]["version"]
    if active != 1:
        await gql.data(ACTIVATE, version=1)
        await rescoring_done(gql)


class TestValidate:
    async def test_lists_every_problem_with_its_path(self, gql: GraphQLClient) -> None:
        document = with_open_bonus() | {"warmThreshold": 60}
        document["rules"][0]["when"] = {"page": {"gte": 3}}

        checked = (await gql.data(VALIDATE, definition=document))["validateScoringModel"]

        assert checked == {"valid": False, "problems": [{"field": "hotThreshold"}, {"field": "rules[0].when.page.gte"}]}

    async def test_accepts_a_valid_document(self, gql: GraphQLClient) -> None:
        checked = (await gql.data(VALIDATE, definition=with_open_bonus()))["validateScoringModel"]

        assert checked == {"valid": True, "problems": []}


class TestDraftAndActivate:
    async def test_a_bad_draft_is_a_validation_problem_naming_the_field(self, gql: GraphQLClient) -> None:
        document = with_open_bonus()
        document["rules"][-1]["when"] = {}
        document["rules"][12]["when"] = {"company.employees": {"gte": 10}}

        result = (await gql.data(CREATE, definition=document))["createScoringModelDraft"]

        assert (result["__typename"], result["field"]) == ("ValidationProblem", "rules[12].when.company.employees")

    async def test_an_activated_draft_scores_leads_and_they_say_so(self, marketing: GraphQLClient) -> None:
        created = (await marketing.data(CREATE, "ana", definition=with_open_bonus(), note="opens +5"))[
            "createScoringModelDraft"
        ]["model"]
        activated = (await marketing.data(ACTIVATE, "ben", version=created["version"]))["activateScoringModel"]["model"]
        lead_id = (await marketing.data(CREATE_LEAD, name=f"Versioned {uuid.uuid4().hex[:8]}"))["createLead"]["lead"][
            "id"
        ]
        lead = (await marketing.data(RECORD_OPEN, id=lead_id))["recordActivity"]["lead"]

        assert (created["status"], created["note"], created["createdBy"]) == ("DRAFT", "opens +5", "ana")
        assert created["definition"] == with_open_bonus()
        assert (activated["status"], activated["activatedBy"]) == ("ACTIVE", "ben")
        assert (lead["score"], lead["scoringModelVersion"]) == (5, created["version"])
        assert {r["rule"]: r["points"] for r in lead["scoreBreakdown"]} == {
            "activity.email_open": 1,
            "activity.email_open_bonus": 4,
        }

    async def test_progress_of_the_background_rescoring_is_readable(self, marketing: GraphQLClient) -> None:
        created = (await marketing.data(CREATE, definition=with_open_bonus()))["createScoringModelDraft"]["model"]
        await marketing.data(ACTIVATE, "carla", version=created["version"])
        draft = (await marketing.data(CREATE, definition=with_open_bonus()))["createScoringModelDraft"]["model"]

        progress = await rescoring_done(marketing)
        listed = await marketing.data("{ scoringModels(first: 200) { version rescoring { state startedBy } } }")

        assert (progress["rescored"], progress["startedBy"]) == (progress["total"], "carla")
        assert progress["finishedAt"] is not None
        each = {version["version"]: version["rescoring"] for version in listed["scoringModels"]}
        assert (each[created["version"]], each[draft["version"]]) == ({"state": "DONE", "startedBy": "carla"}, None)

    async def test_activating_the_active_version_is_a_validation_problem(self, gql: GraphQLClient) -> None:
        result = (await gql.data(ACTIVATE, version=1))["activateScoringModel"]

        assert (result["__typename"], result["field"]) == ("ValidationProblem", "version")


class TestVersions:
    async def test_lists_versions_newest_first_down_to_the_seeded_one(self, gql: GraphQLClient) -> None:
        await gql.data(CREATE, definition=with_open_bonus())

        versions = (await gql.data("{ scoringModels(first: 200) { version status } }"))["scoringModels"]

        numbers = [v["version"] for v in versions]
        assert numbers == sorted(numbers, reverse=True)
        assert versions[-1] == {"version": 1, "status": "ACTIVE"}
        assert versions[0]["status"] == "DRAFT"

    async def test_first_out_of_range_is_a_graphql_error(self, gql: GraphQLClient) -> None:
        body = await gql.execute("{ scoringModels(first: 201) { version } }")

        assert "between 0 and 200" in body["errors"][0]["message"]


DRY_RUN = """query($version: Int!, $sample: Int) {
  scoringModelDryRun(version: $version, sample: $sample) {
    version leads scoreChanges temperatureChanges stageChanges
    sample { oldScore newScore oldStage newStage lead { id score scoringModelVersion } }
  }
}"""


class TestDryRun:
    async def test_says_what_a_draft_would_change_and_changes_nothing(self, gql: GraphQLClient) -> None:
        lead_id = (await gql.data(CREATE_LEAD, name=f"Dry {uuid.uuid4().hex[:8]}"))["createLead"]["lead"]["id"]
        await gql.data(RECORD_OPEN, id=lead_id)
        draft = (await gql.data(CREATE, definition=with_open_bonus()))["createScoringModelDraft"]["model"]

        run = (await gql.data(DRY_RUN, version=draft["version"], sample=3))["scoringModelDryRun"]
        lead = (await gql.data("query($id: ID!) { lead(id: $id) { score scoringModelVersion } }", id=lead_id))["lead"]

        assert run["version"] == draft["version"]
        assert run["leads"] >= run["scoreChanges"] >= 1
        assert 1 <= len(run["sample"]) <= 3
        gains = [s["newScore"] - s["oldScore"] for s in run["sample"]]
        assert all(gain > 0 and gain % 4 == 0 for gain in gains), gains  # +4 for every email_open
        assert all(s["lead"]["score"] == s["oldScore"] for s in run["sample"])
        assert lead == {"score": 1, "scoringModelVersion": 1}

    async def test_an_unknown_version_is_an_error(self, gql: GraphQLClient) -> None:
        body = await gql.execute(DRY_RUN, version=999_999)

        assert "no scoring model version 999999" in body["errors"][0]["message"]


class TestGoingCold:
    async def test_the_filter_and_field_tell_mqls_going_cold_from_other_leads(self, gql: GraphQLClient) -> None:
        name = f"Lukewarm {uuid.uuid4().hex[:8]}"
        await gql.data(CREATE_LEAD, name=name)
        query = """query($cold: Boolean, $name: String) {
          leads(filter: {goingCold: $cold, search: $name}) { totalCount edges { node { goingCold } } }
        }"""

        others = (await gql.data(query, cold=False, name=name))["leads"]
        cooling = (await gql.data(query, cold=True, name=name))["leads"]

        assert (others["totalCount"], others["edges"]) == (1, [{"node": {"goingCold": False}}])
        assert cooling["totalCount"] == 0
