"""Webhook endpoints and deliveries as clients see them; secrets are never shown, only a hint."""

from __future__ import annotations

from datetime import datetime

import strawberry

from leadcycle.domain import stages, webhooks
from leadcycle.graph.context import Info
from leadcycle.graph.leads.enums import LeadStage
from leadcycle.graph.webhooks.paging import DEFAULT_PAGE, MAX_PAGE, delivery_page

strawberry.enum(
    stages.ChangeKind,
    name="LeadChangeKind",
    description="What a committed mutation did to a lead: the kinds a webhook endpoint can ask for.",
)
strawberry.enum(
    webhooks.DeliveryStatus,
    name="WebhookDeliveryStatus",
    description="PENDING: waiting for its turn or its next attempt. IN_FLIGHT: being posted. "
    "DELIVERED: the endpoint answered 2xx. DEAD: every attempt failed; retry it by hand.",
)
LeadChangeKind = stages.ChangeKind
WebhookDeliveryStatus = webhooks.DeliveryStatus


@strawberry.type(description="One change owed to one endpoint, and how posting it has gone.")
class WebhookDelivery:
    id: strawberry.ID = strawberry.field(description="The delivery id, also sent as X-Leadcycle-Delivery.")
    endpoint_id: strawberry.ID = strawberry.field(description="The endpoint it is for.")
    lead_id: strawberry.ID = strawberry.field(description="The lead that changed.")
    kind: LeadChangeKind = strawberry.field(description="What the change did to the lead.")
    status: WebhookDeliveryStatus = strawberry.field(description="Where the delivery stands.")
    attempts: int = strawberry.field(description="Posts tried since it was queued or last retried by hand.")
    next_attempt_at: datetime | None = strawberry.field(
        description="When it is tried next (while PENDING) or its claim runs out (while IN_FLIGHT); else null."
    )
    last_error: str | None = strawberry.field(description="Why the last attempt failed; null after success.")
    last_status_code: int | None = strawberry.field(description="The HTTP status of the last answer, if any.")
    created_at: datetime = strawberry.field(description="When the change was queued for this endpoint.")
    delivered_at: datetime | None = strawberry.field(description="When the endpoint answered 2xx.")
    cursor: str = strawberry.field(description="Pass as `after` to list the deliveries older than this one.")

    @classmethod
    def from_domain(cls, delivery: webhooks.Delivery) -> WebhookDelivery:
        unfinished = delivery.status in (webhooks.DeliveryStatus.PENDING, webhooks.DeliveryStatus.IN_FLIGHT)
        return cls(
            id=strawberry.ID(str(delivery.id)),
            endpoint_id=strawberry.ID(str(delivery.endpoint_id)),
            lead_id=strawberry.ID(str(delivery.lead_id)),
            kind=delivery.kind,
            status=delivery.status,
            attempts=delivery.attempts,
            next_attempt_at=delivery.next_attempt_at if unfinished else None,
            last_error=delivery.last_error,
            last_status_code=delivery.last_status_code,
            created_at=delivery.created_at,
            delivered_at=delivery.delivered_at,
            cursor=str(delivery.seq),
        )


@strawberry.type(description="A page of deliveries, newest first.")
class WebhookDeliveryPage:
    nodes: list[WebhookDelivery] = strawberry.field(description="The deliveries of this page, newest first.")
    end_cursor: str | None = strawberry.field(description="Pass as `after` for the next (older) page.")
    has_next_page: bool = strawberry.field(description="Whether older deliveries follow.")


@strawberry.type(description="Where changes of leads are posted, signed with the endpoint's secret.")
class WebhookEndpoint:
    id: strawberry.ID = strawberry.field(description="The endpoint's id.")
    url: str = strawberry.field(description="Where deliveries are posted.")
    kinds: list[LeadChangeKind] = strawberry.field(description="The kinds of change sent; empty means every kind.")
    stages: list[LeadStage] = strawberry.field(
        description="Changes are sent only when they leave the lead in one of these stages; empty means any stage."
    )
    paused: bool = strawberry.field(
        description="A paused endpoint is posted nothing; its deliveries are still queued and go out on resume."
    )
    secret_hint: str = strawberry.field(description="The secret's last four characters; the secret is never shown.")
    previous_secret_expires_at: datetime | None = strawberry.field(
        description="When the secret replaced by the last rotateWebhookSecret stops signing posts (it may be past); "
        "null if the secret was never rotated with an overlap."
    )
    created_by: str = strawberry.field(description="Who registered it (X-Actor).")
    created_at: datetime = strawberry.field(description="When it was registered.")

    @classmethod
    def from_domain(cls, endpoint: webhooks.Endpoint) -> WebhookEndpoint:
        return cls(
            id=strawberry.ID(str(endpoint.id)),
            url=endpoint.url,
            kinds=sorted(endpoint.filter.kinds, key=lambda kind: kind.value),
            stages=sorted(endpoint.filter.stages, key=lambda stage: stage.value),
            paused=endpoint.paused,
            secret_hint=webhooks.secret_hint(endpoint.secret),
            previous_secret_expires_at=endpoint.previous_secret_expires_at,
            created_by=endpoint.created_by,
            created_at=endpoint.created_at,
        )

    @strawberry.field(
        description=f"The delivery log, newest first; `first` is 0 to {MAX_PAGE} (null means {DEFAULT_PAGE}), "
        "`status` keeps only deliveries in that state."
    )
    async def deliveries(
        self,
        info: Info,
        status: WebhookDeliveryStatus | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> WebhookDeliveryPage:
        found, has_more = await delivery_page(info.context.loaders, self.id, status, first, after)
        nodes = [WebhookDelivery.from_domain(delivery) for delivery in found]
        return WebhookDeliveryPage(nodes=nodes, end_cursor=nodes[-1].cursor if nodes else None, has_next_page=has_more)
