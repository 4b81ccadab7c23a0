"""Estimation of MISSING intervals: point-to-point for short gaps, like-day for long ones.

Both estimators only touch intervals whose status is MISSING, never reuse estimates as references,
and, when the register total across a gap is known, scale their shape so that the estimated
intervals add up to it exactly (only the shape is estimated, not the energy).
"""

from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray

from workers.engine.codes import (
    IntervalFlag,
    IntervalSeries,
    IntervalStatus,
    check_flags,
    check_status,
    read_only,
    valid_mask,
)
from workers.engine.daytypes import LocalCalendar
from workers.engine.grid import check_resolution
from workers.engine.validation import runs_of_true

__all__ = [
    "UNTRUSTED_TOTAL_FLAGS",
    "GapFill",
    "expand_gaps",
    "fill_long_gaps_like_day",
    "fill_short_gaps_linear",
    "gap_totals_kwh",
    "like_day_profiles",
    "linear_gap_values",
    "scale_to_gap_totals",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

UNTRUSTED_TOTAL_FLAGS: Final[int] = int(IntervalFlag.COUNTER_RESET | IntervalFlag.SPIKE | IntervalFlag.NEGATIVE)
"""A gap containing any of these flags has no trustworthy register total."""


@dataclass(frozen=True, slots=True)
class GapFill(IntervalSeries):
    """Interval data after an estimation pass (new arrays; the inputs are untouched).

    Attributes
    ----------
    energy_kwh : ndarray, same shape as the input, float64
        Energy with estimates written into filled intervals [kWh].
    status : ndarray, same shape, uint8
        ESTIMATED where filled, otherwise unchanged.
    flags : ndarray, same shape, uint16
        ESTIMATED_LINEAR or ESTIMATED_LIKE_DAY added where filled; earlier flags kept.
    n_gaps_filled : int
        Gaps filled.
    n_intervals_filled : int
        Intervals filled.
    n_gaps_scaled : int
        Filled gaps whose values were scaled to a known register total.
    """

    n_gaps_filled: int
    n_intervals_filled: int
    n_gaps_scaled: int


# ---------------------------------------------------------------------------------------------------
# shared steps


def _check_series(
    energy_kwh: FloatArray, status: NDArray[np.uint8], flags: NDArray[np.uint16]
) -> tuple[FloatArray, NDArray[np.uint8], NDArray[np.uint16]]:
    st = check_status(status)
    fl = check_flags(flags)
    if energy_kwh.shape != st.shape or energy_kwh.shape != fl.shape:
        raise ValueError(f"shape mismatch: energy_kwh {energy_kwh.shape}, status {st.shape}, flags {fl.shape}")
    if not np.issubdtype(energy_kwh.dtype, np.floating):
        raise ValueError("energy_kwh must be a floating array (NaN marks missing)")
    return energy_kwh.astype(np.float64, copy=False), st, fl


def _check_boundary(boundary_energy_kwh: FloatArray | None, n: int) -> FloatArray | None:
    if boundary_energy_kwh is None:
        return None
    if boundary_energy_kwh.shape != (n + 1,):
        raise ValueError(
            f"shape mismatch: boundary_energy_kwh {boundary_energy_kwh.shape} must be (n + 1,) = ({n + 1},)"
        )
    return boundary_energy_kwh.astype(np.float64, copy=False)


def expand_gaps(start_index: IntArray, length: IntArray) -> tuple[IntArray, IntArray, IntArray]:
    """Per-interval view of a set of gaps.

    Parameters
    ----------
    start_index : ndarray (g,) int64
        First interval of each gap.
    length : ndarray (g,) int64
        Gap lengths [intervals].

    Returns
    -------
    index : ndarray (k,) int64
        Interval index of every gap member, ``k = sum(length)``.
    gap_id : ndarray (k,) int64
        Gap of each member, ``0 .. g - 1``.
    position : ndarray (k,) int64
        Position inside its gap, ``0 .. length - 1``.

    Examples
    --------
    >>> i, g, p = expand_gaps(np.array([2, 7]), np.array([2, 1]))
    >>> i.tolist(), g.tolist(), p.tolist()
    ([2, 3, 7], [0, 0, 1], [0, 1, 0])
    """
    gap_id = np.repeat(np.arange(start_index.shape[0], dtype=np.int64), length)
    offset = np.cumsum(length) - length
    position = np.arange(gap_id.shape[0], dtype=np.int64) - offset[gap_id]
    index = start_index[gap_id] + position
    return index.astype(np.int64), gap_id, position.astype(np.int64)


def gap_totals_kwh(
    boundary_energy_kwh: FloatArray,
    flags: NDArray[np.uint16],
    *,
    start_index: IntArray,
    end_index: IntArray,
) -> FloatArray:
    """Register total across each gap, where it can be trusted.

    Parameters
    ----------
    boundary_energy_kwh : ndarray (n + 1,) float64
        Continuous counter at the interval boundaries [kWh] (``IntervalEnergy.boundary_energy_kwh``).
    flags : ndarray (n,) uint16
        :class:`IntervalFlag` bits.
    start_index, end_index : ndarray (g,) int64
        Gaps as half-open interval ranges ``[a, b)``.

    Returns
    -------
    ndarray (g,) float64
        :math:`T = C(t_b) - C(t_a)` [kWh]; NaN when a boundary is unknown, when :math:`T < 0`, or when
        an interval of the gap carries COUNTER_RESET, SPIKE or NEGATIVE (the register delta across the
        gap is then not a trustworthy energy).

    Examples
    --------
    >>> b = np.array([0.0, 1.0, np.nan, np.nan, 4.0])
    >>> gap_totals_kwh(b, np.zeros(4, dtype=np.uint16), start_index=np.array([1]),
    ...                end_index=np.array([3])).tolist()
    [nan]
    >>> gap_totals_kwh(b, np.zeros(4, dtype=np.uint16), start_index=np.array([1]),
    ...                end_index=np.array([4])).tolist()
    [3.0]
    """
    untrusted = (flags.astype(np.uint16) & np.uint16(UNTRUSTED_TOTAL_FLAGS)) != 0
    n_bad = np.concatenate(([0], np.cumsum(untrusted, dtype=np.int64)))
    total = boundary_energy_kwh[end_index] - boundary_energy_kwh[start_index]
    bad = (n_bad[end_index] - n_bad[start_index]) > 0
    with np.errstate(invalid="ignore"):
        bad |= ~np.isfinite(total) | (total < 0)
    out: FloatArray = np.where(bad, np.nan, total)
    return out


def scale_to_gap_totals(
    values_kwh: FloatArray, *, gap_id: IntArray, length: IntArray, totals_kwh: FloatArray
) -> tuple[FloatArray, BoolArray]:
    """Scale each gap's estimated shape so that it sums to the known register total.

    Parameters
    ----------
    values_kwh : ndarray (k,) float64
        Estimated values of all gap members [kWh].
    gap_id : ndarray (k,) int64
        Gap of each member.
    length : ndarray (g,) int64
        Gap lengths [intervals].
    totals_kwh : ndarray (g,) float64
        Register totals [kWh]; NaN = unknown (values left as they are).

    Returns
    -------
    values_kwh : ndarray (k,) float64
        Scaled values [kWh].
    scaled : ndarray (g,) bool
        Gaps that were scaled.

    Notes
    -----
    :math:`\\hat E_i \\leftarrow \\hat E_i \\, T / \\sum_{j \\in gap} \\hat E_j`; if the shape sums to
    zero or less, the total is spread evenly, :math:`\\hat E_i = T / L`.

    Examples
    --------
    >>> v, s = scale_to_gap_totals(np.array([1.0, 3.0]), gap_id=np.array([0, 0]),
    ...                            length=np.array([2]), totals_kwh=np.array([8.0]))
    >>> v.tolist(), s.tolist()
    ([2.0, 6.0], [True])
    """
    g = length.shape[0]
    sums = np.bincount(gap_id, weights=values_kwh, minlength=g)
    known = np.isfinite(totals_kwh)
    positive = known & (sums > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(positive, totals_kwh / np.where(positive, sums, 1.0), 1.0)
        flat = np.where(known & ~positive, totals_kwh / np.maximum(length, 1), 0.0)
    out = np.where(positive[gap_id], values_kwh * factor[gap_id], values_kwh)
    out = np.where((known & ~positive)[gap_id], flat[gap_id], out)
    return out.astype(np.float64), known


@dataclass(frozen=True, slots=True)
class _Gaps:
    """Gaps being filled (internal): per gap its first and past-the-end interval, per member its
    interval and gap (as :func:`expand_gaps` gives them)."""

    start: IntArray
    end: IntArray
    index: IntArray
    gap_id: IntArray


def _apply_fill(
    energy: FloatArray,
    status: NDArray[np.uint8],
    flags: NDArray[np.uint16],
    boundary: FloatArray | None,
    gaps: _Gaps,
    *,
    values_kwh: FloatArray,
    flag: IntervalFlag,
    shape: tuple[int, ...],
) -> GapFill:
    """Write the estimates, scaled to the register totals where known, into copies of the series."""
    values_kwh, n_scaled = _scaled_to_register(values_kwh, boundary, flags, gaps)
    index = gaps.index
    energy_out = energy.reshape(-1).copy()
    status_out = status.reshape(-1).copy()
    flags_out = flags.reshape(-1).copy()
    energy_out[index] = values_kwh
    status_out[index] = IntervalStatus.ESTIMATED
    flags_out[index] |= np.uint16(flag)
    return GapFill(
        energy_kwh=read_only(energy_out.reshape(shape)),
        status=read_only(status_out.reshape(shape)),
        flags=read_only(flags_out.reshape(shape)),
        n_gaps_filled=int(gaps.start.shape[0]),
        n_intervals_filled=int(index.shape[0]),
        n_gaps_scaled=n_scaled,
    )


# ---------------------------------------------------------------------------------------------------
# short gaps: point-to-point


def linear_gap_values(left_kwh: FloatArray, right_kwh: FloatArray, *, length: IntArray) -> FloatArray:
    """Point-to-point values of the gap members: a straight line between the bounding intervals.

    Parameters
    ----------
    left_kwh, right_kwh : ndarray (g,) float64
        Energy of the valid interval before and after each gap [kWh].
    length : ndarray (g,) int64
        Gap lengths :math:`L` [intervals].

    Returns
    -------
    ndarray (sum(length),) float64
        :math:`\\hat E_p = E_{left} + (E_{right} - E_{left})\\, p / (L + 1)`, :math:`p = 1..L` [kWh].

    Examples
    --------
    >>> linear_gap_values(np.array([1.0]), np.array([4.0]), length=np.array([2])).tolist()
    [2.0, 3.0]
    """
    _, gap_id, position = expand_gaps(np.zeros(length.shape[0], dtype=np.int64), length)
    p = (position + 1).astype(np.float64)
    step = (right_kwh - left_kwh) / (length + 1).astype(np.float64)
    values: FloatArray = left_kwh[gap_id] + step[gap_id] * p
    return values


def _scaled_to_register(
    values: FloatArray, boundary: FloatArray | None, flags: NDArray[np.uint16], gaps: _Gaps
) -> tuple[FloatArray, int]:
    """Estimates scaled so each gap sums to its register total where that total is trustworthy."""
    if boundary is None:
        return values, 0
    totals = gap_totals_kwh(boundary, flags, start_index=gaps.start, end_index=gaps.end)
    length = gaps.end - gaps.start
    scaled_values, scaled = scale_to_gap_totals(values, gap_id=gaps.gap_id, length=length, totals_kwh=totals)
    return scaled_values, int(np.count_nonzero(scaled))


def fill_short_gaps_linear(
    energy_kwh: FloatArray,
    status: NDArray[np.uint8],
    flags: NDArray[np.uint16],
    *,
    resolution_s: int,
    max_gap_intervals: int | None = None,
    boundary_energy_kwh: FloatArray | None = None,
) -> GapFill:
    """Fill short gaps point-to-point, preserving the register total when it is known.

    Parameters
    ----------
    energy_kwh : ndarray (n,) float64
        Interval energy [kWh].
    status : ndarray (n,) uint8
        :class:`IntervalStatus` codes; only MISSING intervals are filled.
    flags : ndarray (n,) uint16
        :class:`IntervalFlag` bits.
    resolution_s : int
        Interval length [s].
    max_gap_intervals : int, optional
        Longest gap to fill [intervals]; default one hour, ``3600 / resolution_s``.
    boundary_energy_kwh : ndarray (n + 1,) float64, optional
        Continuous counter at the boundaries [kWh]; where a gap's total is trustworthy (see
        :func:`gap_totals_kwh`) the estimates are scaled to it.

    Returns
    -------
    GapFill
        Filled intervals are ESTIMATED with flag ESTIMATED_LINEAR.

    Notes
    -----
    A gap ``[a, b)`` of length :math:`L \\le L_{max}` is eligible when intervals ``a - 1`` and ``b``
    are valid (MEASURED or EDITED). Then

    .. math::

        \\hat E_{a-1+p} = E_{a-1} + (E_b - E_{a-1}) \\frac{p}{L + 1}, \\quad p = 1..L,
        \\qquad \\hat E \\leftarrow \\hat E \\frac{T}{\\sum \\hat E} \\text{ if } T \\text{ known}.

    References
    ----------
    IESO-style VEE: short gaps <= 1 h point-to-point (join the previous and next actual intervals with
    a straight line); Itron IEE linear interpolation with "Max Range to Interpolate" (e.g. 01:00);
    Oracle MDM "Interval Interpolation Estimation".

    Examples
    --------
    >>> e = np.array([1.0, np.nan, np.nan, 4.0])
    >>> s = np.array([0, 2, 2, 0], dtype=np.uint8)
    >>> r = fill_short_gaps_linear(e, s, np.zeros(4, dtype=np.uint16), resolution_s=900)
    >>> r.energy_kwh.tolist(), r.status.tolist()
    ([1.0, 2.0, 3.0, 4.0], [0, 1, 1, 0])
    """
    energy, st, fl = _check_series(energy_kwh, status, flags)
    if energy.ndim != 1:
        raise ValueError("fill_short_gaps_linear expects 1-D series (time axis only)")
    res = check_resolution(resolution_s)
    limit = 3600 // res if max_gap_intervals is None else int(max_gap_intervals)
    if limit < 1:
        raise ValueError("max_gap_intervals must be >= 1")
    n = energy.shape[0]
    boundary = _check_boundary(boundary_energy_kwh, n)

    valid = valid_mask(st) & np.isfinite(energy)
    start, end = runs_of_true(st == IntervalStatus.MISSING)
    length = end - start
    left, right = start - 1, end
    bounded = (left >= 0) & (right < n)
    bounded &= valid[np.clip(left, 0, max(n - 1, 0))] & valid[np.clip(right, 0, max(n - 1, 0))]
    ok = bounded & (length <= limit)
    start, end, length = start[ok], end[ok], length[ok]

    index, gap_id, _ = expand_gaps(start, length)
    values = linear_gap_values(energy[start - 1], energy[end], length=length)
    gaps = _Gaps(start, end, index, gap_id)
    return _apply_fill(
        energy, st, fl, boundary, gaps, values_kwh=values, flag=IntervalFlag.ESTIMATED_LINEAR, shape=energy.shape
    )


# ---------------------------------------------------------------------------------------------------
# long gaps: like day


def like_day_profiles(
    energy_kwh: FloatArray,
    valid: BoolArray,
    *,
    day_index: IntArray,
    slot: IntArray,
    n_slots: int,
    day_type: IntArray,
    day_complete: BoolArray,
    target_days: IntArray,
    lookback_days: int,
    n_like_days: int,
) -> tuple[FloatArray, IntArray]:
    """Mean profile of the nearest eligible like days before each target day.

    Parameters
    ----------
    energy_kwh : ndarray (n,) float64
        Interval energy [kWh].
    valid : ndarray (n,) bool
        Interval is MEASURED or EDITED with a finite value.
    day_index : ndarray (n,) int64
        Day of each interval, ``0 .. n_days - 1``.
    slot : ndarray (n,) int64
        Clock slot of each interval, ``0 .. n_slots - 1``.
    n_slots : int
        Slots per regular day.
    day_type : ndarray (n_days,) int64
        Day type (0..6 Monday..Sunday, 7 holiday).
    day_complete : ndarray (n_days,) bool
        The day is entirely on the grid.
    target_days : ndarray (t,) int64
        Days that need a profile.
    lookback_days : int
        Reference days are taken from ``[d - lookback_days, d)``.
    n_like_days : int
        At most this many nearest eligible days are averaged.

    Returns
    -------
    profile_kwh : ndarray (t, n_slots) float64
        Mean reference energy per slot [kWh]; NaN where no reference has the slot.
    n_references : ndarray (t,) int64
        Reference days used for each target day.

    Notes
    -----
    Day :math:`r` is eligible when it is complete and every interval is valid: days containing
    ESTIMATED or MISSING intervals are never references. With :math:`\\mathcal R_d` the up to
    :math:`N` latest eligible days :math:`r < d`, :math:`d - r \\le` lookback, of the same type,
    :math:`P_d(s) = \\operatorname{mean}_{r \\in \\mathcal R_d} E_r(s)`; a slot that occurs twice in a
    day (DST fall-back) contributes its mean.

    Examples
    --------
    >>> e = np.array([1.0, 2.0, 3.0, 4.0, 0.0, 0.0])
    >>> p, k = like_day_profiles(e, np.array([True] * 4 + [False] * 2),
    ...     day_index=np.repeat(np.arange(3), 2), slot=np.tile(np.arange(2), 3), n_slots=2,
    ...     day_type=np.zeros(3, dtype=np.int64), day_complete=np.ones(3, dtype=bool),
    ...     target_days=np.array([2]), lookback_days=21, n_like_days=3)
    >>> p.tolist(), k.tolist()
    ([[2.0, 3.0]], [2])
    """
    n_days = day_type.shape[0]
    key = day_index * n_slots + slot
    ref_sum = np.bincount(key, weights=np.where(valid, energy_kwh, 0.0), minlength=n_days * n_slots)
    ref_count = np.bincount(key, minlength=n_days * n_slots)
    with np.errstate(invalid="ignore", divide="ignore"):
        ref = np.where(ref_count > 0, ref_sum / np.maximum(ref_count, 1), np.nan).reshape(n_days, n_slots)
    n_invalid = np.bincount(day_index, weights=(~valid).astype(np.float64), minlength=n_days)
    n_present = np.bincount(day_index, minlength=n_days)
    eligible = day_complete & (n_invalid == 0) & (n_present > 0)

    back = target_days[:, None] - 1 - np.arange(lookback_days, dtype=np.int64)[None, :]
    back_c = np.clip(back, 0, max(n_days - 1, 0))
    same_type = day_type[back_c] == day_type[target_days][:, None]
    candidate = (back >= 0) & eligible[back_c] & same_type
    chosen = candidate & (np.cumsum(candidate, axis=1) <= n_like_days)
    refs = ref[back_c]  # (t, lookback, n_slots)
    use = chosen[:, :, None] & np.isfinite(refs)
    total = np.sum(np.where(use, refs, 0.0), axis=1)
    count = np.sum(use, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        profile = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    return profile.astype(np.float64), np.sum(chosen, axis=1).astype(np.int64)


def _day_structure(
    energy: FloatArray, day_type: IntArray, calendar: LocalCalendar | None
) -> tuple[IntArray, IntArray, int, BoolArray]:
    n_days = day_type.shape[0]
    if calendar is not None:
        if energy.ndim != 1 or energy.shape[0] != calendar.day_index.shape[0]:
            raise ValueError(
                f"shape mismatch: with a calendar energy_kwh must be (n,) = ({calendar.day_index.shape[0]},)"
            )
        if n_days != calendar.n_days:
            raise ValueError(f"shape mismatch: day_type {day_type.shape} vs calendar days ({calendar.n_days},)")
        return calendar.day_index, calendar.slot, calendar.n_slots, calendar.complete
    if energy.ndim == 2:
        if energy.shape[0] != n_days:
            raise ValueError(f"shape mismatch: energy_kwh {energy.shape} vs day_type {day_type.shape}")
        n_slots = energy.shape[1]
    elif energy.ndim == 1:
        if n_days == 0 or energy.shape[0] % n_days != 0:
            raise ValueError(
                f"shape mismatch: energy_kwh length {energy.shape[0]} is not a multiple of len(day_type) = {n_days}"
            )
        n_slots = energy.shape[0] // n_days
    else:
        raise ValueError("energy_kwh must be (n_days, n_per_day) or (n,)")
    day_index = np.repeat(np.arange(n_days, dtype=np.int64), n_slots)
    slot = np.tile(np.arange(n_slots, dtype=np.int64), n_days)
    return day_index, slot, n_slots, np.ones(n_days, dtype=np.bool_)


def fill_long_gaps_like_day(
    energy_kwh: FloatArray,
    status: NDArray[np.uint8],
    flags: NDArray[np.uint16],
    *,
    day_type: IntArray,
    calendar: LocalCalendar | None = None,
    lookback_days: int = 21,
    n_like_days: int = 3,
    min_gap_intervals: int = 1,
    boundary_energy_kwh: FloatArray | None = None,
) -> GapFill:
    """Fill gaps from the mean profile of the nearest like days, scaled to the register total.

    Parameters
    ----------
    energy_kwh : ndarray (n_days, n_per_day) or (n,) float64
        Interval energy [kWh]. Without ``calendar`` rows (or consecutive blocks of ``n / n_days``
        intervals) are days and columns are clock slots. With ``calendar`` the series is 1-D on the
        UTC grid and days / slots come from the calendar.
    status : same shape as energy_kwh, uint8
        :class:`IntervalStatus` codes; only MISSING intervals are filled.
    flags : same shape as energy_kwh, uint16
        :class:`IntervalFlag` bits.
    day_type : ndarray (n_days,) int64
        Day type of each day in the installation's local time (0..6 Monday..Sunday, 7 holiday),
        e.g. ``calendar.day_type``.
    calendar : LocalCalendar, optional
        Local days and clock slots from :func:`workers.engine.daytypes.local_calendar`; use it so that
        23-h and 25-h local days are matched by local clock time.
    lookback_days : int, default 21
        Reference days come from the preceding three weeks.
    n_like_days : int, default 3
        Up to this many nearest eligible like days are averaged.
    min_gap_intervals : int, default 1
        Shorter gaps are left alone (run the linear fill first).
    boundary_energy_kwh : ndarray (n + 1,) float64, optional
        Continuous counter at the boundaries of the flattened series [kWh]; trustworthy gap totals
        (see :func:`gap_totals_kwh`) are kept exactly.

    Returns
    -------
    GapFill
        Filled intervals are ESTIMATED with flag ESTIMATED_LIKE_DAY. A gap is filled entirely or not
        at all: if any of its days has no eligible like day it stays MISSING.

    Notes
    -----
    For a gap :math:`G` (a run of MISSING intervals, possibly across midnight), each member
    :math:`i` on day :math:`d_i` at slot :math:`s_i` gets :math:`\\hat E_i = P_{d_i}(s_i)` from
    :func:`like_day_profiles`; if the register total :math:`T` is known,
    :math:`\\hat E_i \\leftarrow \\hat E_i\\, T / \\sum_{j \\in G} \\hat E_j`.

    References
    ----------
    IESO-style VEE: gaps > 1 h estimated from historical data of the previous 3 weeks; Itron IEE
    "Historical" estimation (3 nearest like days; days with Estimated / Estimation Needed / Missing /
    Power Outage intervals are not eligible).

    Examples
    --------
    >>> e = np.array([[1.0, 2.0], [1.0, 2.0], [np.nan, np.nan]])
    >>> s = np.array([[0, 0], [0, 0], [2, 2]], dtype=np.uint8)
    >>> r = fill_long_gaps_like_day(e, s, np.zeros((3, 2), dtype=np.uint16),
    ...                             day_type=np.zeros(3, dtype=np.int64))
    >>> r.energy_kwh[2].tolist(), r.status[2].tolist()
    ([1.0, 2.0], [1, 1])
    """
    energy, st, fl = _check_series(energy_kwh, status, flags)
    types = np.asarray(day_type)
    if types.ndim != 1 or not np.issubdtype(types.dtype, np.integer):
        raise ValueError("day_type must be a 1-D integer array (one type per day)")
    if lookback_days < 1 or n_like_days < 1 or min_gap_intervals < 1:
        raise ValueError("lookback_days, n_like_days and min_gap_intervals must be >= 1")
    types = types.astype(np.int64)
    day_index, slot, n_slots, complete = _day_structure(energy, types, calendar)

    flat_e, flat_s, flat_f = energy.reshape(-1), st.reshape(-1), fl.reshape(-1)
    n = flat_e.shape[0]
    boundary = _check_boundary(boundary_energy_kwh, n)
    valid = valid_mask(flat_s) & np.isfinite(flat_e)

    start, end = runs_of_true(flat_s == IntervalStatus.MISSING)
    length = end - start
    keep = length >= min_gap_intervals
    start, end, length = start[keep], end[keep], length[keep]
    index, gap_id, _ = expand_gaps(start, length)

    targets, target_pos = np.unique(day_index[index], return_inverse=True)
    profile, _ = like_day_profiles(
        flat_e,
        valid,
        day_index=day_index,
        slot=slot,
        n_slots=n_slots,
        day_type=types,
        day_complete=complete,
        target_days=targets.astype(np.int64),
        lookback_days=lookback_days,
        n_like_days=n_like_days,
    )
    values = profile[target_pos.reshape(-1), slot[index]] if index.size else np.zeros(0)

    # a gap is filled only if every member has a profile value
    g = start.shape[0]
    filled = np.bincount(gap_id, weights=(~np.isfinite(values)).astype(np.float64), minlength=g) == 0
    member = filled[gap_id]
    start, end, length = start[filled], end[filled], length[filled]
    index, values = index[member], values[member]
    gap_id = (np.cumsum(filled) - 1)[gap_id[member]]

    gaps = _Gaps(start, end, index, gap_id)
    return _apply_fill(
        flat_e,
        flat_s,
        flat_f,
        boundary,
        gaps,
        values_kwh=values,
        flag=IntervalFlag.ESTIMATED_LIKE_DAY,
        shape=energy.shape,
    )
