"""Use cases of the metering hierarchy: meters, devices, data points, virtual meters."""

from __future__ import annotations

import dataclasses
import enum
import math
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit.service import record, snapshot
from backend.db import utcnow
from backend.errors import FieldError, ValidationFailed
from backend.identity.principal import Principal
from backend.ingest.models import ConnectorAgent, CounterReading
from backend.installations.models import GridConnectionPoint, ProductionLine, ProductionProcess
from backend.installations.schemas import check_code, check_text, text_errors
from backend.installations.service import get_installation
from backend.metering.errors import DeviceStillInstalled, MeterCodeTaken, MeterNotFound, MeterRetired
from backend.metering.models import (
    COUNTER_QUANTITIES,
    DataPoint,
    Medium,
    Meter,
    MeterChange,
    MeterChangeKind,
    MeterDevice,
    MeterRole,
    Quantity,
)
from backend.metering.schemas import (
    KEEP,
    DeviceData,
    MeterData,
    MeterUpdate,
    ReplacementData,
    RetirementData,
    VirtualMeterData,
)
from backend.metering.units import DEFAULT_POINTS, is_allowed_unit

# clocks of people and plant PCs differ a little; a time a few minutes ahead is still "now"
FUTURE_TOLERANCE = timedelta(minutes=5)


async def get_meter(db: AsyncSession, principal: Principal, meter_id: uuid.UUID, *, field: str = "meterId") -> Meter:
    principal.require("site:read")
    meter = await db.get(Meter, meter_id)
    if meter is None or (principal.kind == "client" and principal.installation_id not in (None, meter.installation_id)):
        raise MeterNotFound("no such meter", field=field)
    return meter


async def meters_of(db: AsyncSession, installation_ids: list[uuid.UUID]) -> list[Meter]:
    rows = await db.execute(select(Meter).where(Meter.installation_id.in_(installation_ids)).order_by(Meter.code))
    return list(rows.scalars())


async def list_meters(db: AsyncSession, principal: Principal, installation_id: uuid.UUID) -> list[Meter]:
    await get_installation(db, principal, installation_id)
    return await meters_of(db, [installation_id])


MAX_TEXT = {"name": 200, "description": 10_000, "reason": 2_000}
# beyond any real meter: a counter register of 2^64 or a plant of a terawatt is a typing mistake
MAX_POWER_KW = 1e9
MAX_COUNTER = 1.9e19


def _finite_positive(value: float | None, *, field: str, limit: float) -> FieldError | None:
    if value is None:
        return None
    if not (math.isfinite(value) and 0 < value <= limit):
        return FieldError(f"a positive number up to {limit:g}", field=field)
    return None


def _device_errors(device: DeviceData, prefix: str) -> list[FieldError]:
    errors = text_errors(
        check_text(device.serial_number, field=f"{prefix}.serialNumber", max_length=64, required=True),
        check_text(device.manufacturer, field=f"{prefix}.manufacturer", max_length=120),
        check_text(device.model, field=f"{prefix}.model", max_length=120),
    )
    for name, value in (("ctRatio", device.ct_ratio), ("vtRatio", device.vt_ratio)):
        if not (math.isfinite(value) and 0 < value <= 1e6):
            errors.append(FieldError("a positive ratio up to 1000000", field=f"{prefix}.{name}"))
    if device.installed_at.tzinfo is None:
        errors.append(FieldError("must carry a time zone", field=f"{prefix}.installedAt"))
    elif device.installed_at > utcnow() + FUTURE_TOLERANCE:
        errors.append(FieldError("cannot be in the future", field=f"{prefix}.installedAt"))
    if device.initial_reading is not None and not (
        math.isfinite(device.initial_reading) and 0 <= device.initial_reading <= MAX_COUNTER
    ):
        errors.append(FieldError("a counter value from 0 to 1.9e19", field=f"{prefix}.initialReading"))
    return errors


def _point_errors(points: list[tuple[Quantity, str]], *, prefix: str, taken: set[Quantity]) -> list[FieldError]:
    errors: list[FieldError] = []
    seen = set(taken)
    for index, (quantity, unit) in enumerate(points):
        if quantity in seen:
            errors.append(FieldError("each quantity once per meter", field=f"{prefix}.{index}.quantity"))
        seen.add(quantity)
        if not is_allowed_unit(quantity, unit):
            shown = unit[:16].replace("\x00", "")
            errors.append(FieldError(f"'{shown}' is not a unit of {quantity.value}", field=f"{prefix}.{index}.unit"))
    return errors


async def _check_references(
    db: AsyncSession,
    *,
    installation_id: uuid.UUID,
    medium: Medium,
    parent_id: uuid.UUID | None,
    grid_connection_point_id: uuid.UUID | None,
    process_id: uuid.UUID | None,
    line_id: uuid.UUID | None,
    meter_id: uuid.UUID | None = None,
) -> list[FieldError]:
    """The meter's references exist in its installation; the parent measures the same medium,
    is physical, in service, and not the meter itself or below it."""
    errors: list[FieldError] = []
    checks = (
        ("parentId", Meter, parent_id),
        ("gridConnectionPointId", GridConnectionPoint, grid_connection_point_id),
        ("processId", ProductionProcess, process_id),
        ("lineId", ProductionLine, line_id),
    )
    for field, model, ref in checks:
        if ref is None:
            continue
        row = await db.get(model, ref)
        if row is None or row.installation_id != installation_id:
            errors.append(FieldError("not found in this installation", field=field))
    if line_id is not None and process_id is not None:
        line = await db.get(ProductionLine, line_id)
        if line is not None and line.process_id != process_id:
            errors.append(FieldError("the line belongs to another process", field="lineId"))
    if parent_id is not None:
        parent = await db.get(Meter, parent_id)
        if parent is not None and parent.installation_id == installation_id:
            if parent.medium != medium:
                errors.append(FieldError("a sub-meter must measure the same medium as its parent", field="parentId"))
            if parent.is_virtual:
                errors.append(FieldError("a virtual meter cannot be a parent", field="parentId"))
            if parent.retired_at is not None:
                errors.append(FieldError("the parent meter is retired", field="parentId"))
            if meter_id is not None and await _is_below(db, parent, meter_id):
                errors.append(
                    FieldError("a meter cannot be below itself (the hierarchy would have a cycle)", field="parentId")
                )
    return errors


async def _is_below(db: AsyncSession, meter: Meter, ancestor_id: uuid.UUID) -> bool:
    """``meter`` is ``ancestor_id`` or lies below it."""
    seen: set[uuid.UUID] = set()
    current: Meter | None = meter
    while current is not None and current.id not in seen:
        if current.id == ancestor_id:
            return True
        seen.add(current.id)
        current = await db.get(Meter, current.parent_id) if current.parent_id else None
    return current is not None  # a loop already in the data: treat as a cycle


async def _new_meter_errors(
    db: AsyncSession, principal: Principal, data: MeterData | VirtualMeterData, *checks: FieldError | None
) -> list[FieldError]:
    """What every new meter must pass: a writer, an installation they see, a code, a name and a description
    its columns can hold; plus the kind's own ``checks``."""
    principal.require("site:write")
    await get_installation(db, principal, data.installation_id)
    return text_errors(
        check_code(data.code),
        check_text(data.name, field="name", max_length=MAX_TEXT["name"], required=True),
        check_text(data.description, field="description", max_length=MAX_TEXT["description"]),
        *checks,
    )


async def _add_meter(
    db: AsyncSession, data: MeterData | VirtualMeterData, errors: list[FieldError], **columns: Any
) -> Meter:
    """Store a new meter once its checks passed and its code is free in the installation."""
    if errors:
        raise ValidationFailed(errors)
    await _unique_meter_code(db, data.installation_id, data.code)
    meter = Meter(
        installation_id=data.installation_id,
        code=data.code,
        medium=data.medium,
        description=data.description,
        **columns,
    )
    db.add(meter)
    await db.flush()
    return meter


async def create_meter(db: AsyncSession, principal: Principal, data: MeterData) -> Meter:
    """Add a physical meter with its first device and data points; members and up."""
    errors = await _new_meter_errors(
        db,
        principal,
        data,
        _finite_positive(data.max_power_kw, field="maxPowerKw", limit=MAX_POWER_KW),
        _finite_positive(data.counter_wrap_value, field="counterWrapValue", limit=MAX_COUNTER),
    )
    if data.device is not None:
        errors += _device_errors(data.device, "device")
    point_specs = (
        [(p.quantity, p.unit) for p in data.data_points] if data.data_points else list(DEFAULT_POINTS[data.medium])
    )
    errors += _point_errors(point_specs, prefix="dataPoints", taken=set())
    errors += await _check_references(
        db,
        installation_id=data.installation_id,
        medium=data.medium,
        parent_id=data.parent_id,
        grid_connection_point_id=data.grid_connection_point_id,
        process_id=data.process_id,
        line_id=data.line_id,
    )
    meter = await _add_meter(
        db,
        data,
        errors,
        name=data.name.strip(),
        role=data.role,
        parent_id=data.parent_id,
        grid_connection_point_id=data.grid_connection_point_id,
        process_id=data.process_id,
        line_id=data.line_id,
        max_power_kw=data.max_power_kw,
        counter_wrap_value=data.counter_wrap_value,
    )
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


async def _unique_meter_code(db: AsyncSession, installation_id: uuid.UUID, code: str) -> None:
    taken = await db.execute(select(Meter.id).where(Meter.installation_id == installation_id, Meter.code == code))
    if taken.first() is not None:
        raise MeterCodeTaken(f"the meter code '{code}' is already used", field="code")


async def create_virtual_meter(db: AsyncSession, principal: Principal, data: VirtualMeterData) -> Meter:
    """A meter computed from others, e.g. main minus the sum of its sub-meters = unmetered + losses."""
    errors = await _new_meter_errors(db, principal, data)
    if not data.terms:
        errors.append(FieldError("name at least one meter", field="terms"))
    if len(data.terms) > 200:
        errors.append(FieldError("at most 200 terms", field="terms"))
    for index, term in enumerate(data.terms[:200]):
        meter = await db.get(Meter, term.meter_id)
        if meter is None or meter.installation_id != data.installation_id:
            errors.append(FieldError("not found in this installation", field=f"terms.{index}.meterId"))
        elif meter.medium != data.medium:
            errors.append(FieldError("all terms must measure the same medium", field=f"terms.{index}.meterId"))
        if not math.isfinite(term.coefficient) or term.coefficient == 0 or abs(term.coefficient) > 1e6:
            errors.append(FieldError("a non-zero number up to 1000000", field=f"terms.{index}.coefficient"))
    meter = await _add_meter(
        db,
        data,
        errors,
        name=data.name,
        role=MeterRole.SUB,
        is_virtual=True,
        formula=[{"meter_id": str(t.meter_id), "coefficient": t.coefficient} for t in data.terms],
    )
    await record(db, principal, "meter.virtual_created", "meter", meter.id, after=snapshot(meter))
    return meter


def _jsonable(value: object) -> object:
    """A snapshot value as JSON for the meter's history."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


async def _keep_history(
    db: AsyncSession,
    principal: Principal,
    meter: Meter,
    kind: MeterChangeKind,
    *,
    before: dict[str, object],
    after: dict[str, object],
    effective_at: datetime,
    reason: str,
) -> MeterChange:
    """Store the change in the meter's history and append it to the audit trail, in one transaction."""
    changed = {k for k in after if before.get(k) != after.get(k)}
    change = MeterChange(
        meter_id=meter.id,
        kind=kind,
        effective_at=effective_at,
        before=_jsonable({k: before.get(k) for k in sorted(changed)}),
        after=_jsonable({k: after.get(k) for k in sorted(changed)}),
        reason=reason,
        changed_by=principal.label,
    )
    db.add(change)
    await db.flush()
    await record(
        db,
        principal,
        f"meter.{kind.value}",
        "meter",
        meter.id,
        before=change.before,
        after=change.after,
        details={"change_id": str(change.id), "effective_at": effective_at.isoformat()},
        note=reason or None,
    )
    return change


async def _changeable_meter(db: AsyncSession, principal: Principal, meter_id: uuid.UUID) -> Meter:
    principal.require("site:write")
    meter = await get_meter(db, principal, meter_id, field="id")
    # a bound client may only change its own installation; get_installation says so
    await get_installation(db, principal, meter.installation_id)
    if meter.retired_at is not None:
        raise MeterRetired("the meter is retired; its description is kept as it was", field="id")
    return meter


async def update_meter(db: AsyncSession, principal: Principal, data: MeterUpdate) -> Meter:
    """Correct a meter's name, place in the hierarchy, what it serves, thresholds, or add data points.

    Every change is kept in the meter's history with before and after, and audited. Code and medium
    stay: agents and stored readings name the meter by them.
    """
    meter = await _changeable_meter(db, principal, data.meter_id)

    def given(value: object, current: object) -> object:
        return current if value is KEEP else value

    name = given(data.name, meter.name)
    description = given(data.description, meter.description)
    role = given(data.role, meter.role)
    parent_id = given(data.parent_id, meter.parent_id)
    point_id = given(data.grid_connection_point_id, meter.grid_connection_point_id)
    process_id = given(data.process_id, meter.process_id)
    line_id = given(data.line_id, meter.line_id)
    max_power = given(data.max_power_kw, meter.max_power_kw)
    wrap = given(data.counter_wrap_value, meter.counter_wrap_value)
    assert isinstance(name, str) and isinstance(description, str) and isinstance(role, MeterRole)
    errors = text_errors(
        check_text(name, field="name", max_length=MAX_TEXT["name"], required=True),
        check_text(description, field="description", max_length=MAX_TEXT["description"]),
        check_text(data.reason, field="reason", max_length=MAX_TEXT["reason"]),
        _finite_positive(max_power, field="maxPowerKw", limit=MAX_POWER_KW),  # type: ignore[arg-type]
        _finite_positive(wrap, field="counterWrapValue", limit=MAX_COUNTER),  # type: ignore[arg-type]
    )
    if meter.is_virtual and (data.role is not KEEP or data.parent_id is not KEEP or data.add_data_points):
        errors.append(FieldError("a virtual meter has no role, parent or data points of its own", field="id"))
    existing = {p.quantity for p in await data_points_of(db, [meter.id])}
    points = [(p.quantity, p.unit) for p in data.add_data_points]
    errors += _point_errors(points, prefix="addDataPoints", taken=existing)
    errors += await _check_references(
        db,
        installation_id=meter.installation_id,
        medium=meter.medium,
        parent_id=parent_id if data.parent_id is not KEEP else None,  # type: ignore[arg-type]
        grid_connection_point_id=point_id if data.grid_connection_point_id is not KEEP else None,  # type: ignore[arg-type]
        process_id=process_id if data.process_id is not KEEP or data.line_id is not KEEP else None,  # type: ignore[arg-type]
        line_id=line_id if data.process_id is not KEEP or data.line_id is not KEEP else None,  # type: ignore[arg-type]
        meter_id=meter.id,
    )
    if errors:
        raise ValidationFailed(errors)
    before = snapshot(meter)
    meter.name, meter.description, meter.role = name.strip(), description, role
    meter.parent_id, meter.grid_connection_point_id = parent_id, point_id  # type: ignore[assignment]
    meter.process_id, meter.line_id = process_id, line_id  # type: ignore[assignment]
    meter.max_power_kw, meter.counter_wrap_value = max_power, wrap  # type: ignore[assignment]
    await db.flush()
    now = utcnow()
    after = snapshot(meter)
    if any(before[k] != after[k] for k in after):
        await _keep_history(
            db,
            principal,
            meter,
            MeterChangeKind.UPDATED,
            before=before,
            after=after,
            effective_at=now,
            reason=data.reason,
        )
    if points:
        for quantity, unit in points:
            db.add(DataPoint(meter_id=meter.id, quantity=quantity, unit=unit))
        await db.flush()
        added = [[q.value, u] for q, u in points]
        await _keep_history(
            db,
            principal,
            meter,
            MeterChangeKind.DATA_POINTS_ADDED,
            before={"data_points": sorted([q.value for q in existing])},
            after={"data_points": sorted([q.value for q in existing]) + added},
            effective_at=now,
            reason=data.reason,
        )
    return meter


async def retire_meter(db: AsyncSession, principal: Principal, data: RetirementData) -> Meter:
    """Take a meter out of service from a time on: its device is removed, its history stays.

    From ``retired_at`` on the meter leaves the balance and the gaps report; readings and intervals
    from before stay as they were. Sub-meters in service must be moved or retired first.
    """
    meter = await _changeable_meter(db, principal, data.meter_id)
    errors = text_errors(check_text(data.reason, field="reason", max_length=MAX_TEXT["reason"]))
    devices = await devices_of(db, [meter.id])
    current = [d for d in devices if d.removed_at is None]
    if data.retired_at.tzinfo is None:
        errors.append(FieldError("must carry a UTC offset", field="retiredAt"))
    else:
        if data.retired_at > utcnow() + FUTURE_TOLERANCE:
            errors.append(FieldError("cannot be in the future", field="retiredAt"))
        if current and data.retired_at <= current[-1].installed_at:
            errors.append(FieldError("must be after its device was installed", field="retiredAt"))
        elif devices and not current and data.retired_at < max(d.removed_at for d in devices if d.removed_at):
            errors.append(FieldError("must be after its last device was removed", field="retiredAt"))
    if data.final_reading is not None and not (
        math.isfinite(data.final_reading) and 0 <= data.final_reading <= MAX_COUNTER
    ):
        errors.append(FieldError("a counter value from 0 to 1.9e19", field="finalReading"))
    children = await db.execute(select(Meter.code).where(Meter.parent_id == meter.id, Meter.retired_at.is_(None)))
    in_service = [c for (c,) in children.all()]
    if in_service:
        errors.append(
            FieldError(f"move or retire its sub-meters first: {', '.join(sorted(in_service)[:10])}", field="id")
        )
    if errors:
        raise ValidationFailed(errors)
    before = {**snapshot(meter), "device": snapshot(current[-1]) if current else None}
    meter.retired_at = data.retired_at
    if current:
        current[-1].removed_at = data.retired_at
        current[-1].final_reading = data.final_reading
    await db.flush()
    after = {**snapshot(meter), "device": snapshot(current[-1]) if current else None}
    await _keep_history(
        db,
        principal,
        meter,
        MeterChangeKind.RETIRED,
        before=before,
        after=after,
        effective_at=data.retired_at,
        reason=data.reason,
    )
    return meter


async def history_of(db: AsyncSession, meter_ids: list[uuid.UUID]) -> list[MeterChange]:
    rows = await db.execute(
        select(MeterChange).where(MeterChange.meter_id.in_(meter_ids)).order_by(MeterChange.created_at, MeterChange.id)
    )
    return list(rows.scalars())


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
    if meter.retired_at is None:
        return periods
    retired = meter.retired_at
    return [
        (begin, retired if end is None or end > retired else end)
        for begin, end in periods
        if begin is None or begin < retired
    ]


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
