"""Emission factors computed from an installation's own data: pure arithmetic, exact decimals.

Own generation other than CHP, [IR2547] Annex II D.4.1, Equation 38:

    EF_El = (sum_i AD_i x NCV_i x EF_i x OF_i + Em_FGC) / El_prod      [tCO2/MWh]

with AD_i the fuel quantity [t], NCV_i [TJ/t], EF_i [tCO2/TJ], OF_i the oxidation factor (Annex II B,
Eqs. 5-6; 1 unless measured, which is Eq. 38 as printed), Em_FGC the process emissions of flue-gas
cleaning [tCO2] and El_prod the net electricity produced [MWh]. A waste gas whose EF is above the
natural-gas standard factor (56.1 tCO2/TJ) counts with 56.1.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

NATURAL_GAS_EF = Decimal("56.1")  # tCO2/TJ, [IR2547] Annex II G Table 1 and the waste-gas cap of D.4.1
FORMULA_EQ38 = "EF_El = (sum_i AD_i x NCV_i x EF_i x OF_i + Em_FGC) / El_prod  ([IR2547] Annex II D.4.1, Eq. 38)"
METHOD_VERSION = "own-generation-eq38/1.0"


class FuelCombustionInvalid(ValueError):
    """An input the formula cannot take; ``field`` names it (GraphQL spelling), ``reason`` says why."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass(frozen=True, slots=True)
class FuelInput:
    fuel: str
    quantity_t: Decimal
    ncv_tj_per_t: Decimal
    ef_t_per_tj: Decimal
    oxidation_factor: Decimal = Decimal("1")
    waste_gas: bool = False


@dataclass(frozen=True, slots=True)
class OwnGenerationFactor:
    factor_t_per_mwh: Decimal
    emissions_t: Decimal
    formula: str
    inputs: dict[str, Any] = field(default_factory=dict)


def _check_fuel(index: int, fuel: FuelInput) -> None:
    where = f"fuels.{index}"
    if fuel.quantity_t < 0:
        raise FuelCombustionInvalid(f"{where}.quantityT", "must be zero or more tonnes")
    if fuel.ncv_tj_per_t <= 0:
        raise FuelCombustionInvalid(f"{where}.ncvTjPerT", "must be more than zero TJ/t")
    if fuel.ef_t_per_tj < 0:
        raise FuelCombustionInvalid(f"{where}.efTPerTj", "must be zero or more tCO2/TJ")
    if not Decimal("0") < fuel.oxidation_factor <= Decimal("1"):
        raise FuelCombustionInvalid(f"{where}.oxidationFactor", "must be more than 0 and at most 1")


def applied_ef(fuel: FuelInput) -> Decimal:
    """The EF the formula uses: a waste gas's EF is capped at the natural-gas standard factor."""
    return min(fuel.ef_t_per_tj, NATURAL_GAS_EF) if fuel.waste_gas else fuel.ef_t_per_tj


def combustion_emissions(fuel: FuelInput) -> Decimal:
    """Em = FQ x NCV x EF x OF  [tCO2] ([IR2547] Annex II B, Eqs. 5-6)."""
    return fuel.quantity_t * fuel.ncv_tj_per_t * applied_ef(fuel) * fuel.oxidation_factor


def own_generation_factor(
    fuels: Sequence[FuelInput],
    *,
    net_generation_mwh: Decimal,
    flue_gas_cleaning_t: Decimal = Decimal("0"),
) -> OwnGenerationFactor:
    """The EF of electricity produced in the installation other than by CHP, with its inputs recorded."""
    if net_generation_mwh <= 0:
        raise FuelCombustionInvalid("netGenerationMwh", "must be more than zero MWh of net electricity produced")
    if flue_gas_cleaning_t < 0:
        raise FuelCombustionInvalid("flueGasCleaningT", "must be zero or more tCO2")
    rows = []
    total = Decimal("0")
    for index, fuel in enumerate(fuels):
        _check_fuel(index, fuel)
        emissions = combustion_emissions(fuel)
        total += emissions
        rows.append(
            {
                "fuel": fuel.fuel,
                "quantity_t": str(fuel.quantity_t),
                "ncv_tj_per_t": str(fuel.ncv_tj_per_t),
                "ef_t_per_tj": str(fuel.ef_t_per_tj),
                "ef_applied_t_per_tj": str(applied_ef(fuel)),
                "oxidation_factor": str(fuel.oxidation_factor),
                "waste_gas": fuel.waste_gas,
                "emissions_t": str(emissions),
            }
        )
    total += flue_gas_cleaning_t
    return OwnGenerationFactor(
        factor_t_per_mwh=total / net_generation_mwh,
        emissions_t=total,
        formula=FORMULA_EQ38,
        inputs={
            "method": METHOD_VERSION,
            "fuels": rows,
            "flue_gas_cleaning_t": str(flue_gas_cleaning_t),
            "net_generation_mwh": str(net_generation_mwh),
            "emissions_t": str(total),
        },
    )
