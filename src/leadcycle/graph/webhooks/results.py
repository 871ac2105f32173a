"""What the webhook mutations return: the endpoint or delivery, or the Problem that prevented the change."""

from __future__ import annotations

from typing import Annotated

import strawberry

from leadcycle.graph.problems import Problem, ValidationProblem
from leadcycle.graph.webhooks.types import WebhookDelivery, WebhookEndpoint


@strawberry.type(description="No webhook endpoint or delivery has this id (a malformed id names none either).")
class WebhookNotFound(Problem):
    pass


@strawberry.type(description="The endpoint after a successful mutation.")
class WebhookEndpointPayload:
    endpoint: WebhookEndpoint = strawberry.field(description="The endpoint as it is now.")


@strawberry.type(description="The endpoint was deleted, with its whole delivery log.")
class DeletedWebhookEndpoint:
    id: strawberry.ID = strawberry.field(description="The id the endpoint had.")


@strawberry.type(description="The delivery after a successful mutation.")
class WebhookDeliveryPayload:
    delivery: WebhookDelivery = strawberry.field(description="The delivery as it is now.")


@strawberry.type(description="The DEAD deliveries of an endpoint, queued again.")
class RetriedWebhookDeliveries:
    endpoint_id: strawberry.ID = strawberry.field(description="The endpoint whose DEAD deliveries were queued again.")
    count: int = strawberry.field(description="How many were queued again (0 when none was DEAD).")


RegisterWebhookEndpointResult = Annotated[
    WebhookEndpointPayload | ValidationProblem,
    strawberry.union("RegisterWebhookEndpointResult", description="The new endpoint, or why it was refused."),
]
WebhookEndpointResult = Annotated[
    WebhookEndpointPayload | WebhookNotFound,
    strawberry.union("WebhookEndpointResult", description="The endpoint, or that no endpoint has the id."),
]
DeleteWebhookEndpointResult = Annotated[
    DeletedWebhookEndpoint | WebhookNotFound,
    strawberry.union("DeleteWebhookEndpointResult", description="The deleted id, or that no endpoint has it."),
]
RetryWebhookDeliveryResult = Annotated[
    WebhookDeliveryPayload | WebhookNotFound | ValidationProblem,
    strawberry.union("RetryWebhookDeliveryResult", description="The delivery queued again, or why it could not be."),
]

RotateWebhookSecretResult = Annotated[
    WebhookEndpointPayload | WebhookNotFound | ValidationProblem,
    strawberry.union("RotateWebhookSecretResult", description="The endpoint with its new secret, or why not."),
]
RetryDeadWebhookDeliveriesResult = Annotated[
    RetriedWebhookDeliveries | WebhookNotFound,
    strawberry.union(
        "RetryDeadWebhookDeliveriesResult", description="How many DEAD deliveries were queued again, or no endpoint."
    ),
]


def not_found(what: str, id: str) -> WebhookNotFound:
    return WebhookNotFound(message=f"No webhook {what} with id {id}")
