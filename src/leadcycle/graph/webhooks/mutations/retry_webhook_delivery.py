import strawberry

from leadcycle.graph.context import Info
from leadcycle.graph.problems import ValidationProblem
from leadcycle.graph.webhooks.queries import as_uuid
from leadcycle.graph.webhooks.results import RetryWebhookDeliveryResult, WebhookDeliveryPayload, not_found
from leadcycle.graph.webhooks.types import WebhookDelivery
from leadcycle.persistence import webhooks


async def retry_webhook_delivery(info: Info, id: strawberry.ID) -> RetryWebhookDeliveryResult:
    delivery_id = as_uuid(id)
    try:
        retried = await webhooks.retry(info.context.services.engine, delivery_id) if delivery_id else None
    except webhooks.DeliveryUnfinished:
        return ValidationProblem(message="The delivery is still pending or in flight: it will be tried", field="id")
    if retried is None:
        return not_found("delivery", id)
    return WebhookDeliveryPayload(delivery=WebhookDelivery.from_domain(retried))
