"""What the wire carries: JSON that decodes to exactly what was stored."""

from __future__ import annotations

from tests.api.operations import create_lead, record
from tests.conftest import GraphQLClient

ACTIVITIES = "query($id: ID!) { lead(id: $id) { activities(first: 1) { properties } } }"


class TestResponseEncoding:
    async def test_japanese_text_and_integers_beyond_64_bits_come_back_whole(self, gql: GraphQLClient) -> None:
        lead = await create_lead(gql)
        properties = {"note": "予算凍結のため来期に再検討", "visitor": 2**70, "ratio": 0.25, "tags": ["展示会", None]}
        await record(gql, lead["id"], "web_visit", properties=properties)
        body = await gql.data(ACTIVITIES, id=lead["id"])
        assert body["lead"]["activities"] == [{"properties": properties}]
