"""The reporting period: a grid wider than the period counts only the intervals inside it.

Energy, fuel and supply outside ``[period_start_s, period_end_s)`` count nowhere (consumption,
allocation, matching, scores, ledger, emissions, data quality); a batch across a period edge gets
its energy from the intervals inside and its mass pro rata of its time inside.
"""

from dataclasses import replace

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal

from tests.unit.engine.calculation.builders import (
    DAY,
    T0,
    batches,
    fuels,
    inputs,
    meters,
    products,
    supply,
)
from tests.unit.engine.calculation.test_calculation_properties import RESOLUTIONS, _plant
from workers.engine.calculation import CalculationParameters, Grid, Precursors, calculate

H = 3600
RTOL = 1e-12


def _codes(result):
    return {w.code: w for w in result.warnings}


def _precursors(batch: list[int], mass: list[float], see_direct: list[float], see_indirect: list[float]) -> Precursors:
    k = len(batch)
    return Precursors(
        batch=np.array(batch, np.int64),
        mass_t=np.array(mass, float),
        see_direct=np.array(see_direct, float),
        see_indirect=np.array(see_indirect, float),
        defaulted=np.zeros(k, bool),
        refs=tuple(f"pre-{i}" for i in range(k)),
    )


def _period(data, start_s: int, end_s: int):
    return replace(data, period_start_s=start_s, period_end_s=end_s)


def test_energy_fuel_and_supply_outside_the_period_count_nowhere():
    # given: 6 hours; the period is hours 2..3; outside it the meters read 1000 kWh, estimated or
    # missing, the fuel burns and the PPA delivers; a batch runs hours 2..3 on the line
    n = 6
    main = [1000, np.nan, 10, 10, 1000, 1000]
    sub = [900, 900, 6, 6, np.nan, 900]
    status = [[1, 2, 0, 0, 1, 1], [1, 1, 0, 0, 2, 1]]
    mt = meters([main, sub], ["main", "sub"], [-1, 0], status=status)
    bs = batches([(T0 + 2 * H, T0 + 4 * H)], [0], [2.0])
    fl = fuels([[5, 5, 1, 1, 5, np.nan]], [0], [0.5], [2.0])
    sp = supply([[500, 500, 4, 4, 500, np.nan]], native=[H])
    data = _period(
        inputs(n=n, resolution_s=H, meter_set=mt, batch_set=bs, fuel_set=fl, supply_set=sp), T0 + 2 * H, T0 + 4 * H
    )

    # when
    result = calculate(data, CalculationParameters(matching_resolution="hour"))

    # then: only hours 2 and 3 count: C = 20 kWh, matched 8 kWh, fuel 2 x 1 x 0.5 x 2 = 2 tCO2
    inst = result.installation
    assert_allclose(inst.consumption_kwh, 20.0, rtol=RTOL)
    assert_allclose(inst.consumption_by_interval_kwh, [0, 0, 10, 10, 0, 0], rtol=RTOL)
    assert_allclose(inst.line_energy_kwh, [[0, 0, 6, 6, 0, 0]], rtol=RTOL)
    assert_allclose(inst.unmetered_kwh, 8.0, rtol=RTOL)
    assert_allclose(inst.allocated_kwh, 20.0, rtol=RTOL)
    assert_allclose(inst.unallocated_kwh, 0.0, atol=0)
    assert_allclose(inst.direct_tco2, 2.0, rtol=RTOL)
    assert_allclose(inst.matched_kwh, 8.0, rtol=RTOL)
    assert_allclose(inst.matched_fraction, [0, 0, 0.4, 0.4, 0, 0], rtol=RTOL)
    assert inst.scores.hour == inst.scores.year == 0.4
    assert inst.ledger.bucket_start_s.tolist() == [T0 + 2 * H, T0 + 3 * H]
    assert_allclose(inst.ledger.supplied_kwh, [4.0, 4.0], rtol=RTOL)
    assert inst.fallback_intervals.tolist() == []  # the main meter's gap lies outside
    assert inst.missing_intervals_by_meter.tolist() == [0, 0]
    assert inst.idle_days.idle_kwh.size == 0
    assert inst.in_period.tolist() == [False, False, True, True, False, False]
    b = result.batches
    assert_allclose(b.energy_kwh, [20.0], rtol=RTOL)
    assert_allclose(b.matched_kwh, [8.0], rtol=RTOL)
    assert_allclose(b.direct_tco2, [2.0], rtol=RTOL)
    assert_allclose(b.indirect_tco2, [12.0 * 0.729 / 1000], rtol=RTOL)
    assert_allclose(b.measured_share, [1.0], rtol=RTOL)  # the estimated and missing hours lie outside
    assert_allclose(b.share_in_period, [1.0], rtol=RTOL)
    assert_allclose(b.mass_in_period_t, [2.0], rtol=RTOL)
    codes = _codes(result)
    assert not {"missing_intervals", "missing_fuel_intervals", "missing_supply_intervals"} & codes.keys()
    assert "main_meter_fallback" not in codes
    assert "batch_across_period_edge" not in codes


def test_a_batch_across_the_period_start_gets_its_part_inside_and_its_mass_pro_rata():
    # given: 4 hours, period hours 1..3; batch 0 runs 0:30-1:30 (half inside), 4 t, with 2 t of a
    # precursor; batch 1 runs 1:30-3:00, 3 t; the line draws 6 kWh an hour, the main meter 8
    n = 4
    mt = meters([[8.0] * n, [6.0] * n], ["main", "sub"], [-1, 0])
    bs = batches([(T0 + H // 2, T0 + 3 * H // 2), (T0 + 3 * H // 2, T0 + 3 * H)], [0, 0], [4.0, 3.0])
    pre = _precursors([0, 1], [2.0, 1.0], [1.5, 1.0], [0.5, 0.0])
    data = _period(inputs(n=n, resolution_s=H, meter_set=mt, batch_set=bs, precursor_set=pre), T0 + H, T0 + 4 * H)

    # when
    result = calculate(data, CalculationParameters())

    # then: hour 0 is outside; hour 1 is shared 30 : 30 min; hour 2 is batch 1's; hour 3 is idle
    # (8 kWh pooled over both batches of the day by net mass 4 : 3)
    b = result.batches
    assert_allclose(b.line_kwh, [3.0, 9.0], rtol=RTOL)
    assert_allclose(b.overhead_kwh, [1.0, 3.0], rtol=RTOL)
    assert_allclose(b.idle_kwh, [8 * 4 / 7, 8 * 3 / 7], rtol=RTOL)
    assert_allclose(b.energy_kwh.sum(), 24.0, rtol=RTOL)
    assert_allclose(b.net_mass_t, [4.0, 3.0], rtol=RTOL)
    assert_allclose(b.share_in_period, [0.5, 1.0], rtol=RTOL)
    assert_allclose(b.mass_in_period_t, [2.0, 3.0], rtol=RTOL)
    # precursor masses pro rata too: batch 0 consumed 1 t of its 2 t inside the period
    assert_allclose(b.precursor_direct_tco2, [1.5, 1.0], rtol=RTOL)
    assert_allclose(b.precursor_indirect_tco2, [0.5, 0.0], rtol=RTOL)
    p = result.products
    assert_allclose(p.net_mass_t, [5.0], rtol=RTOL)
    assert_allclose(p.precursor_direct_tco2, [2.5], rtol=RTOL)
    assert_allclose(p.see_direct, [2.5 / 5.0], rtol=RTOL)
    assert_allclose(p.electricity_mwh_per_t, [24.0 / 1000 / 5.0], rtol=RTOL)
    assert_allclose(result.installation.consumption_kwh, 24.0, rtol=RTOL)
    warning = _codes(result)["batch_across_period_edge"]
    assert warning.message.startswith("1 batches")
    assert "B0" in warning.message


def test_a_batch_across_the_period_end_gets_its_part_inside():
    # given: period hours 0..2 of 4; the batch runs 1:00-3:00 (half inside), 10 t
    n = 4
    mt = meters([[5.0] * n, [5.0] * n], ["main", "sub"], [-1, 0])
    bs = batches([(T0 + H, T0 + 3 * H)], [0], [10.0])
    data = _period(inputs(n=n, resolution_s=H, meter_set=mt, batch_set=bs), T0, T0 + 2 * H)

    # when
    result = calculate(data, CalculationParameters())

    # then: hour 1 (5 kWh) is the batch's, hour 0 is idle on its day (5 kWh); hours 2, 3 are outside
    assert_allclose(result.batches.energy_kwh, [10.0], rtol=RTOL)
    assert_allclose(result.batches.mass_in_period_t, [5.0], rtol=RTOL)
    assert_allclose(result.products.net_mass_t, [5.0], rtol=RTOL)
    assert_allclose(result.products.electricity_mwh_per_t, [10.0 / 1000 / 5.0], rtol=RTOL)
    assert "batch_across_period_edge" in _codes(result)


def test_a_batch_outside_the_period_is_left_out_and_warned():
    # given: period hour 0 of 2; batch 1 runs in hour 1 only
    mt = meters([[4.0, 4.0], [4.0, 4.0]], ["main", "sub"], [-1, 0])
    bs = batches([(T0, T0 + H), (T0 + H, T0 + 2 * H)], [0, 0], [1.0, 7.0])
    data = _period(inputs(n=2, resolution_s=H, meter_set=mt, batch_set=bs), T0, T0 + H)

    # when
    result = calculate(data, CalculationParameters())

    # then
    assert_allclose(result.batches.energy_kwh, [4.0, 0.0], rtol=RTOL)
    assert_allclose(result.batches.share_in_period, [1.0, 0.0], atol=0)
    assert_allclose(result.products.net_mass_t, [1.0], rtol=RTOL)
    assert "B1" in _codes(result)["batch_outside_period"].message


def test_idle_overhead_is_pooled_only_over_days_inside_the_period():
    # given: 3 UTC days hourly, the period is day 1; a batch runs on day 0 and day 2 (outside), one
    # on day 1 from 23:00 to 01:00 of day 2 (across the period end)
    n = 72
    mt = meters([[2.0] * n, [1.0] * n], ["main", "sub"], [-1, 0])
    bs = batches(
        [(T0 + 3 * H, T0 + 4 * H), (T0 + DAY + 23 * H, T0 + 2 * DAY + H), (T0 + 2 * DAY + 5 * H, T0 + 2 * DAY + 6 * H)],
        [0, 0, 0],
        [1.0, 4.0, 9.0],
    )
    data = _period(inputs(n=n, resolution_s=H, meter_set=mt, batch_set=bs), T0 + DAY, T0 + 2 * DAY)

    # when
    result = calculate(data, CalculationParameters())

    # then: day 1's 23 idle hours (46 kWh) go to batch 1 alone; batches 0 and 2 get nothing
    assert_allclose(result.batches.energy_kwh, [0.0, 48.0, 0.0], rtol=RTOL)
    assert_allclose(result.batches.idle_kwh, [0.0, 46.0, 0.0], rtol=RTOL)
    idle = result.installation.idle_days
    assert idle.local_date_days.tolist() == [20455]
    assert idle.allocated.tolist() == [True]
    assert_allclose(result.installation.unallocated_kwh, 0.0, atol=0)
    assert_allclose(result.products.net_mass_t, [2.0], rtol=RTOL)


def test_a_day_inside_the_period_without_batch_stays_unallocated_even_if_one_runs_outside():
    # given: 2 days, period day 1; the only batch runs on day 0
    n = 48
    mt = meters([[1.0] * n, [1.0] * n], ["main", "sub"], [-1, 0])
    bs = batches([(T0 + H, T0 + 2 * H)], [0], [3.0])
    data = _period(inputs(n=n, resolution_s=H, meter_set=mt, batch_set=bs), T0 + DAY, T0 + 2 * DAY)

    # when
    result = calculate(data, CalculationParameters())

    # then
    inst = result.installation
    assert_allclose(inst.consumption_kwh, 24.0, rtol=RTOL)
    assert_allclose(inst.unallocated_kwh, 24.0, rtol=RTOL)
    assert inst.idle_days.local_date_days.tolist() == [20455]
    assert inst.idle_days.allocated.tolist() == [False]
    assert_allclose(result.batches.energy_kwh, [0.0], atol=0)


def test_data_quality_counts_only_intervals_inside_the_period():
    # given: the batch runs hours 0..3; the period is hours 2..3; hours 0, 1 are estimated
    n = 4
    status = [[1, 1, 0, 0], [1, 1, 0, 0]]
    mt = meters([[4.0] * n, [4.0] * n], ["main", "sub"], [-1, 0], status=status)
    bs = batches([(T0, T0 + 4 * H)], [0], [8.0])
    data = _period(inputs(n=n, resolution_s=H, meter_set=mt, batch_set=bs), T0 + 2 * H, T0 + 4 * H)

    # when
    result = calculate(data, CalculationParameters())

    # then
    assert_allclose(result.batches.measured_share, [1.0], rtol=RTOL)
    assert_allclose(result.batches.estimated_share, [0.0], atol=0)
    assert_allclose(result.products.measured_share, [1.0], rtol=RTOL)
    assert_allclose(result.batches.mass_in_period_t, [4.0], rtol=RTOL)


def _crop(data, first: int, count: int):
    """The same plant on the grid cropped to intervals ``first .. first + count - 1``."""
    g = data.grid
    start = int(g.grid_start_s) + first * int(g.resolution_s)
    cut = slice(first, first + count)
    return replace(
        data,
        grid=Grid(start, int(g.resolution_s), g.utc_offsets_s[cut].copy()),
        meters=replace(data.meters, energy_kwh=data.meters.energy_kwh[:, cut], status=data.meters.status[:, cut]),
        fuels=replace(data.fuels, quantity=data.fuels.quantity[:, cut], status=data.fuels.status[:, cut]),
        supply=replace(data.supply, energy_kwh=data.supply.energy_kwh[:, cut]),
        period_start_s=start,
        period_end_s=start + count * int(g.resolution_s),
    )


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    resolution_s=st.sampled_from([900, 3600]),
    missing=st.booleans(),
    resolution=st.sampled_from(RESOLUTIONS),
)
def test_a_wider_grid_gives_the_result_of_the_grid_cropped_to_the_period(seed, resolution_s, missing, resolution):
    # given: three UTC days of a random plant with batches across both period edges; the period is
    # the middle day
    per_day = DAY // resolution_s
    wide = _plant(seed, n=3 * per_day, resolution_s=resolution_s, negative_unmetered=False, missing=missing)
    rng = np.random.default_rng(seed)
    b = 10
    start = T0 + rng.integers(0, 3 * DAY, b) // 60 * 60
    length = rng.integers(1, 12 * H, b) // 60 * 60 + 60
    spans = list(zip(start.tolist(), (start + length).tolist(), strict=True))
    spans += [(T0 + DAY - H, T0 + DAY + H), (T0 + 2 * DAY - 2 * H, T0 + 2 * DAY + H)]
    lines = [*rng.integers(-1, len(wide.lines.ids), b).tolist(), 0, 0]
    bs = batches(spans, lines, (rng.random(b + 2) * 5).tolist(), rng.integers(0, 2, b + 2).tolist())
    wide = replace(wide, batches=bs)
    wide = _period(wide, T0 + DAY, T0 + 2 * DAY)
    narrow = _crop(wide, per_day, per_day)
    parameters = CalculationParameters(matching_resolution=resolution)

    # when
    got = calculate(wide, parameters)
    want = calculate(narrow, parameters)

    # then: every figure equals the cropped grid's; per-interval arrays are 0 outside the period
    inside = slice(per_day, 2 * per_day)
    for name in (
        "energy_kwh",
        "line_kwh",
        "overhead_kwh",
        "idle_kwh",
        "matched_kwh",
        "matched_by_source_kwh",
        "direct_tco2",
        "indirect_tco2",
        "precursor_direct_tco2",
        "precursor_indirect_tco2",
        "measured_share",
        "estimated_share",
        "missing_share",
        "mass_in_period_t",
        "share_in_period",
    ):
        assert_allclose(getattr(got.batches, name), getattr(want.batches, name), rtol=1e-9, atol=1e-9, err_msg=name)
    for name in ("net_mass_t", "energy_kwh", "see_direct", "see_indirect", "see_total", "measured_share"):
        assert_allclose(getattr(got.products, name), getattr(want.products, name), rtol=1e-9, atol=1e-9, err_msg=name)
    gi, wi = got.installation, want.installation
    for name in ("consumption_kwh", "unallocated_kwh", "direct_tco2", "matched_kwh", "unmetered_kwh"):
        assert_allclose(getattr(gi, name), getattr(wi, name), rtol=1e-9, atol=1e-9, err_msg=name)
    for key, value in wi.scores.as_dict().items():
        score = gi.scores.as_dict()[key]
        assert (score is None) == (value is None), key
        if value is not None:
            assert_allclose(score, value, rtol=1e-9, atol=1e-12, err_msg=key)
    assert_allclose(gi.consumption_by_interval_kwh[inside], wi.consumption_by_interval_kwh, rtol=1e-12)
    assert not gi.consumption_by_interval_kwh[:per_day].any()
    assert not gi.consumption_by_interval_kwh[2 * per_day :].any()
    assert_array_equal(gi.missing_intervals_by_meter, wi.missing_intervals_by_meter)
    assert_array_equal(gi.fallback_intervals, wi.fallback_intervals + per_day)
    assert_array_equal(gi.idle_days.local_date_days, wi.idle_days.local_date_days)
    assert_allclose(gi.idle_days.idle_kwh, wi.idle_days.idle_kwh, rtol=1e-9, atol=1e-9)
    assert_array_equal(gi.ledger.bucket_start_s, wi.ledger.bucket_start_s)
    assert_allclose(gi.ledger.used_kwh, wi.ledger.used_kwh, rtol=1e-9, atol=1e-9)
    # conservation over the period
    assert_allclose(got.batches.energy_kwh.sum() + gi.unallocated_kwh, gi.consumption_kwh, rtol=1e-9, atol=1e-9)
    straddling = (bs.start_s < wide.period_start_s) & (bs.end_s > wide.period_start_s)
    straddling |= (bs.start_s < wide.period_end_s) & (bs.end_s > wide.period_end_s)
    assert f"{int(straddling.sum())} batches" in _codes(got)["batch_across_period_edge"].message


def test_products_mass_pro_rata_keeps_the_sum_over_adjacent_periods():
    # given: one batch over two adjacent periods (days) of the same grid
    n = 48
    mt = meters([[3.0] * n, [3.0] * n], ["main", "sub"], [-1, 0])
    bs = batches([(T0 + 18 * H, T0 + DAY + 6 * H)], [0], [12.0])
    pre = _precursors([0], [6.0], [2.0], [0.0])
    base = inputs(n=n, resolution_s=H, meter_set=mt, batch_set=bs, precursor_set=pre, product_set=products(1))

    # when
    first = calculate(_period(base, T0, T0 + DAY), CalculationParameters())
    second = calculate(_period(base, T0 + DAY, T0 + 2 * DAY), CalculationParameters())
    whole = calculate(base, CalculationParameters())

    # then: 6 h of 12 h in each; masses and precursor emissions add up to the whole grid's
    assert_allclose(first.products.net_mass_t + second.products.net_mass_t, whole.products.net_mass_t, rtol=RTOL)
    assert_allclose(first.batches.mass_in_period_t, [6.0], rtol=RTOL)
    assert_allclose(first.batches.precursor_direct_tco2 + second.batches.precursor_direct_tco2, [12.0], rtol=RTOL)
    assert_allclose(first.batches.energy_kwh + second.batches.energy_kwh, whole.batches.energy_kwh, rtol=RTOL)
