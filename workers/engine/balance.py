"""Meter balance (parent versus direct children) and virtual meters.

A parent meter's energy equals the energy of its direct children plus a residual of unmetered
loads, losses and measurement error. The residual share is a standing plausibility check: a wrong
CT ratio, a swapped polarity or a double-counted sub-meter shows up as a residual outside the band.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Final

import numpy as np
from numpy.typing import NDArray

from workers.engine.codes import (
    IntervalFlag,
    IntervalStatus,
    check_status,
    read_only,
    status_of_rank,
    status_rank,
    valid_mask,
)

__all__ = [
    "BalanceResult",
    "BalanceRole",
    "VirtualMeters",
    "check_hierarchy",
    "evaluate_virtual_meters",
    "meter_balance",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]


class BalanceRole(IntEnum):
    """How a meter enters its parent's balance: the sign it carries as a child.

    The site model's meter role (main, sub, check, ...) maps onto one of these; only the sign and
    whether the meter takes part matter here.
    """

    MAIN = 0
    """Incomer or main feeder (+1 as a child)."""
    SUB = 1
    """Sub-meter of a load or feeder (+1: energy drawn from the parent's node)."""
    GENERATION = 2
    """On-site generation feeding the parent's node (-1: energy injected)."""
    EXPORT = 3
    """Energy leaving the node, e.g. delivered to a third party (+1)."""
    VIRTUAL = 4
    """Computed from other meters (0: never part of a balance, it would double count)."""


_SIGN_OF_ROLE: Final = np.array([1.0, 1.0, -1.0, 1.0, 0.0], dtype=np.float64)


@dataclass(frozen=True, slots=True)
class BalanceResult:
    """Balance of every parent meter against its direct children.

    Attributes
    ----------
    parent_index : ndarray (p,) int64
        Meter index of each balanced parent (meters with at least one non-virtual child).
    parent_kwh, children_kwh, residual_kwh : ndarray (p, n) float64
        :math:`E_P`, :math:`\\sum_c \\sigma_c E_c`, :math:`R = E_P - \\sum_c \\sigma_c E_c` [kWh];
        NaN where an input is NaN, and where the interval is not considered (parent or every
        child out of service).
    residual_share : ndarray (p, n) float64
        :math:`R / E_P` [-]; NaN where :math:`E_P = 0`.
    estimate_affected : ndarray (p, n) bool
        An input interval is not MEASURED/EDITED: the residual is informative, not compared strictly.
    out_of_tolerance : ndarray (p, n) bool
        Strictly compared and :math:`|R| > \\tau |E_P| + a`.
    parent_total_kwh, residual_total_kwh : ndarray (p,) float64
        Period sums over intervals where all inputs are finite [kWh].
    residual_share_total : ndarray (p,) float64
        Period residual share [-].
    period_out_of_tolerance : ndarray (p,) bool
        Period share outside the band; False where nothing was compared (see ``n_compared``).
    n_estimate_affected : ndarray (p,) int64
        Intervals not compared strictly.
    n_compared : ndarray (p,) int64
        Intervals compared strictly: parent and at least one child in service, every input in
        service MEASURED or EDITED. Zero means the period says nothing about the balance.
    flags : ndarray (n_meters, n) uint16
        BALANCE_OUT_OF_TOLERANCE on the parent rows where ``out_of_tolerance``; OR into stored flags.
    """

    parent_index: IntArray
    parent_kwh: FloatArray
    children_kwh: FloatArray
    residual_kwh: FloatArray
    residual_share: FloatArray
    estimate_affected: BoolArray
    out_of_tolerance: BoolArray
    parent_total_kwh: FloatArray
    residual_total_kwh: FloatArray
    residual_share_total: FloatArray
    period_out_of_tolerance: BoolArray
    n_estimate_affected: IntArray
    n_compared: IntArray
    flags: NDArray[np.uint16]


@dataclass(frozen=True, slots=True)
class VirtualMeters:
    """Virtual meter series.

    Attributes
    ----------
    energy_kwh : ndarray (v, n) float64
        :math:`\\sum_k a_k E_{m_k}` [kWh]; NaN where the worst input is MISSING.
    status : ndarray (v, n) uint8
        Worst input status (MEASURED < EDITED < ESTIMATED < MISSING).
    """

    energy_kwh: FloatArray
    status: NDArray[np.uint8]


def _check_matrix(energy_kwh: FloatArray, status: NDArray[np.uint8]) -> tuple[FloatArray, NDArray[np.uint8]]:
    st = check_status(status)
    if energy_kwh.ndim != 2:
        raise ValueError("energy_kwh must be 2-D: (n_meters, n_intervals)")
    if energy_kwh.shape != st.shape:
        raise ValueError(f"shape mismatch: energy_kwh {energy_kwh.shape} vs status {st.shape}")
    if not np.issubdtype(energy_kwh.dtype, np.floating):
        raise ValueError("energy_kwh must be a floating array")
    return energy_kwh.astype(np.float64, copy=False), st


def check_hierarchy(parent: IntArray, role: IntArray) -> tuple[IntArray, IntArray]:
    """Validate a meter tree and return ``(parent, role)`` as int64.

    Parameters
    ----------
    parent : ndarray (n_meters,) int64
        Index of each meter's parent, -1 for a root.
    role : ndarray (n_meters,) int64
        :class:`BalanceRole` of each meter.

    Raises
    ------
    ValueError
        Index out of range, a meter its own parent, a cycle, or an unknown role.

    Examples
    --------
    >>> check_hierarchy(np.array([-1, 0, 1]), np.array([0, 1, 1]))[0].tolist()
    [-1, 0, 1]
    """
    p = np.asarray(parent)
    r = np.asarray(role)
    if p.ndim != 1 or r.shape != p.shape:
        raise ValueError(f"shape mismatch: parent {p.shape} vs role {r.shape} (both (n_meters,))")
    if not (np.issubdtype(p.dtype, np.integer) and np.issubdtype(r.dtype, np.integer)):
        raise ValueError("parent and role must be integer arrays")
    m = p.shape[0]
    p = p.astype(np.int64)
    r = r.astype(np.int64)
    if m and (int(p.min()) < -1 or int(p.max()) >= m):
        raise ValueError("parent index out of range (use -1 for a root)")
    if bool(np.any(p == np.arange(m))):
        raise ValueError("a meter cannot be its own parent")
    if m and (int(r.min()) < 0 or int(r.max()) > max(BalanceRole)):
        raise ValueError(f"role must be a BalanceRole code 0..{max(BalanceRole)}")
    # pointer doubling: after k rounds ``ancestor`` is the 2**k-th ancestor; an acyclic chain is
    # shorter than m <= 2**bit_length(m), so anything still >= 0 afterwards lies on a cycle
    ancestor = p.copy()
    for _ in range(max(m.bit_length(), 1)):
        ancestor = np.where(ancestor >= 0, ancestor[np.maximum(ancestor, 0)], -1)
    if bool(np.any(ancestor >= 0)):
        raise ValueError("the meter hierarchy contains a cycle")
    return p, r


def meter_balance(
    energy_kwh: FloatArray,
    status: NDArray[np.uint8],
    *,
    parent: IntArray,
    role: IntArray,
    tolerance: float = 0.05,
    abs_tolerance_kwh: float = 0.0,
    in_service: BoolArray | None = None,
) -> BalanceResult:
    """Residual of each parent meter against its direct children.

    Parameters
    ----------
    energy_kwh : ndarray (n_meters, n) float64
        Interval energy of every meter [kWh].
    status : ndarray (n_meters, n) uint8
        :class:`IntervalStatus` codes.
    parent : ndarray (n_meters,) int64
        Parent of each meter, -1 for roots.
    role : ndarray (n_meters,) int64
        :class:`BalanceRole` codes.
    tolerance : float, default 0.05
        Allowed residual share :math:`\\tau` [-]; no public source gives a number, so it is a
        per-installation setting.
    abs_tolerance_kwh : float, default 0.0
        Absolute allowance :math:`a` for low-load intervals [kWh].
    in_service : ndarray (n_meters, n) bool, optional
        Whether each meter was installed during each interval (default: always). A child out of
        service is left out of its parent's sum (it did not exist, so it measured nothing); an
        interval where the parent or every child is out of service is not compared at all.

    Returns
    -------
    BalanceResult

    Raises
    ------
    ValueError
        Shape mismatch, invalid hierarchy or negative tolerance.

    Notes
    -----
    For parent :math:`P` with direct children :math:`c` (grandchildren are never summed, they are
    already inside their own parent) and role signs :math:`\\sigma` (SUB, MAIN, EXPORT +1,
    GENERATION -1, VIRTUAL 0):

    .. math::

        R_i = E_{P,i} - \\sum_c \\sigma_c E_{c,i}, \\qquad
        \\rho_i = R_i / E_{P,i}, \\qquad
        \\text{out}_i \\iff |R_i| > \\tau |E_{P,i}| + a

    compared only where all inputs are MEASURED or EDITED. A negative residual points at a CT ratio or
    polarity error or double counting; a positive one at unmetered loads and losses.

    References
    ----------
    Energy accounting practice: supply = load + residual (unmetered loads, measurement error,
    losses), do not double count sub-sub-meters; unmetered balance can be negative through read-time
    mismatch, wrong meter setup or estimates (netstream energy accounting; Schneider Electric FAQ on
    unmetered energy).

    Examples
    --------
    >>> e = np.array([[100.0], [60.0], [37.0]])
    >>> b = meter_balance(e, np.zeros((3, 1), dtype=np.uint8), parent=np.array([-1, 0, 0]),
    ...                   role=np.array([0, 1, 1]))
    >>> b.residual_kwh.tolist(), b.residual_share.tolist(), b.out_of_tolerance.tolist()
    ([[3.0]], [[0.03]], [[False]])
    """
    energy, st = _check_matrix(energy_kwh, status)
    p, r = check_hierarchy(parent, role)
    if p.shape[0] != energy.shape[0]:
        raise ValueError(f"shape mismatch: parent {p.shape} vs energy_kwh rows {energy.shape[0]}")
    if tolerance < 0 or abs_tolerance_kwh < 0:
        raise ValueError("tolerances must be >= 0")
    n_meters, n = energy.shape

    sign = _SIGN_OF_ROLE[r]
    is_child = (p >= 0) & (sign != 0) & (r[np.maximum(p, 0)] != BalanceRole.VIRTUAL)
    children = np.flatnonzero(is_child)
    order = np.argsort(p[children], kind="stable")
    children = children[order]
    child_parent = p[children]
    parents, first = np.unique(child_parent, return_index=True)

    if in_service is None:
        serving = np.ones((n_meters, n), dtype=np.bool_)
    else:
        serving = np.asarray(in_service, dtype=np.bool_)
        if serving.shape != energy.shape:
            raise ValueError(f"shape mismatch: in_service {serving.shape} vs energy_kwh {energy.shape}")
    invalid = ~valid_mask(st)
    if children.size:
        # a child out of service contributes nothing and cannot spoil the comparison
        signed = np.where(serving[children], energy[children] * sign[children][:, None], 0.0)
        children_kwh = np.add.reduceat(signed, first, axis=0)
        child_invalid = np.logical_or.reduceat(invalid[children] & serving[children], first, axis=0)
        any_child = np.logical_or.reduceat(serving[children], first, axis=0)
    else:
        children_kwh = np.zeros((0, n), dtype=np.float64)
        child_invalid = np.zeros((0, n), dtype=np.bool_)
        any_child = np.zeros((0, n), dtype=np.bool_)
    considered = serving[parents] & any_child
    parent_kwh = np.where(considered, energy[parents], np.nan)
    residual = parent_kwh - children_kwh
    affected = considered & (invalid[parents] | child_invalid)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(parent_kwh != 0, residual / np.where(parent_kwh != 0, parent_kwh, 1.0), np.nan)
        share = np.where(np.isfinite(residual), share, np.nan)
        out = ~affected & (np.abs(residual) > tolerance * np.abs(parent_kwh) + abs_tolerance_kwh)

    finite = np.isfinite(residual) & np.isfinite(parent_kwh)
    parent_total = np.sum(np.where(finite, parent_kwh, 0.0), axis=1)
    residual_total = np.sum(np.where(finite, residual, 0.0), axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        share_total = np.where(parent_total != 0, residual_total / np.where(parent_total != 0, parent_total, 1), np.nan)
    compared = considered & ~affected & np.isfinite(residual)
    n_compared = np.sum(compared, axis=1).astype(np.int64)
    period_out = (n_compared > 0) & (np.abs(residual_total) > tolerance * np.abs(parent_total) + abs_tolerance_kwh)

    flags = np.zeros((n_meters, n), dtype=np.uint16)
    flags[parents] = np.where(out, np.uint16(IntervalFlag.BALANCE_OUT_OF_TOLERANCE), np.uint16(0))
    return BalanceResult(
        parent_index=read_only(parents.astype(np.int64)),
        parent_kwh=read_only(parent_kwh),
        children_kwh=read_only(children_kwh),
        residual_kwh=read_only(residual),
        residual_share=read_only(share),
        estimate_affected=read_only(affected),
        out_of_tolerance=read_only(out),
        parent_total_kwh=read_only(parent_total),
        residual_total_kwh=read_only(residual_total),
        residual_share_total=read_only(share_total),
        period_out_of_tolerance=read_only(period_out),
        n_estimate_affected=read_only(np.sum(affected, axis=1).astype(np.int64)),
        n_compared=read_only(n_compared),
        flags=read_only(flags),
    )


def evaluate_virtual_meters(
    energy_kwh: FloatArray,
    status: NDArray[np.uint8],
    *,
    terms: Sequence[Sequence[tuple[int, float]]],
) -> VirtualMeters:
    """Virtual meters as linear formulas of physical meters.

    Parameters
    ----------
    energy_kwh : ndarray (n_meters, n) float64
        Interval energy [kWh].
    status : ndarray (n_meters, n) uint8
        :class:`IntervalStatus` codes.
    terms : sequence of sequences of (meter index, coefficient)
        One formula per virtual meter, e.g. ``[(0, 1.0), (1, -1.0), (2, -1.0)]`` for
        main - sub1 - sub2 (unmetered loads + losses).

    Returns
    -------
    VirtualMeters

    Raises
    ------
    ValueError
        Empty formula, meter index out of range, non-finite coefficient, shape mismatch.

    Notes
    -----
    .. math:: E_{V,i} = \\sum_k a_k E_{m_k,i}, \\qquad
              \\text{status}_{V,i} = \\max_k \\text{status}_{m_k,i}

    with the order MEASURED < EDITED < ESTIMATED < MISSING; a MISSING virtual interval is NaN.

    References
    ----------
    Energy accounting practice: unmetered balance = supply - metered loads (netstream energy
    accounting).

    Examples
    --------
    >>> e = np.array([[10.0, 10.0], [4.0, 4.0], [5.0, 5.0]])
    >>> s = np.array([[0, 0], [0, 1], [0, 0]], dtype=np.uint8)
    >>> v = evaluate_virtual_meters(e, s, terms=[[(0, 1.0), (1, -1.0), (2, -1.0)]])
    >>> v.energy_kwh.tolist(), v.status.tolist()
    ([[1.0, 1.0]], [[0, 1]])
    """
    energy, st = _check_matrix(energy_kwh, status)
    n_meters, n = energy.shape
    out_e = np.zeros((len(terms), n), dtype=np.float64)
    out_rank = np.zeros((len(terms), n), dtype=np.int8)
    rank = status_rank(st)
    for v, formula in enumerate(terms):
        if len(formula) == 0:
            raise ValueError(f"virtual meter {v} has an empty formula")
        for meter, coefficient in formula:
            if not 0 <= int(meter) < n_meters:
                raise ValueError(f"virtual meter {v}: meter index {meter} out of range 0..{n_meters - 1}")
            if not np.isfinite(coefficient):
                raise ValueError(f"virtual meter {v}: coefficient must be finite")
            out_e[v] += float(coefficient) * energy[int(meter)]
            np.maximum(out_rank[v], rank[int(meter)], out=out_rank[v])
    out_status = status_of_rank(out_rank)
    out_e = np.where(out_status == IntervalStatus.MISSING, np.nan, out_e)
    return VirtualMeters(energy_kwh=read_only(out_e), status=read_only(out_status))
