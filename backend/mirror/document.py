"""The figures of a published footprint document the mirror checks read, parsed and typed.

The document is the JSON object of the published footprint record (``cbamx.published-footprint/1``).
Only the fields the checks use are read; each one is checked for kind and range, and every field at
fault is named at once in :class:`~backend.mirror.errors.FootprintDocumentInvalid`, by its dotted
path. Pure: no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from backend.errors import FieldError
from backend.mirror.errors import FootprintDocumentInvalid

# shares of the electricity sources may add up to a little over 1 through float rounding
SHARE_SUM_SLACK = 1e-6


@dataclass(frozen=True, slots=True)
class ElectricitySource:
    kind: str  # GRID | PPA | DIRECT_LINK | OWN_GENERATION (upper case)
    name: str
    mwh: float
    share: float
    factor: float  # tCO2/MWh
    evidence_tier: str  # lower case, "" when not given


@dataclass(frozen=True, slots=True)
class FootprintFigures:
    """What the checks need of one published footprint."""

    publication_id: str
    content_hash: str | None
    cn_code: str
    production_route: str | None  # lower case
    country: str  # of the installation (the country of origin of the goods)
    time_zone: str | None
    period_start: datetime
    period_end: datetime
    published_at: datetime
    net_mass_t: float
    direct: float  # tCO2e/t
    indirect: float
    total: float
    indirect_counts: bool
    precursor_defaulted: bool
    mwh_per_t: float
    factor_value: float
    factor_unit: str
    factor_method: str  # upper case
    factor_source: str
    sources: tuple[ElectricitySource, ...]
    measured_share: float | None
    evidence_count: int


class _Reader:
    """Reads fields by dotted path, collecting one error per field at fault."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        self.document = document
        self.errors: list[FieldError] = []

    def fail(self, path: str, message: str) -> None:
        self.errors.append(FieldError(message, field=path))

    def node(self, path: str) -> Any:
        value: Any = self.document
        for part in path.split("."):
            if not isinstance(value, Mapping):
                return _ABSENT
            value = value.get(part, _ABSENT)
        return value

    def mapping(self, path: str) -> Mapping[str, Any] | None:
        value = self.node(path)
        if value is _ABSENT:
            self.fail(path, "missing")
            return None
        if not isinstance(value, Mapping):
            self.fail(path, f"expected an object, got {_kind(value)}")
            return None
        return value

    def text(self, path: str, *, optional: bool = False) -> str | None:
        value = self.node(path)
        if value is _ABSENT or value is None:
            if not optional:
                self.fail(path, "missing")
            return None
        if not isinstance(value, str) or not value.strip():
            self.fail(path, f"expected a non-empty string, got {_show(value)}")
            return None
        return value.strip()

    def number(self, path: str, *, minimum: float | None = 0.0, maximum: float | None = None) -> float:
        return self.number_of(self.node(path), path, minimum=minimum, maximum=maximum)

    def number_of(self, value: Any, path: str, *, minimum: float | None = 0.0, maximum: float | None = None) -> float:
        if value is _ABSENT or value is None:
            self.fail(path, "missing")
            return math.nan
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.fail(path, f"expected a number, got {_show(value)}")
            return math.nan
        number = float(value)
        if not math.isfinite(number):
            self.fail(path, f"expected a finite number, got {number}")
            return math.nan
        if minimum is not None and number < minimum:
            self.fail(path, f"must be at least {minimum:g}, got {number:g}")
        if maximum is not None and number > maximum:
            self.fail(path, f"must be at most {maximum:g}, got {number:g}")
        return number

    def flag(self, path: str) -> bool:
        value = self.node(path)
        if value is _ABSENT or value is None:
            self.fail(path, "missing")
            return False
        if not isinstance(value, bool):
            self.fail(path, f"expected true or false, got {_show(value)}")
            return False
        return value

    def time(self, path: str) -> datetime:
        text = self.text(path)
        if text is None:
            return _EPOCH
        return self.time_of(text, path)

    def time_of(self, text: str, path: str) -> datetime:
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
        except ValueError:
            self.fail(path, f"not an ISO 8601 time: {text!r}")
            return _EPOCH
        if moment.tzinfo is None or moment.utcoffset() is None:
            self.fail(path, f"an ISO 8601 time needs a time zone (e.g. 'Z'): {text!r}")
            return _EPOCH
        return moment


class _Absent:
    def __repr__(self) -> str:
        return "absent"


_ABSENT = _Absent()
_EPOCH = datetime.fromisoformat("1970-01-01T00:00:00+00:00")


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, Sequence):
        return "a list"
    return type(value).__name__


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _sources(reader: _Reader) -> tuple[ElectricitySource, ...]:
    path = "electricity.sources"
    value = reader.node(path)
    if value is _ABSENT or value is None:
        return ()
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        reader.fail(path, f"expected a list, got {_kind(value)}")
        return ()
    sources = []
    for i, item in enumerate(value):
        at = f"{path}[{i}]"
        if not isinstance(item, Mapping):
            reader.fail(at, f"expected an object, got {_kind(item)}")
            continue
        kind = item.get("kind")
        if not isinstance(kind, str) or not kind.strip():
            reader.fail(f"{at}.kind", f"expected a non-empty string, got {_show(kind)}")
            kind = ""
        tier = item.get("evidenceTier")
        if tier is not None and not isinstance(tier, str):
            reader.fail(f"{at}.evidenceTier", f"expected a string, got {_show(tier)}")
            tier = None
        name = item.get("name")
        sources.append(
            ElectricitySource(
                kind=kind.strip().upper(),
                name=name if isinstance(name, str) else "",
                mwh=reader.number_of(item.get("mwh", _ABSENT), f"{at}.mwh"),
                share=reader.number_of(item.get("share", _ABSENT), f"{at}.share", maximum=1.0),
                factor=reader.number_of(item.get("factor", _ABSENT), f"{at}.factor"),
                evidence_tier=(tier or "").strip().lower(),
            )
        )
    total = sum(s.share for s in sources if math.isfinite(s.share))
    if total > 1.0 + SHARE_SUM_SLACK:
        reader.fail(path, f"the sources' shares add up to {total:g}, more than 1")
    return tuple(sources)


def parse_footprint(document: Mapping[str, Any]) -> FootprintFigures:
    """The figures of ``document``, or :class:`FootprintDocumentInvalid` naming every field at fault."""
    if not isinstance(document, Mapping):
        raise FootprintDocumentInvalid([FieldError(f"expected a JSON object, got {_kind(document)}", field="document")])
    r = _Reader(document)
    for section in ("product", "installation", "period", "specificEmissions", "electricity", "electricity.factor"):
        r.mapping(section)
    cn = r.text("product.cnCode")
    if cn is not None:
        cn = cn.replace(" ", "").replace(".", "")
        if not cn.isdigit() or len(cn) not in (4, 6, 8):
            r.fail("product.cnCode", f"expected a CN code of 4, 6 or 8 digits, got {cn!r}")
    country = r.text("installation.country")
    if country is not None and (len(country) != 2 or not country.isalpha()):
        r.fail("installation.country", f"expected an ISO 3166-1 alpha-2 code, got {country!r}")
    route = r.text("product.productionRoute", optional=True)
    quality = r.node("dataQuality")
    measured: float | None = None
    if isinstance(quality, Mapping) and quality.get("measuredShare") is not None:
        measured = r.number("dataQuality.measuredShare", maximum=1.0)
    elif quality is not _ABSENT and quality is not None and not isinstance(quality, Mapping):
        r.fail("dataQuality", f"expected an object, got {_kind(quality)}")
    evidence = r.node("evidence")
    if (
        evidence is not _ABSENT
        and evidence is not None
        and (isinstance(evidence, str) or not isinstance(evidence, Sequence))
    ):
        r.fail("evidence", f"expected a list, got {_kind(evidence)}")
        evidence = []
    figures = FootprintFigures(
        publication_id=r.text("id") or "",
        content_hash=r.text("contentHash", optional=True),
        cn_code=cn or "",
        production_route=route.lower() if route else None,
        country=(country or "").upper(),
        time_zone=r.text("installation.timeZone", optional=True),
        period_start=r.time("period.start"),
        period_end=r.time("period.end"),
        published_at=r.time("publishedAt"),
        net_mass_t=r.number("netMassT"),
        direct=r.number("specificEmissions.direct", minimum=None),
        indirect=r.number("specificEmissions.indirect", minimum=None),
        total=r.number("specificEmissions.total", minimum=None),
        indirect_counts=r.flag("specificEmissions.indirectCounts"),
        precursor_defaulted=r.flag("specificEmissions.precursorDefaulted"),
        mwh_per_t=r.number("electricity.mwhPerT", minimum=None),
        factor_value=r.number("electricity.factor.value", minimum=None),
        factor_unit=r.text("electricity.factor.unit") or "",
        factor_method=(r.text("electricity.factor.method") or "").upper(),
        factor_source=r.text("electricity.factor.source", optional=True) or "",
        sources=_sources(r),
        measured_share=measured,
        evidence_count=len(evidence) if isinstance(evidence, Sequence) and not isinstance(evidence, str) else 0,
    )
    if r.errors:
        raise FootprintDocumentInvalid(r.errors)
    return figures
