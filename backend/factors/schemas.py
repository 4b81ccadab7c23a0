"""What the factor library takes and gives: plain dataclasses, the same for GraphQL, REST and the engine."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from backend.factors.models import EmissionFactor, FactorKind, PublishedEmissionFactor


def plain(value: Decimal) -> Decimal:
    """A stored decimal without the column's trailing zeros (0.729000000000 -> 0.729), never in exponent form."""
    return Decimal(format(value.normalize(), "f"))


@dataclass(frozen=True, slots=True)
class Provenance:
    document: str
    table: str
    date: date | None
    url: str | None
    licence_note: str
    edition: str | None  # the packaged data file a published factor was seeded from


@dataclass(frozen=True, slots=True)
class Factor:
    """One version of a factor, published or the organisation's own, with its provenance."""

    id: uuid.UUID
    kind: FactorKind
    subject: str
    subject_label: str
    version: int
    value: Decimal
    unit: str
    valid_from: date
    valid_to: date | None
    provenance: Provenance
    notes: str
    formula: str | None
    parameters: dict[str, Any]
    published: bool
    evidence_document_id: uuid.UUID | None
    evidence_sha256: str | None
    supersedes_id: uuid.UUID | None
    created_at: datetime

    @classmethod
    def of(cls, row: PublishedEmissionFactor | EmissionFactor) -> Factor:
        published = isinstance(row, PublishedEmissionFactor)
        return cls(
            id=row.id,
            kind=FactorKind(row.kind),
            subject=row.subject,
            subject_label=str(row.parameters.get("subject_label", "")),
            version=row.version,
            value=plain(row.value),
            unit=row.unit,
            valid_from=row.valid_from,
            valid_to=row.valid_to,
            provenance=Provenance(
                document=row.source_document,
                table=row.source_table,
                date=row.source_date,
                url=row.source_url,
                licence_note=row.licence_note,
                edition=row.edition if isinstance(row, PublishedEmissionFactor) else None,
            ),
            notes=row.notes,
            formula=row.formula,
            parameters=dict(row.parameters),
            published=published,
            evidence_document_id=None if published else row.evidence_document_id,  # type: ignore[union-attr]
            evidence_sha256=None if published else row.evidence_sha256,  # type: ignore[union-attr]
            supersedes_id=None if published else row.supersedes_id,  # type: ignore[union-attr]
            created_at=row.created_at,
        )

    def valid_on(self, on: date) -> bool:
        return self.valid_from <= on and (self.valid_to is None or on < self.valid_to)


@dataclass(frozen=True, slots=True)
class Selection:
    """The factor a rule chose for a subject on a date, and how: the rule, and the fallback if one was used."""

    factor: Factor
    kind: FactorKind
    requested_subject: str
    on: date
    rule: str
    fallback: str | None = None  # what the rule fell back to, in words; None: the subject's own factor


@dataclass(frozen=True, slots=True)
class FactorFilter:
    kind: FactorKind | None = None
    country: str | None = None
    fuel: str | None = None
    cn_code: str | None = None
    subject: str | None = None
    valid_on: date | None = None
    search: str | None = None
    published: bool | None = None  # True: published only, False: the organisation's own only


@dataclass(frozen=True, slots=True)
class Source:
    """Where a tenant factor's value comes from, as the organisation states it."""

    document: str = ""
    table: str = ""
    date: date | None = None
    url: str | None = None
    licence_note: str = ""
    notes: str = ""


@dataclass(frozen=True, slots=True)
class SupplierFactorData:
    """A supplier-specific factor of a grid supply contract, with the supplier's disclosure as evidence."""

    contract_id: uuid.UUID
    value: Decimal
    valid_from: date
    disclosure_document_id: uuid.UUID
    supplier: str = ""
    valid_to: date | None = None
    source: Source = field(default_factory=Source)
    supersedes_id: uuid.UUID | None = None


@dataclass(frozen=True, slots=True)
class FuelDensityData:
    """A fuel's density as its supplier states it (or as measured), to convert a volume-metered fuel to tonnes."""

    fuel: str
    value: Decimal  # t/m3 at the metering reference conditions
    valid_from: date
    supplier: str = ""
    valid_to: date | None = None
    source: Source = field(default_factory=Source)
    evidence_document_id: uuid.UUID | None = None
    supersedes_id: uuid.UUID | None = None


@dataclass(frozen=True, slots=True)
class FuelUse:
    """A fuel burnt for own generation; NCV and EF come from the library unless measured values are given."""

    fuel: str
    quantity_t: Decimal
    ncv_tj_per_t: Decimal | None = None
    ef_t_per_tj: Decimal | None = None
    oxidation_factor: Decimal | None = None
    waste_gas: bool = False


@dataclass(frozen=True, slots=True)
class OwnGenerationData:
    """The inputs of Eq. 38 for one generator and the period they were monitored over."""

    generator_id: uuid.UUID
    fuels: list[FuelUse]
    net_generation_mwh: Decimal
    period_start: date
    period_end: date
    valid_from: date
    flue_gas_cleaning_t: Decimal = Decimal("0")
    valid_to: date | None = None
    evidence_document_id: uuid.UUID | None = None
    notes: str = ""
    supersedes_id: uuid.UUID | None = None
