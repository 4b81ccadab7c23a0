"""One meter's interval data from its counter readings: the VEE steps in their published order.

1. interval energy from counter snapshots (boundary interpolation, rollover, reset, replacement,
   spikes, negatives): :func:`workers.engine.counters.interval_energy_from_counters`;
2. short gaps filled point-to-point: :func:`workers.engine.estimation.fill_short_gaps_linear`;
3. long gaps filled from like days in the installation's local calendar:
   :func:`workers.engine.estimation.fill_long_gaps_like_day`;
4. user edits applied, marked EDITED;
5. intervals not due yet (ending after ``due_until_s`` or after the last reading) left MISSING.

Days already derived may precede the new ones as references for like-day estimation; only the new
days are returned.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from workers.engine.codes import IntervalFlag, IntervalSeries, IntervalStatus
from workers.engine.counters import MeterReplacement, interval_energy_from_counters
from workers.engine.daytypes import local_calendar
from workers.engine.estimation import fill_long_gaps_like_day, fill_short_gaps_linear
from workers.engine.hashing import array_digest

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class DerivedIntervals(IntervalSeries):
    """Interval data of the new days.

    Attributes
    ----------
    energy_kwh : ndarray (n,) float64
        Energy per interval [kWh]; NaN where still missing.
    status : ndarray (n,) uint8
        :class:`IntervalStatus` codes.
    flags : ndarray (n,) uint16
        :class:`IntervalFlag` bits.
    counts : dict
        Events found: rollovers, resets, replacements, glitches, spikes, negatives, gap intervals,
        intervals estimated linearly and from like days, intervals edited.
    inputs_digest : str
        SHA-256 over every input array: same inputs, same digest.
    outputs_digest : str
        SHA-256 over energy, status and flags.
    """

    counts: dict[str, int]
    inputs_digest: str
    outputs_digest: str


def derive_meter_intervals(
    ts_s: IntArray,
    counter_kwh: FloatArray,
    *,
    grid_start_s: int,
    n_intervals: int,
    resolution_s: int,
    utc_offsets_s: IntArray,
    reference_energy_kwh: FloatArray | None = None,
    reference_status: NDArray[np.uint8] | None = None,
    reference_flags: NDArray[np.uint16] | None = None,
    multiplier: float = 1.0,
    wrap_value_kwh: float | None = None,
    replacements: Sequence[MeterReplacement] = (),
    max_power_kw: float | None = None,
    edit_index: IntArray | None = None,
    edit_energy_kwh: FloatArray | None = None,
    due_until_s: int | None = None,
) -> DerivedIntervals:
    """Derive, estimate and edit one meter's intervals for ``n_intervals`` from ``grid_start_s``.

    Parameters
    ----------
    ts_s : ndarray (m,) int64
        Reading times, strictly increasing [s since epoch, UTC], including readings just outside
        the grid so that its boundaries can be interpolated.
    counter_kwh : ndarray (m,) float64
        Counter values [kWh]; NaN for a missing reading.
    grid_start_s : int
        Start of the first new interval, a UTC midnight [s since epoch].
    n_intervals : int
        Number of new intervals (whole days).
    resolution_s : int
        Interval length [s].
    utc_offsets_s : ndarray (n_ref + n,) int64
        Local-time offset from UTC of each interval, references included [s].
    reference_energy_kwh, reference_status, reference_flags : ndarray (n_ref,), optional
        Already derived whole days immediately before ``grid_start_s``; estimates among them are
        never used as like-day references.
    multiplier, wrap_value_kwh, replacements, max_power_kw
        See :func:`workers.engine.counters.interval_energy_from_counters`.
    edit_index : ndarray (k,) int64, optional
        Positions of edited intervals within the new grid.
    edit_energy_kwh : ndarray (k,) float64, optional
        The edited values [kWh].
    due_until_s : int, optional
        The caller's "now" (or the grid end for days long past) [s since epoch]. Intervals ending
        after it, or after the last reading, are not due yet: they stay MISSING with no flags
        rather than estimated, until readings cover them. ``None`` estimates every interval.

    Returns
    -------
    DerivedIntervals

    Notes
    -----
    Energy is conserved wherever both bounding counter values are known: the estimates inside a
    gap are scaled to the register delta across it, so only their shape is estimated.

    Examples
    --------
    >>> ts = np.arange(-60, 86_400 + 61, 60, dtype=np.int64)
    >>> out = derive_meter_intervals(ts, ts / 3600.0, grid_start_s=0, n_intervals=96, resolution_s=900,
    ...                              utc_offsets_s=np.full(96, 3600, dtype=np.int64))
    >>> round(float(out.energy_kwh.sum()), 6), int((out.status == 0).sum())
    (24.0, 96)
    """
    n_ref = 0 if reference_energy_kwh is None else int(reference_energy_kwh.shape[0])
    if utc_offsets_s.shape != (n_ref + n_intervals,):
        raise ValueError("utc_offsets_s must cover the reference and the new intervals")
    if n_ref % (86_400 // resolution_s) != 0:
        raise ValueError("reference intervals must be whole days")
    fresh = interval_energy_from_counters(
        ts_s,
        counter_kwh,
        grid_start_s=grid_start_s,
        n_intervals=n_intervals,
        resolution_s=resolution_s,
        wrap_value_kwh=wrap_value_kwh,
        multiplier=multiplier,
        replacements=replacements,
        max_power_kw=max_power_kw,
    )
    if n_ref:
        assert reference_status is not None and reference_flags is not None and reference_energy_kwh is not None
        energy = np.concatenate([reference_energy_kwh, fresh.energy_kwh])
        status = np.concatenate([reference_status, fresh.status])
        flags = np.concatenate([reference_flags, fresh.flags])
        boundary = np.concatenate([np.full(n_ref, np.nan), fresh.boundary_energy_kwh])
    else:
        energy, status, flags = fresh.energy_kwh.copy(), fresh.status.copy(), fresh.flags.copy()
        boundary = fresh.boundary_energy_kwh
    start_all = grid_start_s - n_ref * resolution_s
    linear = fill_short_gaps_linear(energy, status, flags, resolution_s=resolution_s, boundary_energy_kwh=boundary)
    calendar = local_calendar(start_all, resolution_s=resolution_s, utc_offsets_s=utc_offsets_s)
    like = fill_long_gaps_like_day(
        linear.energy_kwh,
        linear.status,
        linear.flags,
        day_type=calendar.day_type,
        calendar=calendar,
        boundary_energy_kwh=boundary,
    )
    out_energy = np.array(like.energy_kwh[n_ref:], dtype=np.float64)
    out_status = np.array(like.status[n_ref:], dtype=np.uint8)
    out_flags = np.array(like.flags[n_ref:], dtype=np.uint16)
    n_edited = 0
    if edit_index is not None and edit_energy_kwh is not None and edit_index.size:
        if edit_index.min() < 0 or edit_index.max() >= n_intervals:
            raise ValueError("edit_index outside the new grid")
        out_energy[edit_index] = edit_energy_kwh
        out_status[edit_index] = np.uint8(IntervalStatus.EDITED)
        n_edited = int(edit_index.size)
    not_due = _not_yet_due(ts_s, grid_start_s, n_intervals, resolution_s, due_until_s)
    if not_due.any():
        out_energy[not_due] = np.nan
        out_status[not_due] = np.uint8(IntervalStatus.MISSING)
        out_flags[not_due] = np.uint16(0)
        n_edited = int((out_status == IntervalStatus.EDITED).sum())
    for array in (out_energy, out_status, out_flags):
        array.setflags(write=False)
    empty_i, empty_f = np.zeros(0, np.int64), np.zeros(0, np.float64)
    inputs = [
        ts_s,
        counter_kwh,
        utc_offsets_s,
        np.array([grid_start_s, n_intervals, resolution_s, -1 if due_until_s is None else due_until_s], dtype=np.int64),
        np.array(
            [
                multiplier,
                np.nan if wrap_value_kwh is None else wrap_value_kwh,
                np.nan if max_power_kw is None else max_power_kw,
            ],
            dtype=np.float64,
        ),
        np.array(
            [[r.at_s, r.old_final_kwh, r.new_initial_kwh, r.new_multiplier] for r in replacements],
            dtype=np.float64,
        ).reshape(-1, 4),
        energy[:n_ref] if n_ref else empty_f,
        status[:n_ref] if n_ref else np.zeros(0, np.uint8),
        edit_index if edit_index is not None else empty_i,
        edit_energy_kwh if edit_energy_kwh is not None else empty_f,
    ]
    estimated = out_status == IntervalStatus.ESTIMATED
    counts = {
        "readings_used": fresh.n_readings_used,
        **fresh.events.as_dict(),
        "gap_intervals": int(((out_flags & IntervalFlag.GAP) != 0).sum()),
        "estimated_linear": int((estimated & ((out_flags & IntervalFlag.ESTIMATED_LINEAR) != 0)).sum()),
        "estimated_like_day": int((estimated & ((out_flags & IntervalFlag.ESTIMATED_LIKE_DAY) != 0)).sum()),
        "missing": int((out_status == IntervalStatus.MISSING).sum()),
        "edited": n_edited,
        "not_yet_due": int(not_due.sum()),
    }
    return DerivedIntervals(
        energy_kwh=out_energy,
        status=out_status,
        flags=out_flags,
        counts=counts,
        inputs_digest=array_digest(*inputs),
        outputs_digest=array_digest(out_energy, out_status, out_flags),
    )


def _not_yet_due(
    ts_s: IntArray, grid_start_s: int, n_intervals: int, resolution_s: int, due_until_s: int | None
) -> NDArray[np.bool_]:
    """Intervals ending after ``due_until_s`` or after the last reading: not estimated yet."""
    if due_until_s is None:
        return np.zeros(n_intervals, dtype=np.bool_)
    horizon = min(int(due_until_s), int(ts_s[-1])) if ts_s.size else grid_start_s
    ends = grid_start_s + (np.arange(n_intervals, dtype=np.int64) + 1) * resolution_s
    late: NDArray[np.bool_] = ends > horizon
    return late
