import strawberry

from leadcycle.domain.errors import InvalidInput
from leadcycle.domain.webhooks import new_endpoint
from leadcycle.graph.context import Info
from leadcycle.graph.leads.enums import LeadStage
from leadcycle.graph.problems import ValidationProblem
from leadcycle.graph.webhooks.results import RegisterWebhookEndpointResult, WebhookEndpointPayload
from leadcycle.graph.webhooks.types import LeadChangeKind, WebhookEndpoint
from leadcycle.persistence import webhooks
from leadcycle.persistence.webhook_addresses import check_registration


@strawberry.input(description="Where to post changes of leads, which ones, and the secret to sign them with.")
class RegisterWebhookEndpointInput:
    url: str = strawberry.field(
        description="An absolute http:// or https:// URL; deliveries are POSTed to it. Its host must not "
        "resolve to a loopback, private, link-local, unspecified or multicast address (unless the server "
        "allows them, for development)."
    )
    secret: str = strawberry.field(
        description="16 to 256 characters; every body is signed with HMAC-SHA256 under it. Never shown again."
    )
    kinds: list[LeadChangeKind] | None = strawberry.field(
        default=None, description="Only changes of these kinds; omitted, null or empty: every kind."
    )
    stages: list[LeadStage] | None = strawberry.field(
        default=None,
        description="Only changes that leave the lead in one of these stages; omitted, null or empty: any stage.",
    )


async def register_webhook_endpoint(info: Info, input: RegisterWebhookEndpointInput) -> RegisterWebhookEndpointResult:
    try:
        endpoint = new_endpoint(input.url, input.kinds or (), input.stages or (), input.secret)
        await check_registration(endpoint.url, info.context.services.webhooks.allow_private_addresses)
    except InvalidInput as error:
        return ValidationProblem(message=error.message, field=error.field)
    stored = await webhooks.register(info.context.services.engine, endpoint, info.context.actor)
    return WebhookEndpointPayload(endpoint=WebhookEndpoint.from_domain(stored))
