import strawberry

from leadcycle.graph.context import Info
from leadcycle.graph.webhooks.mutations.pause_webhook_endpoint import set_paused
from leadcycle.graph.webhooks.results import WebhookEndpointResult


async def resume_webhook_endpoint(info: Info, id: strawberry.ID) -> WebhookEndpointResult:
    return await set_paused(info, id, False)
