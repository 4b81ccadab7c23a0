"""Units convert within one dimension, exactly where the decimal value allows, and never across."""

from __future__ import annotations

import pytest

from backend.ingest.service import _NOT_CONVERTIBLE, convert


@pytest.mark.parametrize(
    ("value", "from_unit", "to_unit", "expected"),
    [
        (1500.0, "W", "kW", 1.5),
        (12_345_678.0, "Wh", "kWh", 12_345.678),
        (0.5, "MWh", "kWh", 500.0),
        (2.0, "kvarh", "varh", 2000.0),
        (1.0, "kVArh", "kvarh", 1.0),
        (230_000.0, "mV", "V", 230.0),
        (0.4, "kV", "V", 400.0),
        (95.0, "%", "1", 0.95),
        (1.0, "GJ", "kWh", 1e6 / 3600),
        (20.0, "°C", "K", 293.15),
        (293.15, "K", "degC", 20.0),
        (1.0, "l/s", "m3/h", 3.6),
        (1.0, "m³", "m3", 1.0),
        (7.0, "odd", "odd", 7.0),
        (None, "W", "kW", None),
    ],
)
def test_values_convert_within_a_dimension(value, from_unit, to_unit, expected):
    result = convert(value, from_unit, to_unit)
    assert result == (pytest.approx(expected, rel=1e-12) if expected is not None else None)


@pytest.mark.parametrize(
    ("from_unit", "to_unit"),
    [("kvarh", "kWh"), ("kWh", "kW"), ("Nm3", "m3"), ("m3/h", "Nm3/h"), ("furlong", "kWh"), ("kWh", "odd")],
)
def test_units_of_different_kinds_do_not_convert(from_unit, to_unit):
    assert convert(1.0, from_unit, to_unit) is _NOT_CONVERTIBLE
