"""Interval energy from counter snapshots (workers/engine/counters.py).

Reference values are either analytic integrals of a known power profile (formula beside each test)
or hand-computed register arithmetic written out in the comments.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal

from workers.engine.codes import IntervalFlag as F
from workers.engine.codes import IntervalStatus as S
from workers.engine.counters import (
    MeterReplacement,
    counter_deltas,
    interval_energy_from_counters,
    transient_glitch_mask,
)

DAY0 = 1_774_742_400  # 2026-03-29T00:00:00Z, a UTC midnight
RES = 900
WRAP_UINT32_WH_IN_KWH = 2**32 / 1000.0  # uint32 register counting Wh


def _has(flags: np.ndarray, flag: F) -> np.ndarray:
    return (flags & np.uint16(flag)) != 0


def _profile_energy_kwh(t_rel_s: np.ndarray) -> np.ndarray:
    """Analytic counter of P(t) = 400 + 150 sin(2 pi t / 1 d) + 50 sin(2 pi t / 1 h) [kW].

    E(t) = [400 t + 150 T1/(2 pi) (1 - cos(2 pi t/T1)) + 50 T2/(2 pi) (1 - cos(2 pi t/T2))] / 3600 [kWh]
    """
    t = t_rel_s.astype(np.float64)
    t1, t2 = 86_400.0, 3_600.0
    kws = (
        400.0 * t
        + 150.0 * t1 / (2 * np.pi) * (1 - np.cos(2 * np.pi * t / t1))
        + 50.0 * t2 / (2 * np.pi) * (1 - np.cos(2 * np.pi * t / t2))
    )
    return kws / 3600.0


def _minute_readings(n_intervals: int, *, kw: float = 30.0, start_kwh: float = 1000.0):
    """Readings every 60 s from one minute before the grid to one minute after, constant power."""
    ts = np.arange(DAY0 - 60, DAY0 + n_intervals * RES + 61, 60, dtype=np.int64)
    counter = start_kwh + kw * (ts - ts[0]) / 3600.0
    return ts, counter


# --------------------------------------------------------------------------------------------------
# boundary interpolation and conservation


def test_jittered_10s_readings_match_true_integral_of_power_profile():
    # given: one UTC day of snapshots every 10 s with +-3 s jitter, counter from the analytic profile,
    # register resolution 0.001 kWh
    rng = np.random.default_rng(20260329)
    nominal = np.arange(-30, 86_400 + 31, 10, dtype=np.int64)
    t_rel = nominal + rng.integers(-3, 4, nominal.shape[0])  # spacing stays >= 4 s, order kept
    counter = np.round(52_000.0 + _profile_energy_kwh(t_rel), 3)

    # when
    result = interval_energy_from_counters(DAY0 + t_rel, counter, grid_start_s=DAY0, n_intervals=96, resolution_s=RES)

    # then: E_i = E(t_{i+1}) - E(t_i) of the analytic counter; interpolation error over a <= 13 s
    # step is ~P' dt^2 / 8 < 1e-3 kWh, plus register rounding 1e-3 kWh
    bounds = np.arange(97, dtype=np.int64) * RES
    expected = np.diff(_profile_energy_kwh(bounds))
    assert_allclose(result.energy_kwh, expected, rtol=0, atol=3e-3)
    assert_array_equal(result.status, np.full(96, S.MEASURED, dtype=np.uint8))
    assert_array_equal(result.flags, np.zeros(96, dtype=np.uint16))
    assert result.n_readings_used == t_rel.shape[0]


@settings(max_examples=60, deadline=None)
@given(
    n_intervals=st.integers(min_value=1, max_value=8),
    interior=st.lists(st.integers(min_value=1, max_value=8 * RES - 1), max_size=40, unique=True),
    increments=st.lists(st.floats(min_value=0.0, max_value=50.0), min_size=50, max_size=50),
    start_kwh=st.floats(min_value=0.0, max_value=1e6),
)
def test_conservation_sum_of_intervals_equals_counter_delta(n_intervals, interior, increments, start_kwh):
    # given: readings at the first and last boundary plus arbitrary interior times, non-negative steps
    end = n_intervals * RES
    t_rel = np.array(sorted({0, end, *(t for t in interior if t < end)}), dtype=np.int64)
    steps = np.array(increments[: t_rel.shape[0] - 1], dtype=np.float64)
    counter = start_kwh + np.concatenate(([0.0], np.cumsum(steps)))

    # when
    result = interval_energy_from_counters(
        DAY0 + t_rel,
        counter,
        grid_start_s=DAY0,
        n_intervals=n_intervals,
        resolution_s=RES,
        max_interpolation_gap_s=end,
    )

    # then: sum_i E_i telescopes to C(t_n) - C(t_0) = last - first reading
    assert np.all(result.status == S.MEASURED)
    assert_allclose(result.energy_kwh.sum(), counter[-1] - counter[0], rtol=1e-9, atol=1e-6)
    assert_allclose(
        result.boundary_energy_kwh[-1] - result.boundary_energy_kwh[0],
        counter[-1] - counter[0],
        rtol=1e-9,
        atol=1e-6,
    )


# --------------------------------------------------------------------------------------------------
# rollover, reset, glitch


def test_rollover_at_uint32_wh_wrap():
    # given: a uint32 Wh register 2000 Wh below its wrap, 500 Wh per minute (30 kW)
    ts = np.arange(DAY0 - 60, DAY0 + 4 * RES + 61, 60, dtype=np.int64)
    raw_wh = (2**32 - 2_000 + 500 * np.arange(ts.shape[0], dtype=np.int64)) % 2**32
    counter_kwh = raw_wh.astype(np.float64) / 1000.0

    # when
    result = interval_energy_from_counters(
        ts,
        counter_kwh,
        grid_start_s=DAY0,
        n_intervals=4,
        resolution_s=RES,
        wrap_value_kwh=WRAP_UINT32_WH_IN_KWH,
    )

    # then: 30 kW x 0.25 h = 7.5 kWh in every interval; the wrap (reading 4, t = DAY0 + 180 s) is
    # unwrapped as (W - prev) + curr and flagged on interval 0 only
    assert_allclose(result.energy_kwh, np.full(4, 7.5), rtol=0, atol=1e-6)
    assert result.events.rollovers == 1
    assert result.events.resets == 0
    assert_array_equal(_has(result.flags, F.ROLLOVER), [True, False, False, False])
    assert np.all(result.status == S.MEASURED)


def test_counter_reset_makes_the_interval_missing_not_negative():
    # given: a counter at 5000 kWh that drops to 0 and restarts, 30 kW throughout (0.5 kWh/min)
    ts, counter = _minute_readings(4, start_kwh=5000.0)
    reset_at = np.searchsorted(ts, DAY0 + RES + 300)  # 5 min into interval 1
    counter = counter.copy()
    counter[reset_at:] = 0.5 * np.arange(counter.shape[0] - reset_at)

    # when
    result = interval_energy_from_counters(
        ts, counter, grid_start_s=DAY0, n_intervals=4, resolution_s=RES, wrap_value_kwh=1e6
    )

    # then: energy across the reset step is unknown -> interval 1 MISSING (NaN), others 7.5 kWh;
    # a drop far from the wrap value is not a rollover
    assert result.events.resets == 1
    assert result.events.rollovers == 0
    assert_array_equal(result.status, [S.MEASURED, S.MISSING, S.MEASURED, S.MEASURED])
    assert np.isnan(result.energy_kwh[1])
    assert_allclose(result.energy_kwh[[0, 2, 3]], 7.5, rtol=0, atol=1e-9)
    assert_array_equal(_has(result.flags, F.COUNTER_RESET), [False, True, False, False])


def test_transient_single_zero_is_ignored_not_booked_as_consumption():
    # given: 30 kW, one reading returned as 0 in interval 2, then the old level again
    ts, counter = _minute_readings(4, start_kwh=5000.0)
    glitch_at = np.searchsorted(ts, DAY0 + 2 * RES + 420)
    counter = counter.copy()
    counter[glitch_at] = 0.0

    # when
    result = interval_energy_from_counters(ts, counter, grid_start_s=DAY0, n_intervals=4, resolution_s=RES)

    # then: no reset, no 5000 kWh "consumption"; the reading is dropped and flagged
    assert result.events.glitches == 1
    assert result.events.resets == 0
    assert_allclose(result.energy_kwh, np.full(4, 7.5), rtol=0, atol=1e-9)
    assert np.all(result.status == S.MEASURED)
    assert_array_equal(_has(result.flags, F.TRANSIENT_GLITCH), [False, False, True, False])


def test_transient_high_reading_from_half_a_register_is_ignored():
    # given: one reading decoded as high << 16 (millions of kWh) between two consistent readings
    ts, counter = _minute_readings(2, start_kwh=5000.0)
    counter = counter.copy()
    counter[10] = 5000.0 + 65536.0 * 1000.0

    # when
    result = interval_energy_from_counters(
        ts, counter, grid_start_s=DAY0, n_intervals=2, resolution_s=RES, max_power_kw=100.0
    )

    # then
    assert result.events.glitches == 1
    assert result.events.spikes == 0
    assert_allclose(result.energy_kwh, [7.5, 7.5], rtol=0, atol=1e-9)


def test_reset_rollover_and_glitch_are_told_apart_per_step():
    # given: register values with a wrap (W = 1000), a glitch and a reset, one reading every 10 s
    ts = np.arange(0, 100, 10, dtype=np.int64)
    counter = np.array([990.0, 995.0, 3.0, 8.0, 0.0, 13.0, 18.0, 2.0, 4.0, 6.0])
    #                  normal  roll  normal glitch (return) normal reset ...

    # when
    deltas = counter_deltas(ts, counter, wrap_value_kwh=1000.0)

    # then: rollover (1000 - 995) + 3 = 8; the step over the glitch is 13 - 8 = 5; reset unknown
    assert_array_equal(deltas.used, [True, True, True, True, False, True, True, True, True, True])
    assert_allclose(deltas.step_kwh[[1, 2, 3, 5, 6, 8, 9]], [5.0, 8.0, 5.0, 5.0, 5.0, 2.0, 2.0])
    assert np.isnan(deltas.step_kwh[7])
    assert (deltas.events.rollovers, deltas.events.glitches, deltas.events.resets) == (1, 1, 1)
    assert _has(deltas.flags, F.ROLLOVER)[2]
    assert _has(deltas.flags, F.TRANSIENT_GLITCH)[4]
    assert _has(deltas.flags, F.COUNTER_RESET)[7]
    # continuous counter is flat across the reset
    assert_allclose(deltas.continuous_kwh[[0, 6, 7, 9]], [0.0, 28.0, 28.0, 32.0])


def test_glitch_rule_prefers_the_low_reading_when_two_candidates_touch():
    # given: a one-LSB dip: 101 is a "high" candidate only because 100.99 is low
    counter = np.array([100.0, 101.0, 100.99, 102.0])

    # when
    mask = transient_glitch_mask(counter, segment=np.zeros(4, dtype=np.int64))

    # then
    assert_array_equal(mask, [False, False, True, False])


# --------------------------------------------------------------------------------------------------
# meter replacement and multipliers


def test_meter_replacement_with_new_multiplier_keeps_energy_continuous():
    # given: 30 kW primary (0.5 kWh/min). Old meter multiplier 1 from 1200 kWh; at DAY0 + 450 s it is
    # exchanged for a meter behind a 200/5 CT (multiplier 40) starting at 3.0 kWh on its register
    at_s = DAY0 + 450
    ts = np.arange(DAY0 - 60, DAY0 + 2 * RES + 61, 60, dtype=np.int64)
    old = ts < at_s
    counter = np.where(
        old,
        1200.0 + 0.5 * (ts - ts[0]) / 60.0,
        3.0 + (0.5 / 40.0) * (ts - at_s) / 60.0,
    )
    old_final = 1200.0 + 0.5 * (at_s - ts[0]) / 60.0  # 1204.25 kWh
    replacement = MeterReplacement(at_s=at_s, old_final_kwh=old_final, new_initial_kwh=3.0, new_multiplier=40.0)

    # when
    result = interval_energy_from_counters(
        ts, counter, grid_start_s=DAY0, n_intervals=2, resolution_s=RES, replacements=[replacement]
    )

    # then: step 420 s -> 480 s = (1204.25 - 1204.0) x 1 + (3.0125 - 3.0) x 40 = 0.5 kWh; 7.5 kWh per
    # interval on both sides
    assert_allclose(result.energy_kwh, [7.5, 7.5], rtol=0, atol=1e-9)
    assert result.events.replacements == 1
    assert_array_equal(_has(result.flags, F.METER_REPLACED), [True, False])
    assert np.all(result.status == S.MEASURED)


def test_ct_ratio_multiplier_applies_to_every_step():
    # given: register advances 0.0125 kWh/min behind a multiplier 40 CT -> 0.5 kWh/min primary
    ts = np.arange(DAY0 - 60, DAY0 + RES + 61, 60, dtype=np.int64)
    counter = 10.0 + 0.0125 * (ts - ts[0]) / 60.0

    # when
    result = interval_energy_from_counters(
        ts, counter, grid_start_s=DAY0, n_intervals=1, resolution_s=RES, multiplier=40.0
    )

    # then
    assert_allclose(result.energy_kwh, [7.5], rtol=0, atol=1e-9)


def test_two_exchanges_inside_one_step_count_the_whole_middle_meter():
    # given: readings at 0 s and 100 s; meter B lived from 30 s (initial 0) to 60 s (final 2)
    ts = np.array([0, 100], dtype=np.int64)
    counter = np.array([10.0, 7.0])  # A at 0 s, C at 100 s
    events = [
        MeterReplacement(at_s=30, old_final_kwh=11.0, new_initial_kwh=0.0, new_multiplier=2.0),
        MeterReplacement(at_s=60, old_final_kwh=2.0, new_initial_kwh=5.0, new_multiplier=1.0),
    ]

    # when
    deltas = counter_deltas(ts, counter, replacements=events)

    # then: (11 - 10) x 1 + (2 - 0) x 2 + (7 - 5) x 1 = 7
    assert_allclose(deltas.step_kwh[1], 7.0)
    assert deltas.events.replacements == 1


# --------------------------------------------------------------------------------------------------
# gaps, spikes, negatives, clock


def test_gap_longer_than_limit_makes_boundary_intervals_missing_with_known_total():
    # given: 30 kW, readings every minute, none from 20 min to 61 min (a 41-min hole)
    ts, counter = _minute_readings(8)
    keep = (ts < DAY0 + 20 * 60) | (ts > DAY0 + 61 * 60)
    ts, counter = ts[keep], counter[keep]

    # when
    result = interval_energy_from_counters(ts, counter, grid_start_s=DAY0, n_intervals=8, resolution_s=RES)

    # then: boundaries at 30 and 45 and 60 min fall inside the hole -> intervals 1..4 MISSING + GAP;
    # intervals 1 and 4 also hold readings -> PARTIAL
    assert_array_equal(result.status == S.MISSING, [False, True, True, True, True, False, False, False])
    assert_array_equal(_has(result.flags, F.GAP), result.status == S.MISSING)
    assert_array_equal(_has(result.flags, F.PARTIAL), [False, True, False, False, True, False, False, False])
    assert np.all(np.isnan(result.energy_kwh[1:5]))
    assert result.n_gap_intervals == 4
    # the register total over [15 min, 75 min) is still exact: 30 kW x 1 h
    assert_allclose(result.boundary_energy_kwh[5] - result.boundary_energy_kwh[1], 30.0, rtol=0, atol=1e-9)


def test_nan_readings_are_skipped_like_absent_ones():
    # given: the same hole as NaN readings instead of absent timestamps
    ts, counter = _minute_readings(8)
    counter = counter.copy()
    hole = (ts >= DAY0 + 20 * 60) & (ts <= DAY0 + 61 * 60)
    counter[hole] = np.nan

    # when
    result = interval_energy_from_counters(ts, counter, grid_start_s=DAY0, n_intervals=8, resolution_s=RES)

    # then
    assert_array_equal(result.status == S.MISSING, [False, True, True, True, True, False, False, False])
    assert result.n_readings_used == int(np.count_nonzero(~hole))


def test_hole_inside_one_interval_keeps_it_measured_but_partial():
    # given: a 10-min hole strictly inside interval 1 with a 5-min interpolation limit
    ts, counter = _minute_readings(3)
    keep = (ts <= DAY0 + 17 * 60) | (ts >= DAY0 + 27 * 60)

    # when
    result = interval_energy_from_counters(
        ts[keep],
        counter[keep],
        grid_start_s=DAY0,
        n_intervals=3,
        resolution_s=RES,
        max_interpolation_gap_s=300,
    )

    # then
    assert np.all(result.status == S.MEASURED)
    assert_allclose(result.energy_kwh, [7.5, 7.5, 7.5], rtol=0, atol=1e-9)
    assert_array_equal(_has(result.flags, F.PARTIAL), [False, True, False])


def test_intervals_outside_the_readings_are_gaps():
    # given: readings cover only the first interval (plus a minute each side)
    ts, counter = _minute_readings(1)

    # when
    result = interval_energy_from_counters(ts, counter, grid_start_s=DAY0, n_intervals=3, resolution_s=RES)

    # then
    assert_array_equal(result.status, [S.MEASURED, S.MISSING, S.MISSING])
    assert_array_equal(_has(result.flags, F.GAP), [False, True, True])
    assert_array_equal(_has(result.flags, F.PARTIAL), [False, True, False])


def test_spike_is_flagged_kept_and_needs_estimation():
    # given: 30 kW, plus a 50 kWh jump within one minute in interval 1 (implied 3000 kW)
    ts, counter = _minute_readings(3)
    counter = counter.copy()
    counter[ts >= DAY0 + RES + 300] += 50.0

    # when
    result = interval_energy_from_counters(
        ts, counter, grid_start_s=DAY0, n_intervals=3, resolution_s=RES, max_power_kw=500.0
    )
    relaxed = interval_energy_from_counters(
        ts,
        counter,
        grid_start_s=DAY0,
        n_intervals=3,
        resolution_s=RES,
        max_power_kw=500.0,
        spikes_need_estimation=False,
    )

    # then: value kept for review (7.5 + 50), status MISSING unless configured otherwise
    assert result.events.spikes == 1
    assert_array_equal(_has(result.flags, F.SPIKE), [False, True, False])
    assert_array_equal(result.status, [S.MEASURED, S.MISSING, S.MEASURED])
    assert_allclose(result.energy_kwh, [7.5, 57.5, 7.5], rtol=0, atol=1e-9)
    assert_array_equal(relaxed.status, [S.MEASURED, S.MEASURED, S.MEASURED])
    assert_array_equal(relaxed.flags, result.flags)


def test_small_persistent_backwards_step_is_negative():
    # given: the counter steps back by 2 kWh in interval 1 and stays there (not a reset: > 50 %)
    ts, counter = _minute_readings(3)
    counter = counter.copy()
    counter[ts >= DAY0 + RES + 300] -= 2.0 + 0.5  # undo one minute of consumption and 2 kWh more

    # when
    result = interval_energy_from_counters(ts, counter, grid_start_s=DAY0, n_intervals=3, resolution_s=RES)
    relaxed = interval_energy_from_counters(
        ts, counter, grid_start_s=DAY0, n_intervals=3, resolution_s=RES, negatives_need_estimation=False
    )

    # then: the step is kept with its sign (7.5 - 2.5 = 5.0) and flagged NEGATIVE
    assert result.events.negatives == 1
    assert result.events.resets == 0
    assert_array_equal(_has(result.flags, F.NEGATIVE), [False, True, False])
    assert_array_equal(result.status, [S.MEASURED, S.MISSING, S.MEASURED])
    assert_allclose(result.energy_kwh, [7.5, 5.0, 7.5], rtol=0, atol=1e-9)
    assert_array_equal(relaxed.status, [S.MEASURED, S.MEASURED, S.MEASURED])


def test_clock_steps_flag_their_interval():
    # given
    ts, counter = _minute_readings(3)

    # when
    result = interval_energy_from_counters(
        ts,
        counter,
        grid_start_s=DAY0,
        n_intervals=3,
        resolution_s=RES,
        clock_steps_s=np.array([DAY0 + 2 * RES + 5], dtype=np.int64),
    )

    # then
    assert_array_equal(_has(result.flags, F.CLOCK_SUSPECT), [False, False, True])
    assert np.all(result.status == S.MEASURED)


# --------------------------------------------------------------------------------------------------
# purity and input errors


def test_inputs_are_not_mutated_and_outputs_are_read_only():
    # given
    ts, counter = _minute_readings(2)
    counter[5] = np.nan
    ts_before, counter_before = ts.copy(), counter.copy()

    # when
    result = interval_energy_from_counters(ts, counter, grid_start_s=DAY0, n_intervals=2, resolution_s=RES)

    # then
    assert_array_equal(ts, ts_before)
    assert_array_equal(counter, counter_before)
    assert result.energy_kwh.dtype == np.float64
    assert result.status.dtype == np.uint8
    assert result.flags.dtype == np.uint16
    with pytest.raises(ValueError, match="read-only"):
        result.energy_kwh[0] = 0.0


@pytest.mark.parametrize(
    ("ts", "counter", "kwargs", "match"),
    [
        (np.array([0, 20, 10]), np.array([1.0, 2.0, 3.0]), {}, "strictly increasing"),
        (np.array([0, 10, 10]), np.array([1.0, 2.0, 3.0]), {}, "strictly increasing"),
        (np.array([0, 10]), np.array([1.0, 2.0, 3.0]), {}, "shape mismatch"),
        (np.array([0.0, 10.0]), np.array([1.0, 2.0]), {}, "integer array"),
        (np.array([0, 10]), np.array([1, 2]), {}, "floating array"),
        (np.array([0, 10]), np.array([1.0, 2.0]), {"resolution_s": 420}, "does not divide a day"),
        (np.array([0, 10]), np.array([1.0, 2.0]), {"resolution_s": 120}, "outside 300..3600"),
        (np.array([0, 10]), np.array([1.0, 2.0]), {"resolution_s": 7200}, "outside 300..3600"),
        (np.array([0, 10]), np.array([1.0, 2.0]), {"grid_start_s": 3600}, "not a UTC midnight"),
        (np.array([0, 10]), np.array([1.0, 2.0]), {"max_power_kw": -1.0}, "max_power_kw"),
        (np.array([0, 10]), np.array([1.0, 2.0]), {"multiplier": 0.0}, "multipliers"),
    ],
)
def test_bad_inputs_raise_value_error(ts, counter, kwargs, match):
    # given
    options = {"grid_start_s": 0, "n_intervals": 1, "resolution_s": RES, **kwargs}

    # when / then
    with pytest.raises(ValueError, match=match):
        interval_energy_from_counters(ts, counter, **options)


def test_unsorted_replacements_raise():
    # given
    events = [
        MeterReplacement(at_s=20, old_final_kwh=1.0, new_initial_kwh=0.0, new_multiplier=1.0),
        MeterReplacement(at_s=10, old_final_kwh=1.0, new_initial_kwh=0.0, new_multiplier=1.0),
    ]

    # when / then
    with pytest.raises(ValueError, match="sorted by strictly increasing at_s"):
        counter_deltas(np.array([0, 30]), np.array([0.0, 1.0]), replacements=events)


# --------------------------------------------------------------------------------------------------
# size


def test_year_of_10s_snapshots_for_one_meter():
    # given: 365 days of 10-s snapshots with jitter (about 3.15 M readings), a few NaN reads
    rng = np.random.default_rng(7)
    nominal = np.arange(-30, 365 * 86_400 + 31, 10, dtype=np.int64)
    t_rel = nominal + rng.integers(-3, 4, nominal.shape[0])  # spacing stays >= 4 s, order kept
    counter = 1_000.0 + _profile_energy_kwh(t_rel)
    counter[rng.random(counter.shape[0]) < 1e-4] = np.nan

    # when
    result = interval_energy_from_counters(
        DAY0 + t_rel,
        counter,
        grid_start_s=DAY0,
        n_intervals=365 * 96,
        resolution_s=RES,
        max_power_kw=2_000.0,
        wrap_value_kwh=WRAP_UINT32_WH_IN_KWH,
    )

    # then: all measured; total equals the analytic counter delta (its time is measured in bench/)
    assert t_rel.shape[0] > 3_100_000
    assert np.all(result.status == S.MEASURED)
    expected_total = _profile_energy_kwh(np.array([365 * 86_400]))[0]
    assert_allclose(result.energy_kwh.sum(), expected_total, rtol=1e-9)
