"""Matching of supply sources (PPA, own generation, direct link) with consumption per bucket.

Per bucket ``B`` (interval, local hour, day, month or year) [ours, after hourly-matching §a.2-a.3,
§a.7 and [IR2547] Annex II D.4.3]:

1. A source with a direct technical link dedicated to line ``l`` first matches that line's metered
   energy: ``D_lB = min(max(L_lB, 0), S^ded_lB)``. Its surplus is not used elsewhere (the link
   feeds that line only).
2. The shared pool ``S_B`` (every other source) matches the rest of the installation's
   consumption ``R_B = C_B - Σ_l D_lB``: ``M_B = min(max(R_B, 0), S_B)`` and
   ``f_B = M_B / R_B`` (0 if ``R_B <= 0``).
3. Within the dedicated and the shared matches each source is used in proportion to its supply in
   the bucket; the ledger records ``used_sB <= S_sB`` (each kWh of supply used once).
4. Every kWh consumed in the bucket carries the same matched fraction: ``f_B`` for the shared
   pool, plus ``D_lB / L_lB`` of dedicated supply for line ``l``'s own energy. So the matched kWh of
   a batch follow its allocated kWh, idle overhead included.

The score of a resolution is ``Σ_B (Σ_l D_lB + M_B) / Σ_t C_t``. Because
``Σ min(a_i, b_i) <= min(Σ a_i, Σ b_i)``, coarser buckets never score lower.
"""

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from workers.engine.calculation.allocation import weighted_bincount
from workers.engine.calculation.calendar import Buckets

__all__ = ["Matching", "match"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class Matching:
    """Matching at one resolution.

    Attributes
    ----------
    total_matched_kwh : float
    score : float
        Matched share of total consumption (0 when consumption is not positive).
    shared_fraction : ndarray (n,)
        ``f_B`` of each interval's bucket.
    source_fraction : ndarray (s, n)
        Share of one shared-pool kWh matched by each source, ``f_B · S_sB / S_B`` (0 for dedicated
        sources).
    line_source_fraction : ndarray (l, s, n)
        Share of one kWh of line ``l``'s own energy matched by source ``s``:
        ``D_lB/L_lB · S_sB/S^ded_lB`` for its dedicated sources plus ``(1 - D_lB/L_lB) · f_B · S_sB/S_B``
        for the shared ones.
    used_kwh, supplied_kwh : ndarray (k, s)
        Ledger per bucket and source.
    """

    total_matched_kwh: float
    score: float
    shared_fraction: FloatArray
    source_fraction: FloatArray
    line_source_fraction: FloatArray
    used_kwh: FloatArray
    supplied_kwh: FloatArray


def _ratio(num: FloatArray, den: FloatArray) -> FloatArray:
    positive = den > 0
    out: FloatArray = np.where(positive, num / np.where(positive, den, 1.0), 0.0)
    return out


def match(
    consumption_kwh: FloatArray,
    line_kwh: FloatArray,
    supply_kwh: FloatArray,
    dedicated_line: IntArray,
    buckets: Buckets,
    *,
    fractions: bool = True,
) -> Matching:
    """Match supply with consumption per bucket.

    Parameters
    ----------
    consumption_kwh : ndarray (n,)
        Installation consumption ``C_t``.
    line_kwh : ndarray (l, n)
        Line energy ``L_lt`` (sub-meters serving each line).
    supply_kwh : ndarray (s, n)
        Supply per source, missing already counted as 0.
    dedicated_line : ndarray (s,) int64
        -1 for the shared pool, else the line the source is dedicated to.
    buckets : Buckets
    fractions : bool
        Also compute the per-interval fractions (off for the side-by-side scores).

    Returns
    -------
    Matching
    """
    k = buckets.k
    n_sources, n = supply_kwh.shape
    n_lines = line_kwh.shape[0]
    idx = buckets.index
    c_b = weighted_bincount(idx, weights=consumption_kwh, minlength=k)
    s_b = np.zeros((n_sources, k))
    for s in range(n_sources):
        s_b[s] = weighted_bincount(idx, weights=supply_kwh[s], minlength=k)
    shared = dedicated_line < 0
    used = np.zeros((n_sources, k))
    dedicated_total = np.zeros(k)
    ded_fraction = np.zeros((n_lines, k))  # D_lB / L_lB
    for line in np.unique(dedicated_line[~shared]).tolist():
        mine = dedicated_line == line
        l_b = weighted_bincount(idx, weights=line_kwh[line], minlength=k)
        s_ded = s_b[mine].sum(axis=0)
        d_b = np.minimum(np.maximum(l_b, 0.0), s_ded)
        dedicated_total += d_b
        ded_fraction[line] = _ratio(d_b, l_b)
        used[mine] = d_b * _ratio(s_b[mine], s_ded)
    rest = c_b - dedicated_total
    s_shared = s_b[shared].sum(axis=0)
    m_b = np.minimum(np.maximum(rest, 0.0), s_shared)
    f_b = _ratio(m_b, rest)
    share_of_pool = _ratio(s_b, s_shared) * shared[:, None]
    used[shared] = m_b * share_of_pool[shared]
    total = float(dedicated_total.sum() + m_b.sum())
    consumption = float(c_b.sum())
    score = min(1.0, max(0.0, total / consumption)) if consumption > 0 else 0.0
    if fractions:
        shared_fraction = f_b[idx]
        source_fraction = (f_b * share_of_pool)[:, idx]
        line_source_fraction = np.broadcast_to(source_fraction, (n_lines, n_sources, n)).copy()
        for line in np.unique(dedicated_line[~shared]).tolist():
            mine = dedicated_line == line
            s_ded = s_b[mine].sum(axis=0)
            fd = ded_fraction[line]
            line_source_fraction[line] *= (1.0 - fd)[idx]
            line_source_fraction[line, mine] = (fd * _ratio(s_b[mine], s_ded))[:, idx]
    else:
        shared_fraction = np.zeros(0)
        source_fraction = np.zeros((n_sources, 0))
        line_source_fraction = np.zeros((n_lines, n_sources, 0))
    return Matching(
        total_matched_kwh=total,
        score=score,
        shared_fraction=shared_fraction,
        source_fraction=source_fraction,
        line_source_fraction=line_source_fraction,
        used_kwh=used.T.copy(),
        supplied_kwh=s_b.T.copy(),
    )
