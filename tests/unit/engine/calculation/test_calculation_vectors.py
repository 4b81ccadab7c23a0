"""Reference test vectors reproduced by the calculation engine (relative tolerance 1e-9).

TV1-TV6: hourly-matching reference §e; TV-01..TV-17: CBAM methodology reference §f.
"""

from decimal import Decimal

import numpy as np
import pytest
from numpy.testing import assert_allclose

from tests.unit.engine.calculation.builders import T0, batches, fuels, inputs, meters, products, supply
from workers.engine.calculation import CalculationParameters, calculate, materiality_threshold
from workers.engine.factors import FuelInput, own_generation_factor

RTOL = 1e-9
HOUR = 3600

C_TV1 = np.array([4] * 6 + [8] * 16 + [4] * 2, float) * 1000  # kWh per hour (MWh in the reference)
S_TV1 = np.array([0] * 6 + [2, 6, 12, 17, 21, 22, 22, 21, 17, 12, 6, 2] + [0] * 6, float) * 1000


def _one_line_day(consumption, supply_kwh, *, resolution_s=HOUR, grid_factor=0.729, **supply_kw):
    """One main meter, one line sub-meter equal to it, one batch over the whole grid."""
    n = len(consumption)
    mt = meters([consumption, consumption], ["main", "sub"], [-1, 0])
    bs = batches([(T0, T0 + n * resolution_s)], [0], [1.0])
    sp = supply(supply_kwh, native=[resolution_s], **supply_kw) if supply_kwh is not None else None
    return inputs(n=n, resolution_s=resolution_s, meter_set=mt, batch_set=bs, supply_set=sp, grid_factor=grid_factor)


def test_tv1a_volumetric_daily_match_is_one():
    # when
    result = calculate(_one_line_day(C_TV1, S_TV1), CalculationParameters(matching_resolution="day"))

    # then
    assert_allclose(result.installation.scores.day, 1.0, rtol=RTOL)
    assert_allclose(result.installation.scores.year, 1.0, rtol=RTOL)
    assert_allclose(result.batches.matched_kwh, [160_000.0], rtol=RTOL)


def test_tv1b_hourly_match_is_half_with_80_unmatched():
    # when
    result = calculate(_one_line_day(C_TV1, S_TV1), CalculationParameters(matching_resolution="hour"))

    # then
    assert_allclose(result.installation.scores.hour, 0.5, rtol=RTOL)
    assert_allclose(result.installation.matched_kwh, 80_000.0, rtol=RTOL)
    assert_allclose(result.batches.energy_kwh - result.batches.matched_kwh, [80_000.0], rtol=RTOL)
    # excess: supply not used
    assert_allclose(
        result.installation.ledger.supplied_kwh.sum() - result.installation.ledger.used_kwh.sum(), 80_000.0, rtol=RTOL
    )


def test_tv1d_emissions_unmatched_at_the_default_factor():
    # given: the reference's residual factor 0.80 stands in for the grid default
    hourly = calculate(_one_line_day(C_TV1, S_TV1, grid_factor=0.8), CalculationParameters(matching_resolution="hour"))
    daily = calculate(_one_line_day(C_TV1, S_TV1, grid_factor=0.8), CalculationParameters(matching_resolution="day"))

    # then
    assert_allclose(hourly.batches.indirect_tco2, [64.0], rtol=RTOL)
    assert_allclose(hourly.batches.indirect_tco2 / 160.0, [0.40], rtol=RTOL)
    assert_allclose(daily.batches.indirect_tco2, [0.0], atol=1e-12)


def test_tv2_baseload_ppa():
    # given
    baseload = np.full(24, C_TV1.sum() / 24)

    # when
    result = calculate(_one_line_day(C_TV1, baseload), CalculationParameters(matching_resolution="hour"))

    # then
    assert_allclose(result.installation.matched_kwh, 138_666.66666666666, rtol=RTOL)
    assert_allclose(result.installation.scores.hour, 0.8666666666666667, rtol=RTOL)
    ledger = result.installation.ledger
    assert_allclose(ledger.supplied_kwh.sum() - ledger.used_kwh.sum(), 21_333.333333333332, rtol=RTOL)


def test_tv5_quarter_hours_score_lower_than_the_hour():
    # given
    data = _one_line_day([2.0, 2.0, 2.0, 2.0], [0.0, 4.0, 4.0, 0.0], resolution_s=900)

    # when
    result = calculate(data, CalculationParameters(matching_resolution="interval"))

    # then
    assert_allclose(result.installation.scores.interval, 0.5, rtol=RTOL)
    assert_allclose(result.installation.scores.hour, 1.0, rtol=RTOL)
    assert_allclose(result.installation.matched_fraction, [0.0, 1.0, 1.0, 0.0], rtol=RTOL)


def test_tv6_one_supply_shared_proportionally_by_two_consumers():
    # given: one hour, supply 10, two lines drawing 8 and 4 with one batch each
    mt = meters([[12.0], [8.0], [4.0]], ["main", "sub", "sub"], [-1, 0, 1])
    bs = batches([(T0, T0 + HOUR), (T0, T0 + HOUR)], [0, 1], [1.0, 1.0])
    data = inputs(
        n=1, resolution_s=HOUR, meter_set=mt, batch_set=bs, n_lines=2, supply_set=supply([10.0], native=[HOUR])
    )

    # when
    result = calculate(data, CalculationParameters(matching_resolution="hour"))

    # then
    assert_allclose(result.batches.matched_kwh, [20 / 3, 10 / 3], rtol=RTOL)
    assert result.batches.matched_kwh.sum() <= 10.0 + 1e-12
    assert (result.batches.matched_kwh <= result.batches.energy_kwh).all()


def test_tv01_heavy_fuel_oil_combustion():
    # given: AD 252,000 t, NCV 45 GJ/t = 0.045 TJ/t, EF 73 tCO2/TJ, OxF 1
    mt = meters([[0.0]], ["main"], [-1])
    fl = fuels([[252_000.0]], [0], [0.045], [73.0], [1.0])
    data = inputs(n=1, resolution_s=HOUR, meter_set=mt, batch_set=batches([(T0, T0 + HOUR)], [0], [1.0]), fuel_set=fl)

    # when
    result = calculate(data, CalculationParameters())

    # then
    assert_allclose(result.batches.direct_tco2, [827_820.0], rtol=RTOL)
    assert_allclose(result.installation.direct_tco2, 827_820.0, rtol=RTOL)
    assert_allclose(252_000.0 * 0.045, 11_340.0, rtol=RTOL)


@pytest.mark.parametrize(("factor", "indirect", "see"), [(0.729, 1312.2, 0.8748), (0.420, 756.0, 0.504)])
def test_tv12_indirect_from_the_grid_default(factor, indirect, see):
    # given: 1,800 MWh over a day, 1,500 t of profiles (aluminium: indirect is information only)
    consumption = np.full(24, 1_800_000.0 / 24)
    data = _one_line_day(consumption, None, grid_factor=factor)
    data = inputs(
        n=24,
        resolution_s=HOUR,
        meter_set=data.meters,
        batch_set=batches([(T0, T0 + 24 * HOUR)], [0], [1500.0]),
        grid_factor=factor,
    )

    # when
    result = calculate(data, CalculationParameters())

    # then
    assert_allclose(result.products.indirect_tco2, [indirect], rtol=RTOL)
    assert_allclose(result.products.see_indirect, [see], rtol=RTOL)
    assert_allclose(result.products.electricity_mwh_per_t, [1.2], rtol=RTOL)
    assert_allclose(result.products.see_obligation, [0.0], atol=0)


def test_tv13_sixty_percent_grid_forty_percent_solar_ppa():
    # given
    consumption = np.full(24, 100.0)
    data = _one_line_day(consumption, np.full(24, 40.0), factor=[0.0], eligible=[True])

    # when
    result = calculate(data, CalculationParameters())

    # then: EF_inst = 0.6 x 0.729 + 0.4 x 0
    ef_inst = result.batches.indirect_tco2[0] / (result.batches.energy_kwh[0] / 1000)
    assert_allclose(ef_inst, 0.4374, rtol=RTOL)


def test_tv13_process_proven_on_the_ppa_alone_has_factor_zero():
    # given: a direct link dedicated to line 0 covering all its energy; no overhead
    mt = meters([[100.0] * 4, [40.0] * 4, [60.0] * 4], ["main", "sub", "sub"], [-1, 0, 1])
    bs = batches([(T0, T0 + 4 * HOUR), (T0, T0 + 4 * HOUR)], [0, 1], [1.0, 1.0])
    sp = supply([40.0] * 4, native=[HOUR], dedicated=[0], kinds=["direct_link"])
    data = inputs(n=4, resolution_s=HOUR, meter_set=mt, batch_set=bs, n_lines=2, supply_set=sp)

    # when
    result = calculate(data, CalculationParameters())

    # then
    assert_allclose(result.batches.indirect_tco2, [0.0, 240 * 0.729 / 1000], rtol=RTOL, atol=1e-15)
    assert_allclose(result.installation.scores.hour, 0.4, rtol=RTOL)


def test_tv14_own_generation_factor_applied_to_matched_energy():
    # given: Eq. 38 from factors.py: 10,000 t NG x 0.048 TJ/t x 56.1 / 50,000 MWh
    ef = own_generation_factor(
        [FuelInput("natural gas", Decimal("10000"), Decimal("0.048"), Decimal("56.1"))],
        net_generation_mwh=Decimal("50000"),
    ).factor_t_per_mwh
    assert ef == Decimal("0.53856")
    consumption = np.full(24, 1000.0)
    data = _one_line_day(consumption, consumption, factor=[float(ef)], kinds=["own_generation"])

    # when
    result = calculate(data, CalculationParameters())

    # then
    assert_allclose(result.batches.indirect_tco2, [24 * 0.53856], rtol=RTOL)
    assert_allclose(result.batches.indirect_actual_tco2, [24 * 0.53856], rtol=RTOL)


def test_tv16_natural_gas_per_tonne_and_per_mwh_of_fuel():
    # given: 1 t NG on line 0 and 1 MWh of fuel (NCV 0.0036 TJ/MWh) on line 1
    mt = meters([[0.0]], ["main"], [-1])
    fl = fuels([[1.0], [1.0]], [0, 1], [0.048, 0.0036], [56.1, 56.1])
    bs = batches([(T0, T0 + HOUR), (T0, T0 + HOUR)], [0, 1], [1.0, 1.0])
    data = inputs(n=1, resolution_s=HOUR, meter_set=mt, batch_set=bs, n_lines=2, fuel_set=fl)

    # when
    result = calculate(data, CalculationParameters())

    # then
    assert_allclose(result.batches.direct_tco2, [2.6928, 0.20196], rtol=RTOL)


def test_tv17_materiality_is_five_percent():
    assert_allclose(materiality_threshold(2.0), 0.1, rtol=RTOL)
    with pytest.raises(ValueError, match="see_total"):
        materiality_threshold(-1.0)


def test_see_with_precursors_and_defaults_eqs_57_to_60():
    # given: 10 t of product, 1 MWh, 2 tCO2 fuel, precursor 11 t at 2.0 direct / 0.5 indirect (defaulted)
    from workers.engine.calculation import Precursors

    mt = meters([[1000.0], [1000.0]], ["main", "sub"], [-1, 0])
    fl = fuels([[2.0]], [0], [1.0], [1.0])
    bs = batches([(T0, T0 + HOUR)], [0], [10.0])
    pre = Precursors(np.array([0]), np.array([11.0]), np.array([2.0]), np.array([0.5]), np.array([True]), ("p-1",))
    data = inputs(
        n=1,
        resolution_s=HOUR,
        meter_set=mt,
        batch_set=bs,
        fuel_set=fl,
        precursor_set=pre,
        product_set=products(1, [False], [2.496], [np.nan]),
    )

    # when
    result = calculate(data, CalculationParameters(certificate_price_eur_per_t=80.0))

    # then
    p = result.products
    assert_allclose(p.see_direct, [(2.0 + 22.0) / 10], rtol=RTOL)
    assert_allclose(p.see_indirect, [(0.729 + 5.5) / 10], rtol=RTOL)
    assert_allclose(p.see_obligation, [2.4], rtol=RTOL)
    assert_allclose(p.default_see_obligation, [2.496], rtol=RTOL)
    assert_allclose(p.exposure_actual_eur, [2.4 * 10 * 80], rtol=RTOL)
    assert_allclose(p.exposure_default_eur, [2.496 * 10 * 80], rtol=RTOL)
    assert p.precursor_defaulted.tolist() == [True]
    assert_allclose(p.defaulted_share, [27.5 / (2.0 + 22.0 + 0.729 + 5.5)], rtol=RTOL)
    assert_allclose(result.overall.see_obligation, [2.4], rtol=RTOL)
