"""GraphQL errors: what the client caused is said plainly; anything unexpected is masked and logged."""

import logging

from graphql import GraphQLError

log = logging.getLogger("leadcycle.graph")


class ClientError(Exception):
    """A request the API cannot answer (bad cursor, `first` out of range, naive DateTime argument)."""


def should_mask(error: GraphQLError) -> bool:
    """Mask errors raised while executing fields, unless the request itself was at fault.

    Parse, validation and input-coercion errors carry no path: they describe the query and are
    always shown as they are.
    """
    if error.path is None or isinstance(error.original_error, ClientError):
        return False
    log.error("unexpected error at %s", ".".join(map(str, error.path)), exc_info=error.original_error)
    return True
