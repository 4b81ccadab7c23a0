"""The GraphQL schema, assembled from each domain's query and mutation types."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from backend.api.errors import DomainErrorCodes
from backend.api.limits import IntrospectionForAuthenticated, limit_extensions
from backend.audit.gql import AuditQuery
from backend.errors import DomainError
from backend.evidence.gql import EvidenceQuery
from backend.identity.gql import IdentityMutation, IdentityQuery
from backend.ingest.gql import IngestMutation, IngestQuery
from backend.installations.gql import InstallationMutation, InstallationQuery
from backend.metering.gql import MeteringMutation, MeteringQuery
from backend.metering.reports_gql import IntervalMutation, IntervalQuery
from backend.settings import Settings, get_settings
from backend.sharing.gql import SharingMutation, SharingQuery

SDL_PATH = Path(__file__).resolve().parent.parent / "graphql" / "schema.graphql"

Query = merge_types(
    "Query",
    (
        IdentityQuery,
        InstallationQuery,
        MeteringQuery,
        IntervalQuery,
        IngestQuery,
        EvidenceQuery,
        AuditQuery,
        SharingQuery,
    ),
)
Mutation = merge_types(
    "Mutation",
    (IdentityMutation, InstallationMutation, MeteringMutation, IntervalMutation, IngestMutation, SharingMutation),
)


class Schema(strawberry.Schema):
    """Domain errors are answers, not faults: they are not logged as errors with tracebacks."""

    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        unexpected = [e for e in errors if not isinstance(e.original_error, DomainError)]
        super().process_errors(unexpected, execution_context)


def build_schema(settings: Settings) -> strawberry.Schema:
    extensions: list[Any] = [
        *limit_extensions(settings),
        IntrospectionForAuthenticated,
        DomainErrorCodes,
    ]
    return Schema(query=Query, mutation=Mutation, extensions=extensions)


@lru_cache(maxsize=1)
def schema() -> strawberry.Schema:
    return build_schema(get_settings())


def export_sdl() -> str:
    return schema().as_str() + "\n"
