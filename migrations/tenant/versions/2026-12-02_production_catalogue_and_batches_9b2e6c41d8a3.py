"""production: products, production batches (no overlap per line), precursors, MES mappings and imports

Revision ID: 9b2e6c41d8a3
Revises: f5637afb2b74
Create Date: 2026-12-02 13:40:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "9b2e6c41d8a3"
down_revision: str | Sequence[str] | None = "049a8fbb55ee"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


LINE_KEY = "numrange(hashtextextended(line_id::text, 0)::numeric, hashtextextended(line_id::text, 0)::numeric, '[]')"


def upgrade() -> None:
    op.create_table(
        "products",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("cn_code", sa.String(length=8), nullable=False),
        sa.Column("goods_category", sa.String(length=64), nullable=False),
        sa.Column("production_route", sa.String(length=32), nullable=False),
        sa.Column("scrap_t_per_t", sa.Float(), nullable=True),
        sa.Column("pre_consumer_scrap_share", sa.Float(), nullable=True),
        sa.Column("non_aluminium_share", sa.Float(), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("cn_code ~ '^[0-9]{8}$'", name=op.f("ck_products_cn_code_8_digits")),
        sa.CheckConstraint("scrap_t_per_t IS NULL OR scrap_t_per_t >= 0", name=op.f("ck_products_scrap_not_negative")),
        sa.CheckConstraint(
            "pre_consumer_scrap_share IS NULL OR pre_consumer_scrap_share BETWEEN 0 AND 1",
            name=op.f("ck_products_pre_consumer_share"),
        ),
        sa.CheckConstraint(
            "non_aluminium_share IS NULL OR non_aluminium_share BETWEEN 0 AND 1",
            name=op.f("ck_products_non_aluminium_share"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_products")),
        sa.UniqueConstraint("code", name=op.f("uq_products_code")),
    )
    op.create_table(
        "production_batches",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("installation_id", sa.Uuid(), nullable=False),
        sa.Column("batch_number", sa.String(length=64), nullable=False),
        sa.Column("line_id", sa.Uuid(), nullable=True),
        sa.Column("process_id", sa.Uuid(), nullable=True),
        sa.Column("product_id", sa.Uuid(), nullable=False),
        sa.Column("alloy", sa.String(length=32), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "period",
            postgresql.TSTZRANGE(),
            sa.Computed("tstzrange(started_at, ended_at, '[)')", persisted=True),
            nullable=False,
        ),
        # the line as a one-point range: the exclusion constraint needs only built-in GiST operators
        sa.Column("line_key", postgresql.NUMRANGE(), sa.Computed(LINE_KEY, persisted=True), nullable=True),
        sa.Column("net_mass_t", sa.Float(), nullable=False),
        sa.Column("scrap_t", sa.Float(), nullable=False),
        sa.Column("order_ref", sa.String(length=120), nullable=False),
        sa.Column("shipment_ref", sa.String(length=120), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("source_ref", sa.String(length=320), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("ended_at > started_at", name=op.f("ck_production_batches_ends_after_start")),
        sa.CheckConstraint("net_mass_t > 0", name=op.f("ck_production_batches_net_mass_positive")),
        sa.CheckConstraint("scrap_t >= 0", name=op.f("ck_production_batches_scrap_not_negative")),
        sa.CheckConstraint(
            "line_id IS NOT NULL OR process_id IS NOT NULL", name=op.f("ck_production_batches_line_or_process")
        ),
        sa.ForeignKeyConstraint(
            ["installation_id"],
            ["installations.id"],
            name=op.f("fk_production_batches_installation_id_installations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["line_id"],
            ["production_lines.id"],
            name=op.f("fk_production_batches_line_id_production_lines"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["process_id"],
            ["production_processes.id"],
            name=op.f("fk_production_batches_process_id_production_processes"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_production_batches_product_id_products"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_production_batches")),
        sa.UniqueConstraint(
            "installation_id", "batch_number", name=op.f("uq_production_batches_installation_id_batch_number")
        ),
        postgresql.ExcludeConstraint(
            ("line_key", "&&"),
            ("period", "&&"),
            name="production_batches_line_period_excl",
            using="gist",
            where=sa.text("line_id IS NOT NULL"),
        ),
    )
    op.create_index(
        "ix_production_batches_installation_id_started_at",
        "production_batches",
        ["installation_id", "started_at"],
    )
    op.create_index("ix_production_batches_product_id", "production_batches", ["product_id"])
    op.create_table(
        "batch_precursors",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("batch_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("cn_code", sa.String(length=8), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.Column("mass_t", sa.Float(), nullable=False),
        sa.Column("supplier_installation", sa.String(length=200), nullable=False),
        sa.Column("supplier_installation_id", sa.String(length=64), nullable=False),
        sa.Column("embedded_tco2e_per_t", sa.Float(), nullable=True),
        sa.Column("emissions_source", sa.String(length=300), nullable=False),
        sa.CheckConstraint("mass_t > 0", name=op.f("ck_batch_precursors_mass_positive")),
        sa.CheckConstraint(
            "embedded_tco2e_per_t IS NULL OR (embedded_tco2e_per_t >= 0 AND emissions_source <> '')",
            name=op.f("ck_batch_precursors_emissions_with_source"),
        ),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["production_batches.id"],
            name=op.f("fk_batch_precursors_batch_id_production_batches"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_batch_precursors")),
        sa.UniqueConstraint("batch_id", "position", name=op.f("uq_batch_precursors_batch_id_position")),
    )
    op.create_table(
        "batch_import_mappings",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("columns", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("date_format", sa.String(length=64), nullable=False),
        sa.Column("mass_unit", sa.String(length=8), nullable=False),
        sa.Column("delimiter", sa.String(length=1), nullable=False),
        sa.Column("decimal", sa.String(length=1), nullable=False),
        sa.Column("sheet", sa.String(length=120), nullable=False),
        sa.Column("created_by", sa.String(length=320), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_batch_import_mappings")),
        sa.UniqueConstraint("name", name=op.f("uq_batch_import_mappings_name")),
    )
    op.create_table(
        "batch_imports",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("installation_id", sa.Uuid(), nullable=False),
        sa.Column("mapping_id", sa.Uuid(), nullable=True),
        sa.Column("mapping", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("document_id", sa.Uuid(), nullable=False),
        sa.Column("file_format", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("rows_total", sa.Integer(), nullable=False),
        sa.Column("rows_done", sa.Integer(), nullable=False),
        sa.Column("batches_stored", sa.Integer(), nullable=False),
        sa.Column("errors", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_by", sa.String(length=320), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["evidence_documents.id"],
            name=op.f("fk_batch_imports_document_id_evidence_documents"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["installation_id"],
            ["installations.id"],
            name=op.f("fk_batch_imports_installation_id_installations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["mapping_id"],
            ["batch_import_mappings.id"],
            name=op.f("fk_batch_imports_mapping_id_batch_import_mappings"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_batch_imports")),
    )
    op.create_index("ix_batch_imports_installation_id", "batch_imports", ["installation_id"])


def downgrade() -> None:
    op.drop_index("ix_batch_imports_installation_id", table_name="batch_imports")
    op.drop_table("batch_imports")
    op.drop_table("batch_import_mappings")
    op.drop_table("batch_precursors")
    op.drop_index("ix_production_batches_product_id", table_name="production_batches")
    op.drop_index("ix_production_batches_installation_id_started_at", table_name="production_batches")
    op.drop_table("production_batches")
    op.drop_table("products")
