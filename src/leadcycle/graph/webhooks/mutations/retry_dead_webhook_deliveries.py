import strawberry

from leadcycle.graph.context import Info
from leadcycle.graph.webhooks.queries import as_uuid
from leadcycle.graph.webhooks.results import RetriedWebhookDeliveries, RetryDeadWebhookDeliveriesResult, not_found
from leadcycle.persistence import webhooks


async def retry_dead_webhook_deliveries(info: Info, endpoint_id: strawberry.ID) -> RetryDeadWebhookDeliveriesResult:
    found = as_uuid(endpoint_id)
    count = await webhooks.retry_dead(info.context.services.engine, found) if found else None
    if count is None:
        return not_found("endpoint", endpoint_id)
    return RetriedWebhookDeliveries(endpoint_id=endpoint_id, count=count)
