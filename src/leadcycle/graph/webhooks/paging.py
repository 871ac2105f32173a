"""Pages of the delivery log: `after` is the `seq` of the last delivery seen, `first` is bounded."""

from __future__ import annotations

from uuid import UUID

from leadcycle.domain.webhooks import Delivery, DeliveryStatus
from leadcycle.graph.errors import ClientError
from leadcycle.graph.leads.types import MAX_CHILDREN, first_in_range
from leadcycle.graph.loaders import Loaders
from leadcycle.persistence.webhooks import DeliveryRange

MAX_PAGE = MAX_CHILDREN
DEFAULT_PAGE = 50


def _before(after: str | None) -> int | None:
    if after is None:
        return None
    if not after.isdigit():
        raise ClientError("The cursor is malformed: pass back a delivery's cursor")
    return int(after)


async def delivery_page(
    loaders: Loaders, endpoint_id: str, status: DeliveryStatus | None, first: int | None, after: str | None
) -> tuple[list[Delivery], bool]:
    """Up to `first` deliveries of the endpoint older than `after`, and whether more follow.

    Through the request's loader: the endpoints of a list asking the same page share one statement.
    """
    size = first_in_range(first, DEFAULT_PAGE)
    found = await loaders.deliveries.load((UUID(endpoint_id), DeliveryRange(status, _before(after), size + 1)))
    return found[:size], len(found) > size
