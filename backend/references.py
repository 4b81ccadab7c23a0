"""Typed references to a tenant's records, and which installation each record concerns.

Evidence names what it evidences by reference (a kind and an id that must exist). Grants limited
to installations, and clients bound to one installation, see a record only when it concerns an
allowed installation; the audit trail filters its entries the same way. A later domain (contracts,
footprints) adds its records by registering one ``ReferenceKind`` below.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ARRAY, ColumnElement, Select, String, cast, false, select
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.dialects.postgresql import array
from sqlalchemy.ext.asyncio import AsyncSession

from backend.calculations.models import CalculationRun, FootprintVersion
from backend.evidence.models import EvidenceDocument
from backend.ingest.models import FileImport, IngestBatch
from backend.installations.models import GridConnectionPoint, Installation, ProductionLine, ProductionProcess
from backend.metering.models import Meter
from backend.production.models import BatchImport, ProductionBatch
from backend.shipments.models import Shipment, ShipmentImport


@dataclass(frozen=True, slots=True)
class ReferenceKind:
    name: str  # as stored in references and as the audit trail's entity type
    graphql_type: str  # the type name inside a global id
    # ids (as text) of this kind's records that concern any of the installations
    ids_in: Callable[[Collection[uuid.UUID]], Select[tuple[str]]]
    # the installation one record concerns (None: the record does not exist)
    installation_of: Callable[[AsyncSession, uuid.UUID], object]
    evidence_subject: bool = True  # may be named as what a document evidences


def _by_column(model: type, column: object) -> Callable[[Collection[uuid.UUID]], Select[tuple[str]]]:
    return lambda installations: select(cast(model.id, String)).where(column.in_(list(installations)))  # type: ignore[attr-defined]


def _installation_of(model: type, attribute: str) -> Callable[[AsyncSession, uuid.UUID], object]:
    async def find(db: AsyncSession, record_id: uuid.UUID) -> uuid.UUID | None:
        row = await db.get(model, record_id)
        return getattr(row, attribute) if row is not None else None

    return find


def uuid_array(ids: Collection[uuid.UUID]) -> ColumnElement[list[uuid.UUID]]:
    """A uuid[] literal, for comparisons with array columns such as ``&&``."""
    return cast(array(sorted(ids), type_=PG_UUID(as_uuid=True)), ARRAY(PG_UUID(as_uuid=True)))


def _documents_in(installations: Collection[uuid.UUID]) -> Select[tuple[str]]:
    return select(cast(EvidenceDocument.id, String)).where(
        EvidenceDocument.installation_ids.overlap(uuid_array(installations))
    )


async def _no_installation(db: AsyncSession, record_id: uuid.UUID) -> uuid.UUID | None:
    return None  # a document concerns the installations its subjects name, not one of its own


KINDS: dict[str, ReferenceKind] = {}


def register(kind: ReferenceKind) -> None:
    KINDS[kind.name] = kind


for _kind in (
    ReferenceKind(
        "installation",
        "Installation",
        _by_column(Installation, Installation.id),
        _installation_of(Installation, "id"),
    ),
    ReferenceKind(
        "meter", "Meter", _by_column(Meter, Meter.installation_id), _installation_of(Meter, "installation_id")
    ),
    ReferenceKind(
        "production_process",
        "ProductionProcess",
        _by_column(ProductionProcess, ProductionProcess.installation_id),
        _installation_of(ProductionProcess, "installation_id"),
    ),
    ReferenceKind(
        "production_line",
        "ProductionLine",
        _by_column(ProductionLine, ProductionLine.installation_id),
        _installation_of(ProductionLine, "installation_id"),
    ),
    ReferenceKind(
        "grid_connection_point",
        "GridConnectionPoint",
        _by_column(GridConnectionPoint, GridConnectionPoint.installation_id),
        _installation_of(GridConnectionPoint, "installation_id"),
    ),
    # records the audit trail names that are not evidence subjects
    ReferenceKind("evidence_document", "EvidenceDocument", _documents_in, _no_installation, False),
    ReferenceKind(
        "file_import",
        "FileImport",
        _by_column(FileImport, FileImport.installation_id),
        _installation_of(FileImport, "installation_id"),
        False,
    ),
    ReferenceKind(
        "ingest_batch",
        "IngestBatch",
        _by_column(IngestBatch, IngestBatch.installation_id),
        _installation_of(IngestBatch, "installation_id"),
        False,
    ),
):
    register(_kind)


def _nothing_in(installations: Collection[uuid.UUID]) -> Select[tuple[str]]:
    return select(cast(Installation.id, String)).where(false())


# production: products are the tenant's catalogue (no installation); batches and their imports are per installation
for _kind in (
    ReferenceKind("product", "Product", _nothing_in, _no_installation),
    ReferenceKind(
        "production_batch",
        "ProductionBatch",
        _by_column(ProductionBatch, ProductionBatch.installation_id),
        _installation_of(ProductionBatch, "installation_id"),
    ),
    ReferenceKind(
        "batch_import",
        "BatchImport",
        _by_column(BatchImport, BatchImport.installation_id),
        _installation_of(BatchImport, "installation_id"),
        False,
    ),
    ReferenceKind("batch_import_mapping", "BatchImportMapping", _nothing_in, _no_installation, False),
):
    register(_kind)

# shipments: an invoice or a customs declaration filed as evidence names the shipment it documents
register(
    ReferenceKind(
        "shipment",
        "Shipment",
        _by_column(Shipment, Shipment.installation_id),
        _installation_of(Shipment, "installation_id"),
    )
)
register(
    ReferenceKind(
        "shipment_import",
        "ShipmentImport",
        _by_column(ShipmentImport, ShipmentImport.installation_id),
        _installation_of(ShipmentImport, "installation_id"),
        False,
    )
)


# calculations: a run and the footprint versions it published concern the installation calculated
for _kind in (
    ReferenceKind(
        "calculation_run",
        "CalculationRun",
        _by_column(CalculationRun, CalculationRun.installation_id),
        _installation_of(CalculationRun, "installation_id"),
        False,
    ),
    ReferenceKind(
        "footprint_version",
        "FootprintVersion",
        _by_column(FootprintVersion, FootprintVersion.installation_id),
        _installation_of(FootprintVersion, "installation_id"),
    ),
):
    register(_kind)


def subject_kinds() -> list[str]:
    return sorted(k.name for k in KINDS.values() if k.evidence_subject)


def parse_id(value: str, kind: ReferenceKind) -> uuid.UUID | None:
    """A record id given as a UUID or as the global id another interface shows; None if neither."""
    text = value.strip()
    try:
        return uuid.UUID(text)
    except ValueError:
        pass
    try:
        decoded = base64.b64decode(text, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    type_name, _, node = decoded.partition(":")
    if type_name != kind.graphql_type:
        return None
    try:
        return uuid.UUID(node)
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class ReadLimit:
    """A part of a tenant a read may see: some installations (None: all) and a period (open ends).

    Reads through a grant carry the grant's limits; a client bound to one installation carries
    that installation. A read under several limits sees what any one of them allows.
    """

    installation_ids: frozenset[uuid.UUID] | None = None
    start: datetime | None = None
    end: datetime | None = None
    # footprint shares only: some products (None: all) and CN code prefixes (None: all)
    product_ids: frozenset[uuid.UUID] | None = None
    cn_prefixes: tuple[str, ...] | None = None

    def allows_installation(self, installation_id: uuid.UUID | None) -> bool:
        return self.installation_ids is None or installation_id in self.installation_ids

    def allows_product(self, product_id: uuid.UUID, cn_code: str) -> bool:
        return (self.product_ids is None or product_id in self.product_ids) and (
            self.cn_prefixes is None or any(cn_code.startswith(p) for p in self.cn_prefixes)
        )

    def allows_period(self, start: datetime, end: datetime) -> bool:
        return (self.start is None or start >= self.start) and (self.end is None or end <= self.end)


def bound_limits(principal: object) -> list[ReadLimit] | None:
    """The limit of a machine client bound to one installation, or None for everyone else."""
    installation_id = getattr(principal, "installation_id", None)
    if getattr(principal, "kind", None) == "client" and installation_id is not None:
        return [ReadLimit(frozenset({installation_id}))]
    return None
