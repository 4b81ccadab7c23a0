"""What the mirror checks take and give: frozen dataclasses, the same for every caller.

A caller builds one :class:`MirrorContext` (``backend.mirror.defaults.load_context`` does it from the
packaged published factors) and gets one :class:`MirrorReport` from
``backend.mirror.checks.run_mirror_checks``.
"""

from __future__ import annotations

import enum
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any

from backend.mirror.errors import MirrorContextInvalid
from backend.mirror.rules import IntensityRange, MirrorRules, default_rules

# a figure of a check: a number, a text (unit, code), a list of names, or nothing (no bound)
FigureValue = float | int | str | bool | None | tuple[str, ...]


class Status(enum.StrEnum):
    """The outcome of one check, ordered from least to most severe by :attr:`severity`."""

    NOT_APPLICABLE = "NOT_APPLICABLE"
    PASS = "PASS"
    WARN = "WARN"
    FAIL = "FAIL"

    @property
    def severity(self) -> int:
        return _SEVERITY[self]


_SEVERITY = {Status.NOT_APPLICABLE: 0, Status.PASS: 1, Status.WARN: 2, Status.FAIL: 3}


def worst(statuses: list[Status] | tuple[Status, ...]) -> Status:
    """The most severe status; ``NOT_APPLICABLE`` when there is none."""
    return max(statuses, key=lambda s: s.severity, default=Status.NOT_APPLICABLE)


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One check's finding: a stable ``code``, the ``status``, a ``message`` naming the numbers, the
    ``figures`` behind it (observed, expected or range, thresholds, unit) and the ``source`` of the
    reference figure."""

    code: str
    status: Status
    message: str
    figures: Mapping[str, FigureValue]
    source: str

    def __post_init__(self) -> None:
        # a frozen result must not change through its figures either
        object.__setattr__(self, "figures", MappingProxyType(dict(self.figures)))

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "status": self.status.value,
            "message": self.message,
            "figures": {k: list(v) if isinstance(v, tuple) else v for k, v in sorted(self.figures.items())},
            "source": self.source,
        }


@dataclass(frozen=True, slots=True)
class MirrorReport:
    """All checks of one document, in a fixed order, and the worst of their statuses."""

    publication_id: str
    content_hash: str | None
    checked_at: datetime
    rules_version: str
    status: Status
    checks: tuple[CheckResult, ...]

    def check(self, code: str) -> CheckResult:
        """The result of the check ``code`` (``KeyError`` if the report has none)."""
        for result in self.checks:
            if result.code == code:
                return result
        raise KeyError(code)

    def to_dict(self) -> dict[str, Any]:
        return {
            "publicationId": self.publication_id,
            "contentHash": self.content_hash,
            "checkedAt": self.checked_at.isoformat().replace("+00:00", "Z"),
            "rulesVersion": self.rules_version,
            "status": self.status.value,
            "checks": [c.to_dict() for c in self.checks],
        }

    def to_json(self) -> str:
        """Canonical JSON (sorted keys, no spaces, UTF-8 safe): the same report gives the same text."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


@dataclass(frozen=True, slots=True)
class Unavailable:
    """A reference figure that does not exist for the document, and why (the check is then not applicable)."""

    reason: str


@dataclass(frozen=True, slots=True)
class GoodsDefault:
    """The CBAM default value of [IR2621] Annex I for a CN code and country, valid in the reporting year.

    Values are in tCO2e/t and include the year's mark-up (the published rounded column). ``indirect`` is
    ``None`` where Annex I shows N/A (aluminium, iron and steel, hydrogen); ``total`` then equals ``direct``.
    """

    cn_code: str  # the listed code the row belongs to (e.g. 7601 for a good under 7601 10 00)
    country: str  # the listed country, or OTHER
    year: int
    direct: float
    indirect: float | None
    total: float
    markup_percent: float
    direct_base: float | None
    source: str
    fallback: str | None = None  # why a broader code or 'Other countries and territories' applies


@dataclass(frozen=True, slots=True)
class GridDefault:
    """The country-of-origin grid default of [IR2621] Annex II, in tCO2e/MWh."""

    country: str  # the listed country, or OTHER
    value: float
    unit: str
    source: str
    fallback: str | None = None


@dataclass(frozen=True, slots=True)
class HistoryPoint:
    """One earlier publication of the same supplier's product (same installation and CN code)."""

    publication_id: str
    period_start: datetime
    period_end: datetime
    mwh_per_t: float


def _aware(moment: datetime) -> bool:
    return moment.tzinfo is not None and moment.utcoffset() is not None


@dataclass(frozen=True, slots=True)
class MirrorContext:
    """Everything the checks compare a document with. Build it with ``backend.mirror.defaults.load_context``.

    - ``check_time``: when the check is made (time-zone aware); the period must have ended by then.
    - ``goods_default``: the CBAM default for the document's CN code and country in its reporting year,
      or :class:`Unavailable` (not listed, out of scope, no version for the year).
    - ``grid_default``: the grid default of the installation's country, or :class:`Unavailable`.
    - ``history``: the supplier's earlier publications of the product; the document itself and earlier
      versions of its own period are left out by the check.
    - ``sector_range``: the plausible electricity intensity of the good's sector, or ``None``.
    - ``shipped_mass_t``: the mass the importer received under this footprint in its period, if known.
    - ``verified``: a verification statement is attached to the publication (mutable state beside the
      snapshot): it counts as strong evidence for a figure far below the default.
    """

    check_time: datetime
    goods_default: GoodsDefault | Unavailable
    grid_default: GridDefault | Unavailable
    history: tuple[HistoryPoint, ...] = ()
    sector_range: IntensityRange | None = None
    shipped_mass_t: float | None = None
    verified: bool = False
    rules: MirrorRules = field(default_factory=default_rules)

    def __post_init__(self) -> None:
        if not _aware(self.check_time):
            raise MirrorContextInvalid("needs a time zone (e.g. datetime.now(UTC))", field="check_time")
        if self.shipped_mass_t is not None and not (self.shipped_mass_t >= 0.0):
            raise MirrorContextInvalid(f"must be 0 or more, got {self.shipped_mass_t}", field="shipped_mass_t")
        for point in self.history:
            if not (_aware(point.period_start) and _aware(point.period_end)):
                raise MirrorContextInvalid(
                    f"period times of {point.publication_id} need a time zone", field="history.period"
                )
            if not math.isfinite(point.mwh_per_t):
                raise MirrorContextInvalid(
                    f"mwh_per_t of {point.publication_id} is not finite", field="history.mwh_per_t"
                )
