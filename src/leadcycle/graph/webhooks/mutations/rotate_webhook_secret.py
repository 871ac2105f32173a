from typing import Annotated

import strawberry

from leadcycle.domain.errors import InvalidInput
from leadcycle.domain.webhooks import valid_secret
from leadcycle.graph.context import Info
from leadcycle.graph.problems import ValidationProblem
from leadcycle.graph.webhooks.queries import as_uuid
from leadcycle.graph.webhooks.results import RotateWebhookSecretResult, WebhookEndpointPayload, not_found
from leadcycle.graph.webhooks.types import WebhookEndpoint
from leadcycle.persistence import webhooks


async def rotate_webhook_secret(
    info: Info,
    id: strawberry.ID,
    secret: Annotated[str, strawberry.argument(description="The new secret, 16 to 256 characters; never shown again.")],
) -> RotateWebhookSecretResult:
    endpoint_id = as_uuid(id)
    if endpoint_id is None:
        return not_found("endpoint", id)
    try:
        valid_secret(secret)
    except InvalidInput as error:
        return ValidationProblem(message=error.message, field=error.field)
    overlap = info.context.services.webhooks.secret_overlap
    rotated = await webhooks.rotate_secret(info.context.services.engine, endpoint_id, secret, overlap)
    if rotated is None:
        return not_found("endpoint", id)
    return WebhookEndpointPayload(endpoint=WebhookEndpoint.from_domain(rotated))
