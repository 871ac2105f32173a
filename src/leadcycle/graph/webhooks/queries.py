"""Reading webhook endpoints and deliveries."""

from __future__ import annotations

from uuid import UUID

import strawberry

from leadcycle.graph.context import Info
from leadcycle.graph.webhooks.types import WebhookDelivery, WebhookEndpoint
from leadcycle.persistence import webhooks


def as_uuid(id: str) -> UUID | None:
    """The UUID an id stands for; None for a malformed one, which names nothing."""
    try:
        return UUID(id)
    except ValueError:
        return None


@strawberry.type
class WebhookQueries:
    @strawberry.field(description="Every registered webhook endpoint, oldest first.")
    async def webhook_endpoints(self, info: Info) -> list[WebhookEndpoint]:
        return [WebhookEndpoint.from_domain(e) for e in await webhooks.endpoints(info.context.services.engine)]

    @strawberry.field(description="One webhook endpoint by id; null when none has it.")
    async def webhook_endpoint(self, info: Info, id: strawberry.ID) -> WebhookEndpoint | None:
        endpoint_id = as_uuid(id)
        found = await webhooks.endpoint(info.context.services.engine, endpoint_id) if endpoint_id else None
        return WebhookEndpoint.from_domain(found) if found else None

    @strawberry.field(description="One webhook delivery by its delivery id; null when none has it.")
    async def webhook_delivery(self, info: Info, id: strawberry.ID) -> WebhookDelivery | None:
        delivery_id = as_uuid(id)
        found = await webhooks.delivery(info.context.services.engine, delivery_id) if delivery_id else None
        return WebhookDelivery.from_domain(found) if found else None
