"""Validation reports on interval data: gaps, anomalies and the sum check."""

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from workers.engine.codes import IntervalFlag, IntervalStatus, check_flags, check_status, read_only
from workers.engine.grid import check_grid

__all__ = [
    "AnomalySummary",
    "GapReport",
    "SumCheck",
    "anomaly_summary",
    "find_gaps",
    "runs_of_true",
    "sum_check",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class GapReport:
    """Runs of MISSING intervals.

    Attributes
    ----------
    start_index, end_index : ndarray (g,) int64
        First interval of each gap and the interval after its last (half-open ``[start, end)``).
    length_intervals : ndarray (g,) int64
        Gap length [intervals].
    start_s, end_s : ndarray (g,) int64
        Gap start and end [s since epoch, UTC], half-open.
    duration_s : ndarray (g,) int64
        Gap length [s].
    n_expected : int
        Intervals expected on the grid.
    n_found : int
        Intervals not MISSING ("intervals found").
    """

    start_index: IntArray
    end_index: IntArray
    length_intervals: IntArray
    start_s: IntArray
    end_s: IntArray
    duration_s: IntArray
    n_expected: int
    n_found: int


@dataclass(frozen=True, slots=True)
class AnomalySummary:
    """Where spikes and negative intervals occur, and how often each flag is set.

    Attributes
    ----------
    spike_index, negative_index : ndarray (k,) int64
        Intervals flagged SPIKE / NEGATIVE.
    spike_energy_kwh, negative_energy_kwh : ndarray (k,) float64
        The suspect values kept at those intervals [kWh] (NaN if none was kept).
    flag_bits : ndarray (f,) uint16
        Every :class:`IntervalFlag` bit, in declaration order.
    flag_counts : ndarray (f,) int64
        Number of intervals carrying each bit.
    """

    spike_index: IntArray
    spike_energy_kwh: FloatArray
    negative_index: IntArray
    negative_energy_kwh: FloatArray
    flag_bits: NDArray[np.uint16]
    flag_counts: IntArray


@dataclass(frozen=True, slots=True)
class SumCheck:
    """Interval sum versus register delta per period.

    Attributes
    ----------
    interval_sum_kwh : ndarray (...) float64
        :math:`\\sum_i E_i` over the period [kWh] (MISSING intervals excluded).
    register_delta_kwh : ndarray (...) float64
        Counter difference over the same period [kWh].
    difference_kwh : ndarray (...) float64
        ``interval_sum_kwh - register_delta_kwh`` [kWh].
    complete : ndarray (...) bool
        No MISSING interval in the period.
    within_tolerance : ndarray (...) bool
        Complete and :math:`|D| \\le a + r\\,|R|`.
    """

    interval_sum_kwh: FloatArray
    register_delta_kwh: FloatArray
    difference_kwh: FloatArray
    complete: BoolArray
    within_tolerance: BoolArray


def runs_of_true(mask: BoolArray) -> tuple[IntArray, IntArray]:
    """Start and end (exclusive) indices of the runs of ``True`` in a 1-D mask.

    Examples
    --------
    >>> s, e = runs_of_true(np.array([False, True, True, False, True]))
    >>> s.tolist(), e.tolist()
    ([1, 4], [3, 5])
    """
    padded = np.concatenate(([0], mask.astype(np.int8), [0]))
    change = np.diff(padded)
    starts: IntArray = np.flatnonzero(change == 1).astype(np.int64)
    ends: IntArray = np.flatnonzero(change == -1).astype(np.int64)
    return starts, ends


def find_gaps(status: NDArray[np.uint8], *, resolution_s: int, grid_start_s: int) -> GapReport:
    """Gap check: runs of MISSING intervals on the expected grid.

    Parameters
    ----------
    status : ndarray (n,) uint8
        :class:`IntervalStatus` codes of one meter.
    resolution_s : int
        Interval length [s].
    grid_start_s : int
        Start of interval 0, a UTC midnight [s since epoch].

    Returns
    -------
    GapReport

    Notes
    -----
    A gap is a maximal run ``[a, b)`` with ``status == MISSING``; it spans
    :math:`[t_0 + a\\,\\Delta t,\\ t_0 + b\\,\\Delta t)`.

    References
    ----------
    IESO-style VEE "Intervals Found vs. Intervals Expected" and "Missing Intervals"; Itron IEE
    "Gap Check".

    Examples
    --------
    >>> g = find_gaps(np.array([0, 2, 2, 0], dtype=np.uint8), resolution_s=900, grid_start_s=0)
    >>> g.start_s.tolist(), g.duration_s.tolist(), g.n_found
    ([900], [1800], 2)
    """
    st = check_status(status)
    if st.ndim != 1:
        raise ValueError("status must be 1-D (one meter, time axis only)")
    start, n, res = check_grid(grid_start_s, st.shape[0], resolution_s)
    missing = st == IntervalStatus.MISSING
    a, b = runs_of_true(missing)
    return GapReport(
        start_index=read_only(a),
        end_index=read_only(b),
        length_intervals=read_only(b - a),
        start_s=read_only(start + a * res),
        end_s=read_only(start + b * res),
        duration_s=read_only((b - a) * res),
        n_expected=n,
        n_found=int(n - np.count_nonzero(missing)),
    )


def anomaly_summary(energy_kwh: FloatArray, flags: NDArray[np.uint16]) -> AnomalySummary:
    """Spike and negative-consumption summary plus a count per flag.

    Parameters
    ----------
    energy_kwh : ndarray (n,) float64
        Interval energy [kWh].
    flags : ndarray (n,) uint16
        :class:`IntervalFlag` bits.

    Returns
    -------
    AnomalySummary

    References
    ----------
    Itron IEE interval rules (Demand High Limit, consecutive-interval tolerance); negative
    consumption on import-only series treated as suspect.

    Examples
    --------
    >>> f = np.array([0, int(IntervalFlag.SPIKE), 0], dtype=np.uint16)
    >>> s = anomaly_summary(np.array([1.0, 50.0, 1.0]), f)
    >>> s.spike_index.tolist(), s.spike_energy_kwh.tolist()
    ([1], [50.0])
    """
    fl = check_flags(flags)
    if energy_kwh.shape != fl.shape or energy_kwh.ndim != 1:
        raise ValueError(f"shape mismatch: energy_kwh {energy_kwh.shape} vs flags {fl.shape} (1-D)")
    energy = energy_kwh.astype(np.float64, copy=False)
    bits = np.array([int(f) for f in IntervalFlag], dtype=np.uint16)
    counts = np.count_nonzero((fl[None, :] & bits[:, None]) != 0, axis=1).astype(np.int64)
    spike = np.flatnonzero((fl & np.uint16(IntervalFlag.SPIKE)) != 0).astype(np.int64)
    negative = np.flatnonzero((fl & np.uint16(IntervalFlag.NEGATIVE)) != 0).astype(np.int64)
    return AnomalySummary(
        spike_index=read_only(spike),
        spike_energy_kwh=read_only(energy[spike].copy()),
        negative_index=read_only(negative),
        negative_energy_kwh=read_only(energy[negative].copy()),
        flag_bits=read_only(bits),
        flag_counts=read_only(counts),
    )


def sum_check(
    energy_kwh: FloatArray,
    status: NDArray[np.uint8],
    *,
    register_delta_kwh: FloatArray,
    rel_tol: float = 1e-3,
    abs_tol_kwh: float = 0.01,
) -> SumCheck:
    """Sum check: interval energies against the register (counter) delta of each period.

    Parameters
    ----------
    energy_kwh : ndarray (..., n) float64
        Interval energy, time axis last; one period per leading index (e.g. ``(n_days, 96)``) [kWh].
    status : ndarray (..., n) uint8
        :class:`IntervalStatus` codes.
    register_delta_kwh : ndarray (...) float64
        :math:`R = C(\\text{end}) - C(\\text{start})` of each period, multiplier applied [kWh]; for
        engine results ``boundary_energy_kwh[b] - boundary_energy_kwh[a]``.
    rel_tol : float, default 1e-3
        Relative tolerance [-].
    abs_tol_kwh : float, default 0.01
        Absolute tolerance for register rounding [kWh].

    Returns
    -------
    SumCheck

    Notes
    -----
    .. math:: D = \\sum_i E_i - R, \\qquad \\text{pass} \\iff |D| \\le a + r\\,|R|

    A period with a MISSING interval is incomplete and never passes. A failure points at a wrong
    multiplier, telecom corruption or an unhandled counter event.

    References
    ----------
    IESO-style VEE "Meter Reading vs. Load Profile"; CPUC VEE work-group discussion of the sum check;
    ERCOT question on reconciling interval sums with register deltas (rounding).

    Examples
    --------
    >>> e = np.array([[1.0, 2.0], [1.0, 2.0]])
    >>> s = np.zeros((2, 2), dtype=np.uint8)
    >>> sum_check(e, s, register_delta_kwh=np.array([3.0, 3.3])).within_tolerance.tolist()
    [True, False]
    """
    st = check_status(status)
    if energy_kwh.shape != st.shape or energy_kwh.ndim < 1:
        raise ValueError(f"shape mismatch: energy_kwh {energy_kwh.shape} vs status {st.shape}")
    register = np.asarray(register_delta_kwh, dtype=np.float64)
    if register.shape != energy_kwh.shape[:-1]:
        raise ValueError(
            f"shape mismatch: register_delta_kwh {register.shape} must equal energy_kwh.shape[:-1] "
            f"{energy_kwh.shape[:-1]}"
        )
    if rel_tol < 0 or abs_tol_kwh < 0:
        raise ValueError("tolerances must be >= 0")
    energy = energy_kwh.astype(np.float64, copy=False)
    counted = (st != IntervalStatus.MISSING) & np.isfinite(energy)
    complete = np.all(counted, axis=-1)
    total = np.sum(np.where(counted, energy, 0.0), axis=-1)
    diff = total - register
    with np.errstate(invalid="ignore"):
        within = complete & np.isfinite(diff) & (np.abs(diff) <= abs_tol_kwh + rel_tol * np.abs(register))
    return SumCheck(
        interval_sum_kwh=read_only(np.asarray(total, dtype=np.float64)),
        register_delta_kwh=read_only(register.copy()),
        difference_kwh=read_only(np.asarray(diff, dtype=np.float64)),
        complete=read_only(np.asarray(complete)),
        within_tolerance=read_only(np.asarray(within)),
    )
