"""Reconciliation periods: calendar months, quarters and years as [start, end) dates."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from backend.errors import ValidationFailed
from backend.shipments.schemas import Granularity, Period, check_mass, to_mass


@pytest.mark.parametrize(
    ("granularity", "number", "start", "end"),
    [
        (Granularity.MONTH, 2, date(2028, 2, 1), date(2028, 3, 1)),
        (Granularity.MONTH, 12, date(2028, 12, 1), date(2029, 1, 1)),
        (Granularity.QUARTER, 1, date(2028, 1, 1), date(2028, 4, 1)),
        (Granularity.QUARTER, 4, date(2028, 10, 1), date(2029, 1, 1)),
        (Granularity.YEAR, None, date(2028, 1, 1), date(2029, 1, 1)),
    ],
)
def test_a_period_runs_from_its_first_day_to_the_first_day_after_it(granularity, number, start, end):
    period = Period.of(granularity, 2028, number)
    assert (period.start, period.end) == (start, end)


@pytest.mark.parametrize(
    ("granularity", "year", "number", "fields"),
    [
        (Granularity.MONTH, 2026, 13, ["number"]),
        (Granularity.MONTH, 2026, None, ["number"]),
        (Granularity.QUARTER, 2026, 0, ["number"]),
        (Granularity.YEAR, 2026, 3, ["number"]),
        (Granularity.MONTH, 1999, 1, ["year"]),
    ],
)
def test_a_period_that_does_not_exist_is_refused_by_field(granularity, year, number, fields):
    with pytest.raises(ValidationFailed) as refused:
        Period.of(granularity, year, number)
    assert [e.field for e in refused.value.errors] == fields


@pytest.mark.parametrize(
    ("value", "mass"),
    [("19,84", Decimal("19.84")), (" 21.5 ", Decimal("21.5")), (20, Decimal("20")), ("x", None), ("NaN", None)],
)
def test_a_mass_is_read_from_text_or_a_number(value, mass):
    assert to_mass(value) == mass


def test_a_mass_is_positive_and_to_the_kilogram():
    assert check_mass(Decimal("0.001"), field="m") is None
    assert check_mass(Decimal("0"), field="m") is not None
    assert check_mass(Decimal("1.0005"), field="m") is not None
    assert check_mass(None, field="m") is not None
