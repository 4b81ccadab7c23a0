"""Builders for the exchange: an exporter with footprint versions, publications, listings, connections, shares."""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from backend.calculations.models import FootprintVersion
from backend.tenants.models import TenantKind
from tests.factories.calculations import SmallPlant, small_plant
from tests.factories.jobs import work_off_queue
from tests.factories.tenants import TenantWithOwner, login, make_tenant
from tests.operations import operation


def gid(type_name: str, value: object) -> str:
    return base64.b64encode(f"{type_name}:{value}".encode()).decode()


def code_of(body: dict[str, Any]) -> str | None:
    """The error code of a refused query (extensions) or mutation (payload errors), else None."""
    if body.get("errors"):
        return body["errors"][0]["extensions"]["code"]
    payload = next(iter(body["data"].values()))
    return payload["errors"][0]["code"] if isinstance(payload, dict) and payload.get("errors") else None


def field_of(body: dict[str, Any]) -> str | None:
    if body.get("errors"):
        return body["errors"][0]["extensions"].get("field")
    payload = next(iter(body["data"].values()))
    return payload["errors"][0]["field"]


async def run_calculation(session: Any, plant: SmallPlant, services: Any) -> None:
    body = await session.gql(
        operation("StartCalculationRun"),
        {
            "input": {
                "installationId": gid("Installation", plant.plant.installation_id),
                "start": plant.start.isoformat(),
                "end": plant.end.isoformat(),
            }
        },
    )
    assert "errors" not in body and not body["data"]["startCalculationRun"]["errors"], body
    await work_off_queue(services)


async def versions_of(services: Any, owner: TenantWithOwner, product_id: uuid.UUID) -> list[FootprintVersion]:
    """The product's footprint versions, oldest first."""
    async with services.db.tenant(owner.tenant.scope()) as db:
        rows = await db.execute(
            select(FootprintVersion).where(FootprintVersion.product_id == product_id).order_by(FootprintVersion.version)
        )
        return list(rows.scalars())


async def publish(session: Any, version_id: uuid.UUID) -> dict[str, Any]:
    return await session.gql(
        operation("PublishFootprint"), {"input": {"footprintVersionId": gid("FootprintVersion", version_id)}}
    )


async def published(session: Any, version_id: uuid.UUID) -> dict[str, Any]:
    body = await publish(session, version_id)
    assert "errors" not in body and not body["data"]["publishFootprint"]["errors"], body
    return body["data"]["publishFootprint"]["publishedFootprint"]


@dataclass
class Exporter:
    owner: TenantWithOwner
    session: Any
    plants: dict[str, SmallPlant]  # by product code
    publications: dict[str, dict[str, Any]]  # by product code


async def exporter_with_publications(
    services: Any, http: Any, products: dict[str, str] | None = None, *, name: str | None = None
) -> Exporter:
    """An exporter with one plant per product (code -> CN code), each run once and its footprint published."""
    owner = await make_tenant(services, TenantKind.EXPORTER, **({"name": name} if name else {}))
    session = await login(http, owner.email)
    plants = {}
    for code, cn in (products or {"PRF-2990": "7604 29 90"}).items():
        plants[code] = await small_plant(services, owner, product_code=code, cn_code=cn)
        await run_calculation(session, plants[code], services)
    publications = {}
    for code, plant in plants.items():
        (version,) = await versions_of(services, owner, plant.product_id)
        publications[code] = await published(session, version.id)
    return Exporter(owner, session, plants, publications)


async def list_in_directory(session: Any, name: str, **more: Any) -> dict[str, Any]:
    body = await session.gql(operation("ListInDirectory"), {"input": {"displayName": name, **more}})
    assert "errors" not in body and not body["data"]["listInDirectory"]["errors"], body
    return body["data"]["listInDirectory"]["entry"]


async def connected(exporter_session: Any, importer_session: Any, exporter: TenantWithOwner) -> str:
    """List the exporter, have the importer ask and the exporter accept; the connection's id."""
    await list_in_directory(exporter_session, f"Supplier {exporter.id.hex[:6]}", country="RS")
    body = await importer_session.gql(
        operation("RequestConnection"), {"input": {"supplierId": gid("Organization", exporter.id)}}
    )
    assert not body["data"]["requestConnection"]["errors"], body
    connection_id = body["data"]["requestConnection"]["connection"]["id"]
    body = await exporter_session.gql(operation("AcceptConnection"), {"input": {"id": connection_id}})
    assert not body["data"]["acceptConnection"]["errors"], body
    return connection_id


async def share(exporter_session: Any, customer: TenantWithOwner, **limits: Any) -> dict[str, Any]:
    body = await exporter_session.gql(
        operation("ShareFootprints"), {"input": {"customerId": gid("Organization", customer.id), **limits}}
    )
    assert "errors" not in body and not body["data"]["shareFootprints"]["errors"], body
    return body["data"]["shareFootprints"]["share"]
