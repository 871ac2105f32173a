import strawberry

from leadcycle.graph.context import Info
from leadcycle.graph.webhooks.queries import as_uuid
from leadcycle.graph.webhooks.results import WebhookEndpointPayload, WebhookEndpointResult, not_found
from leadcycle.graph.webhooks.types import WebhookEndpoint
from leadcycle.persistence import webhooks


async def set_paused(info: Info, id: strawberry.ID, paused: bool) -> WebhookEndpointResult:
    """Pause or resume the endpoint `id`."""
    endpoint_id = as_uuid(id)
    found = await webhooks.set_paused(info.context.services.engine, endpoint_id, paused) if endpoint_id else None
    if found is None:
        return not_found("endpoint", id)
    return WebhookEndpointPayload(endpoint=WebhookEndpoint.from_domain(found))


async def pause_webhook_endpoint(info: Info, id: strawberry.ID) -> WebhookEndpointResult:
    return await set_paused(info, id, True)
