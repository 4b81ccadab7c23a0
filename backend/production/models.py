"""The production domain's tables (tenant schema): the product catalogue, production batches with
the precursors they consumed, the MES exporter's saved column mappings and batch file imports.

The CBAM goods list (Annex I) is packaged data, not a table: ``backend.production.goods``.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, Computed, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB, NUMRANGE, TSTZRANGE, ExcludeConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import TenantBase, key_range_sql, new_id, str_enum, utcnow


class ProductionRoute(enum.StrEnum):
    """Routes of [IR2547] Annex I 3.17-3.18 and [TPL] Parameters_Constants (methodology c.2)."""

    PRIMARY_SMELTING = "primary_smelting"  # unwrought aluminium, primary (electrolytic) smelting
    SECONDARY_MELTING = "secondary_melting"  # unwrought aluminium, secondary melting (recycling)
    ALL_ROUTES = "all_routes"  # aluminium products: "All production routes"
    OTHER = "other"
    UNKNOWN = "unknown"


class Product(TenantBase):
    """A good the tenant produces: its CN code (checked against Annex I) and qualifying parameters."""

    __tablename__ = "products"
    __table_args__ = (
        UniqueConstraint("code"),
        CheckConstraint("cn_code ~ '^[0-9]{8}$'", name="cn_code_8_digits"),
        CheckConstraint("scrap_t_per_t IS NULL OR scrap_t_per_t >= 0", name="scrap_not_negative"),
        CheckConstraint(
            "pre_consumer_scrap_share IS NULL OR pre_consumer_scrap_share BETWEEN 0 AND 1", name="pre_consumer_share"
        ),
        CheckConstraint(
            "non_aluminium_share IS NULL OR non_aluminium_share BETWEEN 0 AND 1", name="non_aluminium_share"
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    # the exporter's own article number, as the MES names the product
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    cn_code: Mapped[str] = mapped_column(String(8))
    # the aggregated goods category of the CN code, from the goods list when the product was saved
    goods_category: Mapped[str] = mapped_column(String(64))
    production_route: Mapped[ProductionRoute] = mapped_column(str_enum(ProductionRoute))
    # qualifying parameters ([IR2547] Annex IV point 2), aluminium
    scrap_t_per_t: Mapped[float | None] = mapped_column(Float)
    pre_consumer_scrap_share: Mapped[float | None] = mapped_column(Float)  # 0..1 of that scrap
    non_aluminium_share: Mapped[float | None] = mapped_column(Float)  # 0..1, reported when above 1 %
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class BatchSource(enum.StrEnum):
    API = "api"  # GraphQL mutation
    FILE = "file"  # an MES export through a saved mapping
    STREAM = "stream"  # posted by the MES when the batch closed


LINE_KEY_SQL = key_range_sql("line_id")


class ProductionBatch(TenantBase):
    """What one line (or process) produced in one run: output, scrap, times in UTC.

    Batches on one line never overlap: PostgreSQL refuses it (an exclusion constraint over the
    run's time range per line), so concurrent posts cannot both win.
    """

    __tablename__ = "production_batches"
    __table_args__ = (
        UniqueConstraint("installation_id", "batch_number"),
        CheckConstraint("ended_at > started_at", name="ends_after_start"),
        CheckConstraint("net_mass_t > 0", name="net_mass_positive"),
        CheckConstraint("scrap_t >= 0", name="scrap_not_negative"),
        CheckConstraint("line_id IS NOT NULL OR process_id IS NOT NULL", name="line_or_process"),
        ExcludeConstraint(
            ("line_key", "&&"),
            ("period", "&&"),
            name="production_batches_line_period_excl",
            using="gist",
            where="line_id IS NOT NULL",
        ),
        Index("ix_production_batches_installation_id_started_at", "installation_id", "started_at"),
        Index("ix_production_batches_product_id", "product_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    installation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("installations.id", ondelete="CASCADE"))
    batch_number: Mapped[str] = mapped_column(String(64))
    line_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("production_lines.id", ondelete="RESTRICT"))
    process_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("production_processes.id", ondelete="RESTRICT"))
    product_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("products.id", ondelete="RESTRICT"))
    alloy: Mapped[str] = mapped_column(String(32), default="")
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime]
    # [started_at, ended_at): half-open, so a batch may start when the previous one ends
    period: Mapped[object] = mapped_column(TSTZRANGE, Computed("tstzrange(started_at, ended_at, '[)')", persisted=True))
    # the line as a one-point range: "same line, overlapping period" with built-in GiST operators only
    line_key: Mapped[object | None] = mapped_column(NUMRANGE, Computed(LINE_KEY_SQL, persisted=True))
    net_mass_t: Mapped[float] = mapped_column(Float)
    scrap_t: Mapped[float] = mapped_column(Float, default=0.0)
    order_ref: Mapped[str] = mapped_column(String(120), default="")
    shipment_ref: Mapped[str] = mapped_column(String(120), default="")
    source: Mapped[BatchSource] = mapped_column(str_enum(BatchSource, length=16))
    # the import's id, the client that posted it, or the user
    source_ref: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class BatchPrecursor(TenantBase):
    """A precursor a batch consumed, with its embedded emissions when known and where that figure comes from."""

    __tablename__ = "batch_precursors"
    __table_args__ = (
        UniqueConstraint("batch_id", "position"),
        CheckConstraint("mass_t > 0", name="mass_positive"),
        CheckConstraint(
            "embedded_tco2e_per_t IS NULL OR (embedded_tco2e_per_t >= 0 AND emissions_source <> '')",
            name="emissions_with_source",
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    batch_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("production_batches.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    cn_code: Mapped[str] = mapped_column(String(8), default="")
    description: Mapped[str] = mapped_column(String(200), default="")
    mass_t: Mapped[float] = mapped_column(Float)
    # the installation that produced it: its name and, when known, its CBAM installation id
    supplier_installation: Mapped[str] = mapped_column(String(200), default="")
    supplier_installation_id: Mapped[str] = mapped_column(String(64), default="")
    # specific embedded emissions of the precursor, tCO2e per tonne, when known
    embedded_tco2e_per_t: Mapped[float | None] = mapped_column(Float)
    # where that figure comes from (e.g. "supplier communication 2026-Q1", "IR 2025/2621 default")
    emissions_source: Mapped[str] = mapped_column(String(300), default="")


class BatchImportMapping(TenantBase):
    """A named, saved mapping of an MES export's columns to batch fields, with time zone, date format and mass unit."""

    __tablename__ = "batch_import_mappings"
    __table_args__ = (UniqueConstraint("name"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(120))
    # {"batch_number": "Charge", "line": "Anlage", ...}: field -> column header
    columns: Mapped[dict[str, str]] = mapped_column(JSONB)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    date_format: Mapped[str] = mapped_column(String(64), default="iso")
    mass_unit: Mapped[str] = mapped_column(String(8), default="t")
    delimiter: Mapped[str] = mapped_column(String(1), default=",")
    decimal: Mapped[str] = mapped_column(String(1), default=".")
    sheet: Mapped[str] = mapped_column(String(120), default="")  # Excel: the sheet to read; empty: the first
    created_by: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class BatchImportStatus(enum.StrEnum):
    QUEUED = "queued"
    PROCESSING = "processing"
    COMPLETED = "completed"
    REJECTED = "rejected"  # a row failed a check: nothing of the file is stored
    FAILED = "failed"  # the import could not run to its end: nothing stored


class BatchImport(TenantBase):
    """One MES export queued for import: the file (evidence, by hash), the mapping used, progress and report."""

    __tablename__ = "batch_imports"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    installation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("installations.id", ondelete="CASCADE"), index=True)
    mapping_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("batch_import_mappings.id", ondelete="SET NULL"))
    # the mapping as it was when the file was submitted
    mapping: Mapped[dict[str, object]] = mapped_column(JSONB)
    document_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("evidence_documents.id", ondelete="RESTRICT"))
    file_format: Mapped[str] = mapped_column(String(8))  # csv | xlsx
    status: Mapped[BatchImportStatus] = mapped_column(
        str_enum(BatchImportStatus, length=16), default=BatchImportStatus.QUEUED
    )
    rows_total: Mapped[int] = mapped_column(Integer, default=0)
    rows_done: Mapped[int] = mapped_column(Integer, default=0)
    batches_stored: Mapped[int] = mapped_column(Integer, default=0)
    # [{"row": 17, "field": "netMassT", "column": "Netto kg", "code": "MASS_NOT_POSITIVE", "message": "..."}]
    errors: Mapped[list[dict[str, object]]] = mapped_column(JSONB, default=list)
    created_by: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
