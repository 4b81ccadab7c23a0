"""A counter against the power of the same meter (workers/engine/plausibility.py)."""

import numpy as np

from workers.engine.plausibility import Implausibility as K
from workers.engine.plausibility import counter_against_power

T = np.arange(0, 3600 + 1, 60, dtype=np.int64)


def kinds(counter, power, **kw):
    return [f.kind for f in counter_against_power(T, counter, T, power, threshold_kw=1.0, **kw)]


def test_a_counter_that_follows_the_power_is_plausible():
    assert kinds(100.0 + 50.0 * T / 3600, np.full(T.size, 50.0)) == []


def test_a_frozen_counter_under_load_is_stalled():
    assert kinds(np.full(T.size, 100.0), np.full(T.size, 50.0)) == [K.COUNTER_STALLED]


def test_an_idle_meter_with_a_frozen_counter_is_fine():
    assert kinds(np.full(T.size, 100.0), np.full(T.size, 0.2)) == []


def test_a_counter_falling_under_load_runs_backwards():
    counter = 100.0 + 50.0 * T / 3600
    counter[30:] -= 40.0
    assert K.COUNTER_BACKWARDS in kinds(counter, np.full(T.size, 50.0))


def test_a_rollover_is_not_backwards():
    counter = (99_990.0 + 50.0 * T / 3600) % 100_000
    assert kinds(counter, np.full(T.size, 50.0), wrap_kwh=100_000.0) == []


def test_a_counter_moving_while_no_power_is_reported():
    assert kinds(100.0 + 50.0 * T / 3600, np.zeros(T.size)) == [K.COUNTER_WITHOUT_POWER]


def test_too_little_to_compare_says_nothing():
    assert counter_against_power(T[:1], np.array([1.0]), T, np.full(T.size, 50.0), threshold_kw=1.0) == []
