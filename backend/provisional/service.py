"""Use cases of provisional footprints: the window a batch's figure is computed over, each computed
version stored, and the reads (latest, history, comparison with the final figure of a run).

A provisional footprint is the engine's answer for one batch (``only_batches``) over the batch's
local day(s) with the data received so far: intervals not yet delivered count as missing (0 kWh)
and are reported in ``missing_share``; ``data_until`` says up to when data had arrived. The final
figure is the batch's result in the latest succeeded calculation run whose period covers it.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession

from backend.calculations.models import CalculationRun, RunBatchResult
from backend.identity.principal import Principal
from backend.installations.errors import InstallationNotFound
from backend.production.errors import BatchNotFound
from backend.production.models import ProductionBatch
from backend.production.service import installation_for
from backend.provisional import repository
from backend.provisional.models import ProvisionalFootprint
from workers.engine.calculation import CalculationInputs, CalculationResult

MISSING = 2  # IntervalStatus code of a missing interval


def require_read(principal: Principal) -> None:
    principal.require("footprints:read")


# --- computing ------------------------------------------------------------------------------------------


def local_days(batch: ProductionBatch, timezone: str) -> tuple[datetime, datetime]:
    """[local midnight of the day the batch started, local midnight after the day it ended) in UTC.

    Idle overhead is pooled per local day over the batches of that day, so the whole day(s) are
    calculated even though only this batch is reported.
    """
    zone = ZoneInfo(timezone)
    first = batch.started_at.astimezone(zone).date()
    last = (batch.ended_at - timedelta(microseconds=1)).astimezone(zone).date()
    start = datetime(first.year, first.month, first.day, tzinfo=zone).astimezone(UTC)
    after = last + timedelta(days=1)
    end = datetime(after.year, after.month, after.day, tzinfo=zone).astimezone(UTC)
    return start, end


def data_until(inputs: CalculationInputs) -> datetime | None:
    """The end of the last interval in which any electricity meter had data (None: no data at all)."""
    grid = inputs.grid
    # the grid runs over whole UTC days; only the intervals of the period count (the loader fills
    # the others as measured zeros)
    first = max(0, (inputs.period_start_s - grid.grid_start_s) // grid.resolution_s)
    last = min(inputs.meters.status.shape[1], -(-(inputs.period_end_s - grid.grid_start_s) // grid.resolution_s))
    status = inputs.meters.status[:, first:last]
    if status.size == 0:
        return None
    present = np.flatnonzero((status != MISSING).any(axis=0))
    if present.size == 0:
        return None
    end_s = grid.grid_start_s + (first + int(present[-1]) + 1) * grid.resolution_s
    return datetime.fromtimestamp(end_s, UTC)


def _clip(moment: datetime | None, end: datetime) -> datetime | None:
    """The loaded grid runs over whole UTC days; data beyond the window's end does not count."""
    return None if moment is None else min(moment, end)


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator > 0 else 0.0


def _finite(value: float) -> float:
    return value if math.isfinite(value) else 0.0


def see_of(
    *, direct: float, indirect: float, precursor_direct: float, precursor_indirect: float, net_mass_t: float
) -> tuple[float, float, float]:
    """(SEE direct, SEE indirect, SEE total) of one batch [tCO2e/t] (Eqs. 57-60 over one batch)."""
    see_direct = _ratio(direct + precursor_direct, net_mass_t)
    see_indirect = _ratio(indirect + precursor_indirect, net_mass_t)
    return see_direct, see_indirect, see_direct + see_indirect


def figures_of(result: CalculationResult, batch_id: uuid.UUID) -> dict[str, Any]:
    """The stored figures of one reported batch of an engine result."""
    rows = result.batches
    i = rows.ids.index(str(batch_id))
    mass = float(rows.net_mass_t[i])
    energy = float(rows.energy_kwh[i])
    matched = float(rows.matched_kwh[i])
    direct, indirect = float(rows.direct_tco2[i]), float(rows.indirect_tco2[i])
    pre_direct, pre_indirect = float(rows.precursor_direct_tco2[i]), float(rows.precursor_indirect_tco2[i])
    see_direct, see_indirect, see_total = see_of(
        direct=direct, indirect=indirect, precursor_direct=pre_direct, precursor_indirect=pre_indirect, net_mass_t=mass
    )
    # the factors behind this batch's emissions: the overall row is this batch alone (only_batches)
    by_factor = result.overall.emissions_by_factor_tco2
    refs = [ref for k, ref in enumerate(result.factor_refs) if by_factor.size and float(by_factor[0, k]) != 0.0]
    return {
        "energy_kwh": energy,
        "electricity_kwh_per_t": _ratio(energy, mass),
        "matched_kwh": matched,
        "matched_share": min(1.0, max(0.0, _ratio(matched, energy))),
        "direct_tco2": direct,
        "indirect_tco2": indirect,
        "precursor_direct_tco2": pre_direct,
        "precursor_indirect_tco2": pre_indirect,
        "see_direct": see_direct,
        "see_indirect": see_indirect,
        "see_total": see_total,
        "measured_share": _finite(float(rows.measured_share[i])),
        "estimated_share": _finite(float(rows.estimated_share[i])),
        # NaN: the batch overlaps no interval of the window, so all of it is missing
        "missing_share": float(rows.missing_share[i]) if math.isfinite(float(rows.missing_share[i])) else 1.0,
        "factor_refs": refs,
        "warnings": [{"code": w.code, "message": w.message} for w in result.warnings],
        "methodology_version": result.methodology_version,
    }


async def store_version(
    db: AsyncSession,
    batch: ProductionBatch,
    result: CalculationResult,
    *,
    inputs: CalculationInputs,
    inputs_digest: str,
    output_digest: str,
    window: tuple[datetime, datetime],
    computed_at: datetime,
) -> ProvisionalFootprint:
    """Add the next provisional version of the batch's footprint (the system computes it; no principal)."""
    version = await repository.next_version(db, batch.id)
    row = repository.insert(
        db,
        {
            "batch_id": batch.id,
            "installation_id": batch.installation_id,
            "version": version,
            "computed_at": computed_at,
            "data_until": _clip(data_until(inputs), window[1]),
            "window_start": window[0],
            "window_end": window[1],
            **figures_of(result, batch.id),
            "inputs_digest": inputs_digest,
            "output_digest": output_digest,
        },
    )
    await db.flush()
    return row


# --- reading --------------------------------------------------------------------------------------------


async def _batch(db: AsyncSession, principal: Principal, batch_id: uuid.UUID) -> ProductionBatch:
    """The batch, if the principal may see its installation (the same answer for absent and hidden)."""
    require_read(principal)
    batch = await db.get(ProductionBatch, batch_id)
    if batch is None:
        raise BatchNotFound("no such batch", field="batchId")
    try:
        await installation_for(db, principal, batch.installation_id)
    except InstallationNotFound:  # a client bound to another installation
        raise BatchNotFound("no such batch", field="batchId") from None
    return batch


async def latest(db: AsyncSession, principal: Principal, batch_id: uuid.UUID) -> ProvisionalFootprint | None:
    """The latest provisional footprint of a batch (None until one is computed); readers of footprints."""
    batch = await _batch(db, principal, batch_id)
    return (await repository.latest_of(db, [batch.id])).get(batch.id)


async def latest_of_batches(db: AsyncSession, batch_ids: list[uuid.UUID]) -> list[ProvisionalFootprint]:
    """Latest versions for batches the caller has already authorised (a loader's batch function)."""
    return list((await repository.latest_of(db, batch_ids)).values())


async def versions(db: AsyncSession, principal: Principal, batch_id: uuid.UUID) -> list[ProvisionalFootprint]:
    """Every provisional version of a batch, newest first; readers of footprints."""
    batch = await _batch(db, principal, batch_id)
    return await repository.versions_of(db, batch.id)


@dataclass(frozen=True)
class FinalFigures:
    """The batch's figures in a succeeded calculation run."""

    run: CalculationRun
    result: RunBatchResult
    energy_kwh: float
    see_direct: float
    see_indirect: float
    see_total: float


@dataclass(frozen=True)
class Difference:
    """final - provisional, and that relative to the final figure (None when the final figure is 0)."""

    absolute: float
    relative: float | None


@dataclass(frozen=True)
class Comparison:
    batch: ProductionBatch
    provisional: ProvisionalFootprint | None
    final: FinalFigures | None
    see_total: Difference | None
    see_direct: Difference | None
    see_indirect: Difference | None
    energy_kwh: Difference | None


def difference(provisional: float, final: float) -> Difference:
    delta = final - provisional
    return Difference(absolute=delta, relative=delta / final if final != 0 else None)


def final_figures(run: CalculationRun, result: RunBatchResult) -> FinalFigures:
    see_direct, see_indirect, see_total = see_of(
        direct=result.direct_tco2,
        indirect=result.indirect_tco2,
        precursor_direct=result.precursor_direct_tco2,
        precursor_indirect=result.precursor_indirect_tco2,
        net_mass_t=result.net_mass_t,
    )
    return FinalFigures(run, result, result.energy_kwh, see_direct, see_indirect, see_total)


async def comparison(db: AsyncSession, principal: Principal, batch_id: uuid.UUID) -> Comparison:
    """The latest provisional figure beside the final one of the latest succeeded run covering the batch."""
    batch = await _batch(db, principal, batch_id)
    provisional = (await repository.latest_of(db, [batch.id])).get(batch.id)
    found = await repository.final_result_of(db, batch)
    final = final_figures(*found) if found is not None else None
    if provisional is None or final is None:
        return Comparison(batch, provisional, final, None, None, None, None)
    return Comparison(
        batch,
        provisional,
        final,
        see_total=difference(provisional.see_total, final.see_total),
        see_direct=difference(provisional.see_direct, final.see_direct),
        see_indirect=difference(provisional.see_indirect, final.see_indirect),
        energy_kwh=difference(provisional.energy_kwh, final.energy_kwh),
    )
