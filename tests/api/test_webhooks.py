"""Webhooks through the API as an integrating service uses them, with a real receiver on a local port."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any, ClassVar

import pytest

from leadcycle.graph.settings import Settings
from tests.conftest import GraphQLClient
from tests.servers import own_server
from tests.webhook_receiver import Received, Receiver, receiving

SECRET = "api-test-secret-0123456789"
ENDPOINT = "id url kinds stages paused secretHint createdBy"
REGISTER = f"""mutation($input: RegisterWebhookEndpointInput!) {{
  registerWebhookEndpoint(input: $input) {{
    __typename
    ... on WebhookEndpointPayload {{ endpoint {{ {ENDPOINT} }} }}
    ... on ValidationProblem {{ field message }} }} }}"""
PAUSE = f"""mutation($id: ID!) {{ pauseWebhookEndpoint(id: $id) {{
  __typename ... on WebhookEndpointPayload {{ endpoint {{ {ENDPOINT} }} }} ... on Problem {{ message }} }} }}"""
RESUME = PAUSE.replace("pauseWebhookEndpoint", "resumeWebhookEndpoint")
DELETE = """mutation($id: ID!) { deleteWebhookEndpoint(id: $id) {
  __typename ... on DeletedWebhookEndpoint { id } ... on Problem { message } } }"""
RETRY = """mutation($id: ID!) { retryWebhookDelivery(id: $id) {
  __typename ... on WebhookDeliveryPayload { delivery { id status } } ... on ValidationProblem { field message } } }"""
LIST = f"query {{ webhookEndpoints {{ {ENDPOINT} }} }}"
DELIVERIES = """query($id: ID!, $status: WebhookDeliveryStatus, $first: Int, $after: String) {
  webhookEndpoint(id: $id) { deliveries(status: $status, first: $first, after: $after) {
    nodes { id leadId kind status attempts lastError lastStatusCode deliveredAt cursor }
    endCursor hasNextPage } } }"""
CREATE_LEAD = """mutation($name: String!) { createLead(input: {
  company: { name: $name }, contact: { name: "Hook Contact" }, source: "seo" }) {
  ... on LeadPayload { lead { id } } } }"""


async def register(gql: GraphQLClient, url: str, **fields: Any) -> dict[str, Any]:
    data = await gql.data(REGISTER, "integrations", input={"url": url, "secret": SECRET, **fields})
    result: dict[str, Any] = data["registerWebhookEndpoint"]
    return result


@contextlib.asynccontextmanager
async def endpoint_at(gql: GraphQLClient, url: str, **fields: Any) -> AsyncIterator[dict[str, Any]]:
    """A registered endpoint, deleted afterwards (so the shared server does not keep posting to it)."""
    endpoint: dict[str, Any] = (await register(gql, url, **fields))["endpoint"]
    try:
        yield endpoint
    finally:
        await gql.data(DELETE, id=endpoint["id"])


async def create_lead(gql: GraphQLClient) -> str:
    lead_id: str = (await gql.data(CREATE_LEAD, name=f"Hook {uuid.uuid4().hex[:8]}"))["createLead"]["lead"]["id"]
    return lead_id


def about(lead_id: str) -> Any:
    return lambda posts: any(post.document["lead"]["id"] == lead_id for post in posts)


def posts_about(receiver: Receiver, lead_id: str) -> list[Received]:
    return [post for post in receiver.received if post.document["lead"]["id"] == lead_id]


class TestEndpoints:
    async def test_registers_lists_pauses_resumes_and_deletes_without_ever_showing_the_secret(
        self, gql: GraphQLClient
    ) -> None:
        registered = await register(gql, "https://crm.example.com/hook", kinds=["TRANSITION"], stages=["MQL", "SQL"])
        endpoint = registered["endpoint"]
        endpoint_id = endpoint["id"]

        assert registered["__typename"] == "WebhookEndpointPayload"
        assert (endpoint["kinds"], endpoint["stages"], endpoint["paused"]) == (["TRANSITION"], ["MQL", "SQL"], False)
        assert (endpoint["secretHint"], endpoint["createdBy"]) == ("…6789", "integrations")
        listed = (await gql.data(LIST))["webhookEndpoints"]
        assert endpoint in listed
        assert SECRET not in json.dumps(listed)
        assert (await gql.data(PAUSE, id=endpoint_id))["pauseWebhookEndpoint"]["endpoint"]["paused"] is True
        assert (await gql.data(RESUME, id=endpoint_id))["resumeWebhookEndpoint"]["endpoint"]["paused"] is False
        assert (await gql.data(DELETE, id=endpoint_id))["deleteWebhookEndpoint"] == {
            "__typename": "DeletedWebhookEndpoint",
            "id": endpoint_id,
        }
        assert endpoint_id not in {e["id"] for e in (await gql.data(LIST))["webhookEndpoints"]}

    @pytest.mark.parametrize("missing", [str(uuid.uuid4()), "not-an-id"])
    async def test_an_unknown_endpoint_or_delivery_is_not_found(self, gql: GraphQLClient, missing: str) -> None:
        for operation, field in ((PAUSE, "pauseWebhookEndpoint"), (DELETE, "deleteWebhookEndpoint")):
            assert (await gql.data(operation, id=missing))[field]["__typename"] == "WebhookNotFound"
        assert (await gql.data(RETRY, id=missing))["retryWebhookDelivery"]["__typename"] == "WebhookNotFound"
        assert (await gql.data(DELIVERIES, id=missing))["webhookEndpoint"] is None


class TestBadInput:
    @pytest.mark.parametrize(
        ("url", "secret", "field"),
        [
            ("ftp://example.com/hook", SECRET, "url"),
            ("example.com/hook", SECRET, "url"),
            ("https://example.com/hook", "too-short", "secret"),
        ],
    )
    async def test_refuses_with_the_field_named_and_stores_nothing(
        self, gql: GraphQLClient, url: str, secret: str, field: str
    ) -> None:
        result = (await gql.data(REGISTER, input={"url": url, "secret": secret}))["registerWebhookEndpoint"]

        assert (result["__typename"], result["field"]) == ("ValidationProblem", field)
        assert url not in {e["url"] for e in (await gql.data(LIST))["webhookEndpoints"]}

    async def test_an_unknown_kind_is_a_graphql_error_naming_it(self, gql: GraphQLClient) -> None:
        body = await gql.execute(
            REGISTER, input={"url": "https://example.com/h", "secret": SECRET, "kinds": ["EXPLODED"]}
        )

        assert body["data"] is None
        assert "EXPLODED" in body["errors"][0]["message"]

    async def test_first_out_of_range_or_a_bad_cursor_is_an_error(self, gql: GraphQLClient) -> None:
        async with endpoint_at(gql, "https://example.com/unused") as endpoint:
            too_many = await gql.execute(DELIVERIES, id=endpoint["id"], first=201)
            bad_cursor = await gql.execute(DELIVERIES, id=endpoint["id"], after="abc")

        assert "first must be between 0 and 200" in too_many["errors"][0]["message"]
        assert "cursor is malformed" in bad_cursor["errors"][0]["message"]


class TestAddressGuard:
    """By default a server refuses URLs leading back into its own network (server-side request forgery)."""

    REFUSED: ClassVar[dict[str, str]] = {
        "http://127.0.0.1:9/hook": "127.0.0.1, a loopback address",
        "http://localhost:9/hook": "a loopback address",
        "http://169.254.169.254/latest/meta-data/": "169.254.169.254, a link-local address",
        "https://10.0.0.7/hook": "10.0.0.7, a private address",
        "https://[::ffff:192.168.0.1]/hook": "::ffff:c0a8:1, a private address",
        "https://[fd00::1]/hook": "fd00::1, a private address",
    }

    async def test_refuses_a_private_destination_naming_the_setting_that_allows_it(self, server_url: str) -> None:
        async with own_server(server_url, Settings()) as gql:
            results = {url: await register(gql, url) for url in self.REFUSED}
            listed = (await gql.data(LIST))["webhookEndpoints"]

        for url, named in self.REFUSED.items():
            assert (results[url]["__typename"], results[url]["field"]) == ("ValidationProblem", "url")
            assert named in results[url]["message"]
            assert "LEADCYCLE_WEBHOOK_ALLOW_PRIVATE_ADDRESSES=true" in results[url]["message"]
        assert listed == []

    async def test_accepts_a_public_address_or_a_host_that_does_not_resolve_yet(self, server_url: str) -> None:
        urls = ["https://93.184.216.34/hook", "https://hooks.invalid/not-resolvable-yet"]
        async with own_server(server_url, Settings()) as gql:
            results = [await register(gql, url) for url in urls]

        assert [result["endpoint"]["url"] for result in results] == urls

    async def test_a_server_allowing_private_addresses_accepts_loopback(self, gql: GraphQLClient) -> None:
        async with endpoint_at(gql, "http://127.0.0.1:9/hook") as endpoint:
            assert endpoint["url"] == "http://127.0.0.1:9/hook"


class TestDelivery:
    async def test_a_receiver_gets_each_change_signed_and_the_log_shows_it_delivered(self, gql: GraphQLClient) -> None:
        async with receiving(Receiver()) as receiver, endpoint_at(gql, receiver.url) as endpoint:
            lead_id = await create_lead(gql)
            await receiver.wait_until(about(lead_id))
            [post] = posts_about(receiver, lead_id)
            log = await delivery_log(gql, endpoint["id"], post.delivery_id, "DELIVERED")

        assert post.signed_with(SECRET)
        assert (post.document["deliveryId"], post.document["kind"]) == (post.delivery_id, "created")
        assert (log["leadId"], log["kind"], log["attempts"], log["lastError"]) == (lead_id, "CREATED", 1, None)

    async def test_filters_by_kind(self, gql: GraphQLClient) -> None:
        async with receiving(Receiver()) as receiver, endpoint_at(gql, receiver.url, kinds=["ASSIGNMENT"]):
            lead_id = await create_lead(gql)
            assign = 'mutation($id: ID!) { assignLead(input: {leadId: $id, ownerTeam: "hooks"}) { __typename } }'
            await gql.data(assign, id=lead_id)
            await receiver.wait_until(about(lead_id))

        assert [post.document["kind"] for post in posts_about(receiver, lead_id)] == ["assignment"]

    async def test_a_paused_endpoint_queues_and_gets_it_all_on_resume(self, gql: GraphQLClient) -> None:
        async with receiving(Receiver()) as receiver, endpoint_at(gql, receiver.url) as endpoint:
            await gql.data(PAUSE, id=endpoint["id"])
            lead_id = await create_lead(gql)
            queued = await delivery_log(gql, endpoint["id"], None, "PENDING")
            await asyncio.sleep(1.0)  # two polls of the worker: nothing may be posted while paused
            assert receiver.received == []

            await gql.data(RESUME, id=endpoint["id"])
            await receiver.wait_until(about(lead_id))

        assert receiver.ids() == [queued["id"]]

    async def test_retrying_a_delivered_one_by_hand_sends_it_again(self, gql: GraphQLClient) -> None:
        async with receiving(Receiver()) as receiver, endpoint_at(gql, receiver.url) as endpoint:
            lead_id = await create_lead(gql)
            await receiver.wait_until(about(lead_id))
            delivered = await delivery_log(gql, endpoint["id"], None, "DELIVERED")

            retried = (await gql.data(RETRY, id=delivered["id"]))["retryWebhookDelivery"]
            await receiver.wait_until(lambda posts: len(posts) == 2)

        assert retried["delivery"] == {"id": delivered["id"], "status": "PENDING"}
        assert receiver.ids() == [delivered["id"], delivered["id"]]


async def delivery_log(gql: GraphQLClient, endpoint_id: str, delivery_id: str | None, status: str) -> dict[str, Any]:
    """The delivery (`delivery_id`, else the newest) once the log shows it in `status`."""
    async with asyncio.timeout(10):
        while True:
            page = (await gql.data(DELIVERIES, id=endpoint_id))["webhookEndpoint"]["deliveries"]
            found = [d for d in page["nodes"] if delivery_id in (None, d["id"])]
            if found and found[0]["status"] == status:
                return dict(found[0])
            await asyncio.sleep(0.05)
