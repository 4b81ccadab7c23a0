"""calculation runs with their batch, product and validation results; immutable footprint versions

Revision ID: 4fcca451b24a
Revises: a7c3e1f08d62
Create Date: 2026-12-02 16:46:36

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "4fcca451b24a"
down_revision: str | Sequence[str] | None = "a7c3e1f08d62"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# a footprint version is a published figure: never changed, never deleted (a new run adds the next one)
IMMUTABLE_FOOTPRINTS_DDL = """
CREATE OR REPLACE FUNCTION footprint_versions_immutable() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
  RAISE EXCEPTION 'a footprint version is immutable: a new run adds the next version'
    USING ERRCODE = 'insufficient_privilege';
END $f$;
CREATE TRIGGER footprint_versions_immutable BEFORE UPDATE OR DELETE ON footprint_versions
  FOR EACH ROW EXECUTE FUNCTION footprint_versions_immutable();
""".strip()


def upgrade() -> None:
    op.create_table(
        "calculation_runs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("installation_id", sa.Uuid(), nullable=False),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("period_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("matching_resolution", sa.String(length=16), nullable=False),
        sa.Column("parameters", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("methodology_version", sa.String(length=32), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "queued", "running", "succeeded", "failed", "cancelled", name="runstatus", native_enum=False, length=16
            ),
            nullable=False,
        ),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("stage", sa.String(length=64), nullable=False),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("job_id", sa.String(length=200), nullable=False),
        sa.Column("manifest", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("inputs_digest", sa.String(length=64), nullable=True),
        sa.Column("output_digest", sa.String(length=64), nullable=True),
        sa.Column("summary", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("warnings", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("error_code", sa.String(length=64), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(length=320), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("period_end > period_start", name=op.f("ck_calculation_runs_period_order")),
        sa.CheckConstraint("progress >= 0 AND progress <= 1", name=op.f("ck_calculation_runs_progress_share")),
        sa.ForeignKeyConstraint(
            ["installation_id"],
            ["installations.id"],
            name=op.f("fk_calculation_runs_installation_id_installations"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calculation_runs")),
    )
    op.create_index(
        "ix_calculation_runs_installation_id_created_at",
        "calculation_runs",
        ["installation_id", "created_at"],
        unique=False,
    )
    op.create_index(
        "uq_calculation_runs_active_job_id",
        "calculation_runs",
        ["job_id"],
        unique=True,
        postgresql_where=sa.text("status IN ('queued', 'running')"),
    )
    op.create_table(
        "footprint_versions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("product_id", sa.Uuid(), nullable=False),
        sa.Column("installation_id", sa.Uuid(), nullable=False),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("period_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Uuid(), nullable=False),
        sa.Column("methodology_version", sa.String(length=32), nullable=False),
        sa.Column("net_mass_t", sa.Float(), nullable=False),
        sa.Column("see_direct", sa.Float(), nullable=True),
        sa.Column("see_indirect", sa.Float(), nullable=True),
        sa.Column("see_total", sa.Float(), nullable=True),
        sa.Column("see_obligation", sa.Float(), nullable=True),
        sa.Column("figures", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("breakdown", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("data_quality", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("manifest", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("output_digest", sa.String(length=64), nullable=False),
        sa.Column("supersedes_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("version >= 1", name=op.f("ck_footprint_versions_version_positive")),
        sa.ForeignKeyConstraint(
            ["installation_id"],
            ["installations.id"],
            name=op.f("fk_footprint_versions_installation_id_installations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_footprint_versions_product_id_products"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["calculation_runs.id"],
            name=op.f("fk_footprint_versions_run_id_calculation_runs"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["supersedes_id"],
            ["footprint_versions.id"],
            name=op.f("fk_footprint_versions_supersedes_id_footprint_versions"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_footprint_versions")),
        sa.UniqueConstraint(
            "product_id",
            "installation_id",
            "period_start",
            "period_end",
            "version",
            name="uq_footprint_versions_product_period_version",
        ),
        sa.UniqueConstraint("supersedes_id", name=op.f("uq_footprint_versions_supersedes_id")),
    )
    op.create_index(
        "ix_footprint_versions_installation_id_period_start",
        "footprint_versions",
        ["installation_id", "period_start"],
        unique=False,
    )
    op.create_index("ix_footprint_versions_run_id", "footprint_versions", ["run_id"], unique=False)
    # one statement per call: asyncpg prepares each, and a prepared statement holds one command
    function, trigger = IMMUTABLE_FOOTPRINTS_DDL.split("\nCREATE TRIGGER")
    op.execute(function)
    op.execute("CREATE TRIGGER" + trigger)
    op.create_table(
        "run_batch_results",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("run_id", sa.Uuid(), nullable=False),
        sa.Column("batch_id", sa.Uuid(), nullable=False),
        sa.Column("batch_number", sa.String(length=64), nullable=False),
        sa.Column("product_id", sa.Uuid(), nullable=False),
        sa.Column("line_id", sa.Uuid(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("net_mass_t", sa.Float(), nullable=False),
        sa.Column("energy_kwh", sa.Float(), nullable=False),
        sa.Column("line_kwh", sa.Float(), nullable=False),
        sa.Column("overhead_kwh", sa.Float(), nullable=False),
        sa.Column("idle_kwh", sa.Float(), nullable=False),
        sa.Column("matched_kwh", sa.Float(), nullable=False),
        sa.Column("direct_tco2", sa.Float(), nullable=False),
        sa.Column("precursor_direct_tco2", sa.Float(), nullable=False),
        sa.Column("precursor_indirect_tco2", sa.Float(), nullable=False),
        sa.Column("indirect_tco2", sa.Float(), nullable=False),
        sa.Column("measured_share", sa.Float(), nullable=False),
        sa.Column("estimated_share", sa.Float(), nullable=False),
        sa.Column("missing_share", sa.Float(), nullable=False),
        sa.Column("matched_by_source", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["calculation_runs.id"],
            name=op.f("fk_run_batch_results_run_id_calculation_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_run_batch_results")),
        sa.UniqueConstraint("run_id", "batch_id", name=op.f("uq_run_batch_results_run_id_batch_id")),
    )
    op.create_table(
        "run_product_results",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("run_id", sa.Uuid(), nullable=False),
        sa.Column("product_id", sa.Uuid(), nullable=False),
        sa.Column("product_code", sa.String(length=64), nullable=False),
        sa.Column("cn_code", sa.String(length=8), nullable=False),
        sa.Column("batches", sa.Integer(), nullable=False),
        sa.Column("net_mass_t", sa.Float(), nullable=False),
        sa.Column("electricity_mwh_per_t", sa.Float(), nullable=True),
        sa.Column("see_direct", sa.Float(), nullable=True),
        sa.Column("see_indirect", sa.Float(), nullable=True),
        sa.Column("see_total", sa.Float(), nullable=True),
        sa.Column("see_obligation", sa.Float(), nullable=True),
        sa.Column("indirect_counts", sa.Boolean(), nullable=False),
        sa.Column("precursor_defaulted", sa.Boolean(), nullable=False),
        sa.Column("defaults", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("breakdown", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("data_quality", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_run_product_results_product_id_products"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["calculation_runs.id"],
            name=op.f("fk_run_product_results_run_id_calculation_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_run_product_results")),
        sa.UniqueConstraint("run_id", "product_id", name=op.f("uq_run_product_results_run_id_product_id")),
    )
    op.create_table(
        "run_validation_checks",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("run_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column(
            "status", sa.Enum("pass", "warn", "fail", name="checkstatus", native_enum=False, length=8), nullable=False
        ),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("figures", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["calculation_runs.id"],
            name=op.f("fk_run_validation_checks_run_id_calculation_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_run_validation_checks")),
        sa.UniqueConstraint("run_id", "position", name=op.f("uq_run_validation_checks_run_id_position")),
    )


def downgrade() -> None:
    op.drop_table("run_validation_checks")
    op.drop_table("run_product_results")
    op.drop_table("run_batch_results")
    op.execute("DROP TRIGGER footprint_versions_immutable ON footprint_versions")
    op.execute("DROP FUNCTION footprint_versions_immutable()")
    op.drop_index("ix_footprint_versions_run_id", table_name="footprint_versions")
    op.drop_index("ix_footprint_versions_installation_id_period_start", table_name="footprint_versions")
    op.drop_table("footprint_versions")
    op.drop_index(
        "uq_calculation_runs_active_job_id",
        table_name="calculation_runs",
        postgresql_where=sa.text("status IN ('queued', 'running')"),
    )
    op.drop_index("ix_calculation_runs_installation_id_created_at", table_name="calculation_runs")
    op.drop_table("calculation_runs")
