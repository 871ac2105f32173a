"""The webhook mutations, one module each."""

import strawberry

from leadcycle.graph.webhooks.mutations.delete_webhook_endpoint import delete_webhook_endpoint
from leadcycle.graph.webhooks.mutations.pause_webhook_endpoint import pause_webhook_endpoint
from leadcycle.graph.webhooks.mutations.register_webhook_endpoint import register_webhook_endpoint
from leadcycle.graph.webhooks.mutations.resume_webhook_endpoint import resume_webhook_endpoint
from leadcycle.graph.webhooks.mutations.retry_dead_webhook_deliveries import retry_dead_webhook_deliveries
from leadcycle.graph.webhooks.mutations.retry_webhook_delivery import retry_webhook_delivery
from leadcycle.graph.webhooks.mutations.rotate_webhook_secret import rotate_webhook_secret


@strawberry.type
class WebhookMutations:
    register_webhook_endpoint = strawberry.mutation(
        resolver=register_webhook_endpoint,
        description="Register a webhook endpoint: changes of leads committed from now on are posted to it, signed.",
    )
    pause_webhook_endpoint = strawberry.mutation(
        resolver=pause_webhook_endpoint,
        description="Stop posting to the endpoint; its deliveries keep being queued and go out on resume.",
    )
    resume_webhook_endpoint = strawberry.mutation(
        resolver=resume_webhook_endpoint, description="Post to a paused endpoint again, starting with what queued."
    )
    delete_webhook_endpoint = strawberry.mutation(
        resolver=delete_webhook_endpoint,
        description="Delete the endpoint and its delivery log; what was not delivered yet is dropped.",
    )
    retry_webhook_delivery = strawberry.mutation(
        resolver=retry_webhook_delivery,
        description="Queue a DEAD (or DELIVERED) delivery again, due now with a fresh set of attempts.",
    )
    retry_dead_webhook_deliveries = strawberry.mutation(
        resolver=retry_dead_webhook_deliveries,
        description="Queue every DEAD delivery of the endpoint again at once, due now with fresh attempts; each "
        "lead's go out in the order of its changes.",
    )
    rotate_webhook_secret = strawberry.mutation(
        resolver=rotate_webhook_secret,
        description="Sign posts with a new secret; for an overlap (LEADCYCLE_WEBHOOK_SECRET_OVERLAP_HOURS, 24 h) "
        "they carry the old secret's signature too, in the same X-Leadcycle-Signature header.",
    )
