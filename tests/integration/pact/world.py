"""An exporter with three footprint versions (one superseded) and an importer with a PACT client."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select

from backend.calculations.models import FootprintVersion
from backend.identity.principal import Principal
from backend.services import Services
from backend.sharing.grants import NewGrant, create_grant
from backend.sharing.models import ResourceKind
from backend.tenants.models import TenantKind
from tests.factories.calculations import SmallPlant, small_plant
from tests.factories.jobs import work_off_queue
from tests.factories.tenants import TenantWithOwner, client_token, login, make_client, make_tenant
from tests.integration.calculations.test_calculation_runs import start

REQUEST_CREATED = "org.wbcsd.pact.ProductFootprint.RequestCreatedEvent.3"


@dataclass
class Exporter:
    owner: TenantWithOwner
    shown: SmallPlant
    other: SmallPlant
    # product code -> [newest version id, older version ids...]
    versions: dict[str, list[str]]


async def exporter_with_footprints(services: Services, http: httpx.AsyncClient) -> Exporter:
    owner = await make_tenant(services, name=f"Alu {uuid.uuid4().hex[:6]} d.o.o.")
    shown = await small_plant(services, owner)
    other = await small_plant(services, owner, product_code="PRF-OTHER")
    session = await login(http, owner.email)
    for plant in (shown, other):
        await start(session, plant, plant.start, plant.end)
    await work_off_queue(services)
    await start(session, shown, shown.start, shown.end)  # a second version supersedes the first
    await work_off_queue(services)
    async with services.db.tenant(owner.tenant.scope()) as db:
        rows = (await db.execute(select(FootprintVersion).order_by(FootprintVersion.version.desc()))).scalars()
        versions: dict[str, list[str]] = {}
        for row in rows:
            versions.setdefault(str(row.figures["product_code"]), []).append(str(row.id))
    assert sorted(len(v) for v in versions.values()) == [1, 2], versions
    return Exporter(owner, shown, other, versions)


async def grant(
    services: Services,
    exporter: TenantWithOwner,
    grantee: TenantWithOwner,
    *,
    installation_ids: list[uuid.UUID] | None = None,
    client_id: str | None = None,
    kinds: tuple[ResourceKind, ...] = (ResourceKind.FOOTPRINT,),
) -> None:
    async with services.db.platform() as session:
        await create_grant(
            session,
            Principal.system("tests", exporter.id),
            grantor=exporter.tenant,
            data=NewGrant(
                grantee_tenant_id=grantee.id,
                grantee_client_id=client_id,
                resource_kinds=list(kinds),
                installation_ids=installation_ids or [],
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
