"""Builders for tenants, people, clients and tokens: plain async functions."""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from backend.identity.clients import create_client
from backend.identity.models import MembershipRole
from backend.identity.principal import ROLE_SCOPES, Principal
from backend.identity.users import add_membership, create_user
from backend.services import Services
from backend.tenants.models import Tenant, TenantKind
from tenancy.provisioning import NewTenant, create_tenant
from tests.factories.owner import owner_db

PASSWORD = "correct horse battery staple"


@dataclass
class TenantWithOwner:
    tenant: Tenant
    email: str
    principal: Principal

    @property
    def id(self) -> uuid.UUID:
        return self.tenant.id


async def make_tenant(
    services: Services,
    kind: TenantKind = TenantKind.EXPORTER,
    *,
    role: MembershipRole = MembershipRole.OWNER,
    name: str | None = None,
) -> TenantWithOwner:
    slug = f"t-{uuid.uuid4().hex[:12]}"
    tenant = await create_tenant(
        owner_db(),
        NewTenant(name=name or f"Org {slug}", slug=slug, kind=kind, country="RS"),
        actor=Principal.system("tests"),
    )
    email = f"{slug}@example.com"
    async with services.db.platform() as session:
        user = await create_user(session, email=email, name=f"Owner of {slug}", password=PASSWORD)
        await add_membership(session, Principal.system("tests", tenant.id), tenant=tenant, user=user, role=role)
    principal = Principal(
        kind="user", id=str(user.id), label=email, tenant_id=tenant.id, role=role, scopes=ROLE_SCOPES[role]
    )
    return TenantWithOwner(tenant, email, principal)


async def add_person(services: Services, owner: TenantWithOwner, role: MembershipRole) -> tuple[str, Principal]:
    email = f"{role.value}-{uuid.uuid4().hex[:8]}@example.com"
    async with services.db.platform() as session:
        user = await create_user(session, email=email, name=f"{role.value} person", password=PASSWORD)
        await add_membership(session, Principal.system("tests", owner.id), tenant=owner.tenant, user=user, role=role)
    return email, Principal(
        kind="user", id=str(user.id), label=email, tenant_id=owner.id, role=role, scopes=ROLE_SCOPES[role]
    )


async def make_client(
    services: Services, owner: TenantWithOwner, scopes: list[str], installation_id: uuid.UUID | None = None
) -> tuple[str, str]:
    async with services.db.platform() as session:
        issued = await create_client(
            session,
            Principal.system("tests", owner.id),
            tenant=owner.tenant,
            name="test client",
            scopes=scopes,
            installation_id=installation_id,
        )
    return issued.client.client_id, issued.client_secret


def basic(client_id: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


async def client_token(http: httpx.AsyncClient, client_id: str, secret: str, scope: str | None = None) -> str:
    data = {"grant_type": "client_credentials"}
    if scope:
        data["scope"] = scope
    response = await http.post("/auth/token", data=data, headers=basic(client_id, secret))
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


@dataclass
class Session:
    """A logged-in person's cookies and CSRF header, ready for GraphQL posts."""

    http: httpx.AsyncClient
    csrf: str
    cookies: httpx.Cookies

    async def gql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = await self.http.post(
            "/graphql",
            json={"query": query, "variables": variables or {}},
            headers={"X-CSRF-Token": self.csrf},
            cookies=self.cookies,
        )
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]


async def login(http: httpx.AsyncClient, email: str, password: str = PASSWORD) -> Session:
    response = await http.post("/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    cookies = httpx.Cookies()
    cookies.set("cbamx_session", response.cookies["cbamx_session"])
    http.cookies.clear()
    return Session(http=http, csrf=response.json()["csrfToken"], cookies=cookies)


@dataclass
class Bearer:
    http: httpx.AsyncClient
    token: str

    async def gql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = await self.http.post(
            "/graphql",
            json={"query": query, "variables": variables or {}},
            headers={"Authorization": f"Bearer {self.token}"},
        )
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]
