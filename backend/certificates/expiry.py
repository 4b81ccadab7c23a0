"""The expiry rule per issuing country, as data (``data/expiry_rules.csv`` with its sources).

Pure functions: no database, no clock (``today`` is always passed in).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path

RULES_PATH = Path(__file__).resolve().parent / "data" / "expiry_rules.csv"
DEFAULT = "*"


@dataclass(frozen=True, slots=True)
class ExpiryRule:
    country: str
    months: int
    cap: tuple[int, int, int] | None  # (month, day, years after the production end's year)
    source: str

    def describe(self) -> str:
        text = f"{self.months} months after the end of production"
        if self.cap is not None:
            month, day, years = self.cap
            text += f", at the latest {day:02d}-{month:02d} of year n+{years}"
        where = "default" if self.country == DEFAULT else self.country
        return f"{where}: {text}"


def _rows(text: str) -> list[dict[str, str]]:
    lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return list(csv.DictReader(lines))


@lru_cache(maxsize=1)
def rules() -> dict[str, ExpiryRule]:
    table: dict[str, ExpiryRule] = {}
    for row in _rows(RULES_PATH.read_text(encoding="utf-8")):
        cap = None
        if row["cap_month"]:
            cap = (int(row["cap_month"]), int(row["cap_day"]), int(row["cap_years"]))
        table[row["country"]] = ExpiryRule(row["country"], int(row["months"]), cap, row["source"])
    if DEFAULT not in table:
        raise RuntimeError(f"{RULES_PATH} has no default rule '*'")
    return table


def rule_for(country: str) -> ExpiryRule:
    table = rules()
    return table.get(country, table[DEFAULT])


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later, or the month's last day when it has fewer days."""
    total = day.month - 1 + months
    year, month = day.year + total // 12, total % 12 + 1
    for candidate in (day.day, 30, 29, 28):
        try:
            return date(year, month, min(day.day, candidate))
        except ValueError:
            continue
    raise ValueError(f"no date {months} months after {day}")  # pragma: no cover


def expires_on(issuing_country: str, production_end_on: date) -> tuple[date, ExpiryRule]:
    """The first day on which a certificate is expired: ``production_end_on`` (exclusive end of the
    production period) plus the country's months, no later than its cap (the day after the cap day)."""
    rule = rule_for(issuing_country)
    expiry = add_months(production_end_on, rule.months)
    if rule.cap is not None:
        month, day, years = rule.cap
        # n is the year of the last day of production (the end itself is the day after)
        production_year = (production_end_on - timedelta(days=1)).year
        last_valid = date(production_year + years, month, day)
        expiry = min(expiry, last_valid + timedelta(days=1))
    return expiry, rule


def is_expired(expiry: date, today: date) -> bool:
    return today >= expiry
