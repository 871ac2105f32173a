"""Operating webhook endpoints: requeueing every dead delivery at once, rotating a secret with an overlap."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from leadcycle.domain.webhooks import sign
from leadcycle.graph.settings import Settings
from tests.api.test_webhooks import SECRET, about, create_lead, endpoint_at, posts_about, register
from tests.conftest import GraphQLClient
from tests.servers import own_server
from tests.webhook_receiver import Received, Receiver, receiving

NEW_SECRET = "the-new-secret-after-rotation"
ROTATE = """mutation($id: ID!, $secret: String!) { rotateWebhookSecret(id: $id, secret: $secret) {
  __typename ... on WebhookEndpointPayload { endpoint { secretHint previousSecretExpiresAt } }
  ... on ValidationProblem { field message } } }"""
RETRY_DEAD = """mutation($id: ID!) { retryDeadWebhookDeliveries(endpointId: $id) {
  __typename ... on RetriedWebhookDeliveries { endpointId count } } }"""
STATUSES = """query($id: ID!) { webhookEndpoint(id: $id) { deliveries { nodes { status } } } }"""
BY_STATUS = """query($id: ID!, $status: WebhookDeliveryStatus) {
  webhookEndpoint(id: $id) { deliveries(status: $status) { nodes { kind status } } } }"""
ASSIGN = 'mutation($id: ID!) { assignLead(input: {leadId: $id, ownerTeam: "hooks"}) { __typename } }'
FAST = {"webhook_allow_private_addresses": True, "webhook_poll_seconds": 0.05, "webhook_backoff_base_seconds": 0.05}


def verified(secret: str, body: bytes, signature_header: str) -> bool:
    """What docs/webhooks.md tells receivers to do: accept if any of the signatures matches."""
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(expected, given.strip()) for given in signature_header.split(","))


async def statuses(gql: GraphQLClient, endpoint_id: str) -> list[str]:
    nodes = (await gql.data(STATUSES, id=endpoint_id))["webhookEndpoint"]["deliveries"]["nodes"]
    return [node["status"] for node in nodes]


async def until_statuses(gql: GraphQLClient, endpoint_id: str, expected: list[str]) -> None:
    async with asyncio.timeout(20):
        while True:
            if await statuses(gql, endpoint_id) == expected:
                return
            await asyncio.sleep(0.05)


class TestRetryDeadDeliveries:
    async def test_requeues_every_dead_delivery_and_each_lead_gets_them_in_order(self, server_url: str) -> None:
        answers = {"status": 500}
        async with (
            receiving(Receiver(lambda _post: answers["status"])) as receiver,
            own_server(server_url, Settings(webhook_max_attempts=1, **FAST)) as gql,
        ):
            endpoint_id = (await register(gql, receiver.url))["endpoint"]["id"]
            leads = [await create_lead(gql) for _ in range(2)]
            for lead_id in leads:
                await gql.data(ASSIGN, id=lead_id)
            await until_statuses(gql, endpoint_id, ["DEAD"] * 4)
            answers["status"] = 200

            retried = (await gql.data(RETRY_DEAD, id=endpoint_id))["retryDeadWebhookDeliveries"]
            await until_statuses(gql, endpoint_id, ["DELIVERED"] * 4)
            again = (await gql.data(RETRY_DEAD, id=endpoint_id))["retryDeadWebhookDeliveries"]

        assert retried == {"__typename": "RetriedWebhookDeliveries", "endpointId": endpoint_id, "count": 4}
        assert again["count"] == 0
        delivered = receiver.received[4:]
        for lead_id in leads:
            versions = [
                post.document["lead"]["version"] for post in delivered if post.document["lead"]["id"] == lead_id
            ]
            assert versions == [1, 2]

    async def test_an_unknown_endpoint_is_not_found(self, gql: GraphQLClient) -> None:
        for missing in (str(uuid.uuid4()), "not-an-id"):
            result = (await gql.data(RETRY_DEAD, id=missing))["retryDeadWebhookDeliveries"]
            assert result["__typename"] == "WebhookNotFound"


class TestDeliveryLogByStatus:
    async def test_lists_only_the_deliveries_in_the_status_asked_for(self, server_url: str) -> None:
        def refuse_creation(post: Received) -> int:
            return 500 if post.document["kind"] == "created" else 200

        async with (
            receiving(Receiver(refuse_creation)) as receiver,
            own_server(server_url, Settings(webhook_max_attempts=1, **FAST)) as gql,
        ):
            endpoint_id = (await register(gql, receiver.url))["endpoint"]["id"]
            lead_id = await create_lead(gql)
            await gql.data(ASSIGN, id=lead_id)
            await until_statuses(gql, endpoint_id, ["DELIVERED", "DEAD"])
            dead, delivered, pending = [
                (await gql.data(BY_STATUS, id=endpoint_id, status=status))["webhookEndpoint"]["deliveries"]["nodes"]
                for status in ("DEAD", "DELIVERED", "PENDING")
            ]

        assert [(d["kind"], d["status"]) for d in dead] == [("CREATED", "DEAD")]
        assert [(d["kind"], d["status"]) for d in delivered] == [("ASSIGNMENT", "DELIVERED")]
        assert pending == []


class TestRotateSecret:
    async def test_during_the_overlap_posts_carry_the_new_and_the_old_signature(self, gql: GraphQLClient) -> None:
        async with receiving(Receiver()) as receiver, endpoint_at(gql, receiver.url) as endpoint:
            rotated = (await gql.data(ROTATE, id=endpoint["id"], secret=NEW_SECRET))["rotateWebhookSecret"]
            lead_id = await create_lead(gql)
            await receiver.wait_until(about(lead_id))
        [post] = posts_about(receiver, lead_id)

        assert post.signature == f"{sign(NEW_SECRET, post.body)}, {sign(SECRET, post.body)}"
        assert verified(NEW_SECRET, post.body, post.signature)
        assert verified(SECRET, post.body, post.signature)
        assert not verified("some-other-secret-entirely", post.body, post.signature)
        assert rotated["endpoint"]["secretHint"] == "…tion"
        expires = datetime.fromisoformat(rotated["endpoint"]["previousSecretExpiresAt"])
        assert timedelta(hours=23) < expires - datetime.now(UTC) <= timedelta(hours=24)

    async def test_after_the_overlap_only_the_new_secret_signs(self, server_url: str) -> None:
        second = 1 / 3600
        async with (
            receiving(Receiver()) as receiver,
            own_server(server_url, Settings(webhook_secret_overlap_hours=second, **FAST)) as gql,
        ):
            endpoint_id = (await register(gql, receiver.url))["endpoint"]["id"]
            await gql.data(ROTATE, id=endpoint_id, secret=NEW_SECRET)
            await asyncio.sleep(1.5)
            lead_id = await create_lead(gql)
            await receiver.wait_until(about(lead_id))
        [post] = posts_about(receiver, lead_id)

        assert post.signature == sign(NEW_SECRET, post.body)
        assert not verified(SECRET, post.body, post.signature)

    async def test_a_second_rotation_keeps_only_the_secret_it_replaced(self, gql: GraphQLClient) -> None:
        third = "a-third-secret-rotated-in"
        async with receiving(Receiver()) as receiver, endpoint_at(gql, receiver.url) as endpoint:
            await gql.data(ROTATE, id=endpoint["id"], secret=NEW_SECRET)
            await gql.data(ROTATE, id=endpoint["id"], secret=third)
            lead_id = await create_lead(gql)
            await receiver.wait_until(about(lead_id))
        [post] = posts_about(receiver, lead_id)

        assert post.signature == f"{sign(third, post.body)}, {sign(NEW_SECRET, post.body)}"

    async def test_refuses_a_short_secret_or_an_unknown_endpoint(self, gql: GraphQLClient) -> None:
        async with endpoint_at(gql, "https://93.184.216.34/hook") as endpoint:
            short: dict[str, Any] = (await gql.data(ROTATE, id=endpoint["id"], secret="short"))["rotateWebhookSecret"]
            unknown = (await gql.data(ROTATE, id=str(uuid.uuid4()), secret=NEW_SECRET))["rotateWebhookSecret"]
            listed = await gql.data("query($id: ID!) { webhookEndpoint(id: $id) { secretHint } }", id=endpoint["id"])

        assert (short["__typename"], short["field"]) == ("ValidationProblem", "secret")
        assert unknown["__typename"] == "WebhookNotFound"
        assert listed["webhookEndpoint"]["secretHint"] == "…6789"
