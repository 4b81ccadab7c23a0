"""Resolve every request to a principal: a bearer token (machine client) or a portal session."""

from __future__ import annotations

from typing import Any

from joserfc.errors import JoseError
from joserfc.jws import extract_compact
from litestar import Request
from litestar.connection import ASGIConnection

from backend.errors import PermissionDenied, Unauthenticated
from backend.identity.clients import active_client
from backend.identity.errors import NotAMember
from backend.identity.principal import ROLE_SCOPES, Principal
from backend.identity.sessions import resolve_session
from backend.identity.tokens import InvalidToken, verify_access_token
from backend.identity.users import membership
from backend.services import Services
from backend.tenants.registry import UnknownTenant

SESSION_COOKIE = "cbamx_session"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def services_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Services:
    return connection.app.state.services  # type: ignore[no-any-return]


async def principal_from_bearer(services: Services, token: str) -> Principal:
    settings = services.settings
    try:
        kid = extract_compact(token.encode()).protected.get("kid")
    except (JoseError, ValueError, TypeError):
        raise InvalidToken("malformed token")
    keyset = await services.keys.verification_keys(kid=kid)
    claims = verify_access_token(
        token,
        keyset,
        issuer=settings.issuer,
        audience=settings.jwt_audience,
        max_lifetime_s=settings.access_token_max_ttl_s,
    )
    async with services.db.platform_session() as session:
        client = await active_client(session, str(claims["client_id"]))
    if client is None:
        raise InvalidToken("this client has been revoked, or its organisation is not active")
    if str(client.tenant_id) != str(claims["tenant"]):
        raise InvalidToken("token and client disagree about the organisation")
    try:
        tenant = await services.tenants.get(client.tenant_id)
    except UnknownTenant:
        # a token of a suspended or removed organisation authenticates no one: 401, not 404
        raise InvalidToken("this organisation is not active")
    scopes = frozenset(str(claims.get("scope", "")).split()) & frozenset(client.scopes)
    return Principal(
        kind="client",
        id=client.client_id,
        label=client.name,
        tenant_id=tenant.id,
        scopes=scopes,
        installation_id=client.installation_id,
        client_pk=client.id,
    )


async def principal_from_session(services: Services, token: str) -> tuple[Principal, str]:
    async with services.db.platform_session() as session:
        portal_session, user = await resolve_session(session, token)
        if portal_session.tenant_id is None:
            return Principal(kind="user", id=str(user.id), label=user.email, tenant_id=None), portal_session.csrf_token
        member = await membership(session, user.id, portal_session.tenant_id)
    if member is None:
        raise NotAMember("you are no longer a member of this organisation")
    await services.tenants.get(portal_session.tenant_id)
    return (
        Principal(
            kind="user",
            id=str(user.id),
            label=user.email,
            tenant_id=portal_session.tenant_id,
            role=member.role,
            scopes=ROLE_SCOPES[member.role],
        ),
        portal_session.csrf_token,
    )


async def resolve_principal(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal | None:
    """The request's principal, or None when it carries no credentials at all."""
    services = services_of(connection)
    authorization = connection.headers.get("authorization")
    if authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("use a Bearer access token")
        return await principal_from_bearer(services, token.strip())
    cookie = connection.cookies.get(SESSION_COOKIE)
    if cookie:
        principal, csrf = await principal_from_session(services, cookie)
        method = connection.scope.get("method")
        if method is not None and method not in SAFE_METHODS and connection.headers.get(CSRF_HEADER) != csrf:
            raise PermissionDenied("missing or wrong CSRF token (send the X-CSRF-Token header)", field=CSRF_HEADER)
        return principal
    return None


async def provide_principal(request: Request[Any, Any, Any]) -> Principal:
    principal = await resolve_principal(request)
    if principal is None:
        raise Unauthenticated("authentication required")
    return principal
