"""Allocation of metered energy to batches: hand-computed cases, warnings and input errors."""

from dataclasses import replace

import numpy as np
import pytest
from numpy.testing import assert_allclose

from tests.unit.engine.calculation.builders import DAY, T0, batches, inputs, meters, supply
from workers.engine.calculation import CalculationInputError, CalculationParameters, calculate

Q = 900  # quarter hour
RTOL = 1e-12


def _codes(result):
    return {w.code for w in result.warnings}


def test_two_batches_sharing_an_interval_and_an_idle_tail():
    # given: 4 quarter hours; main 10, line sub [6, 6, 0, 0], auxiliary 1; batch 0 runs 0-22.5 min,
    # batch 1 runs 22.5-30 min; intervals 2 and 3 have no batch (idle, pooled by mass 1 : 3)
    mt = meters([[10, 10, 10, 10], [6, 6, 0, 0], [1, 1, 1, 1]], ["main", "sub", "sub"], [-1, 0, -1])
    bs = batches([(T0, T0 + 1350), (T0 + 1350, T0 + 1800)], [0, 0], [1.0, 3.0])
    data = inputs(n=4, meter_set=mt, batch_set=bs, supply_set=supply([0, 5, 20, 0]))

    # when
    result = calculate(data, CalculationParameters(matching_resolution="interval"))

    # then: t0 line 6 and overhead 1 + 3 to batch 0; t1 line 6 split 450 s : 450 s, overhead 4 by 3 : 3;
    # t2, t3 overhead 1 + 9 each is idle, 20 kWh spread 1 : 3
    b = result.batches
    assert_allclose(b.line_kwh, [9.0, 3.0], rtol=RTOL)
    assert_allclose(b.overhead_kwh, [6.0, 2.0], rtol=RTOL)
    assert_allclose(b.idle_kwh, [5.0, 15.0], rtol=RTOL)
    assert_allclose(b.energy_kwh, [20.0, 20.0], rtol=RTOL)
    # f = [0, 0.5, 1, 0]: batch 0 gets 0.5 x 5 + 10 / 4; batch 1 gets 0.5 x 5 + 30 / 4
    assert_allclose(b.matched_kwh, [5.0, 10.0], rtol=RTOL)
    assert_allclose(result.installation.scores.interval, 15 / 40, rtol=RTOL)
    assert_allclose(result.installation.scores.hour, 25 / 40, rtol=RTOL)
    assert result.warnings == ()


def test_a_day_without_batch_keeps_its_idle_energy_unallocated_and_says_so():
    # given: two UTC days (UTC offset 0) at hourly resolution; the batch runs on day 1 only
    n = 48
    mt = meters([[2.0] * n, [1.0] * n], ["main", "sub"], [-1, 0])
    bs = batches([(T0 + DAY, T0 + DAY + 3600)], [0], [5.0])
    data = inputs(n=n, resolution_s=3600, meter_set=mt, batch_set=bs)

    # when
    result = calculate(data, CalculationParameters())

    # then: day 0 (48 kWh) unallocated; on day 1 the batch's hour gives 2 kWh, the 23 idle hours 46 kWh
    inst = result.installation
    assert_allclose(inst.unallocated_kwh, 48.0, rtol=RTOL)
    assert_allclose(result.batches.energy_kwh, [48.0], rtol=RTOL)
    assert_allclose(result.batches.idle_kwh, [46.0], rtol=RTOL)
    assert inst.idle_days.allocated.tolist() == [False, True]
    assert inst.idle_days.local_date_days.tolist() == [20454, 20455]
    assert "unallocated_idle_days" in _codes(result)
    message = next(w.message for w in result.warnings if w.code == "unallocated_idle_days")
    assert "2026-01-01" in message


def test_a_line_without_batch_counts_as_overhead_of_the_running_lines():
    # given: line 0 runs a batch and draws 4, line 1 draws 6 with no batch, line 2 runs a batch drawing 2
    mt = meters([[12.0], [4.0], [6.0], [2.0]], ["main", "sub", "sub", "sub"], [-1, 0, 1, 2])
    bs = batches([(T0, T0 + Q), (T0, T0 + Q)], [0, 2], [1.0, 1.0])
    data = inputs(n=1, meter_set=mt, batch_set=bs, n_lines=3)

    # when
    result = calculate(data, CalculationParameters())

    # then: overhead 6 (line 1) + 0 unmetered, by line energy 4 : 2
    assert_allclose(result.batches.line_kwh, [4.0, 2.0], rtol=RTOL)
    assert_allclose(result.batches.overhead_kwh, [4.0, 2.0], rtol=RTOL)
    assert_allclose(result.batches.energy_kwh.sum(), 12.0, rtol=RTOL)


def test_negative_unmetered_is_kept_and_reported():
    # given: sub-meters add up to 11 against a main of 10
    mt = meters([[10.0, 10.0], [8.0, 8.0], [3.0, 3.0]], ["main", "sub", "sub"], [-1, 0, -1])
    bs = batches([(T0, T0 + 2 * Q)], [0], [1.0])
    data = inputs(n=2, meter_set=mt, batch_set=bs)

    # when
    result = calculate(data, CalculationParameters())

    # then: overhead = 3 auxiliary - 1 unmetered per interval; the batch gets exactly C
    assert_allclose(result.installation.unmetered_kwh, -2.0, rtol=RTOL)
    assert result.installation.negative_unmetered_intervals.tolist() == [0, 1]
    assert_allclose(result.batches.overhead_kwh, [4.0], rtol=RTOL)
    assert_allclose(result.batches.energy_kwh, [20.0], rtol=RTOL)
    assert "negative_unmetered" in _codes(result)


def test_missing_main_meter_falls_back_to_the_sum_of_the_sub_meters():
    # given: the main meter has no value in interval 1
    mt = meters(
        [[10.0, np.nan, 10.0], [6.0, 6.0, 6.0], [2.0, 2.0, 2.0]],
        ["main", "sub", "sub"],
        [-1, 0, -1],
        status=[[0, 2, 0], [0, 0, 0], [1, 1, 1]],
    )
    bs = batches([(T0, T0 + 3 * Q)], [0], [2.0])
    data = inputs(n=3, meter_set=mt, batch_set=bs)

    # when
    result = calculate(data, CalculationParameters())

    # then
    inst = result.installation
    assert inst.fallback_intervals.tolist() == [1]
    assert_allclose(inst.consumption_by_interval_kwh, [10.0, 8.0, 10.0], rtol=RTOL)
    assert_allclose(result.batches.energy_kwh, [28.0], rtol=RTOL)
    assert inst.missing_intervals_by_meter.tolist() == [1, 0, 0]
    assert {"main_meter_fallback", "missing_intervals"} <= _codes(result)
    # quality: behind the batch are the line sub-meter and the main meter: 6 cells, 1 missing
    assert_allclose(result.batches.missing_share, [1 / 6], rtol=RTOL)
    assert_allclose(result.batches.measured_share, [5 / 6], rtol=RTOL)
    assert_allclose(result.batches.estimated_share, [0.0], atol=0)


def test_generation_adds_and_export_subtracts_at_the_boundary():
    # given: grid import 10, own generation 5, export 3: consumption 12
    mt = meters([[10.0], [5.0], [3.0], [12.0]], ["main", "generation", "export", "sub"], [-1, -1, -1, 0])
    data = inputs(n=1, meter_set=mt, batch_set=batches([(T0, T0 + Q)], [0], [1.0]))

    # when
    result = calculate(data, CalculationParameters())

    # then
    assert_allclose(result.installation.consumption_kwh, 12.0, rtol=RTOL)
    assert_allclose(result.installation.unmetered_kwh, 0.0, atol=0)


def test_batches_without_line_and_outside_the_grid_are_warned():
    # given
    mt = meters([[4.0, 4.0], [2.0, 2.0]], ["main", "sub"], [-1, 0])
    bs = batches([(T0, T0 + Q), (T0, T0 + 2 * Q), (T0 + 5 * DAY, T0 + 5 * DAY + Q)], [0, -1, 0], [1.0, 1.0, 9.0])
    data = inputs(n=2, meter_set=mt, batch_set=bs)

    # when
    result = calculate(data, CalculationParameters())

    # then: interval 1 is idle (no batch on line 0): 4 kWh pooled over batches 0 and 1 by mass
    assert_allclose(result.batches.energy_kwh, [4.0 + 2.0, 2.0, 0.0], rtol=RTOL)
    assert {"batch_without_line", "batch_outside_grid"} <= _codes(result)
    assert_allclose(result.products.net_mass_t, [2.0], rtol=RTOL)  # the batch outside is left out


def test_only_batches_limits_the_report_not_the_allocation():
    # given
    mt = meters([[4.0], [4.0]], ["main", "sub"], [-1, 0])
    bs = batches([(T0, T0 + 450), (T0 + 450, T0 + Q)], [0, 0], [1.0, 1.0])
    data = inputs(n=1, meter_set=mt, batch_set=bs)

    # when
    result = calculate(data, CalculationParameters(only_batches=("batch-1",)))

    # then
    assert result.batches.ids == ("batch-1",)
    assert result.batches.index.tolist() == [1]
    assert_allclose(result.batches.energy_kwh, [2.0], rtol=RTOL)
    assert_allclose(result.products.net_mass_t, [1.0], rtol=RTOL)


def test_result_arrays_are_read_only():
    mt = meters([[4.0], [4.0]], ["main", "sub"], [-1, 0])
    result = calculate(
        inputs(n=1, meter_set=mt, batch_set=batches([(T0, T0 + Q)], [0], [1.0])), CalculationParameters()
    )
    with pytest.raises(ValueError, match="read-only"):
        result.batches.energy_kwh[0] = 1.0


def _base():
    mt = meters([[4.0, 4.0], [4.0, 4.0]], ["main", "sub"], [-1, 0])
    return inputs(n=2, meter_set=mt, batch_set=batches([(T0, T0 + Q)], [0], [1.0]))


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        (
            lambda d: replace(d, meters=replace(d.meters, energy_kwh=np.zeros((2, 3)))),
            "shape_mismatch",
            "meters.energy_kwh",
        ),
        (
            lambda d: replace(d, batches=replace(d.batches, net_mass_t=np.array([-1.0]))),
            "negative_mass",
            "batches.net_mass_t",
        ),
        (
            lambda d: replace(d, batches=replace(d.batches, end_s=d.batches.start_s.copy())),
            "bad_interval",
            "batches.end_s[0]",
        ),
        (lambda d: replace(d, batches=replace(d.batches, line=np.array([3]))), "bad_reference", "batches.line[0]"),
        (lambda d: replace(d, meters=replace(d.meters, role=("main", "feeder"))), "bad_role", "meters.role[1]"),
        (lambda d: replace(d, grid=replace(d.grid, resolution_s=700)), "unknown_resolution", "grid.resolution_s"),
        (lambda d: replace(d, grid=replace(d.grid, grid_start_s=T0 + 5)), "bad_grid", "grid.grid_start_s"),
        (lambda d: replace(d, period_end_s=d.period_start_s), "bad_period", "period_end_s"),
        (
            lambda d: replace(d, meters=replace(d.meters, status=np.full((2, 2), 9, np.uint8))),
            "bad_status",
            "meters.status",
        ),
        (
            lambda d: replace(d, supply=supply([[1.0, 1.0]], native=[86_400])),
            "resolution_too_fine",
            "supply.native_resolution_s[0]",
        ),
        (lambda d: replace(d, batches=replace(d.batches, ids=("x",), numbers=("1",))), "shape_mismatch", None),
    ],
)
def test_bad_inputs_are_refused_naming_the_field(change, code, field):
    # given
    data = change(_base())
    if field is None:
        data = replace(data, batches=replace(data.batches, line=np.array([0, 0])))

    # when
    with pytest.raises(CalculationInputError) as caught:
        calculate(data, CalculationParameters())

    # then
    assert caught.value.code == code
    if field:
        assert field in caught.value.message


def test_unknown_matching_resolution_and_batch_are_refused():
    with pytest.raises(CalculationInputError) as caught:
        calculate(_base(), CalculationParameters(matching_resolution="week"))
    assert caught.value.code == "unknown_resolution"
    assert "parameters.matching_resolution" in caught.value.message
    with pytest.raises(CalculationInputError) as caught:
        calculate(_base(), CalculationParameters(only_batches=("nope",)))
    assert caught.value.code == "unknown_batch"


def test_idle_overhead_follows_the_local_day_so_dst_can_move_it_between_batches():
    # given: two UTC days at hourly resolution; batch A runs 10:00-11:00 UTC on day 0, batch B 10:00-11:00 on
    # day 1; the plant idles otherwise. Hour 23:00 UTC of day 0 is local day 0 at UTC+0 but local day 1 at UTC+1.
    n = 48
    mt = meters([[1.0] * n, [1.0 if h in (10, 34) else 0.0 for h in range(n)]], ["main", "sub"], [-1, 0])
    bs = batches([(T0 + 10 * 3600, T0 + 11 * 3600), (T0 + DAY + 10 * 3600, T0 + DAY + 11 * 3600)], [0, 0], [1.0, 1.0])
    utc = inputs(n=n, resolution_s=3600, meter_set=mt, batch_set=bs)
    local = replace(utc, grid=replace(utc.grid, utc_offsets_s=np.full(n, 3600, np.int64)))

    # when
    a = calculate(utc, CalculationParameters())
    b = calculate(local, CalculationParameters())

    # then: 23 idle hours per local day; at UTC+1 the first local day starts at 23:00 UTC the day before
    assert_allclose(a.batches.energy_kwh, [24.0, 24.0], rtol=RTOL)
    assert_allclose(b.batches.energy_kwh, [23.0, 24.0], rtol=RTOL)
    assert_allclose(b.installation.unallocated_kwh, 1.0, rtol=RTOL)  # 23:00-24:00 UTC of day 1 is local day 2
    assert_allclose(b.batches.energy_kwh.sum() + b.installation.unallocated_kwh, 48.0, rtol=RTOL)
