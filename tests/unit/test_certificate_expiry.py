"""The expiry rule per issuing country: values from data/expiry_rules.csv and its cited sources."""

from __future__ import annotations

from datetime import date

import pytest

from backend.certificates.expiry import add_months, expires_on, is_expired, rule_for, rules


def test_the_default_is_twelve_months_after_the_end_of_production():
    # given: production in November 2026, half-open [2026-11-01, 2026-12-01)
    # when
    expiry, rule = expires_on("FR", date(2026, 12, 1))
    # then: greenpower.ch / RED II summary: 12 months
    assert expiry == date(2027, 12, 1)
    assert rule.country == "*" and rule.months == 12
    assert is_expired(expiry, date(2027, 12, 1)) and not is_expired(expiry, date(2027, 11, 30))


def test_serbia_uses_the_default_rule_with_its_source():
    expiry, rule = expires_on("RS", date(2026, 12, 1))
    assert expiry == date(2027, 12, 1)
    assert "EMS" in rule.source


@pytest.mark.parametrize("country", ["DE", "HU", "EE", "IE", "AT"])
def test_countries_allowing_eighteen_months(country):
    # soldera.org GO guide: HU, DE, EE cancellation up to 18 months; IE, AT tradable 18 months
    assert expires_on(country, date(2026, 7, 1))[0] == date(2028, 1, 1)


def test_italy_is_capped_at_31_march_of_year_n_plus_2():
    # production in December 2026 (n = 2026): 18 months would be 2028-07-01, the cap is 2028-03-31
    expiry, rule = expires_on("IT", date(2027, 1, 1))
    assert expiry == date(2028, 4, 1)  # the first day on which it is expired
    assert "n+2" in rule.describe()
    # production in January 2026: 18 months (2027-08-01) comes before the cap (2028-03-31)
    assert expires_on("IT", date(2026, 2, 1))[0] == date(2027, 8, 1)


def test_month_arithmetic_keeps_the_last_day_of_shorter_months():
    assert add_months(date(2026, 8, 31), 6) == date(2027, 2, 28)
    assert add_months(date(2027, 8, 31), 6) == date(2028, 2, 29)
    assert add_months(date(2026, 1, 15), 12) == date(2027, 1, 15)


def test_every_rule_names_its_source():
    assert all(rule.source for rule in rules().values())
    assert rule_for("XX") is rules()["*"]
