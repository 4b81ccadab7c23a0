"""Plausibility of a meter's live values: a counter and the power the same meter reports must agree.

A counter that stands still while the meter reports a load, a counter that runs backwards while
power flows, or a counter that moves while the meter reports no power, each point at a wrong
register address, a wrong scale or word order, a frozen device or a swapped quantity: things a
commissioning engineer wants to see before the interval data are built on them.
"""

from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from numpy.typing import NDArray

__all__ = ["Finding", "Implausibility", "counter_against_power"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

# a counter that moved less than this share of the energy the power implies "did not move"
STALLED_SHARE = 0.1
# a counter implying this many times the reported power "moves without power"
EXCESS_FACTOR = 10.0


class Implausibility(StrEnum):
    COUNTER_STALLED = "counter_stalled"
    """Power above the threshold, but the counter did not (or hardly) move."""
    COUNTER_BACKWARDS = "counter_backwards"
    """The counter dropped while power above the threshold was reported."""
    COUNTER_WITHOUT_POWER = "counter_without_power"
    """The counter implies a load above the threshold while the reported power is (near) zero."""


@dataclass(frozen=True, slots=True)
class Finding:
    kind: Implausibility
    since_s: int
    until_s: int
    reason: str


def _mean_power_kw(ts: IntArray, kw: FloatArray, lo: int, hi: int) -> float:
    """Time-weighted mean of the reported power over [lo, hi], each sample held until the next."""
    inside = (ts >= lo) & (ts <= hi) & np.isfinite(kw)
    t, p = ts[inside], kw[inside]
    if t.size == 0:
        return float("nan")
    if t.size == 1:
        return float(p[0])
    held = np.diff(np.append(t, hi)).astype(np.float64)
    return float(np.sum(p * held) / max(np.sum(held), 1.0))


def counter_against_power(
    counter_ts: IntArray,
    counter_kwh: FloatArray,
    power_ts: IntArray,
    power_kw: FloatArray,
    *,
    threshold_kw: float,
    wrap_kwh: float | None = None,
) -> list[Finding]:
    """Compare one counter [kWh] with the power [kW] the same meter reports over the same window.

    Parameters
    ----------
    counter_ts, counter_kwh : ndarray (n,)
        Counter readings, seconds since the epoch (ascending) and values; NaN where missing.
    power_ts, power_kw : ndarray (m,)
        Power readings, ascending; positive is import.
    threshold_kw : float
        Below this mean power the meter is taken as idle (noise, standby).
    wrap_kwh : float, optional
        Where the counter rolls over; a drop from near it to near zero is a rollover, not backwards.

    Returns
    -------
    list of Finding
        Empty when they agree or there is too little to compare (fewer than two counter readings).

    Examples
    --------
    >>> t = np.array([0, 600, 1200]); c = np.array([5.0, 5.0, 5.0])
    >>> [f.kind.value for f in counter_against_power(t, c, t, np.array([80.0, 82.0, 79.0]), threshold_kw=1.0)]
    ['counter_stalled']
    """
    ct = np.asarray(counter_ts, dtype=np.int64)
    cv = np.asarray(counter_kwh, dtype=np.float64)
    pt = np.asarray(power_ts, dtype=np.int64)
    pv = np.asarray(power_kw, dtype=np.float64)
    keep = np.isfinite(cv)
    ct, cv = ct[keep], cv[keep]
    if ct.size < 2 or pt.size == 0 or ct[-1] <= ct[0]:
        return []
    lo, hi = int(ct[0]), int(ct[-1])
    hours = (hi - lo) / 3600.0
    mean_kw = _mean_power_kw(pt, pv, lo, hi)
    if not np.isfinite(mean_kw):
        return []
    findings: list[Finding] = []
    steps = np.diff(cv)
    drops = steps < 0
    if wrap_kwh is not None:
        # rolled over: from the top of the register to its bottom; it moved on by the wrap
        rolled = drops & (cv[:-1] > 0.9 * wrap_kwh) & (cv[1:] < 0.1 * wrap_kwh)
        steps = np.where(rolled, steps + wrap_kwh, steps)
        drops &= ~rolled
    if drops.any():
        at = int(np.flatnonzero(drops)[0])
        around = _mean_power_kw(pt, pv, int(ct[at]), int(ct[at + 1]))
        if np.isfinite(around) and around >= threshold_kw:
            findings.append(
                Finding(
                    Implausibility.COUNTER_BACKWARDS,
                    int(ct[at]),
                    int(ct[at + 1]),
                    f"the counter fell from {cv[at]:.6g} to {cv[at + 1]:.6g} kWh while the meter reported "
                    f"{around:.6g} kW",
                )
            )
    moved = float(np.sum(np.where(drops, 0.0, steps)))
    expected = mean_kw * hours
    if mean_kw >= threshold_kw and moved < STALLED_SHARE * expected:
        findings.append(
            Finding(
                Implausibility.COUNTER_STALLED,
                lo,
                hi,
                f"the meter reported {mean_kw:.6g} kW on average over {hours * 60:.0f} min, which is "
                f"{expected:.6g} kWh, but the counter moved {moved:.6g} kWh",
            )
        )
    implied_kw = moved / hours
    if implied_kw >= threshold_kw and implied_kw > EXCESS_FACTOR * max(mean_kw, 0.0):
        findings.append(
            Finding(
                Implausibility.COUNTER_WITHOUT_POWER,
                lo,
                hi,
                f"the counter moved {moved:.6g} kWh in {hours * 60:.0f} min ({implied_kw:.6g} kW) while the "
                f"meter reported {mean_kw:.6g} kW on average",
            )
        )
    return findings
