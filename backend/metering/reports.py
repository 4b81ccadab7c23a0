"""Reports over stored interval data: series for charts, the meter balance, the gaps list.

Every figure names the method it came from (``METHODOLOGY_VERSION``) and how many of its intervals
were measured, estimated, edited or missing, so a reader can weigh it.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import numpy as np
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit.service import record
from backend.db import utcnow
from backend.described import doc
from backend.errors import FieldError, ValidationFailed
from backend.identity.principal import Principal
from backend.installations.models import Installation
from backend.installations.service import get_installation
from backend.metering.arrays import IntervalMatrix, as_datetime, day_of
from backend.metering.models import IntervalEdit, Meter, MeterDevice, MeterRole
from backend.metering.repository import load_interval_matrix, store_days
from backend.metering.service import devices_of, first_counter_readings, get_meter, service_periods
from backend.offload import off_loop
from workers.engine import (
    METHODOLOGY_VERSION,
    BalanceRole,
    IntervalFlag,
    IntervalStatus,
    find_gaps,
    meter_balance,
)

MAX_REPORT_DAYS = 400
# the sign each role of the site model carries in its parent's balance
BALANCE_ROLES = {
    MeterRole.MAIN: BalanceRole.MAIN,
    MeterRole.SUB: BalanceRole.SUB,
    MeterRole.CHECK: BalanceRole.SUB,
    MeterRole.GENERATION: BalanceRole.GENERATION,
    MeterRole.EXPORT: BalanceRole.EXPORT,
}


def period_days(start: datetime, end: datetime) -> tuple[date, date]:
    """UTC days covering [start, end); refuses empty, reversed or over-long periods."""
    errors = []
    if start.tzinfo is None or end.tzinfo is None:
        errors.append(FieldError("times must carry a UTC offset", field="start"))
    elif end <= start:
        errors.append(FieldError("must be after start", field="end"))
    elif (end - start).days > MAX_REPORT_DAYS:
        errors.append(FieldError(f"at most {MAX_REPORT_DAYS} days at once", field="end"))
    if errors:
        raise ValidationFailed(errors)
    first = day_of(int(start.timestamp()))
    last = day_of(int(end.timestamp()) - 1)
    return first, last + timedelta(days=1)


def status_counts(status: np.ndarray) -> dict[str, int]:
    return {s.name.lower(): int((status == s).sum()) for s in IntervalStatus}


def flag_names(flags: np.ndarray) -> list[list[IntervalFlag]]:
    """Each interval's flag bits as the flags they stand for, lowest bit first."""
    names: dict[int, list[IntervalFlag]] = {}
    return [names.setdefault(int(f), list(IntervalFlag(int(f)))) for f in flags]


@dataclass(frozen=True, slots=True)
class Series:
    meter: Meter
    start: datetime
    resolution_s: int
    energy_kwh: list[float | None]
    status: list[str]
    flags: list[int]
    flag_names: list[list[IntervalFlag]]
    counts: dict[str, int]


async def interval_series(
    db: AsyncSession, principal: Principal, meter_id: uuid.UUID, *, start: datetime, end: datetime
) -> Series:
    """One meter's intervals in [start, end), with status and flags."""
    principal.require("interval:read")
    meter = await get_meter(db, principal, meter_id)
    installation = await db.get(Installation, meter.installation_id)
    assert installation is not None
    first, end_day = period_days(start, end)
    res = installation.interval_resolution_s
    matrix = await load_interval_matrix(db, [meter.id], start_day=first, end_day=end_day, resolution_s=res)
    lo = max(0, (int(start.timestamp()) - matrix.grid_start_s) // res)
    hi = min(matrix.n_intervals, -(-(int(end.timestamp()) - matrix.grid_start_s) // res))
    energy, status, flags = matrix.energy_kwh[0, lo:hi], matrix.status[0, lo:hi], matrix.flags[0, lo:hi]
    return Series(
        meter=meter,
        start=as_datetime(matrix.grid_start_s + lo * res),
        resolution_s=res,
        energy_kwh=[None if np.isnan(v) else float(v) for v in energy],
        status=[IntervalStatus(int(s)).name for s in status],
        flags=[int(f) for f in flags],
        flag_names=flag_names(flags),
        counts=status_counts(status),
    )


async def _physical_window(
    db: AsyncSession,
    installation: Installation,
    first: date,
    end_day: date,
    start: datetime,
    end: datetime,
    *,
    round_up: bool,
) -> tuple[list[Meter], IntervalMatrix, int, int]:
    """The installation's physical meters, their stored intervals, and the columns of [start, end)."""
    rows = await db.execute(select(Meter).where(Meter.installation_id == installation.id).order_by(Meter.code))
    meters = [m for m in rows.scalars() if not m.is_virtual]
    res = installation.interval_resolution_s
    matrix = await load_interval_matrix(db, [m.id for m in meters], start_day=first, end_day=end_day, resolution_s=res)
    lo = max(0, (int(start.timestamp()) - matrix.grid_start_s) // res)
    end_offset = int(end.timestamp()) - matrix.grid_start_s
    hi = min(matrix.n_intervals, -(-end_offset // res) if round_up else end_offset // res)
    return meters, matrix, lo, hi


class BalanceStatus(enum.StrEnum):
    """What a balance line says about its period."""

    WITHIN_TOLERANCE = "within_tolerance"
    OUT_OF_TOLERANCE = "out_of_tolerance"
    # no interval had the parent, a child in service and every input measured: no verdict
    NOTHING_COMPARED = "nothing_compared"


@dataclass(frozen=True, slots=True)
class BalanceLine:
    parent: Meter = field(metadata=doc("The parent meter."))
    children: list[Meter] = field(
        metadata=doc("Its direct children in service during the period (each counts only while in service).")
    )
    status: BalanceStatus = field(metadata=doc("Within or out of tolerance, or nothing compared (no verdict)."))
    parent_kwh: float = field(metadata=doc("Parent energy over the compared and estimate-affected intervals [kWh]."))
    children_kwh: float = field(metadata=doc("Children's signed sum [kWh] (generation counts negative)."))
    residual_kwh: float = field(metadata=doc("Parent minus children: unmetered use and losses [kWh]."))
    residual_share: float | None = field(metadata=doc("Residual / parent [-]; null when the parent measured nothing."))
    within_tolerance: bool | None = field(
        metadata=doc("Period residual share inside the tolerance; null when nothing compared.")
    )
    intervals_compared: int = field(
        metadata=doc("Intervals with the parent and at least one child in service and every input measured or edited.")
    )
    intervals_out_of_tolerance: int = field(metadata=doc("Compared intervals outside the tolerance."))
    intervals_estimate_affected: int = field(metadata=doc("Intervals with an estimated or missing input."))


@dataclass(frozen=True, slots=True)
class BalanceReport:
    installation: Installation = field(metadata=doc("The installation."))
    start: datetime = field(metadata=doc("Period start (inclusive)."))
    end: datetime = field(metadata=doc("Period end (exclusive)."))
    tolerance: float = field(metadata=doc("Allowed residual share [-]."))
    lines: list[BalanceLine] = field(metadata=doc("One line per parent meter."))
    methodology_version: str = field(metadata=doc("Method of the balance check."))


def in_service_mask(
    meters: list[Meter], devices: list[MeterDevice], *, grid_start_s: int, resolution_s: int, n: int
) -> np.ndarray:
    """(n_meters, n) bool: the meter was in service for at least part of each interval."""
    by_meter: dict[uuid.UUID, list[MeterDevice]] = {}
    for device in devices:
        by_meter.setdefault(device.meter_id, []).append(device)
    starts = grid_start_s + np.arange(n, dtype=np.int64) * resolution_s
    mask = np.zeros((len(meters), n), dtype=np.bool_)
    for row, meter in enumerate(meters):
        for begin, end in service_periods(meter, by_meter.get(meter.id, [])):
            lo = -np.inf if begin is None else begin.timestamp()
            hi = np.inf if end is None else end.timestamp()
            mask[row] |= (starts + resolution_s > lo) & (starts < hi)
    return mask


async def balance_report(
    db: AsyncSession,
    principal: Principal,
    installation_id: uuid.UUID,
    *,
    start: datetime,
    end: datetime,
    tolerance: float | None = None,
) -> BalanceReport:
    """Each parent meter against the sum of its direct children, per interval and for the period.

    A meter counts only while it was in service (its devices' installation to removal, until it
    was retired): a sub-meter added today leaves last month's balance as it was.
    """
    principal.require("interval:read")
    installation = await get_installation(db, principal, installation_id)
    first, end_day = period_days(start, end)
    tol = installation.balance_tolerance if tolerance is None else tolerance
    if not 0 < tol < 1:
        raise ValidationFailed([FieldError("a fraction between 0 and 1", field="tolerance")])
    meters, matrix, lo, hi = await _physical_window(db, installation, first, end_day, start, end, round_up=True)
    res = installation.interval_resolution_s
    serving = in_service_mask(
        meters,
        await devices_of(db, [m.id for m in meters]),
        grid_start_s=matrix.grid_start_s + lo * res,
        resolution_s=res,
        n=max(hi - lo, 0),
    )
    index = {m.id: i for i, m in enumerate(meters)}
    parent = np.array([index.get(m.parent_id, -1) if m.parent_id else -1 for m in meters], dtype=np.int64)
    role = np.array([BALANCE_ROLES[m.role] for m in meters], dtype=np.int64)
    result = await off_loop(
        meter_balance,
        np.ascontiguousarray(matrix.energy_kwh[:, lo:hi]),
        np.ascontiguousarray(matrix.status[:, lo:hi]),
        parent=parent,
        role=role,
        tolerance=tol,
        in_service=serving,
    )
    lines = []
    for p, meter_index in enumerate(result.parent_index):
        share = float(result.residual_share_total[p])
        compared = int(result.n_compared[p])
        out = bool(result.period_out_of_tolerance[p])
        status = (
            BalanceStatus.NOTHING_COMPARED
            if compared == 0
            else BalanceStatus.OUT_OF_TOLERANCE
            if out
            else BalanceStatus.WITHIN_TOLERANCE
        )
        lines.append(
            BalanceLine(
                parent=meters[int(meter_index)],
                children=[
                    m for i, m in enumerate(meters) if m.parent_id == meters[int(meter_index)].id and serving[i].any()
                ],
                status=status,
                parent_kwh=float(result.parent_total_kwh[p]),
                children_kwh=float(result.parent_total_kwh[p] - result.residual_total_kwh[p]),
                residual_kwh=float(result.residual_total_kwh[p]),
                residual_share=None if np.isnan(share) else share,
                within_tolerance=None if compared == 0 else not out,
                intervals_compared=compared,
                intervals_out_of_tolerance=int(result.out_of_tolerance[p].sum()),
                intervals_estimate_affected=int(result.n_estimate_affected[p]),
            )
        )
    return BalanceReport(installation, start, end, tol, lines, METHODOLOGY_VERSION)


@dataclass(frozen=True, slots=True)
class Gap:
    meter: Meter
    start: datetime
    end: datetime
    intervals: int


@dataclass(frozen=True, slots=True)
class GapsReport:
    gaps: list[Gap]
    counts_by_meter_code: dict[str, dict[str, int]]


async def gaps_report(
    db: AsyncSession, principal: Principal, installation_id: uuid.UUID, *, start: datetime, end: datetime
) -> GapsReport:
    """Runs of missing intervals per meter, up to now (intervals not yet due are not gaps)."""
    principal.require("interval:read")
    installation = await get_installation(db, principal, installation_id)
    end = min(end, utcnow())
    first, end_day = period_days(start, end)
    meters, matrix, lo, hi = await _physical_window(db, installation, first, end_day, start, end, round_up=False)
    res = installation.interval_resolution_s
    first_readings = await first_counter_readings(db, [m.id for m in meters])
    gaps, counts = [], {}
    for row, meter in enumerate(meters):
        # before a meter's first counter reading there is no data yet, not a gap: the first interval
        # that can be measured is the one starting at or after that reading
        first_at = first_readings.get(meter.id)
        first = None if first_at is None else -(-(int(first_at.timestamp()) - matrix.grid_start_s) // res)
        # and after its retirement a meter measures nothing: not a gap either
        until = hi
        if meter.retired_at is not None:
            until = min(hi, -(-(int(meter.retired_at.timestamp()) - matrix.grid_start_s) // res))
        if first is None or first >= until:
            counts[meter.code] = status_counts(np.zeros(0, dtype=np.uint8))
            continue
        begin = max(lo, first)
        status = np.ascontiguousarray(matrix.status[row, begin:until])
        counts[meter.code] = status_counts(status)
        # the gap finder works on whole UTC days: start at the day of ``begin``, the part before it
        # marked as measured so that it never reads as a gap
        aligned = begin - begin % (86_400 // res)
        search = matrix.status[row, aligned:until].copy()
        search[: begin - aligned] = IntervalStatus.MEASURED
        found = find_gaps(search, resolution_s=res, grid_start_s=matrix.grid_start_s + aligned * res)
        gaps += [
            Gap(meter, as_datetime(int(s)), as_datetime(int(e)), int(n))
            for s, e, n in zip(found.start_s, found.end_s, found.length_intervals, strict=True)
        ]
    gaps.sort(key=lambda g: (g.start, g.meter.code))
    return GapsReport(gaps, counts)


async def edit_interval(
    db: AsyncSession,
    principal: Principal,
    meter_id: uuid.UUID,
    *,
    interval_start: datetime,
    value_kwh: float,
    reason: str,
) -> IntervalEdit:
    """Set one interval's value with a reason; kept across re-derivations, audited, marked EDITED."""
    principal.require("interval:write")
    meter = await get_meter(db, principal, meter_id)
    installation = await db.get(Installation, meter.installation_id)
    assert installation is not None
    res = installation.interval_resolution_s
    errors = []
    if interval_start.tzinfo is None or int(interval_start.timestamp()) % res:
        errors.append(
            FieldError(f"must be the start of a {res // 60}-minute interval, with UTC offset", field="intervalStart")
        )
    if not np.isfinite(value_kwh) or value_kwh < 0:
        errors.append(FieldError("a finite, non-negative energy [kWh]", field="valueKwh"))
    if len(reason.strip()) < 5:
        errors.append(FieldError("say why (at least 5 characters)", field="reason"))
    if meter.is_virtual:
        errors.append(FieldError("virtual meters are computed; edit their inputs", field="meterId"))
    if errors:
        raise ValidationFailed(errors)
    day = day_of(int(interval_start.timestamp()))
    matrix = await load_interval_matrix(
        db, [meter.id], start_day=day, end_day=day + timedelta(days=1), resolution_s=res
    )
    slot = (int(interval_start.timestamp()) - matrix.grid_start_s) // res
    previous = float(matrix.energy_kwh[0, slot])
    edit = (
        await db.execute(
            select(IntervalEdit).where(IntervalEdit.meter_id == meter.id, IntervalEdit.interval_start == interval_start)
        )
    ).scalar_one_or_none()
    if edit is None:
        edit = IntervalEdit(
            meter_id=meter.id,
            interval_start=interval_start,
            value=value_kwh,
            previous_value=None if np.isnan(previous) else previous,
            reason=reason.strip(),
            edited_by=principal.label,
        )
        db.add(edit)
    else:
        edit.value, edit.reason, edit.edited_by = value_kwh, reason.strip(), principal.label
    energy, status = matrix.energy_kwh[0].copy(), matrix.status[0].copy()
    energy[slot], status[slot] = value_kwh, IntervalStatus.EDITED
    await store_days(
        db,
        meter.id,
        grid_start_s=matrix.grid_start_s,
        resolution_s=res,
        energy_kwh=energy,
        status=status,
        flags=matrix.flags[0],
        unit="kWh",
        methodology_version=METHODOLOGY_VERSION,
        inputs_digest="edited",
    )
    await db.flush()
    await record(
        db,
        principal,
        "interval.edited",
        "meter",
        meter.id,
        before={"interval_start": interval_start, "value_kwh": None if np.isnan(previous) else previous},
        after={"interval_start": interval_start, "value_kwh": value_kwh},
        note=reason.strip(),
    )
    return edit


async def interval_matrix(
    db: AsyncSession,
    principal: Principal,
    meter_ids: list[uuid.UUID],
    *,
    start_day: date,
    end_day: date,
    resolution_s: int,
) -> IntervalMatrix:
    """Stored intervals of the tenant's meters for the UTC days [start_day, end_day), in one query.

    For calculations, which read every meter of an installation over a period at once; days never
    derived are MISSING. The caller has checked that the meters belong to the installation it reads.
    """
    principal.require("interval:read")
    return await load_interval_matrix(db, meter_ids, start_day=start_day, end_day=end_day, resolution_s=resolution_s)
