"""The context of the mirror checks, loaded without a database.

The CBAM default values and grid defaults are the published factors of ``backend/factors``, read from
their packaged data file (``backend/factors/data/published_factors_<edition>.json``, the same rows the
platform migration seeds). The selection follows ``backend.factors.service.select_factor``
(docs/emission-factors.md): for goods, the most specific CN code listed (8, 6, then 4 digits) and the
country's row, else "Other countries and territories"; for the grid, the country's value, else
"Other"; EU member states and countries exempt under [REG956] Annex III are out of scope; a listed
subject with no version valid on the date is not replaced by a fallback.

The date that picks the version (and so the year's mark-up) is the middle of the document's period:
a period within one reporting year has its middle in that year, whether it is aligned to UTC or to
the installation's local calendar.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from backend.errors import FieldError
from backend.factors.seed import load_edition
from backend.factors.service import EU_MEMBER_STATES, EXEMPT_COUNTRIES, OTHER
from backend.mirror.document import FootprintFigures, parse_footprint
from backend.mirror.errors import FootprintDocumentInvalid
from backend.mirror.rules import MirrorRules, default_rules
from backend.mirror.schemas import GoodsDefault, GridDefault, HistoryPoint, MirrorContext, Unavailable

# the edition of published factors the platform seeds (migrations/platform, published_emission_factors)
PUBLISHED_EDITION = "cbam-2026-v1"
GOODS_KIND = "goods_default"
GRID_KIND = "grid_default"


@dataclass(frozen=True, slots=True)
class _Row:
    subject: str
    value: float
    unit: str
    valid_from: date
    valid_to: date | None
    parameters: Mapping[str, Any]
    source: str

    def valid_on(self, on: date) -> bool:
        return self.valid_from <= on and (self.valid_to is None or on < self.valid_to)

    def validity(self) -> str:
        return f"{self.valid_from.isoformat()} to {self.valid_to.isoformat() if self.valid_to else 'open'}"


@lru_cache(maxsize=8)
def _rows(edition: str, kind: str) -> dict[str, list[_Row]]:
    rows: dict[str, list[_Row]] = {}
    for item in load_edition(edition)["factors"]:
        if item["kind"] != kind:
            continue
        source = f"{item['source_document']}, {item.get('source_table', '')}".rstrip(", ")
        if item.get("source_url"):
            source += f" ({item['source_url']})"
        rows.setdefault(item["subject"], []).append(
            _Row(
                subject=item["subject"],
                value=float(item["value"]),
                unit=item["unit"],
                valid_from=date.fromisoformat(item["valid_from"]),
                valid_to=date.fromisoformat(item["valid_to"]) if item.get("valid_to") else None,
                parameters=item.get("parameters", {}),
                source=f"{source}; published factors edition {edition}",
            )
        )
    return rows


def _out_of_scope(country: str) -> str | None:
    if country in EU_MEMBER_STATES:
        return f"{country} is an EU member state: its goods and electricity are outside CBAM"
    if country in EXEMPT_COUNTRIES:
        return f"{country} is exempt from CBAM ([REG956] Annex III)"
    return None


def _valid(rows: list[_Row], on: date, what: str) -> _Row | Unavailable:
    for row in rows:
        if row.valid_on(on):
            return row
    ranges = "; ".join(r.validity() for r in rows)
    return Unavailable(f"no {what} valid on {on.isoformat()} (valid: {ranges})")


def goods_default(
    cn_code: str, country: str, on: date, *, edition: str = PUBLISHED_EDITION
) -> GoodsDefault | Unavailable:
    """The [IR2621] Annex I default for ``cn_code`` made in ``country``, in the version valid on ``on``.

    The packaged values are direct emissions with the year's mark-up; Annex I shows N/A for the indirect
    emissions of the goods seeded (aluminium), so ``indirect`` is ``None`` and ``total`` equals ``direct``.
    """
    cn = cn_code.replace(" ", "").replace(".", "")
    country = country.upper()
    if (reason := _out_of_scope(country)) is not None:
        return Unavailable(reason)
    rows = _rows(edition, GOODS_KIND)
    for code in (cn[:n] for n in (8, 6, 4) if len(cn) >= n):
        own, other = f"{code}|{country}", f"{code}|{OTHER}"
        broader = None if code == cn else f"CN {cn} is covered by the listed code {code}"
        if own in rows:
            subject, fallback = own, broader
        elif other in rows:
            subject = other
            why = f"{country} is not listed for CN {code}: 'Other countries and territories' applies"
            fallback = f"{broader}; {why}" if broader else why
        else:
            continue
        row = _valid(rows[subject], on, f"default value for CN {code} from {subject.partition('|')[2]}")
        if isinstance(row, Unavailable):
            return row
        params = row.parameters
        return GoodsDefault(
            cn_code=code,
            country=subject.partition("|")[2],
            year=on.year,
            direct=row.value,
            indirect=None,
            total=row.value,
            markup_percent=float(params.get("markup_percent", 0)),
            direct_base=float(params["direct_base"]) if params.get("direct_base") is not None else None,
            source=row.source,
            fallback=fallback,
        )
    return Unavailable(f"CN {cn} is not listed in [IR2621] Annex I (published factors edition {edition})")


def grid_default(country: str, on: date, *, edition: str = PUBLISHED_EDITION) -> GridDefault | Unavailable:
    """The [IR2621] Annex II grid default of ``country`` valid on ``on`` ("Other" for an unlisted third country)."""
    country = country.upper()
    if (reason := _out_of_scope(country)) is not None:
        return Unavailable(reason)
    rows = _rows(edition, GRID_KIND)
    if country in rows:
        subject, fallback = country, None
    else:
        subject, fallback = (
            OTHER,
            f"{country} is not listed in [IR2621] Annex II: 'Other countries and territories' applies",
        )
    row = _valid(rows.get(subject, []), on, f"grid default for {subject}")
    if isinstance(row, Unavailable):
        return row
    return GridDefault(country=subject, value=row.value, unit=row.unit, source=row.source, fallback=fallback)


def reference_date(figures: FootprintFigures) -> date:
    """The day that picks the default's version: the middle of the period (see the module's description)."""
    return (figures.period_start + (figures.period_end - figures.period_start) / 2).date()


def history_from_documents(documents: Iterable[Mapping[str, Any]]) -> tuple[HistoryPoint, ...]:
    """History points from the supplier's earlier published documents of the product, in the order given.

    A malformed one is refused naming its place (``history[2].electricity.mwhPerT``).
    """
    points = []
    for i, document in enumerate(documents):
        try:
            figures = parse_footprint(document)
        except FootprintDocumentInvalid as invalid:
            raise FootprintDocumentInvalid(
                [FieldError(e.message, field=f"history[{i}].{e.field}") for e in invalid.errors]
            ) from None
        points.append(
            HistoryPoint(
                publication_id=figures.publication_id,
                period_start=figures.period_start,
                period_end=figures.period_end,
                mwh_per_t=figures.mwh_per_t,
            )
        )
    return tuple(points)


def load_context(
    document: Mapping[str, Any],
    *,
    check_time: datetime,
    history: Iterable[HistoryPoint] = (),
    shipped_mass_t: float | None = None,
    verified: bool = False,
    edition: str = PUBLISHED_EDITION,
    rules: MirrorRules | None = None,
) -> MirrorContext:
    """The context for checking ``document``: its CN code's default and its country's grid default from the
    packaged published factors, the sector range from the rules, and what the caller knows (history,
    shipped mass, verification). Raises :class:`FootprintDocumentInvalid` for a malformed document."""
    figures = parse_footprint(document)
    rules = rules or default_rules()
    on = reference_date(figures)
    return MirrorContext(
        check_time=check_time,
        goods_default=goods_default(figures.cn_code, figures.country, on, edition=edition),
        grid_default=grid_default(figures.country, on, edition=edition),
        history=tuple(history),
        sector_range=rules.sector_range_for(figures.cn_code, figures.production_route),
        shipped_mass_t=shipped_mass_t,
        verified=verified,
        rules=rules,
    )
