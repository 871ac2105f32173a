"""GraphQL errors: what the client caused is said plainly; anything unexpected is masked and logged."""

import logging
from typing import Any

from graphql import GraphQLError
from strawberry.extensions import MaskErrors

log = logging.getLogger("leadcycle.graph")


class ClientError(Exception):
    """A request the API cannot answer (bad cursor, `first` out of range, naive DateTime argument).

    `code` and `details` reach the client as the error's `extensions`, for programs to act on.
    """

    def __init__(self, message: str, *, code: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.extensions: dict[str, Any] | None = {"code": code, **details} if code else None


def fell_behind(reason: str, last_cursor: str | None) -> ClientError:
    """The error ending a subscription that fell `reason` behind; `last_cursor` resumes it."""
    resume = f'after: "{last_cursor}"' if last_cursor else "the cursor of the last change you received as after"
    return ClientError(
        f"This subscription fell behind ({reason}) and was ended. Subscribe again with {resume} "
        "to receive the rest, in order, none twice.",
        code="FELL_BEHIND",
        cursor=last_cursor,
    )


def should_mask(error: GraphQLError) -> bool:
    """Mask errors raised while executing, unless the request itself was at fault.

    Parse, validation and input-coercion errors describe the query: they point into it (`nodes`)
    or wrap nothing, and are shown as they are. An exception raised inside a subscription's
    stream reaches here with neither a path nor a place in the query, only its original error:
    unless it is a ClientError, it is unexpected.
    """
    original = error.original_error
    if isinstance(original, ClientError):
        return False
    if error.path is None and (original is None or isinstance(original, GraphQLError) or error.nodes):
        return False
    where = ".".join(map(str, error.path)) if error.path else "a subscription stream"
    log.error("unexpected error at %s", where, exc_info=original)
    return True


def mask_errors() -> MaskErrors:
    """The extension masking unexpected errors: in the schema, and where a compiled plan answers (graph/plans.py)."""
    return MaskErrors(should_mask_error=should_mask, error_message="Unexpected error; it was logged.")
