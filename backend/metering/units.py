"""Units of data points and their conversion to the engine's base units."""

from __future__ import annotations

from backend.metering.models import Medium, Quantity

# unit -> factor to the base unit of its dimension (kWh for energy, kW for power, m3 for volume)
ENERGY_TO_KWH = {"Wh": 0.001, "kWh": 1.0, "MWh": 1000.0}
UNITS_BY_QUANTITY: dict[Quantity, tuple[str, ...]] = {
    Quantity.ACTIVE_ENERGY_IMPORT: ("Wh", "kWh", "MWh"),
    Quantity.ACTIVE_ENERGY_EXPORT: ("Wh", "kWh", "MWh"),
    Quantity.REACTIVE_ENERGY_IMPORT: ("varh", "kvarh", "Mvarh"),
    Quantity.REACTIVE_ENERGY_EXPORT: ("varh", "kvarh", "Mvarh"),
    Quantity.ACTIVE_POWER: ("W", "kW", "MW"),
    Quantity.REACTIVE_POWER: ("var", "kvar", "Mvar"),
    Quantity.APPARENT_POWER: ("VA", "kVA", "MVA"),
    Quantity.VOLTAGE_L1N: ("V", "kV"),
    Quantity.VOLTAGE_L2N: ("V", "kV"),
    Quantity.VOLTAGE_L3N: ("V", "kV"),
    Quantity.CURRENT_L1: ("A", "kA"),
    Quantity.CURRENT_L2: ("A", "kA"),
    Quantity.CURRENT_L3: ("A", "kA"),
    Quantity.CURRENT_TOTAL: ("A", "kA"),
    Quantity.FREQUENCY: ("Hz",),
    Quantity.POWER_FACTOR: ("1",),
    Quantity.GAS_VOLUME: ("m3", "Nm3"),
    Quantity.VOLUME: ("m3", "Nm3", "l"),
    Quantity.WATER_VOLUME: ("m3", "l"),
    Quantity.FLOW: ("m3/h", "Nm3/h", "l/s"),
    Quantity.HEAT_ENERGY: ("Wh", "kWh", "MWh", "GJ"),
    Quantity.TEMPERATURE: ("degC", "K"),
}
BASE_UNIT_FACTOR = {
    "Wh": 0.001,
    "kWh": 1.0,
    "MWh": 1000.0,
    "GJ": 277.777_777_777_777_8,
    "m3": 1.0,
    "Nm3": 1.0,
    "l": 0.001,
    "varh": 0.001,
    "kvarh": 1.0,
    "Mvarh": 1000.0,
}

DEFAULT_POINTS: dict[Medium, tuple[tuple[Quantity, str], ...]] = {
    Medium.ELECTRICITY: ((Quantity.ACTIVE_ENERGY_IMPORT, "kWh"), (Quantity.ACTIVE_POWER, "kW")),
    Medium.NATURAL_GAS: ((Quantity.GAS_VOLUME, "m3"),),
    Medium.HEAT: ((Quantity.HEAT_ENERGY, "kWh"),),
    Medium.COMPRESSED_AIR: ((Quantity.VOLUME, "m3"),),
    Medium.WATER: ((Quantity.WATER_VOLUME, "m3"),),
    Medium.FLOW: ((Quantity.VOLUME, "m3"), (Quantity.FLOW, "m3/h")),
}


def is_allowed_unit(quantity: Quantity, unit: str) -> bool:
    return unit in UNITS_BY_QUANTITY[quantity]


def base_unit_of(unit: str) -> str:
    """The unit interval values are stored in: kWh, kvarh or m3."""
    if unit in ("Wh", "kWh", "MWh", "GJ"):
        return "kWh"
    if unit in ("varh", "kvarh", "Mvarh"):
        return "kvarh"
    return "m3"
