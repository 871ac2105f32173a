"""The schema: roots assembled from one package per concept, and the protections around it."""

import contextlib
from collections.abc import Callable, Iterator
from decimal import Decimal

import strawberry
from graphql import ASTValidationRule, GraphQLSyntaxError
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types

from leadcycle.graph.errors import mask_errors
from leadcycle.graph.leads.mutations import LeadMutations
from leadcycle.graph.leads.queries import LeadQueries
from leadcycle.graph.leads.subscriptions import LeadSubscriptions
from leadcycle.graph.plans import Plans
from leadcycle.graph.reports.calibration import CalibrationQueries
from leadcycle.graph.reports.queries import ReportQueries
from leadcycle.graph.scalars import DECIMAL
from leadcycle.graph.scoring.mutations import ScoringMutations
from leadcycle.graph.scoring.queries import ScoringQueries
from leadcycle.graph.settings import Settings
from leadcycle.graph.webhooks.mutations import WebhookMutations
from leadcycle.graph.webhooks.queries import WebhookQueries

Query = merge_types("Query", (LeadQueries, ReportQueries, CalibrationQueries, ScoringQueries, WebhookQueries))
Mutation = merge_types("Mutation", (LeadMutations, ScoringMutations, WebhookMutations))
Subscription = merge_types("Subscription", (LeadSubscriptions,))


def build_schema(settings: Settings, plans: Plans | None = None) -> strawberry.Schema:
    """The schema; with `plans`, every operation it is about to execute is compiled into them (graph/plans.py)."""
    rules = protection_rules(settings)
    # Factories, so that each operation gets fresh extension instances; the rules they add are the same classes
    # every time, so the validation cache (keyed on them) hits.
    extensions: list[Callable[[], SchemaExtension]] = [
        lambda: MaxTokensLimiter(max_token_count=settings.max_tokens),
        lambda: SyntaxTolerantParserCache(maxsize=256),
        lambda: AddValidationRules(rules),
        lambda: ValidationCache(maxsize=256),
        mask_errors,
    ]
    if plans is not None:
        extensions.append(plans.extension)
    return strawberry.Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=extensions,
        config=StrawberryConfig(scalar_map={Decimal: DECIMAL}),
    )


class SyntaxTolerantParserCache(ParserCache):
    """strawberry's parser cache, leaving a document with a syntax error to strawberry's own parse.

    `ParserCache` raises the syntax error from its hook, outside the error handling of a subscription's stream:
    the client got a bare `complete` instead of graphql-transport-ws's 4400 close. Left unparsed, the document is
    parsed again where strawberry answers the error properly (4400 over WebSocket, a GraphQL error over HTTP).
    """

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        with contextlib.suppress(GraphQLSyntaxError):
            context.graphql_document = self.cached_parse_document(context.query, **context.parse_options)
        yield


def protection_rules(settings: Settings) -> list[type[ASTValidationRule]]:
    """The depth, alias and introspection rules, built once per schema.

    Each `QueryDepthLimiter` and `MaxAliasesLimiter` instance makes a new rule class, and `ValidationCache` keys its
    LRU on the rule classes: an instance per request would make every validation a miss.
    """
    rules = [
        *QueryDepthLimiter(max_depth=settings.max_query_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=settings.max_aliases).validation_rules,
    ]
    if not settings.introspection:
        rules.append(NoSchemaIntrospectionCustomRule)
    return rules
