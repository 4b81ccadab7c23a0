"""Live values: the latest reading and a recent series per data point, and whether they agree.

Counter energy becomes interval data; power, voltage, power factor and the like are kept as the
agent sent them and read here as they are. The plausibility check compares each counter with the
power the same meter reports (see ``workers.engine.plausibility``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import select, true
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db import utcnow
from backend.described import doc
from backend.errors import FieldError, ValidationFailed
from backend.identity.principal import Principal
from backend.ingest.models import CounterReading, ReadingQuality
from backend.metering.models import COUNTER_QUANTITIES, DataPoint, Meter, Quantity
from backend.metering.service import data_points_of, get_meter
from backend.metering.units import BASE_UNIT_FACTOR
from workers.engine.plausibility import Implausibility, counter_against_power

MAX_WINDOW_S = 7 * 86_400
MAX_SERIES = 2_000
# counters checked against the power of the same meter, each in kWh / kW (or kvarh / kvar)
PAIRS = (
    (Quantity.ACTIVE_ENERGY_IMPORT, Quantity.ACTIVE_POWER),
    (Quantity.REACTIVE_ENERGY_IMPORT, Quantity.REACTIVE_POWER),
)
POWER_TO_KW = {"W": 0.001, "kW": 1.0, "MW": 1000.0, "var": 0.001, "kvar": 1.0, "Mvar": 1000.0}
# below this share of the meter's maximum power (or 0.5 kW without one) a meter is idle
IDLE_SHARE = 0.01
IDLE_KW = 0.5


@dataclass(frozen=True, slots=True)
class LiveReading:
    ts: datetime = field(metadata=doc("When the meter was read (UTC)."))
    value: float | None = field(metadata=doc("The value in the data point's unit; null when the meter gave none."))
    quality: ReadingQuality = field(metadata=doc("As the agent reported it."))


@dataclass(frozen=True, slots=True)
class LivePoint:
    quantity: Quantity = field(metadata=doc("The quantity."))
    unit: str = field(metadata=doc("Its unit."))
    cumulative: bool = field(metadata=doc("A counter (energy, volume); otherwise an instantaneous value."))
    latest: LiveReading | None = field(metadata=doc("The latest reading, however old; null when none yet."))
    series: list[LiveReading] = field(metadata=doc("Readings in the window, oldest first, at most `limit`."))
    truncated: bool = field(metadata=doc("The window held more readings than `limit`: the oldest were left out."))


@dataclass(frozen=True, slots=True)
class LiveFinding:
    kind: Implausibility = field(metadata=doc("What does not fit."))
    quantities: list[Quantity] = field(metadata=doc("The data points that disagree (counter, power)."))
    since: datetime = field(metadata=doc("Start of the stretch compared."))
    until: datetime = field(metadata=doc("End of the stretch compared."))
    reason: str = field(metadata=doc("What was seen, with the numbers."))


@dataclass(frozen=True, slots=True)
class LiveValues:
    meter: Meter = field(metadata=doc("The meter."))
    since: datetime = field(metadata=doc("Start of the window."))
    until: datetime = field(metadata=doc("End of the window (now)."))
    power_threshold_kw: float = field(metadata=doc("Below this mean power the meter counts as idle [kW]."))
    points: list[LivePoint] = field(metadata=doc("One entry per data point, ordered by quantity."))
    implausible: list[LiveFinding] = field(metadata=doc("Pairs of values that contradict each other; empty when fine."))


def _reading(row: Any) -> LiveReading:
    return LiveReading(ts=row.ts, value=row.value, quality=ReadingQuality(row.quality))


async def live_values(
    db: AsyncSession,
    principal: Principal,
    meter_id: uuid.UUID,
    *,
    window_s: int = 3_600,
    limit: int = 360,
    power_threshold_kw: float | None = None,
) -> LiveValues:
    """Latest value and the last ``window_s`` seconds of each data point, with plausibility findings."""
    principal.require("interval:read")
    meter = await get_meter(db, principal, meter_id)
    errors = []
    if not 60 <= window_s <= MAX_WINDOW_S:
        errors.append(FieldError(f"from 60 to {MAX_WINDOW_S} seconds", field="windowSeconds"))
    if not 1 <= limit <= MAX_SERIES:
        errors.append(FieldError(f"from 1 to {MAX_SERIES}", field="limit"))
    if power_threshold_kw is not None and not (np.isfinite(power_threshold_kw) and 0 < power_threshold_kw <= 1e9):
        errors.append(FieldError("a positive power [kW]", field="powerThresholdKw"))
    if errors:
        raise ValidationFailed(errors)
    threshold = power_threshold_kw or max(IDLE_KW, IDLE_SHARE * (meter.max_power_kw or 0.0))
    until = utcnow()
    since = until - timedelta(seconds=window_s)
    points = await data_points_of(db, [meter.id])
    series = await _recent(db, points, since=since, limit=limit + 1)
    latest = await _latest(db, points)
    live = [
        LivePoint(
            quantity=p.quantity,
            unit=p.unit,
            cumulative=p.quantity in COUNTER_QUANTITIES,
            latest=_reading(latest[p.id]) if p.id in latest else None,
            series=[_reading(r) for r in series.get(p.id, [])[-limit:]],
            truncated=len(series.get(p.id, [])) > limit,
        )
        for p in points
    ]
    by_quantity = {p.quantity: p for p in points}
    findings: list[LiveFinding] = []
    for counter_q, power_q in PAIRS:
        counter, power = by_quantity.get(counter_q), by_quantity.get(power_q)
        if counter is None or power is None:
            continue
        c_rows, p_rows = series.get(counter.id, []), series.get(power.id, [])
        to_kwh = BASE_UNIT_FACTOR.get(counter.unit, 1.0)
        to_kw = POWER_TO_KW.get(power.unit, 1.0)
        found = counter_against_power(
            np.array([int(r.ts.timestamp()) for r in c_rows], dtype=np.int64),
            np.array([np.nan if r.value is None else r.value * to_kwh for r in c_rows], dtype=np.float64),
            np.array([int(r.ts.timestamp()) for r in p_rows], dtype=np.int64),
            np.array([np.nan if r.value is None else r.value * to_kw for r in p_rows], dtype=np.float64),
            threshold_kw=threshold,
            wrap_kwh=meter.counter_wrap_value * to_kwh if meter.counter_wrap_value else None,
        )
        findings += [
            LiveFinding(
                kind=f.kind,
                quantities=[counter_q, power_q],
                since=datetime.fromtimestamp(f.since_s, tz=until.tzinfo),
                until=datetime.fromtimestamp(f.until_s, tz=until.tzinfo),
                reason=f.reason,
            )
            for f in found
        ]
    return LiveValues(meter, since, until, threshold, live, findings)


async def _recent(
    db: AsyncSession, points: list[DataPoint], *, since: datetime, limit: int
) -> dict[uuid.UUID, list[Any]]:
    """The newest ``limit`` readings since ``since`` per data point, oldest first, in one query.

    A lateral join walks the reading key (data point, time) backwards once per data point, so a
    meter with years of readings answers as fast as a new one.
    """
    if not points:
        return {}
    ids = select(DataPoint.id).where(DataPoint.id.in_([p.id for p in points])).subquery("point")
    newest = (
        select(CounterReading.data_point_id, CounterReading.ts, CounterReading.value, CounterReading.quality)
        .where(CounterReading.data_point_id == ids.c.id, CounterReading.ts >= since)
        .order_by(CounterReading.ts.desc())
        .limit(limit)
        .lateral("recent")
    )
    rows = await db.execute(select(newest).select_from(ids).join(newest, true()))
    grouped: dict[uuid.UUID, list[Any]] = {}
    for row in rows.all():
        grouped.setdefault(row.data_point_id, []).append(row)
    return {k: sorted(v, key=lambda r: r.ts) for k, v in grouped.items()}


async def _latest(db: AsyncSession, points: list[DataPoint]) -> dict[uuid.UUID, Any]:
    """The newest reading of each data point, however old."""
    if not points:
        return {}
    ids = select(DataPoint.id).where(DataPoint.id.in_([p.id for p in points])).subquery("point")
    newest = (
        select(CounterReading.data_point_id, CounterReading.ts, CounterReading.value, CounterReading.quality)
        .where(CounterReading.data_point_id == ids.c.id)
        .order_by(CounterReading.ts.desc())
        .limit(1)
        .lateral("latest")
    )
    rows = await db.execute(select(newest).select_from(ids).join(newest, true()))
    return {row.data_point_id: row for row in rows.all()}
