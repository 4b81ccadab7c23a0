"""The thresholds and sector ranges of the mirror checks, read from the packaged data file
``backend/mirror/data/mirror_rules_v1.json``.

Every number there carries its source; a threshold no legal text fixes says "cbamx policy" and why.
The file is read once per process; a changed threshold is a new file (and ``version``), so a report
always names the rules it was judged by.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

RULES_FILE = "mirror_rules_v1.json"


@dataclass(frozen=True, slots=True)
class Threshold:
    """A number with the source that justifies it."""

    value: float
    source: str


@dataclass(frozen=True, slots=True)
class IntensityRange:
    """The plausible electricity intensity of a sector's goods, in MWh per tonne. ``None`` = no bound published."""

    label: str
    low: float | None
    high: float | None
    unit: str
    source: str


@dataclass(frozen=True, slots=True)
class SectorRange:
    """A range with the goods it applies to: CN codes starting with a prefix, and routes (``None`` = any route)."""

    cn_prefixes: tuple[str, ...]
    routes: tuple[str, ...] | None
    range: IntensityRange


@dataclass(frozen=True, slots=True)
class MirrorRules:
    """All thresholds of the checks (see docs/mirror-checks.md for what each one does)."""

    version: str
    # specific emissions against the CBAM default with the year's mark-up (ratios observed / default)
    see_fail_below: Threshold
    see_warn_below: Threshold
    see_warn_above: Threshold
    see_fail_above: Threshold
    strong_evidence_measured_share: Threshold
    # electricity intensity against the supplier's own earlier publications
    history_warn_relative: Threshold
    history_fail_relative: Threshold
    history_warn_robust_z: Threshold
    history_fail_minimum: Threshold
    # electricity intensity against the sector
    sector_fail_above_multiple: Threshold
    sector_ranges: tuple[SectorRange, ...]
    # grid factor
    grid_tolerance: Threshold
    grid_units: frozenset[str]
    grid_units_source: str
    default_methods: frozenset[str]
    default_methods_source: str
    actual_method_prefix: str
    actual_method_source: str
    # evidence behind an actual factor
    qualifying_kinds: frozenset[str]
    qualifying_kinds_source: str
    qualifying_tiers: frozenset[str]
    qualifying_tiers_source: str
    known_tiers: tuple[tuple[str, str], ...]
    # produced against shipped mass
    mass_tolerance: Threshold

    def sector_range_for(self, cn_code: str, route: str | None) -> IntensityRange | None:
        """The first range whose CN prefix and route fit the good, or ``None`` (no range for it)."""
        code = cn_code.replace(" ", "").replace(".", "")
        wanted = (route or "").strip().lower()
        for entry in self.sector_ranges:
            if not any(code.startswith(p) for p in entry.cn_prefixes):
                continue
            if entry.routes is None or wanted in entry.routes:
                return entry.range
        return None

    def tier_meaning(self, tier: str) -> str | None:
        return dict(self.known_tiers).get(tier)


def _threshold(entry: dict[str, Any]) -> Threshold:
    return Threshold(float(entry["value"]), str(entry["source"]))


def parse_rules(data: dict[str, Any]) -> MirrorRules:
    """Rules from the data file's JSON (kept apart from reading the file so tests can vary one number)."""
    see, history, sector = data["specificEmissions"], data["electricityHistory"], data["electricitySector"]
    grid, evidence = data["gridFactor"], data["actualFactorEvidence"]
    ranges = tuple(
        SectorRange(
            cn_prefixes=tuple(item["cnPrefixes"]),
            routes=None if item["routes"] is None else tuple(r.lower() for r in item["routes"]),
            range=IntensityRange(
                label=item["label"],
                low=None if item["low"] is None else float(item["low"]),
                high=None if item["high"] is None else float(item["high"]),
                unit=item["unit"],
                source=item["source"],
            ),
        )
        for item in sector["ranges"]
    )
    return MirrorRules(
        version=str(data["version"]),
        see_fail_below=_threshold(see["failBelowRatio"]),
        see_warn_below=_threshold(see["warnBelowRatio"]),
        see_warn_above=_threshold(see["warnAboveRatio"]),
        see_fail_above=_threshold(see["failAboveRatio"]),
        strong_evidence_measured_share=_threshold(see["strongEvidenceMeasuredShare"]),
        history_warn_relative=_threshold(history["warnRelativeDeviation"]),
        history_fail_relative=_threshold(history["failRelativeDeviation"]),
        history_warn_robust_z=_threshold(history["warnRobustZ"]),
        history_fail_minimum=_threshold(history["failMinimumHistory"]),
        sector_fail_above_multiple=_threshold(sector["failAboveMultiple"]),
        sector_ranges=ranges,
        grid_tolerance=_threshold(grid["tolerance"]),
        grid_units=frozenset(grid["units"]["value"]),
        grid_units_source=str(grid["units"]["source"]),
        default_methods=frozenset(m.upper() for m in grid["defaultMethods"]["value"]),
        default_methods_source=str(grid["defaultMethods"]["source"]),
        actual_method_prefix=str(grid["actualMethodPrefix"]["value"]).upper(),
        actual_method_source=str(grid["actualMethodPrefix"]["source"]),
        qualifying_kinds=frozenset(k.upper() for k in evidence["qualifyingKinds"]["value"]),
        qualifying_kinds_source=str(evidence["qualifyingKinds"]["source"]),
        qualifying_tiers=frozenset(t.lower() for t in evidence["qualifyingTiers"]["value"]),
        qualifying_tiers_source=str(evidence["qualifyingTiers"]["source"]),
        known_tiers=tuple(sorted((k.lower(), str(v)) for k, v in evidence["knownTiers"]["value"].items())),
        mass_tolerance=_threshold(data["massBalance"]["tolerance"]),
    )


@lru_cache(maxsize=1)
def default_rules() -> MirrorRules:
    """The packaged rules (``backend/mirror/data/mirror_rules_v1.json``)."""
    return parse_rules(raw_rules())


def raw_rules() -> dict[str, Any]:
    """The packaged data file as JSON, for a test or a caller that varies one number and parses it again."""
    path = resources.files("backend.mirror") / "data" / RULES_FILE
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data
