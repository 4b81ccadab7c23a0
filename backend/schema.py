"""The GraphQL schema, assembled from each domain's query and mutation types."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from backend.api.errors import DomainErrorCodes, ErrorsAtTheEdge, log_errors
from backend.api.limits import IntrospectionForAuthenticated, limit_extensions
from backend.audit.gql import AuditQuery
from backend.calculations.gql import CalculationMutation, CalculationQuery
from backend.certificates.gql import CertificatesMutation, CertificatesQuery
from backend.developers.gql import DevelopersMutation, DevelopersQuery
from backend.evidence.gql import EvidenceQuery
from backend.exchange.gql import ExchangeMutation, ExchangeQuery
from backend.exchange.mirror_gql import MirrorMutation, MirrorQuery
from backend.exchange.requests_gql import RequestsMutation, RequestsQuery
from backend.factors.gql import FactorMutation, FactorQuery
from backend.feeds.gql import FeedMutation, FeedQuery, FeedSubscription
from backend.identity.gql import IdentityMutation, IdentityQuery
from backend.ingest.gql import IngestMutation, IngestQuery
from backend.installations.gql import InstallationMutation, InstallationQuery
from backend.metering.gql import MeteringMutation, MeteringQuery
from backend.metering.live_gql import LiveQuery
from backend.metering.reports_gql import IntervalMutation, IntervalQuery
from backend.pact.gql import PactMutation, PactQuery
from backend.pact.inbox_gql import PactInboxQuery
from backend.production.gql import ProductionMutation, ProductionQueries
from backend.provisional.gql import ProvisionalQuery
from backend.settings import Settings, get_settings
from backend.sharing.gql import SharingMutation, SharingQuery
from backend.shipments.gql import ShipmentMutation, ShipmentQuery
from backend.supply.gql import SupplyMutation, SupplyQuery
from backend.verification.gql import VerificationMutation, VerificationQuery

SDL_PATH = Path(__file__).resolve().parent.parent / "graphql" / "schema.graphql"

Query = merge_types(
    "Query",
    (
        IdentityQuery,
        InstallationQuery,
        MeteringQuery,
        IntervalQuery,
        LiveQuery,
        IngestQuery,
        EvidenceQuery,
        AuditQuery,
        SharingQuery,
        FactorQuery,
        SupplyQuery,
        DevelopersQuery,
        CertificatesQuery,
        ProductionQueries,
        ProvisionalQuery,
        ShipmentQuery,
        CalculationQuery,
        ExchangeQuery,
        RequestsQuery,
        PactQuery,
        FeedQuery,
        VerificationQuery,
        MirrorQuery,
        PactInboxQuery,
    ),
)
Mutation = merge_types(
    "Mutation",
    (
        IdentityMutation,
        InstallationMutation,
        MeteringMutation,
        IntervalMutation,
        IngestMutation,
        SharingMutation,
        FactorMutation,
        SupplyMutation,
        DevelopersMutation,
        CertificatesMutation,
        ProductionMutation,
        ShipmentMutation,
        CalculationMutation,
        ExchangeMutation,
        RequestsMutation,
        PactMutation,
        FeedMutation,
        VerificationMutation,
        MirrorMutation,
    ),
)
Subscription = merge_types("Subscription", (FeedSubscription,))


class Schema(strawberry.Schema):
    """Domain errors are answers and the caller's mistakes are not faults: only unexpected errors
    are logged as errors, with their traceback and the request id."""

    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        log_errors(errors, execution_context.operation_name if execution_context else None)


def build_schema(settings: Settings) -> strawberry.Schema:
    extensions: list[Any] = [
        *limit_extensions(settings),
        IntrospectionForAuthenticated,
        DomainErrorCodes,
        ErrorsAtTheEdge,
    ]
    return Schema(query=Query, mutation=Mutation, subscription=Subscription, extensions=extensions)


@lru_cache(maxsize=1)
def schema() -> strawberry.Schema:
    return build_schema(get_settings())


def export_sdl() -> str:
    return schema().as_str() + "\n"
