"""REST endpoints that standards require: the OAuth2 token endpoint, discovery, JWKS, portal log-in."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import Cookie
from pydantic import BaseModel, ConfigDict

from backend.api.auth import SESSION_COOKIE, provide_principal, services_of
from backend.api.inputs import Email, Name, Secret, Slug
from backend.errors import PermissionDenied
from backend.identity import invitations, sessions, users
from backend.identity.clients import active_client
from backend.identity.oauth import basic_client_id, issue_token, token_error, token_form
from backend.identity.principal import ALL_SCOPES, Principal
from backend.ratelimit import hit

# log-in, invitation and switch bodies are small: a larger one is refused before it is parsed
AUTH_MAX_BODY_BYTES = 64 * 1024


class LoginInput(BaseModel):
    model_config = ConfigDict(strict=True)

    email: Email
    password: Secret
    tenant: Slug | None = None  # slug of the organisation to act for


class AcceptInvitationInput(BaseModel):
    model_config = ConfigDict(strict=True)

    token: Secret
    name: Name
    password: Secret | None = None


class SwitchTenantInput(BaseModel):
    model_config = ConfigDict(strict=True)

    tenant: Slug


def _client_ip(request: Request[Any, Any, Any]) -> str:
    return request.client.host if request.client else "unknown"


def _check_origin(request: Request[Any, Any, Any]) -> None:
    """Refuse cross-site log-in posts (log-in CSRF): the Origin, when sent, must be ours."""
    origin = request.headers.get("origin")
    if origin is None:
        return
    ours = urlsplit(services_of(request).settings.public_url)
    theirs = urlsplit(origin)
    if (theirs.scheme, theirs.netloc) != (ours.scheme, ours.netloc):
        raise PermissionDenied("cross-site request refused", field="origin")


def _session_cookie(request: Request[Any, Any, Any], token: str, max_age: int) -> Cookie:
    secure = services_of(request).settings.public_url.startswith("https://")
    return Cookie(
        key=SESSION_COOKIE,
        value=token,
        httponly=True,
        secure=secure,
        samesite="lax",
        path="/",
        max_age=max_age,
    )


class AuthController(Controller):
    path = "/"
    tags = ["auth"]

    @post(
        "/auth/token",
        operation_id="IssueToken",
        status_code=200,
        include_in_schema=True,
        request_max_body_size=AUTH_MAX_BODY_BYTES,
    )
    async def token(self, request: Request[Any, Any, Any]) -> Response[Any]:
        """OAuth2 client credentials grant (RFC 6749 §4.4) with HTTP Basic client authentication."""
        services = services_of(request)
        settings = services.settings
        client_id = basic_client_id(request.headers.get("authorization"))
        # counted per address and per client: many clients from one address, or one client from
        # many addresses, each meet a limit
        await hit(services.redis, f"token:ip:{_client_ip(request)}", limit=settings.token_address_rate_per_minute)
        if client_id:
            await hit(services.redis, f"token:client:{client_id}", limit=settings.token_rate_per_minute)
        content_type = request.headers.get("content-type", "")
        if not content_type.startswith("application/x-www-form-urlencoded"):
            return token_error("send the parameters as application/x-www-form-urlencoded")
        try:
            form = token_form(await request.body())
        except ValueError as exc:
            return token_error(str(exc))
        client = None
        if client_id:
            # a revoked client, or one of a suspended organisation, is answered like an unknown one
            async with services.db.platform_session() as session:
                client = await active_client(session, client_id)
        response = issue_token(
            client=client,
            method="POST",
            uri=f"{settings.issuer}/auth/token",
            headers=request.headers,
            form=form,
            issuer=settings.issuer,
            audience=settings.jwt_audience,
            signing_keys=await services.keys.signing_keys(),
            ttl_s=settings.access_token_ttl_s,
        )
        return Response(response.body, status_code=response.status, headers=response.headers)

    @get("/.well-known/openid-configuration", operation_id="DiscoveryDocument")
    async def discovery(self, request: Request[Any, Any, Any]) -> dict[str, Any]:
        issuer = services_of(request).settings.issuer
        return {
            "issuer": issuer,
            "token_endpoint": f"{issuer}/auth/token",
            "jwks_uri": f"{issuer}/.well-known/jwks.json",
            "grant_types_supported": ["client_credentials"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic"],
            "scopes_supported": sorted(ALL_SCOPES),
            "response_types_supported": ["token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["ES256"],
            "access_token_signing_alg_values_supported": ["ES256"],
        }

    @get("/.well-known/jwks.json", operation_id="JsonWebKeySet")
    async def jwks(self, request: Request[Any, Any, Any]) -> Response[dict[str, object]]:
        return Response(await services_of(request).keys.jwks(), headers={"Cache-Control": "public, max-age=300"})

    @post("/auth/login", operation_id="LogIn", status_code=200, request_max_body_size=AUTH_MAX_BODY_BYTES)
    async def login(self, request: Request[Any, Any, Any], data: LoginInput) -> Response[dict[str, Any]]:
        """Portal log-in: sets an HttpOnly session cookie and returns the CSRF token for later posts."""
        services = services_of(request)
        _check_origin(request)
        # per address (one address trying many accounts), per account (many addresses trying one)
        # and per pair; a person who mistypes their password a few times meets none of them
        settings = services.settings
        address, account = _client_ip(request), data.email.strip().lower()
        await hit(services.redis, f"login:ip:{address}", limit=settings.login_address_rate_per_minute)
        await hit(services.redis, f"login:account:{account}", limit=settings.login_account_rate_per_minute)
        await hit(services.redis, f"login:pair:{address}:{account}", limit=settings.login_rate_per_minute)
        tenant_id = (await services.tenants.by_slug(data.tenant)).id if data.tenant else None
        async with services.db.platform() as session:
            user = await users.authenticate(session, email=data.email, password=data.password)
            new = await sessions.start_session(
                session, user, ttl_s=services.settings.session_ttl_s, tenant_id=tenant_id
            )
        body = {"csrfToken": new.csrf_token, "tenantId": str(new.tenant_id) if new.tenant_id else None}
        return Response(body, cookies=[_session_cookie(request, new.token, services.settings.session_ttl_s)])

    @post("/auth/logout", operation_id="LogOut", status_code=200)
    async def logout(self, request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
        principal = await provide_principal(request)
        token = request.cookies.get(SESSION_COOKIE)
        if token and principal.kind == "user":
            async with services_of(request).db.platform() as session:
                await sessions.end_session(session, token)
        return Response({"ok": True}, cookies=[Cookie(key=SESSION_COOKIE, value="", max_age=0, path="/")])

    @post(
        "/auth/switch-tenant", operation_id="SwitchTenant", status_code=200, request_max_body_size=AUTH_MAX_BODY_BYTES
    )
    async def switch_tenant(self, request: Request[Any, Any, Any], data: SwitchTenantInput) -> dict[str, Any]:
        principal: Principal = await provide_principal(request)
        services = services_of(request)
        if principal.kind != "user":
            raise PermissionDenied("only people switch organisations")
        tenant = await services.tenants.by_slug(data.tenant)
        async with services.db.platform() as session:
            portal_session, _ = await sessions.resolve_session(session, request.cookies[SESSION_COOKIE])
            await sessions.switch_tenant(session, portal_session, tenant.id)
        return {"tenantId": str(tenant.id)}

    @post(
        "/auth/invitations/accept",
        operation_id="AcceptInvitation",
        status_code=200,
        request_max_body_size=AUTH_MAX_BODY_BYTES,
    )
    async def accept_invitation(self, request: Request[Any, Any, Any], data: AcceptInvitationInput) -> Response[Any]:
        services = services_of(request)
        _check_origin(request)
        await hit(services.redis, f"invite:{_client_ip(request)}", limit=services.settings.login_rate_per_minute)
        async with services.db.platform() as session:
            user, member = await invitations.accept(session, token=data.token, name=data.name, password=data.password)
            new = await sessions.start_session(
                session, user, ttl_s=services.settings.session_ttl_s, tenant_id=member.tenant_id
            )
        body = {"csrfToken": new.csrf_token, "tenantId": str(member.tenant_id), "role": member.role.value}
        return Response(body, cookies=[_session_cookie(request, new.token, services.settings.session_ttl_s)])
