"""ListFootprints filters of PACT v3 (ADR-42): parsed from query parameters or a RequestCreatedEvent's data.

Within one criterion the values are OR-ed, different criteria are AND-ed; a parameter repeated
carries several values (``?productId=x&productId=y&geography=DE``). ``geography`` matches the
footprint's country, region or subdivision. Validity: a footprint is valid from ``validityPeriodStart``
to ``validityPeriodEnd`` (PACT's default is three years from the reference period's end); ``validOn``
keeps footprints valid at that moment, ``validAfter`` those whose validity starts after it,
``validBefore`` those whose validity ends before it.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from backend.pact.errors import InvalidQuery, UnsupportedCriterion
from backend.pact.model import VALIDITY_YEARS, add_years

DEFAULT_LIMIT = 100
MAX_LIMIT = 100  # a page never holds more, whatever ``limit`` asks for
LIST_CRITERIA = ("productId", "companyId", "geography", "classification")
MOMENT_CRITERIA = ("validOn", "validAfter", "validBefore")
STATUSES = ("Active", "Deprecated")
# UN M.49 regions and subregions, the values of geographyRegionOrSubregion
REGIONS = frozenset(
    {
        "Africa", "Americas", "Asia", "Europe", "Oceania", "Australia and New Zealand", "Central Asia",
        "Eastern Asia", "Eastern Europe", "Latin America and the Caribbean", "Melanesia", "Micronesia",
        "Northern Africa", "Northern America", "Northern Europe", "Polynesia", "South-eastern Asia",
        "Southern Asia", "Southern Europe", "Sub-Saharan Africa", "Western Asia", "Western Europe",
    }
)  # fmt: skip
_URN = re.compile(r"^urn:[A-Za-z0-9][A-Za-z0-9-]{0,31}:\S+$", re.IGNORECASE)
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_SUBDIVISION = re.compile(r"^[A-Z]{2}-[A-Z0-9]{1,3}$")


def normal_urn(urn: str) -> str:
    """A URN with its scheme and namespace identifier in lower case (both are case-insensitive, RFC 8141)."""
    scheme, _, rest = urn.partition(":")
    nid, _, nss = rest.partition(":")
    return f"{scheme.lower()}:{nid.lower()}:{nss}"


@dataclass(frozen=True, slots=True)
class FootprintCriteria:
    """What a recipient asks for; an empty criterion restricts nothing."""

    product_ids: frozenset[str] = frozenset()
    company_ids: frozenset[str] = frozenset()
    geography: frozenset[str] = frozenset()
    classifications: frozenset[str] = frozenset()
    valid_on: datetime | None = None
    valid_after: datetime | None = None
    valid_before: datetime | None = None
    statuses: frozenset[str] = frozenset()

    def matches(self, footprint: Mapping[str, Any]) -> bool:
        """Whether a PACT ProductFootprint meets every criterion."""
        if self.product_ids and not self.product_ids & {normal_urn(u) for u in footprint.get("productIds", [])}:
            return False
        if self.company_ids and not self.company_ids & {normal_urn(u) for u in footprint.get("companyIds", [])}:
            return False
        classifications = {normal_urn(u) for u in footprint.get("productClassifications") or []}
        if self.classifications and not self.classifications & classifications:
            return False
        pcf = footprint.get("pcf", {})
        places = {
            pcf.get(k)
            for k in ("geographyCountry", "geographyRegionOrSubregion", "geographyCountrySubdivision")
            if pcf.get(k)
        }
        if self.geography and not self.geography & places:
            return False
        if self.statuses and footprint.get("status") not in self.statuses:
            return False
        if self.valid_on or self.valid_after or self.valid_before:
            start, end = validity_of(footprint)
            if self.valid_on and not start <= self.valid_on <= end:
                return False
            if self.valid_after and not start > self.valid_after:
                return False
            if self.valid_before and not end < self.valid_before:
                return False
        return True

    def as_json(self) -> dict[str, Any]:
        """The criteria as stored with a data request (the names PACT gives them)."""
        out: dict[str, Any] = {}
        for name, values in (
            ("productId", self.product_ids),
            ("companyId", self.company_ids),
            ("geography", self.geography),
            ("classification", self.classifications),
        ):
            if values:
                out[name] = sorted(values)
        for name, moment in (
            ("validOn", self.valid_on),
            ("validAfter", self.valid_after),
            ("validBefore", self.valid_before),
        ):
            if moment is not None:
                out[name] = moment.isoformat().replace("+00:00", "Z")
        if self.statuses:
            out["status"] = sorted(self.statuses)
        return out


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def validity_of(footprint: Mapping[str, Any]) -> tuple[datetime, datetime]:
    """The validity period stated, or PACT's default: three years from the reference period's end."""
    pcf = footprint.get("pcf", {})
    start = footprint.get("validityPeriodStart") or pcf["referencePeriodEnd"]
    end = footprint.get("validityPeriodEnd")
    begins = _moment(start)
    return begins, _moment(end) if end else add_years(_moment(pcf["referencePeriodEnd"]), VALIDITY_YEARS)


def _urns(name: str, values: Sequence[str]) -> frozenset[str]:
    for value in values:
        if not _URN.match(value):
            raise InvalidQuery(f"{name} must be a URN (urn:<namespace>:<id>), got {value!r}", field=name)
    return frozenset(normal_urn(v) for v in values)


def _places(values: Sequence[str]) -> frozenset[str]:
    for value in values:
        if not (_COUNTRY.match(value) or _SUBDIVISION.match(value) or value in REGIONS):
            raise InvalidQuery(
                "geography must be an ISO 3166-1 alpha-2 country (DE), an ISO 3166-2 subdivision (DE-BY) or a "
                f"UN M.49 region or subregion (Western Europe), got {value!r}",
                field="geography",
            )
    return frozenset(values)


def _one_moment(name: str, values: Sequence[str]) -> datetime | None:
    if not values:
        return None
    if len(values) > 1:
        raise InvalidQuery(f"{name} takes one value", field=name)
    try:
        moment = datetime.fromisoformat(values[0].replace("Z", "+00:00"))
    except ValueError:
        raise InvalidQuery(f"{name} must be an ISO 8601 date-time, got {values[0]!r}", field=name)
    if moment.tzinfo is None:
        raise InvalidQuery(f"{name} must state its time zone (e.g. 2026-01-01T00:00:00Z)", field=name)
    return moment.astimezone(UTC)


def _statuses(values: Sequence[str]) -> frozenset[str]:
    """Any status named: a footprint is ``Active`` or ``Deprecated``, another value matches none (PACT
    conformance case 37 asks for an empty list, not an error)."""
    return frozenset(values)


def _company_ids(values: Sequence[str]) -> frozenset[str]:
    """Company ids as given (URNs normalised): PACT's companyIds are URNs, but a value that is not one only
    matches no footprint (the conformance suite ORs random strings with a real id and expects 200)."""
    return frozenset(normal_urn(v) if _URN.match(v) else v for v in values)


def _refuse_unknown(names: Iterable[str], known: Iterable[str]) -> None:
    allowed = set(known)
    for name in names:
        if name in allowed:
            continue
        if name == "$filter":
            raise UnsupportedCriterion("the OData $filter of PACT v2 is not supported in v3", field=name)
        if name.lower().startswith("x-"):
            raise UnsupportedCriterion(f"this host defines no implementer-specific filter {name!r}", field=name)
        raise InvalidQuery(f"unknown parameter {name!r}", field=name)


def criteria_of(values: Mapping[str, Sequence[str]]) -> FootprintCriteria:
    """The criteria from each criterion's values; raises naming the first bad one."""
    for name, given in values.items():
        if any(not v.strip() for v in given):
            raise InvalidQuery(f"{name} must not be empty", field=name)

    def get(name: str) -> list[str]:
        return list(values.get(name, ()))

    return FootprintCriteria(
        product_ids=_urns("productId", get("productId")),
        company_ids=_company_ids(get("companyId")),
        geography=_places(get("geography")),
        classifications=_urns("classification", get("classification")),
        valid_on=_one_moment("validOn", get("validOn")),
        valid_after=_one_moment("validAfter", get("validAfter")),
        valid_before=_one_moment("validBefore", get("validBefore")),
        statuses=_statuses(get("status")),
    )


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where the next page starts: after this (created, id) in the listing's order (newest first)."""

    created: str
    id: str

    def encode(self) -> str:
        raw = json.dumps([self.created, self.id], separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    @property
    def position(self) -> tuple[datetime, uuid.UUID]:
        """The (publishedAt, id) of the last footprint of the page before."""
        return _moment(self.created), uuid.UUID(self.id)

    @classmethod
    def decode(cls, text: str) -> Cursor:
        try:
            created, pf_id = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
            if not isinstance(created, str) or not isinstance(pf_id, str):
                raise ValueError
            # a moment with its time zone and a footprint id, as ``encode`` wrote them
            if datetime.fromisoformat(created.replace("Z", "+00:00")).tzinfo is None:
                raise ValueError
            uuid.UUID(pf_id)
        except (ValueError, TypeError, binascii.Error):
            raise InvalidQuery("cursor is not one this host issued", field="cursor")
        return cls(created, pf_id)


@dataclass(frozen=True, slots=True)
class ListQuery:
    criteria: FootprintCriteria = field(default_factory=FootprintCriteria)
    limit: int = DEFAULT_LIMIT
    cursor: Cursor | None = None

    @property
    def page_size(self) -> int:
        return min(self.limit, MAX_LIMIT)


def _limit(values: Sequence[str]) -> int:
    if not values:
        return DEFAULT_LIMIT
    if len(values) > 1 or not values[0].isdigit() or int(values[0]) < 1:
        raise InvalidQuery("limit must be one positive whole number", field="limit")
    return int(values[0])


def parse_list_query(params: Sequence[tuple[str, str]]) -> ListQuery:
    """A ListFootprints query from its parameters in order (repeated ones kept)."""
    grouped: dict[str, list[str]] = {}
    for name, value in params:
        grouped.setdefault(name, []).append(value)
    _refuse_unknown(grouped, (*LIST_CRITERIA, *MOMENT_CRITERIA, "status", "limit", "cursor"))
    cursors = grouped.pop("cursor", [])
    if len(cursors) > 1:
        raise InvalidQuery("cursor takes one value", field="cursor")
    limit = _limit(grouped.pop("limit", []))
    return ListQuery(criteria_of(grouped), limit, Cursor.decode(cursors[0]) if cursors else None)


def parse_event_criteria(data: Mapping[str, Any]) -> tuple[FootprintCriteria, str | None]:
    """The criteria and comment of a RequestCreatedEvent's ``data`` (lists of strings, or one string each)."""
    _refuse_unknown(data, (*LIST_CRITERIA, *MOMENT_CRITERIA, "status", "comment"))
    comment = data.get("comment")
    if comment is not None and not isinstance(comment, str):
        raise InvalidQuery("comment must be a string", field="data.comment")
    values: dict[str, list[str]] = {}
    for name, given in data.items():
        if name == "comment":
            continue
        items = [given] if isinstance(given, str) else given
        if not isinstance(items, list) or not all(isinstance(v, str) for v in items):
            raise InvalidQuery(f"{name} must be a string or a list of strings", field=f"data.{name}")
        values[name] = items
    return criteria_of(values), comment
