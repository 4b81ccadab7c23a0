"""The Litestar application: REST endpoints that standards need, GraphQL, the portal."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar
from litestar.exceptions import HTTPException, ValidationException
from strawberry.litestar import make_graphql_controller
from strawberry.types import ExecutionResult
from strawberry.types.unset import UNSET, UnsetType

from backend.api.context import Context, authenticate_connection, get_context, subscription_over_http
from backend.api.problems import (
    domain_error_handler,
    http_error_handler,
    unexpected_error_handler,
    validation_handler,
)
from backend.api.request_id import RequestIdMiddleware
from backend.calculations.rest import CalculationsController
from backend.certificates.rest import CertificatesController
from backend.developers.rest import DevelopersController
from backend.errors import DomainError
from backend.evidence.rest import EvidenceController
from backend.health import HealthController
from backend.identity.rest import AuthController
from backend.ingest.rest import IngestController
from backend.logging import configure_logging
from backend.pact.routes import pact_router
from backend.portal.assets import openapi_config, static_router
from backend.portal.pages import PortalController, with_local_graphiql
from backend.production.rest import ProductionController
from backend.schema import build_schema
from backend.services import Services, start_services
from backend.settings import Settings, get_settings
from backend.shipments.rest import ShipmentController
from backend.verification.rest import StatementKeysController


def create_app(settings: Settings | None = None, *, services: Services | None = None) -> Litestar:
    """Build the app; with ``services`` given (tests), it uses them and does not close them."""
    settings = settings or get_settings()
    configure_logging(settings)
    if not settings.is_production:
        # authlib refuses token requests on plain HTTP; development and tests run on loopback HTTP
        os.environ.setdefault("AUTHLIB_INSECURE_TRANSPORT", "1")
    elif not settings.public_url.startswith("https://"):
        raise RuntimeError("CBAMX_PUBLIC_URL must be https:// in production")
    schema = build_schema(settings)
    base = make_graphql_controller(
        schema,
        path="/graphql",
        context_getter=get_context,
        graphql_ide="graphiql" if settings.wants_graphql_ide else None,
        allow_queries_via_get=False,
    )

    class GraphQLController(base):  # type: ignore[valid-type,misc]
        async def on_ws_connect(self, context: Context) -> UnsetType:
            await authenticate_connection(context)
            return UNSET

        async def execute_single(
            self,
            request: Any,
            request_adapter: Any,
            sub_response: Any,
            context: Any,
            root_value: Any,
            request_data: Any,
        ) -> ExecutionResult:
            refusal = subscription_over_http(request_data.query, request_data.operation_name)
            if refusal is not None:
                return refusal
            return await super().execute_single(
                request, request_adapter, sub_response, context, root_value, request_data
            )

    graphql = with_local_graphiql(GraphQLController)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        owned = services is None
        app.state.services = services or await start_services(settings)
        try:
            yield
        finally:
            if owned:
                await app.state.services.close()

    exception_handlers: dict[Any, Any] = {
        DomainError: domain_error_handler,
        ValidationException: validation_handler,
        HTTPException: http_error_handler,
        Exception: unexpected_error_handler,
    }
    return Litestar(
        route_handlers=[
            PortalController,
            static_router(),
            HealthController,
            AuthController,
            IngestController,
            EvidenceController,
            DevelopersController,
            CertificatesController,
            ProductionController,
            ShipmentController,
            CalculationsController,
            pact_router,
            StatementKeysController,
            graphql,
        ],
        lifespan=[lifespan],
        exception_handlers=exception_handlers,
        middleware=[RequestIdMiddleware],
        openapi_config=openapi_config(title="cbamx", version="0.1.0"),
        request_max_body_size=settings.ingest_max_body_bytes,
        debug=False,
    )
