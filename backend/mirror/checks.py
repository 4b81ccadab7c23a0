"""Mirror checks: an importer's plausibility checks of a supplier's published footprint.

Each check compares one figure of the document with a reference the importer holds independently of
the supplier (the CBAM default values, the country's grid default, the supplier's own earlier
publications, the sector's electricity intensity, the mass received) and returns a frozen
:class:`~backend.mirror.schemas.CheckResult`. :func:`run_mirror_checks` runs them all in a fixed
order. Pure functions: no database, no network, no clock (the check time is part of the context).

What each check means, its thresholds and their sources: docs/mirror-checks.md. The thresholds live
in ``backend/mirror/data/mirror_rules_v1.json`` (:mod:`backend.mirror.rules`).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from backend.mirror.document import ElectricitySource, FootprintFigures, parse_footprint
from backend.mirror.errors import MirrorContextInvalid
from backend.mirror.rules import MirrorRules
from backend.mirror.schemas import (
    CheckResult,
    FigureValue,
    GoodsDefault,
    GridDefault,
    MirrorContext,
    MirrorReport,
    Status,
    Unavailable,
    worst,
)

SEE_DIRECT = "SEE_DIRECT_VS_DEFAULT"
SEE_INDIRECT = "SEE_INDIRECT_VS_DEFAULT"
SEE_TOTAL = "SEE_TOTAL_VS_DEFAULT"
ELECTRICITY_HISTORY = "ELECTRICITY_VS_HISTORY"
ELECTRICITY_SECTOR = "ELECTRICITY_VS_SECTOR"
GRID_FACTOR = "GRID_FACTOR_VS_DEFAULT"
ACTUAL_FACTOR_EVIDENCE = "ACTUAL_FACTOR_EVIDENCE"
PRODUCED_VS_SHIPPED = "PRODUCED_VS_SHIPPED"
PERIOD = "PERIOD_CONSISTENCY"
# the order of the report
CHECK_CODES = (
    SEE_DIRECT,
    SEE_INDIRECT,
    SEE_TOTAL,
    ELECTRICITY_HISTORY,
    ELECTRICITY_SECTOR,
    GRID_FACTOR,
    ACTUAL_FACTOR_EVIDENCE,
    PRODUCED_VS_SHIPPED,
    PERIOD,
)
SEE_UNIT = "tCO2e/t"
INTENSITY_UNIT = "MWh/t"
FACTOR_UNIT = "tCO2e/MWh"
# the median absolute deviation of a normal distribution times this is its standard deviation
MAD_SCALE = 1.4826
# a tolerance compares differences of floats: 0.7295 - 0.729 is 0.0005000000000000004, still within 0.0005
FLOAT_SLACK = 1e-9
REPORTING_YEAR_SOURCE = (
    "[IR2547] Art. 7: the reporting period is the calendar year (goods imported in 2026: 2026); "
    "the default values and their mark-up are per year ([IR2621] Annex I)"
)


def _n(value: float) -> str:
    """A number as messages show it: up to 6 significant digits, no exponent for ordinary sizes."""
    return f"{value:.6g}"


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _result(code: str, status: Status, message: str, figures: dict[str, FigureValue], source: str) -> CheckResult:
    return CheckResult(code=code, status=status, message=message, figures=figures, source=source)


# --- (1) specific embedded emissions against the CBAM default ------------------------------------------


def _strong_evidence(figures: FootprintFigures, context: MirrorContext) -> bool:
    """A verification statement, or mostly measured data with evidence documents attached."""
    if context.verified:
        return True
    threshold = context.rules.strong_evidence_measured_share.value
    return figures.measured_share is not None and figures.measured_share >= threshold and figures.evidence_count > 0


def _judge_ratio(
    code: str,
    what: str,
    observed: float,
    expected: float,
    default: GoodsDefault,
    strong: bool,
    rules: MirrorRules,
) -> CheckResult:
    figures: dict[str, FigureValue] = {
        "observed": observed,
        "expected": expected,
        "markupPercent": default.markup_percent,
        "year": default.year,
        "cnCode": default.cn_code,
        "country": default.country,
        "failBelowRatio": rules.see_fail_below.value,
        "warnBelowRatio": rules.see_warn_below.value,
        "warnAboveRatio": rules.see_warn_above.value,
        "failAboveRatio": rules.see_fail_above.value,
        "strongEvidence": strong,
        "unit": SEE_UNIT,
    }
    reference = (
        f"the {default.year} default of CN {default.cn_code} for {default.country} with its "
        f"{_n(default.markup_percent)} % mark-up, {_n(expected)} {SEE_UNIT}"
    )
    source = default.source + (f" ({default.fallback})" if default.fallback else "")
    if observed < 0:
        figures["ratio"] = None
        return _result(code, Status.FAIL, f"{what} {_n(observed)} {SEE_UNIT} is negative", figures, source)
    if expected <= 0:
        figures["ratio"] = None
        message = f"{what} {_n(observed)} {SEE_UNIT}: {reference} is 0, so no ratio can be judged"
        return _result(code, Status.NOT_APPLICABLE, message, figures, source)
    ratio = observed / expected  # may overflow to inf for a tiny default: then it is judged implausibly high
    figures["ratio"] = _finite(ratio)
    stated = f"{what} {_n(observed)} {SEE_UNIT} is {ratio:.3f} x {reference}"
    if ratio < rules.see_fail_below.value:
        message = (
            f"{stated}: below {_n(rules.see_fail_below.value)} x, implausibly low (a missing source stream or unit)"
        )
        return _result(code, Status.FAIL, message, figures, source)
    if ratio < rules.see_warn_below.value:
        if strong:
            message = (
                f"{stated}: below {_n(rules.see_warn_below.value)} x, accepted on strong evidence "
                "(verification statement, or measured data with evidence documents)"
            )
            return _result(code, Status.PASS, message, figures, source)
        message = (
            f"{stated}: below {_n(rules.see_warn_below.value)} x without strong evidence "
            f"(no verification statement; measured share under {_n(rules.strong_evidence_measured_share.value)} "
            "or no evidence documents)"
        )
        return _result(code, Status.WARN, message, figures, source)
    if ratio <= rules.see_warn_above.value:
        return _result(code, Status.PASS, f"{stated}: within the default", figures, source)
    if ratio <= rules.see_fail_above.value:
        message = f"{stated}: above the default with mark-up, which would give a lower figure"
        return _result(code, Status.WARN, message, figures, source)
    message = f"{stated}: above {_n(rules.see_fail_above.value)} x, implausibly high (a unit slip, kg for t?)"
    return _result(code, Status.FAIL, message, figures, source)


def check_specific_emissions(
    figures: FootprintFigures, context: MirrorContext
) -> tuple[CheckResult, CheckResult, CheckResult]:
    """Direct, indirect and total specific embedded emissions against the CBAM default of the CN code and
    country, with the reporting year's mark-up ([IR2621] Annex I)."""
    default = context.goods_default
    if isinstance(default, Unavailable):

        def unavailable(code: str, observed: float) -> CheckResult:
            message = f"no CBAM default to compare with: {default.reason}"
            figures_out: dict[str, FigureValue] = {"observed": observed, "expected": None, "unit": SEE_UNIT}
            return _result(code, Status.NOT_APPLICABLE, message, figures_out, "[IR2621] Annex I")

        return (
            unavailable(SEE_DIRECT, figures.direct),
            unavailable(SEE_INDIRECT, figures.indirect),
            unavailable(SEE_TOTAL, figures.total),
        )
    strong = _strong_evidence(figures, context)
    rules = context.rules
    direct = _judge_ratio(SEE_DIRECT, "direct", figures.direct, default.direct, default, strong, rules)
    if default.indirect is None:
        not_counted = (
            f"[IR2621] Annex I shows N/A for indirect emissions of CN {default.cn_code}: they are not part of the "
            "CBAM obligation for this good"
        )
        indirect = _result(
            SEE_INDIRECT,
            Status.NOT_APPLICABLE,
            f"{not_counted}; the reported {_n(figures.indirect)} {SEE_UNIT} is information only",
            {"observed": figures.indirect, "expected": None, "unit": SEE_UNIT},
            default.source,
        )
        total = _result(
            SEE_TOTAL,
            Status.NOT_APPLICABLE,
            f"{not_counted}; the default total equals the direct default {_n(default.total)} {SEE_UNIT}, "
            f"judged in {SEE_DIRECT} (reported total {_n(figures.total)} {SEE_UNIT} includes indirect emissions)",
            {"observed": figures.total, "expected": default.total, "unit": SEE_UNIT},
            default.source,
        )
        return direct, indirect, total
    indirect = _judge_ratio(SEE_INDIRECT, "indirect", figures.indirect, default.indirect, default, strong, rules)
    total = _judge_ratio(SEE_TOTAL, "total", figures.total, default.total, default, strong, rules)
    return direct, indirect, total


# --- (2) electricity intensity against the supplier's history and the sector -----------------------------


def check_electricity_history(figures: FootprintFigures, context: MirrorContext) -> CheckResult:
    """Electricity per tonne against the median of the supplier's earlier publications of the product.

    The document itself and earlier versions of its own period are left out: a corrected figure is not
    judged against the figure it corrects.
    """
    rules = context.rules
    points = [
        p
        for p in context.history
        if p.publication_id != figures.publication_id
        and not (p.period_start == figures.period_start and p.period_end == figures.period_end)
    ]
    observed = figures.mwh_per_t
    ids = tuple(sorted(p.publication_id for p in points))
    source = f"the supplier's earlier published footprints of this product ({len(points)})"
    base: dict[str, FigureValue] = {
        "observed": observed,
        "historyCount": len(points),
        "historyIds": ids,
        "warnRelativeDeviation": rules.history_warn_relative.value,
        "failRelativeDeviation": rules.history_fail_relative.value,
        "warnRobustZ": rules.history_warn_robust_z.value,
        "failMinimumHistory": int(rules.history_fail_minimum.value),
        "unit": INTENSITY_UNIT,
    }
    if not points:
        message = f"no earlier publication of this product to compare {_n(observed)} {INTENSITY_UNIT} with"
        return _result(ELECTRICITY_HISTORY, Status.NOT_APPLICABLE, message, base | {"median": None}, source)
    values = sorted(p.mwh_per_t for p in points)
    median = float(statistics.median(values))
    mad = float(statistics.median([abs(v - median) for v in values])) * MAD_SCALE
    # a spread or median too close to 0 gives no finite ratio; the figure then cannot be judged by it
    robust_z = _finite((observed - median) / mad) if len(values) >= 3 and mad > 0 else None
    relative = _finite((observed - median) / median) if median > 0 else None
    figures_out = base | {"median": median, "scaledMad": mad, "relativeDeviation": relative, "robustZ": robust_z}
    stated = f"{_n(observed)} {INTENSITY_UNIT} against the median {_n(median)} of {len(values)} earlier publication(s)"
    if observed < 0:
        return _result(ELECTRICITY_HISTORY, Status.FAIL, f"{stated}: negative", figures_out, source)
    if relative is None:
        if observed == median:
            return _result(ELECTRICITY_HISTORY, Status.PASS, f"{stated}: the same", figures_out, source)
        message = f"{stated}: the history shows (next to) no electricity, so no relative deviation can be judged"
        return _result(ELECTRICITY_HISTORY, Status.WARN, message, figures_out, source)
    deviation = f"{relative:+.1%}" + (f", robust z {robust_z:+.2f}" if robust_z is not None else "")
    beyond_z = robust_z is not None and abs(robust_z) > rules.history_warn_robust_z.value
    enough = len(values) >= rules.history_fail_minimum.value
    if enough and abs(relative) > rules.history_fail_relative.value and (robust_z is None or beyond_z):
        message = (
            f"{stated} ({deviation}): more than {rules.history_fail_relative.value:.0%} away from the supplier's own "
            "history"
        )
        return _result(ELECTRICITY_HISTORY, Status.FAIL, message, figures_out, source)
    if abs(relative) > rules.history_warn_relative.value or beyond_z:
        why = (
            f"more than {rules.history_warn_relative.value:.0%} away"
            if abs(relative) > rules.history_warn_relative.value
            else f"beyond {_n(rules.history_warn_robust_z.value)} scaled MADs"
        )
        return _result(ELECTRICITY_HISTORY, Status.WARN, f"{stated} ({deviation}): {why}", figures_out, source)
    return _result(ELECTRICITY_HISTORY, Status.PASS, f"{stated} ({deviation}): consistent", figures_out, source)


def check_electricity_sector(figures: FootprintFigures, context: MirrorContext) -> CheckResult:
    """Electricity per tonne against the plausible range of the good's sector (bounds may be open)."""
    observed = figures.mwh_per_t
    band = context.sector_range
    if band is None:
        message = (
            f"no sector range for CN {figures.cn_code} (route {figures.production_route or 'not given'}) to compare "
            f"{_n(observed)} {INTENSITY_UNIT} with"
        )
        figures_out: dict[str, FigureValue] = {"observed": observed, "low": None, "high": None, "unit": INTENSITY_UNIT}
        return _result(ELECTRICITY_SECTOR, Status.NOT_APPLICABLE, message, figures_out, "")
    multiple = context.rules.sector_fail_above_multiple.value
    figures_out = {
        "observed": observed,
        "low": band.low,
        "high": band.high,
        "failAboveMultiple": multiple,
        "sector": band.label,
        "unit": band.unit,
    }
    shown = (
        f"[{_n(band.low) if band.low is not None else 'open'}, {_n(band.high) if band.high is not None else 'open'}]"
    )
    stated = f"{_n(observed)} {band.unit} against {band.label} {shown} {band.unit}"
    if observed < 0:
        return _result(ELECTRICITY_SECTOR, Status.FAIL, f"{stated}: negative", figures_out, band.source)
    if band.high is not None and observed > band.high * multiple:
        message = f"{stated}: above {_n(multiple)} x the upper bound, implausible (kWh for MWh?)"
        return _result(ELECTRICITY_SECTOR, Status.FAIL, message, figures_out, band.source)
    if band.high is not None and observed > band.high:
        return _result(ELECTRICITY_SECTOR, Status.WARN, f"{stated}: above the range", figures_out, band.source)
    if band.low is not None and observed < band.low:
        return _result(ELECTRICITY_SECTOR, Status.WARN, f"{stated}: below the range", figures_out, band.source)
    return _result(ELECTRICITY_SECTOR, Status.PASS, f"{stated}: within the range", figures_out, band.source)


# --- (3) grid factor against the published country default ----------------------------------------------


def _method_kind(method: str, rules: MirrorRules) -> str:
    if method in rules.default_methods:
        return "default"
    if method.startswith(rules.actual_method_prefix):
        return "actual"
    return "unknown"


def check_grid_factor(figures: FootprintFigures, context: MirrorContext) -> CheckResult:
    """The electricity factor used against the country's grid default ([IR2621] Annex II).

    A factor below the default must be claimed as an actual factor; whether the claim is backed is
    :func:`check_actual_factor_evidence`'s question.
    """
    rules = context.rules
    grid = context.grid_default
    value, method = figures.factor_value, figures.factor_method
    if isinstance(grid, Unavailable):
        message = f"no grid default to compare the factor {_n(value)} with: {grid.reason}"
        figures_out: dict[str, FigureValue] = {"observed": value, "expected": None, "method": method}
        return _result(GRID_FACTOR, Status.NOT_APPLICABLE, message, figures_out, "[IR2621] Annex II")
    tolerance = rules.grid_tolerance.value + FLOAT_SLACK
    source = grid.source + (f" ({grid.fallback})" if grid.fallback else "")
    figures_out = {
        "observed": value,
        "expected": grid.value,
        "difference": value - grid.value,
        "tolerance": rules.grid_tolerance.value,
        "method": method,
        "country": grid.country,
        "unit": figures.factor_unit,
    }
    if figures.factor_unit not in rules.grid_units:
        message = (
            f"factor unit {figures.factor_unit!r} is not one of {', '.join(sorted(rules.grid_units))}: "
            f"{_n(value)} cannot be compared with the default {_n(grid.value)} {grid.unit}"
        )
        return _result(GRID_FACTOR, Status.FAIL, message, figures_out, rules.grid_units_source)
    stated = (
        f"factor {_n(value)} {figures.factor_unit} ({method}) against the {grid.country} grid default {_n(grid.value)}"
    )
    if value < 0:
        return _result(GRID_FACTOR, Status.FAIL, f"{stated}: negative", figures_out, source)
    kind = _method_kind(method, rules)
    below = value < grid.value - tolerance
    equal = abs(value - grid.value) <= tolerance
    if kind == "default":
        if equal:
            return _result(GRID_FACTOR, Status.PASS, f"{stated}: the default, as the method says", figures_out, source)
        message = f"{stated}: the method says country default but the value differs by {_n(value - grid.value)}"
        return _result(GRID_FACTOR, Status.FAIL, message, figures_out, source)
    if kind == "actual":
        if below:
            message = f"{stated}: below the default, claimed as an actual factor (evidence: {ACTUAL_FACTOR_EVIDENCE})"
        else:
            message = f"{stated}: an actual factor at or above the default"
        return _result(GRID_FACTOR, Status.PASS, message, figures_out, source)
    if below:
        message = f"{stated}: below the default without an actual-factor method (method {method!r})"
        return _result(GRID_FACTOR, Status.FAIL, message, figures_out, source)
    message = f"{stated}: method {method!r} is neither the country default nor an actual factor"
    return _result(GRID_FACTOR, Status.WARN, message, figures_out, source)


# --- (4) evidence behind an actual-factor claim -----------------------------------------------------------


def _describe_source(source: ElectricitySource, rules: MirrorRules) -> str:
    tier = source.evidence_tier or "none given"
    meaning = rules.tier_meaning(source.evidence_tier)
    return f"{source.kind} {source.name!r} (factor {_n(source.factor)}, tier {tier}" + (
        f": {meaning})" if meaning else ")"
    )


def check_actual_factor_evidence(figures: FootprintFigures, context: MirrorContext) -> CheckResult:
    """An actual factor (or a source below the grid default) must rest on qualifying evidence: a PPA, a
    direct technical link or own generation, each metered in periods of at most one hour
    ([REG956] Annex IV point 6, [IR2547] Annex II D.4.3). Annual or monthly matching and certificates
    alone do not qualify. The declared factor must not be lower than the qualifying sources support."""
    rules = context.rules
    grid = context.grid_default
    tolerance = rules.grid_tolerance.value + FLOAT_SLACK
    source = f"{rules.qualifying_kinds_source} {rules.qualifying_tiers_source}"
    claims_actual = _method_kind(figures.factor_method, rules) == "actual"
    default = None if isinstance(grid, Unavailable) else grid.value
    below = default is not None and figures.factor_value < default - tolerance
    used = [s for s in figures.sources if s.share > 0 or s.mwh > 0]
    if default is not None:
        claiming = [s for s in used if s.factor < default - tolerance]
    else:
        # without a grid default (out of scope, or none for the year) only an actual method makes a claim
        claiming = [s for s in used if s.kind != "GRID"] if claims_actual else []
    base: dict[str, FigureValue] = {
        "observed": figures.factor_value,
        "gridDefault": default,
        "method": figures.factor_method,
        "qualifyingKinds": tuple(sorted(rules.qualifying_kinds)),
        "qualifyingTiers": tuple(sorted(rules.qualifying_tiers)),
        "unit": FACTOR_UNIT,
    }
    if not (below or claiming):
        if claims_actual and default is not None:
            message = (
                f"actual factor {_n(figures.factor_value)} ({figures.factor_method}) is at or above the grid default "
                f"{_n(default)}: it lowers nothing, so no evidence is needed"
            )
            return _result(ACTUAL_FACTOR_EVIDENCE, Status.PASS, message, base, source)
        if not claims_actual:
            message = (
                f"no actual-factor claim: method {figures.factor_method}, factor {_n(figures.factor_value)}"
                + (f" not below the grid default {_n(default)}" if default is not None else "")
                + " and no source below it"
            )
            return _result(ACTUAL_FACTOR_EVIDENCE, Status.NOT_APPLICABLE, message, base, source)
    failing = [
        s for s in claiming if s.kind not in rules.qualifying_kinds or s.evidence_tier not in rules.qualifying_tiers
    ]
    qualifying = [s for s in claiming if s not in failing]
    qualifying_share = sum(s.share for s in qualifying)
    base |= {
        "claimingSources": tuple(s.name for s in claiming),
        "failingSources": tuple(s.name for s in failing),
        "qualifyingShare": qualifying_share,
    }
    if failing:
        message = "an actual factor rests on sources that do not qualify: " + "; ".join(
            _describe_source(s, rules) for s in failing
        )
        return _result(ACTUAL_FACTOR_EVIDENCE, Status.FAIL, message, base, source)
    if not qualifying:
        message = (
            f"factor {_n(figures.factor_value)} ({figures.factor_method}) is claimed as actual but no electricity "
            "source with qualifying evidence backs it"
        )
        return _result(ACTUAL_FACTOR_EVIDENCE, Status.FAIL, message, base, source)
    if default is None:
        message = (
            f"actual factor {_n(figures.factor_value)} backed by {len(qualifying)} qualifying source(s) "
            f"({qualifying_share:.1%} of the electricity); no grid default to bound it"
        )
        return _result(ACTUAL_FACTOR_EVIDENCE, Status.PASS, message, base, source)
    # the rest of the electricity counts at least at the grid default ([IR2547] Art. 9 share weighting)
    supported = sum(s.share * s.factor for s in qualifying) + max(0.0, 1.0 - qualifying_share) * default
    base["supportedFactor"] = supported
    if figures.factor_value < supported - tolerance:
        message = (
            f"factor {_n(figures.factor_value)} is below the {_n(supported)} the qualifying sources support "
            f"({qualifying_share:.1%} of the electricity; the rest at the grid default {_n(default)})"
        )
        return _result(ACTUAL_FACTOR_EVIDENCE, Status.FAIL, message, base, source)
    message = (
        f"factor {_n(figures.factor_value)} is backed: {len(qualifying)} qualifying source(s) cover "
        f"{qualifying_share:.1%} of the electricity and support at least {_n(supported)}"
    )
    return _result(ACTUAL_FACTOR_EVIDENCE, Status.PASS, message, base, source)


# --- (5) produced against shipped mass --------------------------------------------------------------------


def check_produced_vs_shipped(figures: FootprintFigures, context: MirrorContext) -> CheckResult:
    """The mass the importer received under this footprint cannot exceed the net mass produced in its period."""
    shipped, produced = context.shipped_mass_t, figures.net_mass_t
    tolerance = context.rules.mass_tolerance.value
    source = "the importer's own receipts of the period; the footprint's netMassT"
    figures_out: dict[str, FigureValue] = {
        "observed": shipped,
        "expected": produced,
        "tolerance": tolerance,
        "unit": "t",
    }
    if shipped is None:
        message = f"no shipped mass given to compare with the {_n(produced)} t produced"
        return _result(PRODUCED_VS_SHIPPED, Status.NOT_APPLICABLE, message, figures_out, source)
    if shipped > produced + tolerance:
        message = f"shipped {_n(shipped)} t is more than the {_n(produced)} t produced in the period"
        return _result(PRODUCED_VS_SHIPPED, Status.FAIL, message, figures_out, source)
    message = f"shipped {_n(shipped)} t is within the {_n(produced)} t produced in the period"
    return _result(PRODUCED_VS_SHIPPED, Status.PASS, message, figures_out, source)


# --- (6) period consistency -------------------------------------------------------------------------------


def _years(start: datetime, end: datetime, zone: ZoneInfo | None) -> tuple[int, int]:
    last = end - timedelta(microseconds=1)  # the end is exclusive
    if zone is None:
        return start.astimezone(UTC).year, last.astimezone(UTC).year
    return start.astimezone(zone).year, last.astimezone(zone).year


def _zone(name: str | None) -> ZoneInfo | None:
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def check_period(figures: FootprintFigures, context: MirrorContext) -> CheckResult:
    """The period runs forwards, lies within one reporting (calendar) year in UTC or in the installation's
    time zone, has ended by the check time, and was published after it ended (a final figure)."""
    start, end, published, now = figures.period_start, figures.period_end, figures.published_at, context.check_time
    figures_out: dict[str, FigureValue] = {
        "start": _iso(start),
        "end": _iso(end),
        "publishedAt": _iso(published),
        "checkTime": _iso(now),
        "timeZone": figures.time_zone,
    }
    span = f"period {_iso(start)} to {_iso(end)}"
    if start >= end:
        return _result(
            PERIOD, Status.FAIL, f"{span}: the start is not before the end", figures_out, REPORTING_YEAR_SOURCE
        )
    findings: list[tuple[Status, str]] = []
    utc_years = _years(start, end, None)
    zone = _zone(figures.time_zone)
    local_years = _years(start, end, zone) if zone is not None else utc_years
    if utc_years[0] == utc_years[1]:
        figures_out["reportingYear"] = utc_years[0]
    elif local_years[0] == local_years[1]:
        figures_out["reportingYear"] = local_years[0]
    else:
        figures_out["reportingYear"] = None
        findings.append((Status.FAIL, f"it spans the reporting years {utc_years[0]} to {utc_years[1]}"))
    if start > now:
        findings.append((Status.FAIL, f"it starts after the check time {_iso(now)}"))
    elif end > now:
        findings.append(
            (Status.FAIL, f"it ends after the check time {_iso(now)}: the figure covers time not yet passed")
        )
    if published > now:
        findings.append((Status.FAIL, f"it was published at {_iso(published)}, after the check time {_iso(now)}"))
    if published < end:
        findings.append(
            (Status.WARN, f"it was published at {_iso(published)}, before the period ended: not a final figure")
        )
    if not findings:
        message = (
            f"{span} lies within reporting year {figures_out['reportingYear']}, ended before publication at "
            f"{_iso(published)} and before the check"
        )
        return _result(PERIOD, Status.PASS, message, figures_out, REPORTING_YEAR_SOURCE)
    status = worst([s for s, _ in findings])
    return _result(PERIOD, status, f"{span}: " + "; ".join(t for _, t in findings), figures_out, REPORTING_YEAR_SOURCE)


# --- all checks ------------------------------------------------------------------------------------------


def _check_context_fits(figures: FootprintFigures, context: MirrorContext) -> None:
    """Refuse a context loaded for another good or country: its checks would judge the wrong figures."""
    goods, grid = context.goods_default, context.grid_default
    if isinstance(goods, GoodsDefault):
        if not figures.cn_code.startswith(goods.cn_code):
            raise MirrorContextInvalid(
                f"the default is for CN {goods.cn_code}, the document's good is CN {figures.cn_code}",
                field="goods_default",
            )
        if goods.country not in (figures.country, "OTHER"):
            raise MirrorContextInvalid(
                f"the default is for {goods.country}, the document's installation is in {figures.country}",
                field="goods_default",
            )
    if isinstance(grid, GridDefault) and grid.country not in (figures.country, "OTHER"):
        raise MirrorContextInvalid(
            f"the grid default is for {grid.country}, the document's installation is in {figures.country}",
            field="grid_default",
        )


def run_figures(figures: FootprintFigures, context: MirrorContext) -> MirrorReport:
    """All checks of already parsed figures (see :func:`run_mirror_checks`)."""
    _check_context_fits(figures, context)
    checks = (
        *check_specific_emissions(figures, context),
        check_electricity_history(figures, context),
        check_electricity_sector(figures, context),
        check_grid_factor(figures, context),
        check_actual_factor_evidence(figures, context),
        check_produced_vs_shipped(figures, context),
        check_period(figures, context),
    )
    return MirrorReport(
        publication_id=figures.publication_id,
        content_hash=figures.content_hash,
        checked_at=context.check_time.astimezone(UTC),
        rules_version=context.rules.version,
        status=worst([c.status for c in checks]),
        checks=checks,
    )


def run_mirror_checks(document: Mapping[str, Any], context: MirrorContext) -> MirrorReport:
    """Every mirror check of a published footprint ``document`` against ``context``.

    Raises :class:`~backend.mirror.errors.FootprintDocumentInvalid` naming each field the checks need
    that is missing or malformed, and :class:`~backend.mirror.errors.MirrorContextInvalid` when the
    context was loaded for another CN code or country. The report is deterministic: the same document
    and context give the same report and the same JSON.
    """
    return run_figures(parse_footprint(document), context)
