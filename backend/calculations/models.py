"""The calculation domain's tables (tenant schema): runs of the engine over an installation and period,
their results per batch and per product, the validation checks of each run, and the footprint versions
a successful run publishes per product and period.

A run's results are written in one transaction when the engine has finished, so a run either has all
its results or none. A footprint version is never changed or deleted (a trigger refuses it for every
role): a later run adds a new version that supersedes it.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    DDL,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy import text as sql_text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import TenantBase, new_id, str_enum, utcnow


class RunStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # nothing of the run's results is stored; error_code and error_message say why
    CANCELLED = "cancelled"  # stopped on request between two stages; nothing stored


ACTIVE_STATUSES = (RunStatus.QUEUED, RunStatus.RUNNING)


class CalculationRun(TenantBase):
    """One calculation of an installation over a period of whole local days, with what went in and came out."""

    __tablename__ = "calculation_runs"
    __table_args__ = (
        CheckConstraint("period_end > period_start", name="period_order"),
        CheckConstraint("progress >= 0 AND progress <= 1", name="progress_share"),
        # a second submission of the same calculation while one is queued or running is that one
        Index(
            "uq_calculation_runs_active_job_id",
            "job_id",
            unique=True,
            postgresql_where=sql_text("status IN ('queued', 'running')"),
        ),
        Index("ix_calculation_runs_installation_id_created_at", "installation_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    installation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("installations.id", ondelete="RESTRICT"))
    # [period_start, period_end) in UTC, on the installation's local midnights
    period_start: Mapped[datetime]
    period_end: Mapped[datetime]
    matching_resolution: Mapped[str] = mapped_column(String(16))
    parameters: Mapped[dict[str, Any]] = mapped_column(JSONB)
    methodology_version: Mapped[str] = mapped_column(String(32))
    status: Mapped[RunStatus] = mapped_column(str_enum(RunStatus, length=16), default=RunStatus.QUEUED)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    stage: Mapped[str] = mapped_column(String(64), default="queued")
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    # calc:{tenant}:{installation}:{period}:{parameters hash}: the same calculation has the same key
    job_id: Mapped[str] = mapped_column(String(200))
    # content hashes of every input (interval days, batches, contracts, settlement, factor versions),
    # with the methodology version and the parameters
    manifest: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    inputs_digest: Mapped[str | None] = mapped_column(String(64))
    output_digest: Mapped[str | None] = mapped_column(String(64))
    # the installation's figures: consumption, unallocated, matching scores, fallback intervals, ...
    summary: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    # [{"code": ..., "message": ...}]
    warnings: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]


# the per-batch figures stored in run_batch_results, in their column order
BATCH_FIGURES = (
    "net_mass_t",
    "energy_kwh",
    "line_kwh",
    "overhead_kwh",
    "idle_kwh",
    "matched_kwh",
    "direct_tco2",
    "precursor_direct_tco2",
    "precursor_indirect_tco2",
    "indirect_tco2",
    "measured_share",
    "estimated_share",
    "missing_share",
)


class RunBatchResult(TenantBase):
    """What one batch received in one run: its energy by origin, emissions and data quality."""

    __tablename__ = "run_batch_results"
    __table_args__ = (UniqueConstraint("run_id", "batch_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    run_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("calculation_runs.id", ondelete="CASCADE"))
    # the batch as it was in the run: no foreign key, so a result outlives a later change of the batch
    batch_id: Mapped[uuid.UUID]
    batch_number: Mapped[str] = mapped_column(String(64))
    product_id: Mapped[uuid.UUID]
    line_id: Mapped[uuid.UUID | None]
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime]
    net_mass_t: Mapped[float] = mapped_column(Float)
    energy_kwh: Mapped[float] = mapped_column(Float)
    line_kwh: Mapped[float] = mapped_column(Float)
    overhead_kwh: Mapped[float] = mapped_column(Float)
    idle_kwh: Mapped[float] = mapped_column(Float)
    matched_kwh: Mapped[float] = mapped_column(Float)
    direct_tco2: Mapped[float] = mapped_column(Float)
    precursor_direct_tco2: Mapped[float] = mapped_column(Float)
    precursor_indirect_tco2: Mapped[float] = mapped_column(Float)
    indirect_tco2: Mapped[float] = mapped_column(Float)
    measured_share: Mapped[float] = mapped_column(Float)
    estimated_share: Mapped[float] = mapped_column(Float)
    missing_share: Mapped[float] = mapped_column(Float)
    # {source id: matched kWh}
    matched_by_source: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)


class RunProductResult(TenantBase):
    """A product's specific embedded emissions in one run, with the default comparison and the breakdown."""

    __tablename__ = "run_product_results"
    __table_args__ = (UniqueConstraint("run_id", "product_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    run_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("calculation_runs.id", ondelete="CASCADE"))
    product_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("products.id", ondelete="RESTRICT"))
    product_code: Mapped[str] = mapped_column(String(64))
    cn_code: Mapped[str] = mapped_column(String(8))
    batches: Mapped[int] = mapped_column(Integer)
    net_mass_t: Mapped[float] = mapped_column(Float)
    electricity_mwh_per_t: Mapped[float | None] = mapped_column(Float)
    see_direct: Mapped[float | None] = mapped_column(Float)
    see_indirect: Mapped[float | None] = mapped_column(Float)
    see_total: Mapped[float | None] = mapped_column(Float)
    see_obligation: Mapped[float | None] = mapped_column(Float)
    indirect_counts: Mapped[bool]
    precursor_defaulted: Mapped[bool]
    # the default comparison ({default see, exposure EUR actual and default, certificate price, refs})
    defaults: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    # per line / source / factor / tier, each figure with its method and reference
    breakdown: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    data_quality: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)


class RunLineSeries(TenantBase):
    """What powered one line hour by hour in one run: packed arrays, one value per hour of the run's period.

    Hour ``h`` starts ``h`` hours after ``first_hour`` (the period's start, a local midnight, so every
    hour is a local hour). Arrays are little-endian: ``energy_kwh``, ``matched_kwh`` and ``factor``
    (tCO2e/MWh applied to the hour's energy; NaN when the line drew nothing) float64; ``factor_mask``
    uint32, bit ``i`` set when ``factor_refs[i]`` contributed to the hour's factor.
    """

    __tablename__ = "run_line_series"
    __table_args__ = (CheckConstraint("hours > 0", name="hours_positive"),)

    run_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("calculation_runs.id", ondelete="CASCADE"), primary_key=True)
    line_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    line_code: Mapped[str] = mapped_column(String(64))
    first_hour: Mapped[datetime]
    hours: Mapped[int] = mapped_column(Integer)
    energy_kwh: Mapped[bytes] = mapped_column(LargeBinary)
    matched_kwh: Mapped[bytes] = mapped_column(LargeBinary)
    factor: Mapped[bytes] = mapped_column(LargeBinary)
    factor_mask: Mapped[bytes] = mapped_column(LargeBinary)
    # the factor references the mask's bits name, the grid default's first
    factor_refs: Mapped[list[str]] = mapped_column(JSONB, default=list)


class CheckStatus(enum.StrEnum):
    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"


class RunValidationCheck(TenantBase):
    """One check of a run's validation report, with the numbers it judged."""

    __tablename__ = "run_validation_checks"
    __table_args__ = (UniqueConstraint("run_id", "position"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    run_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("calculation_runs.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(200), default="")  # the meter, product or batch checked
    status: Mapped[CheckStatus] = mapped_column(str_enum(CheckStatus, length=8))
    message: Mapped[str] = mapped_column(Text)
    figures: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)


class FootprintVersion(TenantBase):
    """One version of a product's footprint at an installation over a period, as one run computed it.

    Never changed: the next successful run for the same product, installation and period adds the
    next version, which names the one it supersedes.
    """

    __tablename__ = "footprint_versions"
    __table_args__ = (
        UniqueConstraint(
            "product_id",
            "installation_id",
            "period_start",
            "period_end",
            "version",
            name="uq_footprint_versions_product_period_version",
        ),
        CheckConstraint("version >= 1", name="version_positive"),
        Index("ix_footprint_versions_run_id", "run_id"),
        Index("ix_footprint_versions_installation_id_period_start", "installation_id", "period_start"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    product_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("products.id", ondelete="RESTRICT"))
    installation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("installations.id", ondelete="RESTRICT"))
    period_start: Mapped[datetime]
    period_end: Mapped[datetime]
    version: Mapped[int] = mapped_column(Integer)
    run_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("calculation_runs.id", ondelete="RESTRICT"))
    methodology_version: Mapped[str] = mapped_column(String(32))
    net_mass_t: Mapped[float] = mapped_column(Float)
    see_direct: Mapped[float | None] = mapped_column(Float)
    see_indirect: Mapped[float | None] = mapped_column(Float)
    see_total: Mapped[float | None] = mapped_column(Float)
    see_obligation: Mapped[float | None] = mapped_column(Float)
    # every figure of the product result: electricity intensity, defaults, exposure, flags
    figures: Mapped[dict[str, Any]] = mapped_column(JSONB)
    breakdown: Mapped[dict[str, Any]] = mapped_column(JSONB)
    data_quality: Mapped[dict[str, Any]] = mapped_column(JSONB)
    manifest: Mapped[dict[str, Any]] = mapped_column(JSONB)
    output_digest: Mapped[str] = mapped_column(String(64))
    supersedes_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("footprint_versions.id", ondelete="RESTRICT"), unique=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# A footprint version is a published figure: PostgreSQL refuses to change or delete it, for every role.
IMMUTABLE_FOOTPRINTS_DDL = """
CREATE OR REPLACE FUNCTION footprint_versions_immutable() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
  RAISE EXCEPTION 'a footprint version is immutable: a new run adds the next version'
    USING ERRCODE = 'insufficient_privilege';
END $f$;
CREATE TRIGGER footprint_versions_immutable BEFORE UPDATE OR DELETE ON footprint_versions
  FOR EACH ROW EXECUTE FUNCTION footprint_versions_immutable();
""".strip()

event.listen(FootprintVersion.__table__, "after_create", DDL(IMMUTABLE_FOOTPRINTS_DDL))


class RunReproduction(TenantBase):
    """One re-computation of a succeeded run from the data stored now, by the exporter or a verifier.

    The inputs are loaded again as the run loaded them and the engine runs again: the record says whether
    the inputs and the output still give the run's digests and, when they do not, which inputs changed
    (each named by its place in the manifest, with the digest recorded then and the one found now).
    """

    __tablename__ = "run_reproductions"
    __table_args__ = (Index("ix_run_reproductions_run_id_created_at", "run_id", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    run_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("calculation_runs.id", ondelete="CASCADE"))
    # who asked: a user or client of this organisation, or of another one through its grant
    requested_by: Mapped[str] = mapped_column(String(320))
    requested_by_tenant_id: Mapped[uuid.UUID]
    recorded_inputs_digest: Mapped[str] = mapped_column(String(64))
    recorded_output_digest: Mapped[str] = mapped_column(String(64))
    # null when the inputs could not be loaded any more (error_code says why)
    inputs_digest: Mapped[str | None] = mapped_column(String(64))
    output_digest: Mapped[str | None] = mapped_column(String(64))
    inputs_match: Mapped[bool]
    output_matches: Mapped[bool]
    changed_inputs: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    methodology_version: Mapped[str] = mapped_column(String(32))
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(Text)
    duration_s: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
