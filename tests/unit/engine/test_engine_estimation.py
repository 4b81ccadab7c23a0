"""Estimation of MISSING intervals (workers/engine/estimation.py).

Expected values are hand-computed from the rules in docs/methodology/interval-data.md: the straight
line between the bounding intervals (IESO-style point-to-point, <= 1 h) and the mean of the nearest
like days (Itron "Historical", 3 like days within 3 weeks), both scaled to the register total.
"""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from workers.engine.codes import IntervalFlag as F
from workers.engine.codes import IntervalStatus as S
from workers.engine.counters import interval_energy_from_counters
from workers.engine.estimation import (
    fill_long_gaps_like_day,
    fill_short_gaps_linear,
    gap_totals_kwh,
)
from workers.engine.validation import sum_check

DAY0 = 1_772_409_600  # 2026-03-02T00:00:00Z, a Monday
RES = 900


def _series(values, missing):
    energy = np.asarray(values, dtype=np.float64)
    status = np.where(np.asarray(missing), S.MISSING, S.MEASURED).astype(np.uint8)
    flags = np.where(np.asarray(missing), F.GAP, 0).astype(np.uint16)
    return energy, status, flags


def _has(flags, flag):
    return (flags & np.uint16(flag)) != 0


# --------------------------------------------------------------------------------------------------
# short gaps: point-to-point


def test_short_gap_is_a_straight_line_between_bounding_intervals():
    # given: 2 kWh before and 6 kWh after a three-interval gap
    energy, status, flags = _series([2.0, np.nan, np.nan, np.nan, 6.0], [0, 1, 1, 1, 0])

    # when
    result = fill_short_gaps_linear(energy, status, flags, resolution_s=RES)

    # then: 2 + (6 - 2) p / 4 for p = 1, 2, 3
    assert_allclose(result.energy_kwh, [2.0, 3.0, 4.0, 5.0, 6.0], rtol=0, atol=1e-12)
    assert_array_equal(result.status, [S.MEASURED, S.ESTIMATED, S.ESTIMATED, S.ESTIMATED, S.MEASURED])
    assert_array_equal(_has(result.flags, F.ESTIMATED_LINEAR), [False, True, True, True, False])
    assert_array_equal(_has(result.flags, F.GAP), [False, True, True, True, False])  # provenance kept
    assert (result.n_gaps_filled, result.n_intervals_filled, result.n_gaps_scaled) == (1, 3, 0)


def test_short_gap_is_scaled_to_the_register_total():
    # given: the same gap, but the counter says 18 kWh went through it (line sums to 12)
    energy, status, flags = _series([2.0, np.nan, np.nan, np.nan, 6.0], [0, 1, 1, 1, 0])
    boundary = np.array([0.0, 2.0, np.nan, np.nan, 20.0, 26.0])

    # when
    result = fill_short_gaps_linear(energy, status, flags, resolution_s=RES, boundary_energy_kwh=boundary)

    # then: 3, 4, 5 x 18 / 12
    assert_allclose(result.energy_kwh[1:4], [4.5, 6.0, 7.5], rtol=0, atol=1e-12)
    assert_allclose(result.energy_kwh[1:4].sum(), 18.0, rtol=1e-15)
    assert result.n_gaps_scaled == 1


def test_zero_neighbours_with_known_total_spread_the_total_evenly():
    # given
    energy, status, flags = _series([0.0, np.nan, np.nan, 0.0], [0, 1, 1, 0])
    boundary = np.array([0.0, 0.0, np.nan, 3.0, 3.0])

    # when
    result = fill_short_gaps_linear(energy, status, flags, resolution_s=RES, boundary_energy_kwh=boundary)

    # then
    assert_allclose(result.energy_kwh, [0.0, 1.5, 1.5, 0.0], rtol=0, atol=1e-12)


def test_default_limit_is_one_hour_of_intervals():
    # given: a 4-interval gap (60 min) and a 5-interval gap (75 min) at 15 min
    missing = [0, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 0]
    energy, status, flags = _series(np.where(missing, np.nan, 1.0), missing)

    # when
    at_15 = fill_short_gaps_linear(energy, status, flags, resolution_s=900)
    at_5 = fill_short_gaps_linear(energy, status, flags, resolution_s=300)

    # then: 15 min -> limit 4 intervals; 5 min -> limit 12 intervals
    assert_array_equal(at_15.status[1:5], [S.ESTIMATED] * 4)
    assert_array_equal(at_15.status[6:11], [S.MISSING] * 5)
    assert at_5.n_gaps_filled == 2


def test_gaps_not_bounded_by_valid_intervals_are_left_alone():
    # given: a gap at the start, and a gap whose right neighbour is itself an estimate
    energy = np.array([np.nan, 1.0, np.nan, 9.0, 1.0])
    status = np.array([S.MISSING, S.MEASURED, S.MISSING, S.ESTIMATED, S.MEASURED], dtype=np.uint8)
    flags = np.zeros(5, dtype=np.uint16)

    # when
    result = fill_short_gaps_linear(energy, status, flags, resolution_s=RES)

    # then: estimates never bound an interpolation
    assert result.n_gaps_filled == 0
    assert_array_equal(result.status, status)


def test_untrusted_register_total_is_not_used():
    # given: the gap holds a SPIKE; its register delta is not a trustworthy energy
    energy, status, flags = _series([2.0, 40.0, 6.0], [0, 1, 0])
    flags = flags | np.array([0, F.SPIKE, 0], dtype=np.uint16)
    boundary = np.array([0.0, 2.0, 42.0, 48.0])

    # when
    result = fill_short_gaps_linear(energy, status, flags, resolution_s=RES, boundary_energy_kwh=boundary)

    # then: plain line 2 + 4/2 = 4, spike value replaced
    assert_allclose(result.energy_kwh, [2.0, 4.0, 6.0], rtol=0, atol=1e-12)
    assert result.n_gaps_scaled == 0


def test_gap_totals_follow_boundaries_and_flags():
    # given
    boundary = np.array([0.0, 1.0, np.nan, 5.0, 6.0])
    flags = np.array([0, 0, F.COUNTER_RESET, 0], dtype=np.uint16)

    # when
    totals = gap_totals_kwh(boundary, flags, start_index=np.array([0, 1, 3]), end_index=np.array([2, 3, 4]))

    # then: [0, 2) has an unknown boundary, [1, 3) a reset, [3, 4) is fine
    assert_allclose(totals, [np.nan, np.nan, 1.0], rtol=0, atol=1e-12)


def test_inputs_are_not_mutated():
    # given
    energy, status, flags = _series([2.0, np.nan, 6.0], [0, 1, 0])
    before = (energy.copy(), status.copy(), flags.copy())

    # when
    fill_short_gaps_linear(energy, status, flags, resolution_s=RES)

    # then
    for after, original in zip((energy, status, flags), before, strict=True):
        assert_array_equal(after, original)


def test_shape_mismatch_raises():
    # given
    energy, status, flags = _series([2.0, np.nan, 6.0], [0, 1, 0])

    # when / then
    with pytest.raises(ValueError, match="shape mismatch"):
        fill_short_gaps_linear(energy, status[:2], flags, resolution_s=RES)
    with pytest.raises(ValueError, match="shape mismatch"):
        fill_short_gaps_linear(energy, status, flags, resolution_s=RES, boundary_energy_kwh=np.zeros(3))
    with pytest.raises(ValueError, match="IntervalStatus"):
        fill_short_gaps_linear(energy, status + 7, flags, resolution_s=RES)


# --------------------------------------------------------------------------------------------------
# long gaps: like day


def _weeks(n_days: int, n_slots: int = 96):
    """Days x slots: a shape s(slot) scaled by 1 + 0.01 d, weekday types 0..6 from a Monday."""
    slot = np.arange(n_slots)
    shape = 2.0 + np.sin(2 * np.pi * slot / n_slots)
    factor = 1.0 + 0.01 * np.arange(n_days)
    energy = factor[:, None] * shape[None, :]
    day_type = np.arange(n_days, dtype=np.int64) % 7
    return energy, day_type


def test_like_day_uses_mean_of_three_nearest_same_type_days_and_keeps_the_total():
    # given: 29 days; day 28 (a Monday) misses slots 20..59; the counter says 130 kWh went through
    energy, day_type = _weeks(29)
    status = np.zeros(energy.shape, dtype=np.uint8)
    status[28, 20:60] = S.MISSING
    energy_in = energy.copy()
    energy_in[28, 20:60] = np.nan
    flags = np.zeros(energy.shape, dtype=np.uint16)
    boundary = np.full(29 * 96 + 1, np.nan)
    boundary[28 * 96 + 20] = 1000.0
    boundary[28 * 96 + 60] = 1130.0

    # when
    result = fill_long_gaps_like_day(energy_in, status, flags, day_type=day_type, boundary_energy_kwh=boundary)

    # then: profile = mean of Mondays 21, 14, 7; scaled so the 40 intervals sum to 130 kWh
    profile = energy[[21, 14, 7], 20:60].mean(axis=0)
    assert_allclose(result.energy_kwh[28, 20:60], profile * 130.0 / profile.sum(), rtol=1e-12)
    assert_allclose(result.energy_kwh[28, 20:60].sum(), 130.0, rtol=1e-12)
    assert np.all(result.status[28, 20:60] == S.ESTIMATED)
    assert np.all(_has(result.flags[28, 20:60], F.ESTIMATED_LIKE_DAY))
    assert (result.n_gaps_filled, result.n_intervals_filled, result.n_gaps_scaled) == (1, 40, 1)
    assert result.energy_kwh.shape == (29, 96)


def test_estimates_are_never_used_as_like_day_references():
    # given: Monday 21 holds an estimated interval with an absurd value
    energy, day_type = _weeks(29)
    status = np.zeros(energy.shape, dtype=np.uint8)
    status[21, 50] = S.ESTIMATED
    energy_in = energy.copy()
    energy_in[21, 50] = 1e6
    status[28, 40:52] = S.MISSING
    energy_in[28, 40:52] = np.nan

    # when
    result = fill_long_gaps_like_day(energy_in, status, np.zeros_like(status, dtype=np.uint16), day_type=day_type)

    # then: only Mondays 14 and 7 are eligible within 21 days (day 0 is 28 days back)
    assert_allclose(result.energy_kwh[28, 40:52], energy[[14, 7], 40:52].mean(axis=0), rtol=1e-12)


def test_estimates_written_in_one_pass_do_not_become_references_in_the_next():
    # given: Mondays 21 and 28 both have gaps; fill once, then fill again
    energy, day_type = _weeks(29)
    status = np.zeros(energy.shape, dtype=np.uint8)
    energy_in = energy.copy()
    for day in (21, 28):
        status[day, 10:30] = S.MISSING
        energy_in[day, 10:30] = np.nan
    flags = np.zeros(energy.shape, dtype=np.uint16)

    # when
    first = fill_long_gaps_like_day(energy_in, status, flags, day_type=day_type)

    # then: day 28 did not use day 21 (it had MISSING on input): Mondays 14, 7 only
    assert_allclose(first.energy_kwh[28, 10:30], energy[[14, 7], 10:30].mean(axis=0), rtol=1e-12)
    assert_allclose(first.energy_kwh[21, 10:30], energy[[14, 7, 0], 10:30].mean(axis=0), rtol=1e-12)


def test_gap_without_eligible_like_day_stays_missing():
    # given: day 3 has a gap and there is no earlier day of its type
    energy, day_type = _weeks(7)
    status = np.zeros(energy.shape, dtype=np.uint8)
    status[3, 5:9] = S.MISSING
    energy[3, 5:9] = np.nan

    # when
    result = fill_long_gaps_like_day(energy, status, np.zeros_like(status, dtype=np.uint16), day_type=day_type)

    # then
    assert result.n_gaps_filled == 0
    assert np.all(result.status[3, 5:9] == S.MISSING)
    assert np.all(np.isnan(result.energy_kwh[3, 5:9]))


def test_gap_across_midnight_takes_each_day_from_its_own_like_days():
    # given: a gap from slot 90 of day 14 (Monday) to slot 5 of day 15 (Tuesday)
    energy, day_type = _weeks(16)
    status = np.zeros(energy.shape, dtype=np.uint8)
    status[14, 90:] = S.MISSING
    status[15, :5] = S.MISSING
    energy_in = np.where(status == S.MISSING, np.nan, energy)

    # when
    result = fill_long_gaps_like_day(energy_in, status, np.zeros_like(status, dtype=np.uint16), day_type=day_type)

    # then
    assert_allclose(result.energy_kwh[14, 90:], energy[[7, 0], 90:].mean(axis=0), rtol=1e-12)
    assert_allclose(result.energy_kwh[15, :5], energy[[8, 1], :5].mean(axis=0), rtol=1e-12)
    assert result.n_gaps_filled == 1


def test_one_d_series_with_day_structure_matches_two_d():
    # given
    energy, day_type = _weeks(15)
    status = np.zeros(energy.shape, dtype=np.uint8)
    status[14, 30:70] = S.MISSING
    energy_in = np.where(status == S.MISSING, np.nan, energy)
    flags = np.zeros_like(status, dtype=np.uint16)

    # when
    two_d = fill_long_gaps_like_day(energy_in, status, flags, day_type=day_type)
    one_d = fill_long_gaps_like_day(energy_in.ravel(), status.ravel(), flags.ravel(), day_type=day_type)

    # then
    assert one_d.energy_kwh.shape == (15 * 96,)
    assert_array_equal(one_d.energy_kwh, two_d.energy_kwh.ravel())


def test_like_day_shape_errors():
    # given
    energy, day_type = _weeks(3)
    status = np.zeros(energy.shape, dtype=np.uint8)
    flags = np.zeros_like(status, dtype=np.uint16)

    # when / then
    with pytest.raises(ValueError, match="shape mismatch"):
        fill_long_gaps_like_day(energy, status, flags, day_type=day_type[:2])
    with pytest.raises(ValueError, match="not a multiple"):
        fill_long_gaps_like_day(energy.ravel()[:-1], status.ravel()[:-1], flags.ravel()[:-1], day_type=day_type)


# --------------------------------------------------------------------------------------------------
# from counters to complete days


def _plant_power_kw(t_s: np.ndarray) -> np.ndarray:
    """Weekdays 800 kW from 06:00 to 22:00 UTC, otherwise 150 kW, plus a 20 kW hourly ripple."""
    hour = (t_s % 86_400) / 3600.0
    weekday = ((t_s // 86_400) + 3) % 7
    base = np.where((weekday < 5) & (hour >= 6) & (hour < 22), 800.0, 150.0)
    return base + 20.0 * np.sin(2 * np.pi * (t_s % 3600) / 3600.0)


def test_counters_with_gaps_become_complete_days_that_pass_the_sum_check():
    # given: 15 days of 1-min register reads (0.01 kWh resolution); on day 14 (a Monday) a 40-min
    # and a 5-h communication gap
    n_days = 15
    ts = np.arange(DAY0 - 60, DAY0 + n_days * 86_400 + 61, 60, dtype=np.int64)
    counter = np.round(20_000.0 + np.concatenate(([0.0], np.cumsum(_plant_power_kw(ts[:-1]) * 60.0 / 3600.0))), 2)
    day14 = DAY0 + 14 * 86_400
    hole = ((ts > day14 + 8 * 3600 + 300) & (ts < day14 + 8 * 3600 + 2700)) | (
        (ts > day14 + 13 * 3600 + 300) & (ts < day14 + 18 * 3600 + 300)
    )
    ts, counter = ts[~hole], counter[~hole]

    # when
    intervals = interval_energy_from_counters(ts, counter, grid_start_s=DAY0, n_intervals=n_days * 96, resolution_s=RES)
    short = fill_short_gaps_linear(
        intervals.energy_kwh,
        intervals.status,
        intervals.flags,
        resolution_s=RES,
        boundary_energy_kwh=intervals.boundary_energy_kwh,
    )
    long = fill_long_gaps_like_day(
        short.energy_kwh.reshape(n_days, 96),
        short.status.reshape(n_days, 96),
        short.flags.reshape(n_days, 96),
        day_type=(np.arange(n_days, dtype=np.int64) % 7),
        boundary_energy_kwh=intervals.boundary_energy_kwh,
    )

    # then: 08:15-08:45 -> 3 intervals linear; 13:15-18:00 region -> like day from Mondays 7 and 0
    assert short.n_intervals_filled == 3 and short.n_gaps_scaled == 1
    assert long.n_gaps_filled == 1 and long.n_gaps_scaled == 1
    assert not np.any(long.status == S.MISSING)
    # each day's interval sum equals its register delta (sum check, tolerance 1e-6 kWh for float
    # rounding of ~12 MWh days)
    bounds = intervals.boundary_energy_kwh[::96]
    check = sum_check(long.energy_kwh, long.status, register_delta_kwh=np.diff(bounds), rel_tol=0.0, abs_tol_kwh=1e-6)
    assert np.all(check.within_tolerance)
    # the like-day shape is close to the truth (same weekday load), the total is exact
    truth_kw = _plant_power_kw(DAY0 + 14 * 86_400 + np.arange(96) * RES + RES // 2)
    estimated = (long.flags[14] & np.uint16(F.ESTIMATED_LIKE_DAY)) != 0
    assert_allclose(long.energy_kwh[14][estimated], truth_kw[estimated] * 0.25, rtol=0.1)
