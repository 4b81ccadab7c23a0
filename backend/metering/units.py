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


# --- conversion between units of one dimension --------------------------------------------------------
# Agents and files send values in the meter's own unit; a reading is stored in its data point's
# declared unit. Units convert within one dimension only: active energy never becomes reactive
# energy, and normal cubic metres (gas at reference conditions) never become cubic metres.

# dimension -> unit -> size in the dimension's smallest common unit. Integers where exact, so that
# ``value * size_from / size_to`` divides once (1500 W -> 1.5 kW exactly, not 1.5000000000000002).
DIMENSIONS: dict[str, dict[str, float]] = {
    "active energy": {"Wh": 1, "kWh": 1_000, "MWh": 1_000_000, "GWh": 1_000_000_000, "GJ": 1e9 / 3600},
    "reactive energy": {"varh": 1, "kvarh": 1_000, "Mvarh": 1_000_000},
    "apparent energy": {"VAh": 1, "kVAh": 1_000, "MVAh": 1_000_000},
    "active power": {"W": 1, "kW": 1_000, "MW": 1_000_000, "GW": 1_000_000_000},
    "reactive power": {"var": 1, "kvar": 1_000, "Mvar": 1_000_000},
    "apparent power": {"VA": 1, "kVA": 1_000, "MVA": 1_000_000},
    "voltage": {"mV": 1, "V": 1_000, "kV": 1_000_000},
    "current": {"mA": 1, "A": 1_000, "kA": 1_000_000},
    "frequency": {"mHz": 1, "Hz": 1_000},
    "ratio": {"%": 1, "1": 100},
    "volume": {"l": 1, "m3": 1_000},
    "normal volume": {"Nm3": 1},
    "volume flow": {"l/h": 1, "l/min": 60, "l/s": 3_600, "m3/h": 1_000},
    "normal volume flow": {"Nm3/h": 1},
}
# temperatures differ by an offset as well: unit -> (size in K, offset to K)
TEMPERATURE = {"K": (1.0, 0.0), "degC": (1.0, 273.15)}
# spellings seen in meter manuals and historian exports, for the same units
ALIASES = {
    "m³": "m3",
    "Nm³": "Nm3",
    "m³/h": "m3/h",
    "Nm³/h": "Nm3/h",
    "°C": "degC",
    "VAr": "var",
    "kVAr": "kvar",
    "MVAr": "Mvar",
    "VArh": "varh",
    "kVArh": "kvarh",
    "MVArh": "Mvarh",
}
_DIMENSION_OF = {unit: name for name, units in DIMENSIONS.items() for unit in units} | {
    unit: "temperature" for unit in TEMPERATURE
}


def dimension_of(unit: str) -> str | None:
    """The dimension a unit measures ('active energy', 'voltage', ...), or None for an unknown unit."""
    return _DIMENSION_OF.get(ALIASES.get(unit, unit))


def conversion(from_unit: str, to_unit: str) -> tuple[float, float, float] | None:
    """(multiply, divide, add) turning a value in ``from_unit`` into ``to_unit``; None if they differ in kind."""
    a, b = ALIASES.get(from_unit, from_unit), ALIASES.get(to_unit, to_unit)
    if a == b:
        return (1.0, 1.0, 0.0) if a in _DIMENSION_OF or a == from_unit else None
    dimension = _DIMENSION_OF.get(a)
    if dimension is None or dimension != _DIMENSION_OF.get(b):
        return None
    if dimension == "temperature":
        (size_a, offset_a), (size_b, offset_b) = TEMPERATURE[a], TEMPERATURE[b]
        return (size_a, size_b, (offset_a - offset_b) / size_b)
    units = DIMENSIONS[dimension]
    return (float(units[a]), float(units[b]), 0.0)


def why_not_convertible(from_unit: str, to_unit: str) -> str:
    """Why a value in ``from_unit`` cannot be stored in ``to_unit``, in words."""
    got, wanted = dimension_of(from_unit), dimension_of(to_unit)
    if got is None:
        return f"'{from_unit}' is not a unit cbamx knows"
    return f"{from_unit} measures {got}, {to_unit} measures {wanted or 'something else'}"
