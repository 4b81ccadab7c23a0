"""The calculation: consumption, allocation, matching, emissions and SEE per batch and product.

See ``docs/methodology/calculation.md`` for every rule and its source. No loops over intervals
or batches: loops run over lines, sources, fuel factors and resolutions only.
"""

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from workers.engine.calculation.allocation import (
    Allocated,
    AllocationPlan,
    allocation_plan,
    batch_pairs,
    weighted_bincount,
)
from workers.engine.calculation.calendar import CalendarBuckets, calendar_buckets
from workers.engine.calculation.matching import match
from workers.engine.calculation.model import (
    CALCULATION_METHODOLOGY_VERSION,
    MATCHING_RESOLUTIONS,
    BatchResults,
    CalculationInputs,
    CalculationParameters,
    CalculationResult,
    CalculationWarning,
    IdleDays,
    InstallationResults,
    Ledger,
    MatchingScores,
    ProductResults,
    resolution_length_s,
    validate_inputs,
)
from workers.engine.codes import read_only

__all__ = ["Consumption", "calculate", "electricity_consumption"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

_KWH_PER_MWH = 1000.0
_LISTED = 10  # names listed in one warning message
_NOISE = 1e-9  # relative: unmetered energy above -1e-9 x C_t is rounding, not a metering fault


@dataclass(frozen=True, slots=True)
class Consumption:
    """Installation consumption and its parts per interval (electricity).

    Attributes
    ----------
    total : ndarray (n,)
        ``C_t``.
    lines : ndarray (l, n)
        ``L_lt``: sub-meters serving each line.
    auxiliaries : ndarray (n,)
        Sub-meters serving no line.
    unmetered : ndarray (n,)
        ``C_t - Σ subs`` (0 in fallback intervals), kept even when negative.
    fallback : ndarray (n,) bool
        ``C_t`` is the sum of the sub-meters because a main meter had no value (or there is none).
    missing : ndarray (m,) int64
        Missing intervals per meter.
    missing_cell : ndarray (m, n) bool
        NaN or status MISSING.
    """

    total: FloatArray
    lines: FloatArray
    auxiliaries: FloatArray
    unmetered: FloatArray
    fallback: BoolArray
    missing: IntArray
    missing_cell: BoolArray


def electricity_consumption(
    energy_kwh: FloatArray, status: NDArray[np.uint8], role: tuple[str, ...], line: IntArray, n_lines: int
) -> Consumption:
    """Installation consumption ``C_t`` with main-meter fallback, line energy and unmetered energy.

    Parameters
    ----------
    energy_kwh : ndarray (m, n)
        NaN = missing (counts 0 and is reported).
    status : ndarray (m, n) uint8
    role : tuple of str (m,)
    line : ndarray (m,) int64
    n_lines : int

    Returns
    -------
    Consumption

    Notes
    -----
    [ours], after [IR2547] Annex II D.3 (active energy metered at the installation boundary):

    .. math::

        C_t = \\sum_{main} E_{kt} + \\sum_{gen} E_{kt} - \\sum_{exp} E_{kt}
        \\text{ if every main meter has a value in } t, \\text{ else } \\sum_{sub} E_{kt}

        U_t = C_t - \\sum_{sub} E_{kt}, \\qquad L_{lt} = \\sum_{sub,\\,line=l} E_{kt}, \\qquad
        aux_t = \\sum_{sub,\\,line=-1} E_{kt}
    """
    m, n = energy_kwh.shape
    roles = np.array(role, dtype=object) if m else np.zeros(0, dtype=object)
    nan = np.isnan(energy_kwh)
    missing_cell = nan | (status == 2)
    is_main = roles == "main"
    is_sub = roles == "sub"
    on_line = is_sub & (line >= 0)
    # one pass over the (m, n) matrix: rows = each line, auxiliaries, all subs, the boundary
    weights = np.zeros((n_lines + 3, m))
    weights[line[on_line], np.flatnonzero(on_line)] = 1.0
    weights[n_lines] = is_sub & (line < 0)
    weights[n_lines + 1] = is_sub
    weights[n_lines + 2] = is_main.astype(np.float64) + (roles == "generation") - (roles == "export")
    sums = weights @ energy_kwh if m else np.zeros((n_lines + 3, n))
    gaps = nan.any(axis=0)
    if gaps.any():  # NaN counts 0: redo only the intervals with a gap instead of copying the whole matrix
        part = energy_kwh[:, gaps]
        sums[:, gaps] = weights @ np.where(np.isnan(part), 0.0, part)
    lines, aux, subs, boundary = sums[:n_lines], sums[n_lines], sums[n_lines + 1], sums[n_lines + 2]
    # no main meter at all: the sub-meters are the only measure of consumption
    fallback = nan[is_main].any(axis=0) if is_main.any() else np.ones(n, dtype=bool)
    total = np.where(fallback, subs, boundary)
    unmetered = np.where(fallback, 0.0, boundary - subs)
    return Consumption(
        total=total,
        lines=lines,
        auxiliaries=aux,
        unmetered=unmetered,
        fallback=fallback,
        missing=missing_cell.sum(axis=1).astype(np.int64),
        missing_cell=missing_cell,
    )


def _div(num: FloatArray, den: FloatArray) -> FloatArray:
    """``num / den``, NaN where ``den`` is 0."""
    positive = den != 0
    out: FloatArray = np.where(positive, num / np.where(positive, den, 1.0), np.nan)
    return out


def _names(values: list[str]) -> str:
    shown = ", ".join(values[:_LISTED])
    return shown + (f" and {len(values) - _LISTED} more" if len(values) > _LISTED else "")


def _quality_weights(inputs: CalculationInputs, plan: AllocationPlan, missing_cell: BoolArray) -> FloatArray:
    """Time-weighted counts of measured, estimated, missing meter intervals behind each batch (3, b).

    [ours]: the meters behind a batch in an interval are its line's sub-meters and the installation
    boundary meters (main, generation, export); each counts ``o_bt`` seconds in the class of its
    status (measured or edited; estimated; missing or NaN). Only the (usually few) estimated and
    missing cells are visited.
    """
    m = inputs.meters
    n_lines = len(inputs.lines.ids)
    n_b = len(inputs.batches.ids)
    n = inputs.grid.n
    out = np.zeros((3, n_b))
    p = plan.pairs
    if not m.ids or p.batch.size == 0:
        return out
    roles = np.array(m.role, dtype=object)
    boundary = roles != "sub"
    on_line = (roles == "sub") & (m.line >= 0)
    per_row = np.bincount(m.line[on_line], minlength=n_lines + 1).astype(np.float64)
    per_row[n_lines] = 0.0
    per_row += float(boundary.sum())
    row = np.where(p.line >= 0, p.line, n_lines)

    def cell_counts(cells: BoolArray) -> FloatArray:
        meter, interval = np.nonzero(cells)
        counts = np.zeros((n_lines + 1) * n)
        lined = on_line[meter]
        np.add.at(counts, m.line[meter[lined]] * n + interval[lined], 1.0)
        bounded = boundary[meter]
        by_t = np.bincount(interval[bounded], minlength=n).astype(np.float64)
        return (counts.reshape(n_lines + 1, n) + by_t)[row, p.interval]

    n_missing = cell_counts(missing_cell)
    n_estimated = cell_counts((m.status == 1) & ~missing_cell)
    n_measured = per_row[row] - n_missing - n_estimated
    for k, counts in enumerate((n_measured, n_estimated, n_missing)):
        out[k] = weighted_bincount(p.batch, weights=counts * p.overlap_s, minlength=n_b)
    return out


def _factor_columns(inputs: CalculationInputs) -> tuple[str, ...]:
    refs = [inputs.grid_factor.ref, *inputs.supply.factor_refs, *inputs.fuels.factor_refs, *inputs.precursors.refs]
    return tuple(dict.fromkeys(refs))


def calculate(inputs: CalculationInputs, parameters: CalculationParameters) -> CalculationResult:
    """Embedded emissions of every batch and product of an installation (methodology version 1).

    Parameters
    ----------
    inputs : CalculationInputs
    parameters : CalculationParameters

    Returns
    -------
    CalculationResult
        Frozen, with read-only arrays; ``result.output_digest()`` identifies it.

    Raises
    ------
    CalculationInputError
        Inputs fail :func:`validate_inputs`.

    Notes
    -----
    Steps (sources in ``docs/methodology/calculation.md``):

    1. ``C_t``, line, auxiliary and unmetered energy (:func:`electricity_consumption`).
    2. Allocation to batches by overlap, overhead share and idle pooling per local day
       (:mod:`.allocation`).
    3. Matching per bucket at the chosen resolution, scores at every resolution (:mod:`.matching`).
    4. Indirect emissions, Eq. 35: ``Em = E[MWh] · EF``; matched kWh of an eligible source at its
       actual factor, everything else at the grid default ([IR2547] Art. 9, Annex II D.4.3).
    5. Direct emissions of fuels, Eqs. 5-6: ``Q · NCV · EF · OF``, allocated like electricity.
    6. Precursors, Eq. 60: ``Σ M_i · SEE_i`` (direct and indirect separately).
    7. Per product, Eqs. 57-59: ``SEE = (AttrEm + EE_InpMat) / AL``; the obligation adds indirect
       SEE only where the product's indirect emissions count ([REG956] Art. 7(1)).

    Nothing is rounded here.
    """
    validate_inputs(inputs, parameters)
    grid = inputs.grid
    n = grid.n
    res = int(grid.resolution_s)
    lines, batches, products, supply = inputs.lines, inputs.batches, inputs.products, inputs.supply
    n_lines, n_b, n_q, n_s = len(lines.ids), len(batches.ids), len(products.ids), len(supply.ids)
    warnings: list[CalculationWarning] = []

    buckets: CalendarBuckets = calendar_buckets(grid)
    day_of_interval = buckets.day.index
    n_days = buckets.day.k

    # 1. consumption
    cons = electricity_consumption(
        inputs.meters.energy_kwh, inputs.meters.status, inputs.meters.role, inputs.meters.line, n_lines
    )
    other = cons.auxiliaries + cons.unmetered

    # 2. allocation of electricity
    pairs = batch_pairs(int(grid.grid_start_s), res, n, batches.start_s, batches.end_s, batches.line, day_of_interval)
    mass = batches.net_mass_t.astype(np.float64)
    plan = allocation_plan(pairs, cons.lines, mass, day_of_interval, n_days)
    energy = plan.apply(cons.lines, other)

    # 3. matching
    supply_kwh = np.where(np.isnan(supply.energy_kwh), 0.0, supply.energy_kwh)
    chosen_buckets = buckets.at(parameters.matching_resolution)
    chosen = match(cons.total, cons.lines, supply_kwh, supply.dedicated_line, chosen_buckets)
    scores: dict[str, float | None] = {}
    for resolution in MATCHING_RESOLUTIONS:
        allowed = not n_s or bool((supply.native_resolution_s <= resolution_length_s(resolution, res)).all())
        if not allowed:
            scores[resolution] = None
        elif resolution == parameters.matching_resolution:
            scores[resolution] = chosen.score
        else:
            scores[resolution] = match(
                cons.total, cons.lines, supply_kwh, supply.dedicated_line, buckets.at(resolution), fractions=False
            ).score
    matched_by_source = np.zeros((n_b, n_s))
    unallocated_matched = 0.0
    for s in range(n_s):
        part = plan.apply(cons.lines * chosen.line_source_fraction[:, s, :], other * chosen.source_fraction[s])
        matched_by_source[:, s] = part.total
        unallocated_matched += float(part.unallocated_by_day.sum())
    matched = matched_by_source.sum(axis=1)

    # 4. indirect emissions (Eq. 35): eligible matched kWh at the actual factor, the rest at the default
    grid_ef = float(inputs.grid_factor.value)
    eligible = supply.eligible.astype(np.float64)
    matched_eligible = matched_by_source @ eligible
    indirect_actual = matched_by_source @ (supply.actual_factor * eligible) / _KWH_PER_MWH
    indirect_default = (energy.total - matched_eligible) * grid_ef / _KWH_PER_MWH
    indirect = indirect_actual + indirect_default

    # 5. direct emissions of fuels (Eqs. 5-6), allocated like electricity with their own line shares
    fuels = inputs.fuels
    fuel_em = (
        np.where(np.isnan(fuels.quantity), 0.0, fuels.quantity)
        * (fuels.ncv_tj_per_unit * fuels.ef_tco2_per_tj * fuels.oxidation_factor)[:, None]
    )
    fuel_lines = np.zeros((n_lines, n))
    fuel_on_line = fuels.line >= 0
    np.add.at(fuel_lines, fuels.line[fuel_on_line], fuel_em[fuel_on_line])
    fuel_other = fuel_em[~fuel_on_line].sum(axis=0) if fuel_em.shape[0] else np.zeros(n)
    fuel_plan = allocation_plan(pairs, fuel_lines, mass, day_of_interval, n_days)
    direct_alloc: Allocated = fuel_plan.apply(fuel_lines, fuel_other)
    direct = direct_alloc.total
    factor_refs = _factor_columns(inputs)
    column = {ref: i for i, ref in enumerate(factor_refs)}
    by_factor = np.zeros((n_b, len(factor_refs)))
    for ref in dict.fromkeys(fuels.factor_refs):
        mine = np.array([r == ref for r in fuels.factor_refs])
        mine_lines = np.zeros((n_lines, n))
        sel = mine & fuel_on_line
        np.add.at(mine_lines, fuels.line[sel], fuel_em[sel])
        by_factor[:, column[ref]] += fuel_plan.apply(mine_lines, fuel_em[mine & ~fuel_on_line].sum(axis=0)).total
    by_factor[:, column[inputs.grid_factor.ref]] += indirect_default
    for s in range(n_s):
        if supply.eligible[s]:
            by_factor[:, column[supply.factor_refs[s]]] += (
                matched_by_source[:, s] * supply.actual_factor[s] / _KWH_PER_MWH
            )

    # 6. precursors (Eq. 60)
    pre = inputs.precursors
    pre_direct = weighted_bincount(pre.batch, weights=pre.mass_t * pre.see_direct, minlength=n_b)
    pre_indirect = weighted_bincount(pre.batch, weights=pre.mass_t * pre.see_indirect, minlength=n_b)
    pre_defaulted = weighted_bincount(pre.batch, weights=pre.defaulted.astype(np.float64), minlength=n_b) > 0
    pre_defaulted_em = weighted_bincount(
        pre.batch, weights=pre.mass_t * (pre.see_direct + pre.see_indirect) * pre.defaulted, minlength=n_b
    )
    for ref in dict.fromkeys(pre.refs):
        mine = np.array([r == ref for r in pre.refs], dtype=bool)
        by_factor[:, column[ref]] += weighted_bincount(
            pre.batch[mine], weights=pre.mass_t[mine] * (pre.see_direct[mine] + pre.see_indirect[mine]), minlength=n_b
        )

    quality = _quality_weights(inputs, plan, cons.missing_cell)

    # reported batches
    if parameters.only_batches is None:
        reported = np.arange(n_b, dtype=np.int64)
    else:
        wanted = set(parameters.only_batches)
        reported = np.array([i for i, bid in enumerate(batches.ids) if bid in wanted], dtype=np.int64)
    quality_total = quality.sum(axis=0)
    batch_results = BatchResults(
        index=read_only(reported),
        ids=tuple(batches.ids[i] for i in reported.tolist()),
        net_mass_t=read_only(mass[reported]),
        energy_kwh=read_only(energy.total[reported]),
        line_kwh=read_only(energy.line[reported]),
        overhead_kwh=read_only(energy.overhead[reported]),
        idle_kwh=read_only(energy.idle[reported]),
        matched_kwh=read_only(matched[reported]),
        matched_by_source_kwh=read_only(matched_by_source[reported]),
        direct_tco2=read_only(direct[reported]),
        precursor_direct_tco2=read_only(pre_direct[reported]),
        precursor_indirect_tco2=read_only(pre_indirect[reported]),
        indirect_tco2=read_only(indirect[reported]),
        indirect_actual_tco2=read_only(indirect_actual[reported]),
        indirect_default_tco2=read_only(indirect_default[reported]),
        measured_share=read_only(_div(quality[0], quality_total)[reported]),
        estimated_share=read_only(_div(quality[1], quality_total)[reported]),
        missing_share=read_only(_div(quality[2], quality_total)[reported]),
        precursor_defaulted=read_only(pre_defaulted[reported]),
    )

    # 7. products: batches outside the grid carry no energy and are left out of the totals
    counted = np.zeros(n_b, dtype=bool)
    counted[reported] = True
    counted &= pairs.in_grid
    product_index = np.where(counted, batches.product, n_q)  # n_q: a sink row dropped below
    tiers = tuple(sorted(set(supply.tiers)))
    tier_matrix = np.zeros((n_s, len(tiers)))
    for s, tier in enumerate(supply.tiers):
        tier_matrix[s, tiers.index(tier)] = 1.0
    line_matrix = np.zeros((n_b, n_lines))
    on_line = batches.line >= 0
    line_matrix[np.flatnonzero(on_line), batches.line[on_line]] = energy.total[on_line]

    def per_product(values: FloatArray) -> FloatArray:
        if values.ndim == 1:
            return weighted_bincount(product_index, weights=values, minlength=n_q + 1)[:n_q]
        out = np.zeros((n_q + 1, values.shape[1]))
        np.add.at(out, product_index, values)
        return out[:n_q]

    sums = {
        "net_mass_t": per_product(mass),
        "energy_kwh": per_product(energy.total),
        "matched_kwh": per_product(matched),
        "direct_tco2": per_product(direct),
        "indirect_tco2": per_product(indirect),
        "precursor_direct_tco2": per_product(pre_direct),
        "precursor_indirect_tco2": per_product(pre_indirect),
        "defaulted_tco2": per_product(pre_defaulted_em),
        "quality": per_product(quality.T),
        "by_line": per_product(line_matrix),
        "by_source": per_product(matched_by_source),
        "by_factor": per_product(by_factor),
        "by_tier": per_product(matched_by_source @ tier_matrix),
        "defaulted_any": per_product(pre_defaulted.astype(np.float64)),
    }
    price = float(parameters.certificate_price_eur_per_t)
    product_results = _product_results(
        products.ids, sums, products.indirect_counts, products.default_see_direct, products.default_see_indirect, price
    )
    overall_sums = {key: value.sum(axis=0, keepdims=True) for key, value in sums.items()}
    obligation_tco2 = float(
        np.nansum(product_results.see_obligation * product_results.net_mass_t)
    )  # products without mass add nothing
    default_obligation = product_results.default_see_obligation * product_results.net_mass_t
    has_mass = product_results.net_mass_t > 0
    overall_default = float(default_obligation[has_mass].sum()) if has_mass.any() else 0.0
    overall = _product_results(
        ("*",),
        overall_sums,
        np.array([bool(np.all(products.indirect_counts[has_mass]))]),
        np.array([np.nan]),
        np.array([np.nan]),
        price,
        obligation_tco2=obligation_tco2,
        default_obligation_tco2=overall_default,
    )

    # installation; float noise of "main == sum of subs" is not a negative unmetered interval
    negative_unmetered = cons.unmetered < -_NOISE * np.maximum(np.abs(cons.total), 1.0)
    idle_days_mask = energy.idle_by_day != 0
    unallocated_days = idle_days_mask & ~plan.day_carried
    ledger_rows = chosen.supplied_kwh > 0
    ledger_rows |= chosen.used_kwh > 0
    bucket_ix, source_ix = np.nonzero(ledger_rows)
    installation = InstallationResults(
        consumption_kwh=float(cons.total.sum()),
        consumption_by_interval_kwh=read_only(cons.total),
        allocated_kwh=float(energy.total.sum()),
        unallocated_kwh=float(energy.unallocated_by_day.sum()),
        direct_tco2=float(fuel_em.sum()),
        direct_unallocated_tco2=float(direct_alloc.unallocated_by_day.sum()),
        matched_kwh=chosen.total_matched_kwh,
        unallocated_matched_kwh=unallocated_matched,
        idle_days=IdleDays(
            local_date_days=read_only(buckets.local_date_days[idle_days_mask].astype(np.int64)),
            idle_kwh=read_only(energy.idle_by_day[idle_days_mask]),
            allocated=read_only(plan.day_carried[idle_days_mask]),
        ),
        fallback_intervals=read_only(np.flatnonzero(cons.fallback).astype(np.int64)),
        unmetered_kwh=float(cons.unmetered.sum()),
        negative_unmetered_intervals=read_only(np.flatnonzero(negative_unmetered).astype(np.int64)),
        missing_intervals_by_meter=read_only(cons.missing),
        line_energy_kwh=read_only(cons.lines),
        matched_fraction=read_only(chosen.shared_fraction),
        scores=MatchingScores(**scores),
        ledger=Ledger(
            bucket_start_s=read_only(chosen_buckets.start_s[bucket_ix].astype(np.int64)),
            source=read_only(source_ix.astype(np.int64)),
            supplied_kwh=read_only(chosen.supplied_kwh[bucket_ix, source_ix]),
            used_kwh=read_only(chosen.used_kwh[bucket_ix, source_ix]),
        ),
    )

    # warnings
    m = inputs.meters
    missing_meters = [f"{m.codes[i]} ({int(c)})" for i, c in enumerate(cons.missing.tolist()) if c]
    if missing_meters:
        warnings.append(
            CalculationWarning(
                "missing_intervals",
                f"{int(cons.missing.sum())} meter intervals have no value and count as 0 kWh: {_names(missing_meters)}",
            )
        )
    fuel_missing = np.isnan(fuels.quantity).sum(axis=1)
    fuel_names = [f"{fuels.codes[i]} ({int(c)})" for i, c in enumerate(fuel_missing.tolist()) if c]
    if fuel_names:
        warnings.append(
            CalculationWarning(
                "missing_fuel_intervals",
                f"{int(fuel_missing.sum())} fuel meter intervals have no value and count as 0: {_names(fuel_names)}",
            )
        )
    supply_missing = np.isnan(supply.energy_kwh).sum(axis=1)
    supply_names = [f"{supply.ids[i]} ({int(c)})" for i, c in enumerate(supply_missing.tolist()) if c]
    if supply_names:
        warnings.append(
            CalculationWarning(
                "missing_supply_intervals",
                f"{int(supply_missing.sum())} supply intervals have no value and count as 0 kWh: "
                f"{_names(supply_names)}",
            )
        )
    n_fallback = int(cons.fallback.sum())
    if n_fallback:
        warnings.append(
            CalculationWarning(
                "main_meter_fallback",
                f"{n_fallback} of {n} intervals use the sum of the sub-meters because a main meter has no value"
                + (" (the installation has no main meter)" if "main" not in m.role else ""),
            )
        )
    n_negative = int(negative_unmetered.sum())
    if n_negative:
        warnings.append(
            CalculationWarning(
                "negative_unmetered",
                f"in {n_negative} intervals the sub-meters add up to more than the installation consumption; "
                "check meter roles and CT ratios",
            )
        )
    if unallocated_days.any():
        dates = [str(np.datetime64(int(d), "D")) for d in buckets.local_date_days[unallocated_days].tolist()]
        warnings.append(
            CalculationWarning(
                "unallocated_idle_days",
                f"{len(dates)} local days had idle consumption but no batch to carry it (see unallocated_kwh): "
                f"{_names(dates)}",
            )
        )
    no_line = [batches.numbers[i] for i in np.flatnonzero(batches.line < 0).tolist()]
    if no_line:
        warnings.append(
            CalculationWarning(
                "batch_without_line",
                f"{len(no_line)} batches have no line and receive only idle overhead by mass: {_names(no_line)}",
            )
        )
    outside = [batches.numbers[i] for i in np.flatnonzero(~pairs.in_grid).tolist()]
    if outside:
        warnings.append(
            CalculationWarning(
                "batch_outside_grid",
                f"{len(outside)} batches do not overlap the interval grid and are left out of the product totals: "
                f"{_names(outside)}",
            )
        )

    return CalculationResult(
        methodology_version=CALCULATION_METHODOLOGY_VERSION,
        matching_resolution=parameters.matching_resolution,
        batches=batch_results,
        products=product_results,
        overall=overall,
        installation=installation,
        factor_refs=factor_refs,
        tiers=tiers,
        warnings=tuple(warnings),
    )


def _product_results(
    ids: tuple[str, ...],
    sums: dict[str, FloatArray],
    indirect_counts: BoolArray,
    default_direct: FloatArray,
    default_indirect: FloatArray,
    price: float,
    *,
    obligation_tco2: float | None = None,
    default_obligation_tco2: float | None = None,
) -> ProductResults:
    mass = sums["net_mass_t"]
    direct_total = sums["direct_tco2"] + sums["precursor_direct_tco2"]
    indirect_total = sums["indirect_tco2"] + sums["precursor_indirect_tco2"]
    see_direct = _div(direct_total, mass)
    see_indirect = _div(indirect_total, mass)
    see_total = see_direct + see_indirect
    counts = indirect_counts.astype(bool)
    if obligation_tco2 is None:
        see_obligation = np.where(counts, see_total, see_direct)
    else:
        see_obligation = _div(np.array([obligation_tco2]), mass)
    default_obligation = np.where(counts, default_direct + default_indirect, default_direct)
    if default_obligation_tco2 is not None:
        default_obligation = _div(np.array([default_obligation_tco2]), mass)
        default_direct = np.array([np.nan])
        default_indirect = np.array([np.nan])
    quality = sums["quality"]
    quality_total = quality.sum(axis=1)
    emissions = direct_total + indirect_total
    return ProductResults(
        ids=ids,
        net_mass_t=read_only(mass),
        energy_kwh=read_only(sums["energy_kwh"]),
        matched_kwh=read_only(sums["matched_kwh"]),
        electricity_mwh_per_t=read_only(_div(sums["energy_kwh"] / _KWH_PER_MWH, mass)),
        direct_tco2=read_only(sums["direct_tco2"]),
        indirect_tco2=read_only(sums["indirect_tco2"]),
        precursor_direct_tco2=read_only(sums["precursor_direct_tco2"]),
        precursor_indirect_tco2=read_only(sums["precursor_indirect_tco2"]),
        see_direct=read_only(see_direct),
        see_indirect=read_only(see_indirect),
        see_total=read_only(see_total),
        see_obligation=read_only(see_obligation),
        indirect_counts=read_only(counts.copy()),
        default_see_direct=read_only(default_direct.astype(np.float64, copy=True)),
        default_see_indirect=read_only(default_indirect.astype(np.float64, copy=True)),
        default_see_obligation=read_only(default_obligation),
        exposure_actual_eur=read_only(see_obligation * mass * price),
        exposure_default_eur=read_only(default_obligation * mass * price),
        precursor_defaulted=read_only(sums["defaulted_any"] > 0),
        energy_by_line_kwh=read_only(sums["by_line"]),
        matched_by_source_kwh=read_only(sums["by_source"]),
        emissions_by_factor_tco2=read_only(sums["by_factor"]),
        matched_by_tier_kwh=read_only(sums["by_tier"]),
        measured_share=read_only(_div(quality[:, 0], quality_total)),
        estimated_share=read_only(_div(quality[:, 1], quality_total)),
        missing_share=read_only(_div(quality[:, 2], quality_total)),
        defaulted_share=read_only(_div(sums["defaulted_tco2"], emissions)),
    )
