"""Meter balance and virtual meters (workers/engine/balance.py).

No public source gives a numeric balance band; the tests use the configurable default 5 %.
"""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from workers.engine.balance import BalanceRole as R
from workers.engine.balance import evaluate_virtual_meters, meter_balance
from workers.engine.codes import IntervalFlag as F
from workers.engine.codes import IntervalStatus as S

N = 96


def _plant(ct_error: float = 1.0):
    """Main (0) feeding feeders A (1) and B (2); A feeds a1 (3) and a2 (4).

    Feeder A = a1 + a2 exactly, B = 37 kWh per interval, main = (A + B) / 0.97 so that unmetered
    loads and losses are 3 % of main.
    """
    t = np.arange(N)
    a1 = 40.0 + 5.0 * np.sin(2 * np.pi * t / N)
    a2 = 20.0 + 2.0 * np.cos(2 * np.pi * t / N)
    feeder_a = a1 + a2
    feeder_b = np.full(N, 37.0)
    main = (feeder_a + feeder_b) / 0.97
    energy = np.vstack([main, feeder_a, feeder_b * ct_error, a1, a2])
    parent = np.array([-1, 0, 0, 1, 1])
    role = np.array([R.MAIN, R.SUB, R.SUB, R.SUB, R.SUB])
    return energy, parent, role


def test_main_equals_children_plus_three_percent_losses():
    # given
    energy, parent, role = _plant()
    status = np.zeros(energy.shape, dtype=np.uint8)

    # when
    balance = meter_balance(energy, status, parent=parent, role=role, tolerance=0.05)

    # then: residual share of main = 1 - 0.97 = 0.03 in every interval; feeder A balances exactly
    assert_array_equal(balance.parent_index, [0, 1])
    assert_allclose(balance.residual_share[0], np.full(N, 0.03), rtol=0, atol=1e-12)
    assert_allclose(balance.residual_share[1], np.zeros(N), rtol=0, atol=1e-12)
    assert_allclose(balance.residual_share_total, [0.03, 0.0], rtol=0, atol=1e-12)
    assert not balance.out_of_tolerance.any()
    assert not balance.period_out_of_tolerance.any()


def test_grandchildren_are_not_summed_into_the_main_balance():
    # given
    energy, parent, role = _plant()

    # when
    balance = meter_balance(energy, np.zeros(energy.shape, dtype=np.uint8), parent=parent, role=role)

    # then: children of main are A and B only
    assert_allclose(balance.children_kwh[0], energy[1] + energy[2], rtol=1e-15)


def test_wrong_ct_ratio_on_a_sub_meter_is_out_of_tolerance():
    # given: feeder B's CT configured as 300/5 instead of 200/5 -> reads 1.5 x
    energy, parent, role = _plant(ct_error=1.5)
    status = np.zeros(energy.shape, dtype=np.uint8)

    # when
    balance = meter_balance(energy, status, parent=parent, role=role, tolerance=0.05)

    # then: residual negative (children exceed the parent) and flagged on main's rows
    assert np.all(balance.residual_kwh[0] < 0)
    assert balance.out_of_tolerance[0].all()
    assert bool(balance.period_out_of_tolerance[0])
    assert not balance.out_of_tolerance[1].any()
    assert np.all((balance.flags[0] & np.uint16(F.BALANCE_OUT_OF_TOLERANCE)) != 0)
    assert np.all(balance.flags[1:] == 0)


def test_estimate_affected_intervals_are_not_compared_strictly():
    # given: wrong CT as above, but interval 10 of feeder B is estimated and 11 missing (NaN)
    energy, parent, role = _plant(ct_error=1.5)
    status = np.zeros(energy.shape, dtype=np.uint8)
    status[2, 10] = S.ESTIMATED
    status[2, 11] = S.MISSING
    energy[2, 11] = np.nan

    # when
    balance = meter_balance(energy, status, parent=parent, role=role)

    # then
    assert_array_equal(np.flatnonzero(balance.estimate_affected[0]), [10, 11])
    assert not balance.out_of_tolerance[0, 10] and not balance.out_of_tolerance[0, 11]
    assert np.isnan(balance.residual_kwh[0, 11])
    assert balance.n_estimate_affected[0] == 2


def test_generation_enters_with_negative_sign_and_virtual_meters_are_ignored():
    # given: node with import 70, generation 30, load 100, and a virtual meter hung under it
    energy = np.array([[70.0], [30.0], [100.0], [999.0]])
    parent = np.array([-1, 0, 0, 0])
    role = np.array([R.MAIN, R.GENERATION, R.SUB, R.VIRTUAL])

    # when
    balance = meter_balance(energy, np.zeros((4, 1), dtype=np.uint8), parent=parent, role=role)

    # then: 70 - (100 - 30) = 0
    assert_allclose(balance.residual_kwh, [[0.0]], atol=1e-12)


@pytest.mark.parametrize(
    ("parent", "match"),
    [
        (np.array([-1, 2, 1]), "cycle"),
        (np.array([-1, 1, 0]), "own parent"),
        (np.array([-1, 0, 5]), "out of range"),
    ],
)
def test_bad_hierarchy_raises(parent, match):
    # when / then
    with pytest.raises(ValueError, match=match):
        meter_balance(np.zeros((3, 2)), np.zeros((3, 2), dtype=np.uint8), parent=parent, role=np.ones(3, dtype=int))


def test_balance_shape_mismatch_raises():
    # when / then
    with pytest.raises(ValueError, match="shape mismatch"):
        meter_balance(
            np.zeros((3, 2)),
            np.zeros((3, 3), dtype=np.uint8),
            parent=np.array([-1, 0, 0]),
            role=np.ones(3, dtype=int),
        )


def test_virtual_meter_is_main_minus_subs_with_worst_status():
    # given: unmetered + losses = main - A - B
    energy, _, _ = _plant()
    status = np.zeros(energy.shape, dtype=np.uint8)
    status[1, 3] = S.EDITED
    status[2, 4] = S.ESTIMATED
    status[2, 5] = S.MISSING

    # when
    virtual = evaluate_virtual_meters(energy, status, terms=[[(0, 1.0), (1, -1.0), (2, -1.0)]])

    # then: 3 % of main; status = worst input; MISSING -> NaN
    expected = 0.03 * energy[0]
    assert_allclose(np.delete(virtual.energy_kwh[0], 5), np.delete(expected, 5), rtol=1e-12)
    assert np.isnan(virtual.energy_kwh[0, 5])
    assert_array_equal(virtual.status[0, 2:7], [S.MEASURED, S.EDITED, S.ESTIMATED, S.MISSING, S.MEASURED])


def test_virtual_meter_formula_errors():
    # given
    energy = np.zeros((2, 3))
    status = np.zeros((2, 3), dtype=np.uint8)

    # when / then
    with pytest.raises(ValueError, match="out of range"):
        evaluate_virtual_meters(energy, status, terms=[[(2, 1.0)]])
    with pytest.raises(ValueError, match="empty formula"):
        evaluate_virtual_meters(energy, status, terms=[[]])


def test_plant_year_balance_200_meters():
    # given: 200 meters x 35,040 quarter hours (a plant-year): 1 main, 19 feeders, 180 sub-meters
    # spread over the feeders; every feeder = sum of its subs, main = sum of feeders / 0.97
    n = 35_040
    rng = np.random.default_rng(1)
    subs = rng.uniform(1.0, 50.0, size=(180, n))
    parent_of_sub = 1 + np.arange(180) % 19
    feeders = np.zeros((19, n))
    np.add.at(feeders, parent_of_sub - 1, subs)
    main = feeders.sum(axis=0, keepdims=True) / 0.97
    energy = np.vstack([main, feeders, subs])
    parent = np.concatenate(([-1], np.zeros(19, dtype=int), parent_of_sub))
    role = np.concatenate(([R.MAIN], np.full(199, R.SUB)))
    status = np.zeros(energy.shape, dtype=np.uint8)

    # when
    balance = meter_balance(energy, status, parent=parent, role=role)
    virtual = evaluate_virtual_meters(energy, status, terms=[[(0, 1.0), *((k, -1.0) for k in range(1, 20))]])

    # then
    assert energy.shape == (200, 35_040)
    assert balance.parent_index.shape == (20,)
    assert_allclose(balance.residual_share_total[0], 0.03, rtol=1e-9)
    assert_allclose(balance.residual_share_total[1:], 0.0, atol=1e-12)
    assert_allclose(virtual.energy_kwh[0], 0.03 * main[0], rtol=1e-9)
