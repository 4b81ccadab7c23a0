"""Use cases of the metering hierarchy: meters, devices, data points, virtual meters."""

from __future__ import annotations

import dataclasses
import math
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit.service import record, snapshot
from backend.errors import FieldError, ValidationFailed
from backend.identity.principal import Principal
from backend.installations.models import GridConnectionPoint, ProductionLine, ProductionProcess
from backend.installations.schemas import check_code
from backend.installations.service import get_installation
from backend.metering.errors import DeviceStillInstalled, HierarchyCycle, MeterCodeTaken, MeterNotFound
from backend.metering.models import (
    COUNTER_QUANTITIES,
    ConnectorAgent,
    CounterReading,
    DataPoint,
    Medium,
    Meter,
    MeterDevice,
    MeterRole,
    Quantity,
)
from backend.metering.schemas import DeviceData, MeterData, ReplacementData, VirtualMeterData
from backend.metering.units import DEFAULT_POINTS, is_allowed_unit


async def get_meter(db: AsyncSession, principal: Principal, meter_id: uuid.UUID) -> Meter:
    principal.require("site:read")
    meter = await db.get(Meter, meter_id)
    if meter is None or (principal.kind == "client" and principal.installation_id not in (None, meter.installation_id)):
        raise MeterNotFound("no such meter", field="meterId")
    return meter


async def meters_of(db: AsyncSession, installation_ids: list[uuid.UUID]) -> list[Meter]:
    rows = await db.execute(select(Meter).where(Meter.installation_id.in_(installation_ids)).order_by(Meter.code))
    return list(rows.scalars())


async def list_meters(db: AsyncSession, principal: Principal, installation_id: uuid.UUID) -> list[Meter]:
    await get_installation(db, principal, installation_id)
    return await meters_of(db, [installation_id])


def _device_errors(device: DeviceData, prefix: str) -> list[FieldError]:
    errors: list[FieldError] = []
    if not device.serial_number.strip():
        errors.append(FieldError("must not be empty", field=f"{prefix}.serialNumber"))
    for name, value in (("ctRatio", device.ct_ratio), ("vtRatio", device.vt_ratio)):
        if not (value > 0 and math.isfinite(value)):
            errors.append(FieldError("must be a positive number", field=f"{prefix}.{name}"))
    if device.installed_at.tzinfo is None:
        errors.append(FieldError("must carry a time zone", field=f"{prefix}.installedAt"))
    return errors


async def _check_references(db: AsyncSession, data: MeterData) -> list[FieldError]:
    errors: list[FieldError] = []
    checks = (
        ("parentId", Meter, data.parent_id),
        ("gridConnectionPointId", GridConnectionPoint, data.grid_connection_point_id),
        ("processId", ProductionProcess, data.process_id),
        ("lineId", ProductionLine, data.line_id),
    )
    for field, model, ref in checks:
        if ref is None:
            continue
        row = await db.get(model, ref)
        if row is None or row.installation_id != data.installation_id:
            errors.append(FieldError("not found in this installation", field=field))
    if data.parent_id is not None:
        parent = await db.get(Meter, data.parent_id)
        if parent is not None and parent.medium != data.medium:
            errors.append(FieldError("a sub-meter must measure the same medium as its parent", field="parentId"))
        if parent is not None and parent.is_virtual:
            errors.append(FieldError("a virtual meter cannot be a parent", field="parentId"))
    return errors


async def create_meter(db: AsyncSession, principal: Principal, data: MeterData) -> Meter:
    """Add a physical meter with its first device and data points; members and up."""
    principal.require("site:write")
    await get_installation(db, principal, data.installation_id)
    errors = [e for e in [check_code(data.code)] if e]
    if not data.name.strip():
        errors.append(FieldError("must not be empty", field="name"))
    if data.device is not None:
        errors += _device_errors(data.device, "device")
    point_specs = (
        [(p.quantity, p.unit) for p in data.data_points] if data.data_points else list(DEFAULT_POINTS[data.medium])
    )
    seen: set[Quantity] = set()
    for index, (quantity, unit) in enumerate(point_specs):
        if quantity in seen:
            errors.append(FieldError("each quantity once per meter", field=f"dataPoints.{index}.quantity"))
        seen.add(quantity)
        if not is_allowed_unit(quantity, unit):
            errors.append(FieldError(f"'{unit}' is not a unit of {quantity.value}", field=f"dataPoints.{index}.unit"))
    if data.max_power_kw is not None and data.max_power_kw <= 0:
        errors.append(FieldError("must be positive", field="maxPowerKw"))
    if data.counter_wrap_value is not None and data.counter_wrap_value <= 0:
        errors.append(FieldError("must be positive", field="counterWrapValue"))
    errors += await _check_references(db, data)
    if errors:
        raise ValidationFailed(errors)
    taken = await db.execute(
        select(Meter.id).where(Meter.installation_id == data.installation_id, Meter.code == data.code)
    )
    if taken.first() is not None:
        raise MeterCodeTaken(f"the meter code '{data.code}' is already used", field="code")
    meter = Meter(
        installation_id=data.installation_id,
        code=data.code,
        name=data.name.strip(),
        medium=data.medium,
        role=data.role,
        parent_id=data.parent_id,
        grid_connection_point_id=data.grid_connection_point_id,
        process_id=data.process_id,
        line_id=data.line_id,
        max_power_kw=data.max_power_kw,
        counter_wrap_value=data.counter_wrap_value,
        description=data.description,
    )
    db.add(meter)
    await db.flush()
    for quantity, unit in point_specs:
        db.add(DataPoint(meter_id=meter.id, quantity=quantity, unit=unit))
    if data.device is not None:
        db.add(MeterDevice(meter_id=meter.id, **dataclasses.asdict(data.device)))
    await db.flush()
    await record(
        db,
        principal,
        "meter.created",
        "meter",
        meter.id,
        after={
            **snapshot(meter),
            "data_points": [[q.value, u] for q, u in point_specs],
            "device": dataclasses.asdict(data.device) if data.device else None,
        },
    )
    return meter


async def create_virtual_meter(db: AsyncSession, principal: Principal, data: VirtualMeterData) -> Meter:
    """A meter computed from others, e.g. main minus the sum of its sub-meters = unmetered + losses."""
    principal.require("site:write")
    await get_installation(db, principal, data.installation_id)
    errors = [e for e in [check_code(data.code)] if e]
    if not data.terms:
        errors.append(FieldError("name at least one meter", field="terms"))
    for index, term in enumerate(data.terms):
        meter = await db.get(Meter, term.meter_id)
        if meter is None or meter.installation_id != data.installation_id:
            errors.append(FieldError("not found in this installation", field=f"terms.{index}.meterId"))
        elif meter.medium != data.medium:
            errors.append(FieldError("all terms must measure the same medium", field=f"terms.{index}.meterId"))
        if not math.isfinite(term.coefficient) or term.coefficient == 0:
            errors.append(FieldError("a non-zero number", field=f"terms.{index}.coefficient"))
    if errors:
        raise ValidationFailed(errors)
    taken = await db.execute(
        select(Meter.id).where(Meter.installation_id == data.installation_id, Meter.code == data.code)
    )
    if taken.first() is not None:
        raise MeterCodeTaken(f"the meter code '{data.code}' is already used", field="code")
    meter = Meter(
        installation_id=data.installation_id,
        code=data.code,
        name=data.name,
        medium=data.medium,
        role=MeterRole.SUB,
        is_virtual=True,
        formula=[{"meter_id": str(t.meter_id), "coefficient": t.coefficient} for t in data.terms],
        description=data.description,
    )
    db.add(meter)
    await db.flush()
    await record(db, principal, "meter.virtual_created", "meter", meter.id, after=snapshot(meter))
    return meter


async def set_parent(db: AsyncSession, principal: Principal, meter_id: uuid.UUID, parent_id: uuid.UUID | None) -> Meter:
    """Move a meter in the hierarchy; refuses cycles."""
    principal.require("site:write")
    meter = await get_meter(db, principal, meter_id)
    if parent_id is not None:
        ancestor: uuid.UUID | None = parent_id
        while ancestor is not None:
            if ancestor == meter.id:
                raise HierarchyCycle("a meter cannot be below itself", field="parentId")
            parent_row = await db.get(Meter, ancestor)
            if parent_row is None or parent_row.installation_id != meter.installation_id:
                raise MeterNotFound("no such parent meter", field="parentId")
            ancestor = parent_row.parent_id
    before = snapshot(meter)
    meter.parent_id = parent_id
    await db.flush()
    await record(db, principal, "meter.moved", "meter", meter.id, before=before, after=snapshot(meter))
    return meter


async def devices_of(db: AsyncSession, meter_ids: list[uuid.UUID]) -> list[MeterDevice]:
    rows = await db.execute(
        select(MeterDevice).where(MeterDevice.meter_id.in_(meter_ids)).order_by(MeterDevice.installed_at)
    )
    return list(rows.scalars())


def service_periods(meter: Meter, devices: list[MeterDevice]) -> list[tuple[datetime | None, datetime | None]]:
    """When the meter measured: each device's installation to removal; None is an open end.

    A meter without a recorded device is taken as in service throughout (nothing says otherwise).
    """
    periods: list[tuple[datetime | None, datetime | None]] = (
        [(d.installed_at, d.removed_at) for d in devices] if devices else [(None, None)]
    )
    return periods


async def first_counter_readings(db: AsyncSession, meter_ids: list[uuid.UUID]) -> dict[uuid.UUID, datetime]:
    """Each meter's first counter reading with a value (where its data begins)."""
    if not meter_ids:
        return {}
    points = (
        select(DataPoint.id, DataPoint.meter_id)
        .where(DataPoint.meter_id.in_(meter_ids), DataPoint.quantity.in_(list(COUNTER_QUANTITIES)))
        .subquery()
    )
    # one index probe per data point on the reading key (data point, time) instead of a scan
    first = (
        select(CounterReading.ts)
        .where(CounterReading.data_point_id == points.c.id, CounterReading.value.is_not(None))
        .order_by(CounterReading.ts)
        .limit(1)
        .correlate(points)
        .scalar_subquery()
    )
    rows = await db.execute(select(points.c.meter_id, func.min(first)).group_by(points.c.meter_id))
    return {meter_id: ts for meter_id, ts in rows.all() if ts is not None}


async def data_points_of(db: AsyncSession, meter_ids: list[uuid.UUID]) -> list[DataPoint]:
    rows = await db.execute(select(DataPoint).where(DataPoint.meter_id.in_(meter_ids)).order_by(DataPoint.quantity))
    return list(rows.scalars())


async def replace_device(db: AsyncSession, principal: Principal, data: ReplacementData) -> MeterDevice:
    """Record a meter exchange: the old device's last reading, the new device's first reading and ratios."""
    principal.require("site:write")
    meter = await get_meter(db, principal, data.meter_id)
    current = [d for d in await devices_of(db, [meter.id]) if d.removed_at is None]
    errors = _device_errors(data.new_device, "newDevice")
    if not current:
        errors.append(FieldError("the meter has no installed device to replace", field="meterId"))
    elif data.removed_at <= current[-1].installed_at:
        errors.append(FieldError("must be after the current device was installed", field="removedAt"))
    if data.new_device.installed_at < data.removed_at:
        errors.append(FieldError("cannot be before the old device was removed", field="newDevice.installedAt"))
    if data.new_device.initial_reading is None:
        errors.append(FieldError("the new device's first counter reading is needed", field="newDevice.initialReading"))
    if not math.isfinite(data.final_reading):
        errors.append(FieldError("must be a number", field="finalReading"))
    if errors:
        raise ValidationFailed(errors)
    old = current[-1]
    if old.removed_at is not None:
        raise DeviceStillInstalled("the device was already removed")
    before = snapshot(old)
    old.removed_at = data.removed_at
    old.final_reading = data.final_reading
    new = MeterDevice(meter_id=meter.id, **dataclasses.asdict(data.new_device))
    db.add(new)
    await db.flush()
    await record(
        db,
        principal,
        "meter.device_replaced",
        "meter",
        meter.id,
        before=before,
        after={"old": snapshot(old), "new": snapshot(new)},
    )
    return new


@dataclass(frozen=True, slots=True)
class HierarchyNode:
    meter: Meter
    depth: int
    children: list[HierarchyNode]


def build_hierarchy(meters: list[Meter]) -> list[HierarchyNode]:
    """Meters as a forest: roots first, children ordered by code; virtual meters at the root."""
    by_parent: dict[uuid.UUID | None, list[Meter]] = {}
    for meter in meters:
        by_parent.setdefault(meter.parent_id, []).append(meter)

    def grow(meter: Meter, depth: int) -> HierarchyNode:
        return HierarchyNode(
            meter,
            depth,
            [grow(c, depth + 1) for c in sorted(by_parent.get(meter.id, []), key=lambda m: m.code)],
        )

    ids = {m.id for m in meters}
    roots = [m for m in meters if m.parent_id is None or m.parent_id not in ids]
    order = {
        MeterRole.MAIN: 0,
        MeterRole.GENERATION: 1,
        MeterRole.EXPORT: 2,
        MeterRole.CHECK: 3,
        MeterRole.SUB: 4,
    }
    return [grow(m, 0) for m in sorted(roots, key=lambda m: (m.is_virtual, order[m.role], m.code))]


def medium_of(value: str) -> Medium:
    return Medium(value)


async def list_connectors(db: AsyncSession, principal: Principal, installation_id: uuid.UUID) -> list[ConnectorAgent]:
    """What the installation's connector agents last reported; readers of the site model."""
    await get_installation(db, principal, installation_id)
    rows = await db.execute(
        select(ConnectorAgent)
        .where(ConnectorAgent.installation_id == installation_id)
        .order_by(ConnectorAgent.agent_id)
    )
    return list(rows.scalars())
