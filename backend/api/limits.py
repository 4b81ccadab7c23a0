"""Operation limits: depth, tokens and aliases for everyone; introspection only when logged in.

Parsed documents and their validation are cached (``ParserCache``, ``ValidationCache``: keyed by the
query text and parse options, and by the document and the exact rules): clients send the same few
trusted operations, so each is parsed and validated once per process, not on every request. For the
validation cache to hit, the rules must be the same classes every time: the depth and alias rules are
made once per schema, not once per request.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

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

from backend.settings import Settings


class IntrospectionForAuthenticated(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        context = self.execution_context.context
        if getattr(context, "principal", None) is None:
            self.execution_context.validation_rules = (
                *self.execution_context.validation_rules,
                NoSchemaIntrospectionCustomRule,
            )
        yield


# distinct documents kept parsed and validated (each entry a few kB): the trusted operations and then some
CACHED_DOCUMENTS = 512


def limit_extensions(settings: Settings) -> list[Callable[[], SchemaExtension]]:
    """The limits, then the caches (``MaxTokensLimiter`` sets the parse options the parser cache keys on)."""
    rules = [
        *QueryDepthLimiter(max_depth=settings.graphql_max_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=settings.graphql_max_aliases).validation_rules,
    ]
    return [
        lambda: MaxTokensLimiter(max_token_count=settings.graphql_max_tokens),
        lambda: AddValidationRules(rules),
        lambda: ParserCache(maxsize=CACHED_DOCUMENTS),
        lambda: ValidationCache(maxsize=CACHED_DOCUMENTS),
    ]
