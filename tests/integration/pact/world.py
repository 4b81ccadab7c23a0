"""An exporter with three published footprints (one deprecated by a later publication), an importer with a
PACT client, and the exchange's connection and shares between them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from backend.identity.principal import Principal
from backend.services import Services
from backend.sharing.grants import NewGrant, create_grant
from backend.sharing.models import ResourceKind
from backend.tenants.models import TenantKind
from tests.factories.calculations import SmallPlant, small_plant
from tests.factories.exchange import connected, gid, published, run_calculation, share, versions_of
from tests.factories.tenants import Session, TenantWithOwner, client_token, login, make_client, make_tenant
from tests.operations import operation

REQUEST_CREATED = "org.wbcsd.pact.ProductFootprint.RequestCreatedEvent.3"


@dataclass
class Exporter:
    owner: TenantWithOwner
    session: Session
    shown: SmallPlant
    other: SmallPlant
    # product code -> [newest publication id, older publication ids...]
    publications: dict[str, list[str]]


async def _publish_latest(services: Services, exporter: TenantWithOwner, session: Session, plant: SmallPlant) -> str:
    *_, latest = await versions_of(services, exporter, plant.product_id)
    return str(uuid.UUID((await published(session, latest.id))["document"]["id"]))


async def exporter_with_footprints(services: Services, http: httpx.AsyncClient) -> Exporter:
    """Two products published; the first calculated again and published again, which deprecates its first."""
    owner = await make_tenant(services, name=f"Alu {uuid.uuid4().hex[:6]} d.o.o.")
    shown = await small_plant(services, owner)
    other = await small_plant(services, owner, product_code="PRF-OTHER")
    session = await login(http, owner.email)
    publications: dict[str, list[str]] = {}
    for code, plant in (("PRF-2990", shown), ("PRF-OTHER", other)):
        await run_calculation(session, plant, services)
        publications[code] = [await _publish_latest(services, owner, session, plant)]
    await run_calculation(session, shown, services)
    publications["PRF-2990"].insert(0, await _publish_latest(services, owner, session, shown))
    return Exporter(owner, session, shown, other, publications)


async def share_with(
    http: httpx.AsyncClient, exporter: Exporter, customer: TenantWithOwner, **limits: Any
) -> dict[str, Any]:
    """Connect the customer to the exporter, and share the exporter's footprints with it as ``limits`` say."""
    await connected(exporter.session, await login(http, customer.email), exporter.owner)
    return await share(exporter.session, customer, **limits)


async def narrow_share(exporter: Exporter, share_id: str, **limits: Any) -> dict[str, Any]:
    body = await exporter.session.gql(operation("NarrowFootprintShare"), {"input": {"id": share_id, **limits}})
    assert "errors" not in body and not body["data"]["narrowFootprintShare"]["errors"], body
    return body["data"]["narrowFootprintShare"]["share"]


async def revoke_share(exporter: Exporter, share_id: str) -> None:
    body = await exporter.session.gql(operation("RevokeFootprintShare"), {"input": {"id": share_id}})
    assert "errors" not in body and not body["data"]["revokeFootprintShare"]["errors"], body


def product_gid(plant: SmallPlant) -> str:
    return gid("Product", plant.product_id)


async def grant(
    services: Services,
    exporter: TenantWithOwner,
    grantee: TenantWithOwner,
    *,
    kinds: tuple[ResourceKind, ...],
) -> None:
    """A plain grant outside the exchange (e.g. of installation data)."""
    async with services.db.platform() as session:
        await create_grant(
            session,
            Principal.system("tests", exporter.id),
            grantor=exporter.tenant,
            data=NewGrant(
                grantee_tenant_id=grantee.id,
                resource_kinds=list(kinds),
                expires_at=datetime.now(UTC) + timedelta(days=1),
            ),
        )


@dataclass
class Reader:
    tenant: TenantWithOwner
    client_id: str
    secret: str
    token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def pact_reader(
    services: Services, http: httpx.AsyncClient, tenant: TenantWithOwner | None = None, scopes: str = "footprints:read"
) -> Reader:
    tenant = tenant or await make_tenant(services, TenantKind.IMPORTER)
    client_id, secret = await make_client(services, tenant, scopes.split())
    return Reader(tenant, client_id, secret, await client_token(http, client_id, secret))


def request_event(**data: Any) -> dict[str, Any]:
    return {
        "type": REQUEST_CREATED,
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": "https://importer.example/pact",
        "time": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "data": data,
    }


CLOUDEVENTS = {"Content-Type": "application/cloudevents+json; charset=UTF-8"}
