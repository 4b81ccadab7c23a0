"""Allocation of a metered quantity (electricity kWh, fuel tCO2) from lines and overhead to batches.

The rules (methodology 1, [ours] unless cited; the regulation allocates installation emissions to
production processes, [IR2547] Annex III A.3, and leaves the split below a process to the operator):

1. A line's energy ``L_lt`` goes to the batches running on it in interval ``t`` in proportion to
   their time overlap ``o_bt = |[start_b, end_b) ∩ [t, t + r)|``:
   ``e_bt = L_lt · o_bt / Σ_b' o_b't``.
2. Overhead ``OH_t`` (auxiliaries, unmetered consumption, lines with no batch running) goes to the
   running batches by their line energy: ``OH_t · e_bt / A_t`` with ``A_t = Σ_b e_bt > 0``.
3. Where ``A_t <= 0`` (nothing ran or the running lines drew nothing) ``OH_t`` is idle overhead:
   pooled per local day and spread over the batches overlapping that day by net mass. A day
   without such a batch (or whose batches weigh nothing) keeps its idle overhead unallocated.

The allocation is linear in the quantity, so one :class:`AllocationPlan` (the weights, from the
base quantity) can carry any other per-interval quantity with the same shares; matched supply per
source is allocated that way. Sums are exact up to float rounding:
``Σ_b (line + overhead + idle) + unallocated = Σ_t (Σ_l L_lt + other_t)``.
"""

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = ["Allocated", "AllocationPlan", "BatchPairs", "allocation_plan", "batch_pairs"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]


def weighted_bincount(index: IntArray, weights: FloatArray, minlength: int) -> FloatArray:
    """``np.bincount`` with float weights, typed as float64 (sums per index)."""
    out: FloatArray = np.bincount(index, weights=weights, minlength=minlength).astype(np.float64, copy=False)
    return out


@dataclass(frozen=True, slots=True)
class BatchPairs:
    """Sparse (batch, interval) overlaps and (batch, local day) memberships.

    Attributes
    ----------
    batch, interval : ndarray (P,) int64
        Pairs with a positive overlap, ordered by batch then interval.
    overlap_s : ndarray (P,) float64
        ``o_bt`` [s].
    line : ndarray (P,) int64
        The batch's line (-1: none).
    day_batch, day : ndarray (Q,) int64
        Each local day (index of the day bucket) a batch overlaps.
    in_grid : ndarray (b,) bool
        The batch overlaps at least one interval.
    """

    batch: IntArray
    interval: IntArray
    overlap_s: FloatArray
    line: IntArray
    day_batch: IntArray
    day: IntArray
    in_grid: BoolArray


def batch_pairs(
    grid_start_s: int,
    resolution_s: int,
    n: int,
    start_s: IntArray,
    end_s: IntArray,
    line: IntArray,
    day_of_interval: IntArray,
) -> BatchPairs:
    """Enumerate the intervals each batch overlaps, without a loop over batches.

    Parameters
    ----------
    grid_start_s, resolution_s, n : int
        The grid.
    start_s, end_s : ndarray (b,) int64
        Batch production intervals ``[start, end)``.
    line : ndarray (b,) int64
    day_of_interval : ndarray (n,) int64
        Local day bucket of each interval.

    Returns
    -------
    BatchPairs

    Notes
    -----
    ``o_bt = max(0, min(end_b, t + r) - max(start_b, t))``. Batch ``b`` covers intervals
    ``floor((start_b - t_0)/r) .. ceil((end_b - t_0)/r) - 1`` clipped to the grid; the pairs are
    laid out with ``np.repeat`` and a running offset.
    """
    b = start_s.shape[0]
    res = int(resolution_s)
    g0 = int(grid_start_s)
    first = np.clip((start_s - g0) // res, 0, n)
    last = np.clip(-((g0 - end_s) // res), 0, n)  # ceil((end - g0) / res), exclusive
    count = np.maximum(last - first, 0)
    total = int(count.sum())
    pair_batch = np.repeat(np.arange(b, dtype=np.int64), count)
    offsets = np.cumsum(count) - count
    pair_interval = first[pair_batch] + (np.arange(total, dtype=np.int64) - offsets[pair_batch])
    t0 = g0 + pair_interval * res
    overlap = (np.minimum(end_s[pair_batch], t0 + res) - np.maximum(start_s[pair_batch], t0)).astype(np.float64)
    keep = overlap > 0
    if not keep.all():
        pair_batch, pair_interval, overlap = pair_batch[keep], pair_interval[keep], overlap[keep]
    in_grid = np.bincount(pair_batch, minlength=b) > 0
    days = day_of_interval[pair_interval]
    n_days = int(day_of_interval[-1]) + 1 if n else 0
    key = pair_batch * (n_days + 1) + days
    if key.size:
        change = np.empty(key.size, dtype=bool)
        change[0] = True
        np.not_equal(key[1:], key[:-1], out=change[1:])
        day_batch, day = pair_batch[change], days[change]
    else:
        day_batch, day = key.copy(), key.copy()
    return BatchPairs(
        batch=pair_batch,
        interval=pair_interval,
        overlap_s=overlap,
        line=line[pair_batch],
        day_batch=day_batch,
        day=day,
        in_grid=in_grid,
    )


@dataclass(frozen=True, slots=True)
class Allocated:
    """A quantity allocated to batches.

    Attributes
    ----------
    line, overhead, idle : ndarray (b,) float64
        Per batch: from its line, from overhead while lines ran, from idle overhead of its days.
    idle_by_day : ndarray (d,) float64
        Idle overhead pooled per local day.
    unallocated_by_day : ndarray (d,) float64
        Idle overhead of days without a batch to carry it.
    pair_line, pair_overhead : ndarray (P,) float64
        Per (batch, interval) pair.
    """

    line: FloatArray
    overhead: FloatArray
    idle: FloatArray
    idle_by_day: FloatArray
    unallocated_by_day: FloatArray
    pair_line: FloatArray
    pair_overhead: FloatArray

    @property
    def total(self) -> FloatArray:
        """``line + overhead + idle`` per batch."""
        out: FloatArray = self.line + self.overhead + self.idle
        return out


@dataclass(frozen=True, slots=True)
class AllocationPlan:
    """Weights of the allocation rules for one base quantity (see the module notes).

    Attributes
    ----------
    pairs : BatchPairs
    line_weight : ndarray (P,)
        ``o_bt / Σ_b' o_b't`` within the batch's line (0 for batches without line).
    line_active : ndarray (l, n) bool
        A batch runs on the line in the interval.
    overhead_weight : ndarray (P,)
        ``e_bt / A_t`` where ``A_t > 0``, else 0.
    idle_interval : ndarray (n,) bool
        ``A_t <= 0``: overhead of the interval is idle overhead.
    day_of_interval : ndarray (n,) int64
    day_weight : ndarray (Q,)
        ``m_b / Σ m`` over the batches overlapping the day (0 where that sum is 0).
    day_carried : ndarray (d,) bool
        Some batch with mass overlaps the day.
    n_batches : int
    """

    pairs: BatchPairs
    line_weight: FloatArray
    line_active: BoolArray
    overhead_weight: FloatArray
    idle_interval: BoolArray
    day_of_interval: IntArray
    day_weight: FloatArray
    day_carried: BoolArray
    n_batches: int

    def apply(self, line_values: FloatArray, other: FloatArray) -> Allocated:
        """Allocate a quantity with these weights.

        Parameters
        ----------
        line_values : ndarray (l, n)
            Quantity metered per line and interval (``L_lt``).
        other : ndarray (n,)
            Overhead metered or inferred outside the lines (auxiliaries + unmetered).

        Returns
        -------
        Allocated
        """
        p = self.pairs
        b = self.n_batches
        n_days = self.day_carried.shape[0]
        on_line = p.line >= 0
        pair_line = np.zeros(p.batch.shape[0], dtype=np.float64)
        if line_values.shape[0]:
            pair_line[on_line] = line_values[p.line[on_line], p.interval[on_line]] * self.line_weight[on_line]
            overhead_t = other + np.where(self.line_active, 0.0, line_values).sum(axis=0)
        else:
            overhead_t = other.astype(np.float64, copy=True)
        pair_overhead = overhead_t[p.interval] * self.overhead_weight
        idle_t = np.where(self.idle_interval, overhead_t, 0.0)
        idle_by_day = weighted_bincount(self.day_of_interval, weights=idle_t, minlength=n_days)
        idle = weighted_bincount(p.day_batch, weights=idle_by_day[p.day] * self.day_weight, minlength=b)
        unallocated = np.where(self.day_carried, 0.0, idle_by_day)
        return Allocated(
            line=weighted_bincount(p.batch, weights=pair_line, minlength=b),
            overhead=weighted_bincount(p.batch, weights=pair_overhead, minlength=b),
            idle=idle,
            idle_by_day=idle_by_day,
            unallocated_by_day=unallocated,
            pair_line=pair_line,
            pair_overhead=pair_overhead,
        )


def allocation_plan(
    pairs: BatchPairs,
    line_values: FloatArray,
    net_mass_t: FloatArray,
    day_of_interval: IntArray,
    n_days: int,
) -> AllocationPlan:
    """Weights of the allocation rules for a base quantity.

    Parameters
    ----------
    pairs : BatchPairs
    line_values : ndarray (l, n)
        Base quantity per line ``L_lt`` (its line shares set the overhead weights).
    net_mass_t : ndarray (b,)
    day_of_interval : ndarray (n,) int64
    n_days : int

    Returns
    -------
    AllocationPlan

    Notes
    -----
    .. math::

        e_{bt} = L_{l(b)t} \\frac{o_{bt}}{\\sum_{b' \\in l} o_{b't}}, \\quad
        A_t = \\sum_b e_{bt}, \\quad
        w^{OH}_{bt} = e_{bt} / A_t \\;(A_t > 0), \\quad
        w^{idle}_{bd} = m_b / \\sum_{b' \\ni d} m_{b'}
    """
    n_lines, n = line_values.shape
    b = net_mass_t.shape[0]
    on_line = pairs.line >= 0
    key = pairs.line[on_line] * n + pairs.interval[on_line]
    overlap_sum = weighted_bincount(key, weights=pairs.overlap_s[on_line], minlength=n_lines * n)
    line_weight = np.zeros(pairs.batch.shape[0], dtype=np.float64)
    line_weight[on_line] = pairs.overlap_s[on_line] / overlap_sum[key]
    line_active = (overlap_sum > 0).reshape(n_lines, n)
    e = np.zeros(pairs.batch.shape[0], dtype=np.float64)
    if n_lines:
        e[on_line] = line_values[pairs.line[on_line], pairs.interval[on_line]] * line_weight[on_line]
    active = weighted_bincount(pairs.interval, weights=e, minlength=n)
    positive = active > 0
    safe = np.where(positive, active, 1.0)
    overhead_weight = np.where(positive[pairs.interval], e / safe[pairs.interval], 0.0)
    day_mass = weighted_bincount(pairs.day, weights=net_mass_t[pairs.day_batch], minlength=n_days)
    carried = day_mass > 0
    day_weight = np.where(
        carried[pairs.day], net_mass_t[pairs.day_batch] / np.where(carried, day_mass, 1.0)[pairs.day], 0.0
    )
    return AllocationPlan(
        pairs=pairs,
        line_weight=line_weight,
        line_active=line_active,
        overhead_weight=overhead_weight,
        idle_interval=~positive,
        day_of_interval=day_of_interval,
        day_weight=day_weight,
        day_carried=carried,
        n_batches=b,
    )
