"""Gap report, anomaly summary and sum check (workers/engine/validation.py)."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from workers.engine.codes import IntervalFlag as F
from workers.engine.codes import IntervalStatus as S
from workers.engine.counters import interval_energy_from_counters
from workers.engine.validation import anomaly_summary, find_gaps, sum_check

DAY0 = 1_774_742_400  # 2026-03-29T00:00:00Z
RES = 900


def test_find_gaps_reports_runs_with_times_and_found_vs_expected():
    # given: MISSING at 1..2 and 5, ESTIMATED at 3 (not a gap)
    status = np.array([S.MEASURED, S.MISSING, S.MISSING, S.ESTIMATED, S.MEASURED, S.MISSING], dtype=np.uint8)

    # when
    gaps = find_gaps(status, resolution_s=RES, grid_start_s=DAY0)

    # then
    assert_array_equal(gaps.start_index, [1, 5])
    assert_array_equal(gaps.end_index, [3, 6])
    assert_array_equal(gaps.length_intervals, [2, 1])
    assert_array_equal(gaps.start_s, [DAY0 + 900, DAY0 + 4500])
    assert_array_equal(gaps.end_s, [DAY0 + 2700, DAY0 + 5400])
    assert_array_equal(gaps.duration_s, [1800, 900])
    assert (gaps.n_expected, gaps.n_found) == (6, 3)


def test_find_gaps_rejects_bad_grid_and_codes():
    # when / then
    with pytest.raises(ValueError, match="not a UTC midnight"):
        find_gaps(np.zeros(4, dtype=np.uint8), resolution_s=RES, grid_start_s=DAY0 + 60)
    with pytest.raises(ValueError, match="does not divide a day"):
        find_gaps(np.zeros(4, dtype=np.uint8), resolution_s=1000, grid_start_s=DAY0)
    with pytest.raises(ValueError, match="IntervalStatus"):
        find_gaps(np.full(4, 9, dtype=np.uint8), resolution_s=RES, grid_start_s=DAY0)


def test_anomaly_summary_lists_spikes_and_negatives():
    # given
    energy = np.array([1.0, 80.0, -2.0, 1.0])
    flags = np.array([0, F.SPIKE, F.NEGATIVE | F.PARTIAL, F.PARTIAL], dtype=np.uint16)

    # when
    summary = anomaly_summary(energy, flags)

    # then
    assert_array_equal(summary.spike_index, [1])
    assert_allclose(summary.spike_energy_kwh, [80.0])
    assert_array_equal(summary.negative_index, [2])
    assert_allclose(summary.negative_energy_kwh, [-2.0])
    counts = dict(zip(summary.flag_bits.tolist(), summary.flag_counts.tolist(), strict=True))
    assert counts[int(F.PARTIAL)] == 2
    assert counts[int(F.GAP)] == 0


def test_sum_check_per_day_against_register_delta():
    # given: two days of constant 30 kW from 1-min reads; day 2's register delta mistyped by 1 %
    ts = np.arange(DAY0 - 60, DAY0 + 2 * 86_400 + 61, 60, dtype=np.int64)
    counter = 500.0 + 30.0 * (ts - ts[0]) / 3600.0
    result = interval_energy_from_counters(ts, counter, grid_start_s=DAY0, n_intervals=192, resolution_s=RES)
    register = np.diff(result.boundary_energy_kwh[::96]) * np.array([1.0, 1.01])

    # when
    check = sum_check(result.energy_kwh.reshape(2, 96), result.status.reshape(2, 96), register_delta_kwh=register)

    # then: 30 kW x 24 h = 720 kWh a day; 7.2 kWh off on day 2 exceeds 0.01 + 0.001 x 727.2
    assert_allclose(check.interval_sum_kwh, [720.0, 720.0], rtol=1e-12)
    assert_allclose(check.difference_kwh, [0.0, -7.2], rtol=0, atol=1e-6)
    assert_array_equal(check.within_tolerance, [True, False])
    assert_array_equal(check.complete, [True, True])


def test_sum_check_never_passes_an_incomplete_period():
    # given
    energy = np.array([1.0, np.nan, 1.0])
    status = np.array([S.MEASURED, S.MISSING, S.MEASURED], dtype=np.uint8)

    # when
    check = sum_check(energy, status, register_delta_kwh=np.array(2.0))

    # then
    assert not bool(check.complete)
    assert not bool(check.within_tolerance)


def test_sum_check_shape_mismatch():
    # when / then
    with pytest.raises(ValueError, match="shape mismatch"):
        sum_check(np.zeros((2, 4)), np.zeros((2, 4), dtype=np.uint8), register_delta_kwh=np.zeros(3))
