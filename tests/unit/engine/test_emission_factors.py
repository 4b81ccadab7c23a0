"""Factors computed for own generation ([IR2547] Annex II D.4.1, Eq. 38) against the reference's test vectors."""

from __future__ import annotations

from decimal import Decimal

import pytest

from workers.engine.factors import (
    NATURAL_GAS_EF,
    FuelCombustionInvalid,
    FuelInput,
    combustion_emissions,
    own_generation_factor,
)


def test_tv14_own_non_chp_generation_from_natural_gas():
    # given: 10,000 t natural gas at 0.048 TJ/t and 56.1 tCO2/TJ, 50,000 MWh net, no flue-gas cleaning
    fuel = FuelInput(
        fuel="natural_gas", quantity_t=Decimal("10000"), ncv_tj_per_t=Decimal("0.048"), ef_t_per_tj=Decimal("56.1")
    )
    # when
    result = own_generation_factor([fuel], net_generation_mwh=Decimal("50000"))
    # then
    assert result.emissions_t == Decimal("26928")
    assert result.factor_t_per_mwh == Decimal("0.53856")
    assert "Eq. 38" in result.formula
    assert result.inputs["fuels"][0]["emissions_t"] == "26928.0000"
    assert result.inputs["net_generation_mwh"] == "50000"


def test_tv16_one_tonne_of_natural_gas_emits_2_6928_t():
    fuel = FuelInput(
        fuel="natural_gas", quantity_t=Decimal("1"), ncv_tj_per_t=Decimal("0.048"), ef_t_per_tj=Decimal("56.1")
    )
    assert combustion_emissions(fuel) == Decimal("2.6928")


def test_flue_gas_cleaning_emissions_are_added_and_oxidation_factor_applies():
    fuel = FuelInput(
        fuel="natural_gas",
        quantity_t=Decimal("100"),
        ncv_tj_per_t=Decimal("0.048"),
        ef_t_per_tj=Decimal("56.1"),
        oxidation_factor=Decimal("0.99"),
    )
    result = own_generation_factor([fuel], net_generation_mwh=Decimal("1000"), flue_gas_cleaning_t=Decimal("10"))
    assert result.emissions_t == Decimal("100") * Decimal("0.048") * Decimal("56.1") * Decimal("0.99") + 10
    assert result.factor_t_per_mwh == result.emissions_t / Decimal("1000")


def test_a_waste_gas_above_the_natural_gas_factor_is_capped_at_56_1():
    gas = FuelInput(
        fuel="blast_furnace_gas",
        quantity_t=Decimal("10"),
        ncv_tj_per_t=Decimal("0.0025"),
        ef_t_per_tj=Decimal("260"),
        waste_gas=True,
    )
    result = own_generation_factor([gas], net_generation_mwh=Decimal("1"))
    assert result.emissions_t == Decimal("10") * Decimal("0.0025") * NATURAL_GAS_EF
    assert result.inputs["fuels"][0]["ef_applied_t_per_tj"] == "56.1"


def test_renewable_only_generation_has_factor_zero():
    result = own_generation_factor([], net_generation_mwh=Decimal("500"))
    assert result.factor_t_per_mwh == Decimal("0")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"net_generation_mwh": Decimal("0")}, "netGenerationMwh"),
        ({"net_generation_mwh": Decimal("-1")}, "netGenerationMwh"),
        ({"net_generation_mwh": Decimal("1"), "flue_gas_cleaning_t": Decimal("-1")}, "flueGasCleaningT"),
    ],
)
def test_bad_totals_are_refused_naming_the_field(kwargs, field):
    with pytest.raises(FuelCombustionInvalid) as caught:
        own_generation_factor([], **kwargs)
    assert caught.value.field == field


def test_a_negative_fuel_quantity_is_refused_naming_the_fuel_row():
    fuel = FuelInput(
        fuel="lignite", quantity_t=Decimal("-5"), ncv_tj_per_t=Decimal("0.0119"), ef_t_per_tj=Decimal("101")
    )
    with pytest.raises(FuelCombustionInvalid) as caught:
        own_generation_factor([fuel], net_generation_mwh=Decimal("10"))
    assert caught.value.field == "fuels.0.quantityT"
    assert "must be zero or more" in caught.value.reason
