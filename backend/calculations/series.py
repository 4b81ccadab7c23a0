"""What powered each line hour by hour: a run's per-line hourly series, computed from the engine's per-interval
line energy and matched fraction, packed for storage (one row per line per run) and unpacked for reading.

Per line ``l`` and hour ``h`` of the period (hours counted from the period's start, a local midnight, so
each is a local hour):

- ``energy_kwh = Σ_t L_lt`` over the hour's intervals (the line's own metered energy, before overhead);
- ``matched_kwh``: the line's dedicated direct-link supply first, ``D_lh = min(max(L_lh, 0), S^ded_lh)``,
  then the shared pool's matched fraction of the rest, ``Σ_t (L_lt · f_t) · (1 - D_lh / L_lh)`` (the
  engine's rule, at the hour; exact when the run matched per hour);
- ``factor`` (tCO2e/MWh) the indirect factor the hour's energy carries: dedicated and shared matched kWh
  at their sources' factors weighted by each source's supply in the hour (a source whose
  definitive-period conditions are not met counts at the grid default), unmatched kWh at the grid default;
- the factor references that contributed, as bits of a mask over the run's references.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from numpy.typing import NDArray

from workers.engine.calculation import CalculationInputs, CalculationResult

MAX_SOURCES = 31  # bit 0 is the grid default; a uint32 mask holds 31 sources besides it


@dataclass(frozen=True, slots=True)
class LineSeries:
    line_id: str
    line_code: str
    first_hour: datetime
    energy_kwh: NDArray[np.float64]
    matched_kwh: NDArray[np.float64]
    factor: NDArray[np.float64]
    factor_mask: NDArray[np.uint32]
    factor_refs: tuple[str, ...]

    def packed(self) -> dict[str, object]:
        return {
            "line_id": self.line_id,
            "line_code": self.line_code,
            "first_hour": self.first_hour,
            "hours": int(self.energy_kwh.size),
            "energy_kwh": self.energy_kwh.astype("<f8").tobytes(),
            "matched_kwh": self.matched_kwh.astype("<f8").tobytes(),
            "factor": self.factor.astype("<f8").tobytes(),
            "factor_mask": self.factor_mask.astype("<u4").tobytes(),
            "factor_refs": list(self.factor_refs),
        }


def _hourly(values: NDArray[np.float64], hour: NDArray[np.int64], hours: int) -> NDArray[np.float64]:
    return np.bincount(hour, weights=values, minlength=hours)[:hours].astype(np.float64)


def line_hourly_series(inputs: CalculationInputs, result: CalculationResult) -> list[LineSeries]:
    """One hourly series per line of the run (see the module's description)."""
    grid, supply = inputs.grid, inputs.supply
    n = int(grid.utc_offsets_s.size)
    starts = grid.grid_start_s + np.arange(n, dtype=np.int64) * grid.resolution_s
    inside = (starts >= inputs.period_start_s) & (starts < inputs.period_end_s)
    hours = max(1, -(-(inputs.period_end_s - inputs.period_start_s) // 3600))
    hour = (starts[inside] - inputs.period_start_s) // 3600
    lines = np.nan_to_num(np.asarray(result.installation.line_energy_kwh, dtype=np.float64))
    fraction = np.asarray(result.installation.matched_fraction, dtype=np.float64)
    fraction = np.nan_to_num(fraction[inside]) if fraction.size == n else np.zeros(int(inside.sum()))
    grid_value = float(inputs.grid_factor.value)
    n_sources = min(len(supply.ids), MAX_SOURCES)
    refs = (inputs.grid_factor.ref, *supply.factor_refs[:n_sources])
    supply_h = np.zeros((n_sources, hours))
    source_factor = np.full(n_sources, grid_value)
    for s in range(n_sources):
        supply_h[s] = _hourly(np.nan_to_num(supply.energy_kwh[s, inside]), hour, hours)
        if bool(supply.eligible[s]):
            source_factor[s] = float(supply.actual_factor[s])
    shared = np.asarray(supply.dedicated_line[:n_sources]) < 0
    first_hour = datetime.fromtimestamp(inputs.period_start_s, tz=UTC)
    out: list[LineSeries] = []
    for line, (line_id, code) in enumerate(zip(inputs.lines.ids, inputs.lines.codes, strict=True)):
        energy = _hourly(lines[line, inside], hour, hours) if lines.size else np.zeros(hours)
        shared_matched = _hourly(lines[line, inside] * fraction, hour, hours) if lines.size else np.zeros(hours)
        mine = np.asarray(supply.dedicated_line[:n_sources]) == line
        dedicated_supply = supply_h[mine].sum(axis=0)
        dedicated = np.minimum(np.maximum(energy, 0.0), dedicated_supply)
        with np.errstate(divide="ignore", invalid="ignore"):
            rest_share = np.where(energy > 0, 1.0 - dedicated / energy, 0.0)
        pool_matched = shared_matched * rest_share
        matched = dedicated + pool_matched
        emissions = (energy - matched) * grid_value
        mask = np.where(energy - matched > 1e-9, 1, 0).astype(np.uint32)
        for group, matched_part in ((mine, dedicated), (shared, pool_matched)):
            total = supply_h[group].sum(axis=0)
            for s in np.flatnonzero(group).tolist():
                with np.errstate(divide="ignore", invalid="ignore"):
                    share = np.where(total > 0, supply_h[s] / total, 0.0)
                used = matched_part * share
                emissions += used * source_factor[s]
                bit = s + 1 if bool(supply.eligible[s]) else 0  # not eligible: the grid default applies
                mask |= np.where(used > 1e-9, 1 << bit, 0).astype(np.uint32)
        with np.errstate(divide="ignore", invalid="ignore"):
            factor = np.where(energy > 0, emissions / energy, np.nan)
        out.append(LineSeries(line_id, code, first_hour, energy, matched, factor, mask, refs))
    return out


@dataclass(frozen=True, slots=True)
class HourPoint:
    hour_start: datetime
    energy_kwh: float
    matched_kwh: float
    matched_share: float | None
    factor: float | None
    factor_refs: list[str]


def unpack_hours(
    first_hour: datetime,
    energy: bytes,
    matched: bytes,
    factor: bytes,
    mask: bytes,
    refs: list[str],
    start: datetime,
    end: datetime,
) -> list[HourPoint]:
    """The stored hours starting in [start, end)."""
    e = np.frombuffer(energy, dtype="<f8")
    m = np.frombuffer(matched, dtype="<f8")
    f = np.frombuffer(factor, dtype="<f8")
    k = np.frombuffer(mask, dtype="<u4")
    base = int(first_hour.timestamp())
    lo = max(0, -(-(int(start.timestamp()) - base) // 3600))
    hi = min(e.size, -(-(int(end.timestamp()) - base) // 3600))
    points = []
    for h in range(lo, hi):
        energy_h, matched_h, factor_h = float(e[h]), float(m[h]), float(f[h])
        bits = int(k[h])
        points.append(
            HourPoint(
                hour_start=datetime.fromtimestamp(base + h * 3600, tz=UTC),
                energy_kwh=energy_h,
                matched_kwh=matched_h,
                matched_share=matched_h / energy_h if energy_h > 0 else None,
                factor=factor_h if np.isfinite(factor_h) else None,
                factor_refs=[ref for i, ref in enumerate(refs) if bits >> i & 1],
            )
        )
    return points
