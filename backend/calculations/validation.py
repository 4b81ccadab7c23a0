"""A run's validation report: checks of the data behind the result, each pass, warn or fail with its numbers.

Pure: it reads the engine's inputs and result only, so a bundle's recomputation gives the same report.

- ``electricity_balance``: what the installation drew (main + own generation - export) against what
  the sub-meters of lines and auxiliaries measured (the unmetered rest within the installation's
  balance tolerance) and against what the batches received (allocated + unallocated = consumption).
- ``metering_gaps``: per meter, the share of the period's intervals without a value (counted 0 kWh).
- ``intensity_outliers``: per product, batches whose electricity per tonne lies beyond the median
  plus or minus three scaled median absolute deviations of the product's batches.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from workers.engine.calculation import CalculationInputs, CalculationResult

MISSING = 2  # IntervalStatus.MISSING
GAP_WARN = 0.0  # any gap is reported
GAP_FAIL = 0.10  # beyond this share the meter's figures are mostly filled by zeros
MAD_SCALE = 1.4826  # makes the median absolute deviation estimate a normal distribution's sigma
OUTLIER_MADS = 3.0
MIN_BATCHES = 3  # fewer batches say nothing about a spread
CONSERVATION_TOLERANCE = 1e-6


@dataclass(frozen=True, slots=True)
class Check:
    code: str
    subject: str
    status: str  # pass | warn | fail
    message: str
    figures: dict[str, Any] = field(default_factory=dict)


def _round(value: float) -> float | None:
    return None if not np.isfinite(value) else float(value)


def period_mask(inputs: CalculationInputs) -> np.ndarray:
    """Grid intervals inside the run's period."""
    g = inputs.grid
    starts = g.grid_start_s + np.arange(g.n, dtype=np.int64) * g.resolution_s
    return (starts >= inputs.period_start_s) & (starts < inputs.period_end_s)


def electricity_balance(inputs: CalculationInputs, result: CalculationResult, tolerance: float) -> list[Check]:
    mask = period_mask(inputs)
    m = inputs.meters
    energy = np.nan_to_num(m.energy_kwh[:, mask], nan=0.0)
    role = np.array(m.role)

    def total(name: str) -> float:
        return float(energy[role == name].sum()) if len(role) else 0.0

    main, generation, export, subs = total("main"), total("generation"), total("export"), total("sub")
    inst = result.installation
    consumption = float(inst.consumption_kwh)
    unmetered_share = float(inst.unmetered_kwh) / consumption if consumption > 0 else 0.0
    figures = {
        "main_kwh": main,
        "own_generation_kwh": generation,
        "export_kwh": export,
        "consumption_kwh": consumption,
        "sub_meters_kwh": subs,
        "unmetered_kwh": float(inst.unmetered_kwh),
        "unmetered_share": unmetered_share,
        "tolerance": tolerance,
        # what each line's sub-meters measured: the processes' side of the balance
        "lines_kwh": {
            code: float(np.nansum(inst.line_energy_kwh[i][mask])) for i, code in enumerate(inputs.lines.codes)
        },
        "batches_kwh": float(result.batches.energy_kwh.sum()) if result.batches.energy_kwh.size else 0.0,
        "negative_unmetered_intervals": int(inst.negative_unmetered_intervals.size),
        "fallback_intervals": int(inst.fallback_intervals.size),
    }
    if consumption <= 0:
        status, message = "warn", "the installation drew no electricity in the period"
    elif abs(unmetered_share) <= tolerance:
        status = "pass"
        message = f"sub-meters measure {subs:,.0f} of {consumption:,.0f} kWh; the rest is within the tolerance"
    elif unmetered_share > 0:
        status = "warn"
        message = (
            f"{unmetered_share:.1%} of the consumption is measured by no sub-meter (tolerance {tolerance:.1%}): "
            "it is shared as overhead"
        )
    else:
        status = "fail"
        message = (
            f"the sub-meters measure {-unmetered_share:.1%} more than the installation drew (tolerance {tolerance:.1%})"
        )
    checks = [Check("electricity_balance", "installation", status, message, figures)]
    allocated = float(inst.allocated_kwh)
    unallocated = float(inst.unallocated_kwh)
    gap = abs(allocated + unallocated - consumption)
    conserved = gap <= CONSERVATION_TOLERANCE * max(consumption, 1.0)
    idle_unallocated = float(inst.idle_days.idle_kwh[~inst.idle_days.allocated].sum())
    checks.append(
        Check(
            "batches_against_consumption",
            "installation",
            "pass"
            if conserved and unallocated <= tolerance * max(consumption, 1e-9)
            else "warn"
            if conserved
            else "fail",
            (
                f"batches carry {allocated:,.0f} kWh; {unallocated:,.0f} kWh fell on days without a batch"
                if conserved
                else f"allocated and unallocated energy differ from the consumption by {gap:.6f} kWh"
            ),
            {
                "consumption_kwh": consumption,
                "batches_kwh": figures["batches_kwh"],
                "allocated_kwh": allocated,
                "unallocated_kwh": unallocated,
                "idle_unallocated_kwh": idle_unallocated,
            },
        )
    )
    return checks


def metering_gaps(inputs: CalculationInputs) -> list[Check]:
    mask = period_mask(inputs)
    n = int(mask.sum())
    checks = []
    rows = [
        (code, status)
        for codes, statuses in ((inputs.meters.codes, inputs.meters.status), (inputs.fuels.codes, inputs.fuels.status))
        for code, status in zip(codes, statuses, strict=True)
    ]
    for code, status in rows:
        missing = int((status[mask] == MISSING).sum())
        share = missing / n if n else 0.0
        if missing == 0:
            result, message = "pass", "every interval has a value"
        elif share <= GAP_FAIL:
            result, message = "warn", f"{missing} of {n} intervals ({share:.2%}) have no value and count as 0"
        else:
            result, message = "fail", f"{missing} of {n} intervals ({share:.1%}) have no value and count as 0"
        checks.append(
            Check("metering_gaps", code, result, message, {"intervals": n, "missing": missing, "missing_share": share})
        )
    return checks


def intensity_outliers(inputs: CalculationInputs, result: CalculationResult) -> list[Check]:
    b = result.batches
    products = inputs.products
    checks = []
    product_of = inputs.batches.product[b.index] if b.index.size else np.zeros(0, dtype=np.int64)
    for q, code in enumerate(products.codes):
        rows = np.flatnonzero(product_of == q)
        if rows.size == 0:
            continue
        mass = b.net_mass_t[rows]
        intensity = np.where(mass > 0, b.energy_kwh[rows] / np.where(mass > 0, mass, 1.0), np.nan)
        finite = np.isfinite(intensity)
        values = intensity[finite]
        figures: dict[str, Any] = {"batches": int(rows.size)}
        if values.size < MIN_BATCHES:
            checks.append(
                Check(
                    "intensity_outliers",
                    code,
                    "pass",
                    f"{values.size} batch(es): too few to judge the spread of electricity per tonne",
                    figures | {"median_kwh_per_t": _round(float(np.median(values))) if values.size else None},
                )
            )
            continue
        median = float(np.median(values))
        mad = float(np.median(np.abs(values - median))) * MAD_SCALE
        low, high = median - OUTLIER_MADS * mad, median + OUTLIER_MADS * mad
        outside = [
            {
                "batch": b.ids[int(rows[i])],
                "number": inputs.batches.numbers[int(b.index[rows[i]])],
                "kwh_per_t": float(v),
            }
            for i, v in enumerate(intensity)
            if np.isfinite(v) and (v < low or v > high)
        ]
        figures |= {
            "median_kwh_per_t": median,
            "scaled_mad_kwh_per_t": mad,
            "low_kwh_per_t": low,
            "high_kwh_per_t": high,
            "outliers": outside,
        }
        checks.append(
            Check(
                "intensity_outliers",
                code,
                "warn" if outside else "pass",
                (
                    f"{len(outside)} of {values.size} batches use electricity per tonne beyond {low:,.0f} to "
                    f"{high:,.0f} kWh/t (median {median:,.0f})"
                    if outside
                    else f"every batch lies within {low:,.0f} to {high:,.0f} kWh/t (median {median:,.0f})"
                ),
                figures,
            )
        )
    return checks


def validation_report(inputs: CalculationInputs, result: CalculationResult, *, tolerance: float) -> list[Check]:
    """Every check of a run, in a stable order."""
    return [
        *electricity_balance(inputs, result, tolerance),
        *metering_gaps(inputs),
        *intensity_outliers(inputs, result),
    ]
