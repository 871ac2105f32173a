import strawberry

from leadcycle.graph.context import Info
from leadcycle.graph.webhooks.queries import as_uuid
from leadcycle.graph.webhooks.results import DeletedWebhookEndpoint, DeleteWebhookEndpointResult, not_found
from leadcycle.persistence import webhooks


async def delete_webhook_endpoint(info: Info, id: strawberry.ID) -> DeleteWebhookEndpointResult:
    endpoint_id = as_uuid(id)
    if endpoint_id is None or not await webhooks.remove(info.context.services.engine, endpoint_id):
        return not_found("endpoint", id)
    return DeletedWebhookEndpoint(id=id)
