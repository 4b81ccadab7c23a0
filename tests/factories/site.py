"""Builders for a small plant: installation, process, line, grid point, meters."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from backend.identity.principal import Principal
from backend.installations import service as installations
from backend.installations.schemas import GridPointData, InstallationData, LineData, ProcessData
from backend.metering import service as metering
from backend.metering.models import Medium, MeterRole, Quantity
from backend.metering.schemas import DataPointData, DeviceData, MeterData
from backend.services import Services
from tests.factories.tenants import TenantWithOwner


@dataclass
class Plant:
    installation_id: uuid.UUID
    process_id: uuid.UUID
    line_id: uuid.UUID
    grid_point_id: uuid.UUID
    meters: dict[str, uuid.UUID]
    name: str


async def make_plant(
    services: Services,
    owner: TenantWithOwner,
    *,
    meters: tuple[str, ...] = ("MAIN", "SUB1", "SUB2"),
    unit: str = "kWh",
    resolution_s: int = 900,
) -> Plant:
    actor: Principal = owner.principal
    name = f"Plant {uuid.uuid4().hex[:10]}"
    async with services.db.tenant(owner.tenant.scope()) as db:
        plant = await installations.create_installation(
            db, actor, InstallationData(name=name, country="RS", unlocode="RSBEG", interval_resolution_s=resolution_s)
        )
        process = await installations.create_process(db, actor, ProcessData(plant.id, "P1", "Extrusion"))
        line = await installations.create_line(db, actor, LineData(process.id, "L1", "Line 1"))
        point = await installations.create_grid_point(db, actor, GridPointData(plant.id, "GP1", "Substation"))
        ids: dict[str, uuid.UUID] = {}
        for index, code in enumerate(meters):
            meter = await metering.create_meter(
                db,
                actor,
                MeterData(
                    installation_id=plant.id,
                    code=code,
                    name=f"Meter {code}",
                    medium=Medium.ELECTRICITY,
                    role=MeterRole.MAIN if index == 0 else MeterRole.SUB,
                    parent_id=ids[meters[0]] if index else None,
                    data_points=[
                        DataPointData(Quantity.ACTIVE_ENERGY_IMPORT, unit),
                        DataPointData(Quantity.ACTIVE_POWER, "kW"),
                    ],
                    device=DeviceData(
                        serial_number=f"SN-{code}", installed_at=datetime(2025, 1, 1, tzinfo=UTC), initial_reading=0.0
                    ),
                    line_id=line.id if index else None,
                ),
            )
            ids[code] = meter.id
    return Plant(plant.id, process.id, line.id, point.id, ids, name)
