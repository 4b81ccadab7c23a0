"""The GraphQL context: one per HTTP operation, holding the principal and the operation's loaders."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from graphql import GraphQLError, OperationDefinitionNode, OperationType, parse
from litestar import Request
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.exceptions import ConnectionRejectionError
from strawberry.litestar import BaseContext
from strawberry.types import ExecutionResult

from backend.api.auth import principal_from_bearer, resolve_principal, services_of
from backend.errors import DomainError, Unauthenticated
from backend.identity.principal import Principal
from backend.services import Services
from backend.tenants.registry import TenantRef

R = TypeVar("R")


class Context(BaseContext, kw_only=True):
    services: Services
    principal: Principal | None = None
    loaders: dict[str, Any] = {}
    # a WebSocket's connection_init payload (graphql-transport-ws): where its bearer token comes
    connection_params: dict[str, Any] | None = None

    def require_principal(self) -> Principal:
        if self.principal is None:
            raise Unauthenticated("authentication required")
        return self.principal

    async def tenant(self) -> TenantRef:
        """The principal's tenant, looked up once per operation (the registry re-reads its status
        every second, and one operation should see one answer)."""
        principal = self.require_principal()
        if "_tenant" not in self.loaders:
            self.loaders["_tenant"] = await self.services.tenants.get(principal.require_tenant())
        return self.loaders["_tenant"]  # type: ignore[no-any-return]

    @asynccontextmanager
    async def tenant_uow(self) -> AsyncIterator[AsyncSession]:
        """A unit of work in the principal's own tenant; each resolver gets its own, so sibling
        resolvers running concurrently never share a session."""
        tenant = await self.tenant()
        async with self.services.db.tenant(tenant.scope) as session:
            yield session

    async def in_tenant(self, action: Callable[[AsyncSession, Principal], Awaitable[R]]) -> R:
        """Run ``action`` as the principal in one unit of work of the principal's tenant; its arguments
        are read inside, so an anonymous caller is refused before any of them is parsed."""
        principal = self.require_principal()
        async with self.tenant_uow() as db:
            return await action(db, principal)

    @asynccontextmanager
    async def platform_uow(self) -> AsyncIterator[AsyncSession]:
        async with self.services.db.platform() as session:
            yield session

    def loader(self, name: str, factory: Any) -> Any:
        """One loader instance per operation, created on first use."""
        if name not in self.loaders:
            self.loaders[name] = factory(self)
        return self.loaders[name]


async def get_context(request: Request[Any, Any, Any]) -> Context:
    principal = await resolve_principal(request)
    return Context(services=services_of(request), principal=principal, loaders={})


async def authenticate_connection(context: Context) -> None:
    """A GraphQL WebSocket's principal, set once when its ``connection_init`` arrives.

    As over HTTP: ``{"authorization": "Bearer <access token>"}`` in the payload names a machine
    client; without it, the portal's session cookie sent with the handshake names a person (the
    GraphQL controller refuses handshakes from other origins, so no other site can use the cookie).
    Raises ``ConnectionRejectionError`` (close 4403) when neither names anyone.
    """
    params = context.connection_params or {}
    authorization = params.get("authorization") or params.get("Authorization")
    if authorization is None:
        if context.principal is None:
            raise ConnectionRejectionError()
        return
    scheme, _, token = str(authorization).partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ConnectionRejectionError()
    try:
        context.principal = await principal_from_bearer(context.services, token.strip())
    except DomainError:
        raise ConnectionRejectionError()
    context.loaders = {}


def subscription_over_http(query: str | None, operation_name: str | None) -> ExecutionResult | None:
    """A GraphQL error for a subscription sent over plain HTTP: subscriptions run over WebSockets."""
    if not query or "subscription" not in query:
        return None
    try:
        document = parse(query)
    except GraphQLError:
        return None  # the schema answers the syntax error itself
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode):
            continue
        named = operation_name is None or (definition.name is not None and definition.name.value == operation_name)
        if named and definition.operation == OperationType.SUBSCRIPTION:
            message = "subscriptions run over a WebSocket at /graphql (graphql-transport-ws), not over HTTP"
            return ExecutionResult(data=None, errors=[GraphQLError(message, extensions={"code": "NOT_OVER_HTTP"})])
    return None
