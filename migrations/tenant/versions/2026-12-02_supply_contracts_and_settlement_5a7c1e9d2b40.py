"""supply contracts, generation plants, settlement intervals and statements

Revision ID: 5a7c1e9d2b40
Revises: 8e4b2c6d1f37
Create Date: 2026-12-02 13:45:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "5a7c1e9d2b40"
down_revision: str | Sequence[str] | None = "8e4b2c6d1f37"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "generation_plants",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "technology",
            sa.Enum(
                "solar_pv",
                "wind_onshore",
                "wind_offshore",
                "hydro_run_of_river",
                "hydro_reservoir",
                "biomass",
                "biogas",
                "geothermal",
                "natural_gas",
                "coal",
                "oil",
                "chp_gas",
                "other",
                name="planttechnology",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("capacity_kw", sa.Float(), nullable=False),
        sa.Column("commissioning_date", sa.Date(), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=False),
        sa.Column("longitude", sa.Float(), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("bidding_zone", sa.String(length=32), nullable=False),
        sa.Column("metering_point", sa.String(length=64), nullable=False),
        sa.Column("grid_connection_document_id", sa.Uuid(), nullable=True),
        sa.Column("grid_connection_sha256", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("capacity_kw > 0", name=op.f("ck_generation_plants_capacity_positive")),
        sa.ForeignKeyConstraint(
            ["grid_connection_document_id"],
            ["evidence_documents.id"],
            name=op.f("fk_generation_plants_grid_connection_document_id_evidence_documents"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_generation_plants")),
        sa.UniqueConstraint("name", name=op.f("uq_generation_plants_name")),
    )
    op.create_table(
        "settlement_statements",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("connection_id", sa.Uuid(), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=False),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("period_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("volume_mwh", sa.Float(), nullable=False),
        sa.Column("document_id", sa.Uuid(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.String(length=320), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("period_end > period_start", name=op.f("ck_settlement_statements_period_order")),
        sa.CheckConstraint("volume_mwh >= 0", name=op.f("ck_settlement_statements_volume_not_negative")),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["evidence_documents.id"],
            name=op.f("fk_settlement_statements_document_id_evidence_documents"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_settlement_statements")),
    )
    op.create_index(
        "ix_settlement_statements_connection", "settlement_statements", ["connection_id", "period_start"], unique=False
    )
    op.create_table(
        "settlement_uploads",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("connection_id", sa.Uuid(), nullable=False),
        sa.Column("plant_id", sa.Uuid(), nullable=False),
        sa.Column("document_id", sa.Uuid(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "queued",
                "running",
                "completed",
                "rejected",
                "failed",
                name="uploadstatus",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("rows_total", sa.Integer(), nullable=False),
        sa.Column("rows_checked", sa.Integer(), nullable=False),
        sa.Column("rows_accepted", sa.Integer(), nullable=False),
        sa.Column("resolution_s", sa.Integer(), nullable=True),
        sa.Column("energy_wh", sa.BigInteger(), nullable=False),
        sa.Column("errors", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_by", sa.String(length=320), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["evidence_documents.id"],
            name=op.f("fk_settlement_uploads_document_id_evidence_documents"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["plant_id"],
            ["generation_plants.id"],
            name=op.f("fk_settlement_uploads_plant_id_generation_plants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_settlement_uploads")),
    )
    op.create_index(op.f("ix_settlement_uploads_connection_id"), "settlement_uploads", ["connection_id"], unique=False)
    op.create_table(
        "settlement_intervals",
        sa.Column("connection_id", sa.Uuid(), nullable=False),
        sa.Column("interval_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("interval_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolution_s", sa.Integer(), nullable=False),
        sa.Column("energy_wh", sa.BigInteger(), nullable=False),
        sa.Column("quality", sa.SmallInteger(), nullable=False),
        sa.Column("plant_id", sa.Uuid(), nullable=False),
        sa.Column("upload_id", sa.Uuid(), nullable=False),
        sa.CheckConstraint("energy_wh >= 0", name=op.f("ck_settlement_intervals_energy_not_negative")),
        sa.CheckConstraint("interval_end > interval_start", name=op.f("ck_settlement_intervals_interval_order")),
        sa.ForeignKeyConstraint(
            ["plant_id"],
            ["generation_plants.id"],
            name=op.f("fk_settlement_intervals_plant_id_generation_plants"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["upload_id"],
            ["settlement_uploads.id"],
            name=op.f("fk_settlement_intervals_upload_id_settlement_uploads"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("connection_id", "interval_start", name=op.f("pk_settlement_intervals")),
    )
    op.create_index(op.f("ix_settlement_intervals_upload_id"), "settlement_intervals", ["upload_id"], unique=False)
    op.create_table(
        "supply_contracts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("installation_id", sa.Uuid(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("grid", "ppa", "direct_link", "own_generation", name="contractkind", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("reference", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("period_end", sa.DateTime(timezone=True), nullable=True),
        sa.Column("counterparty", sa.String(length=200), nullable=False),
        sa.Column("supplier_factor_id", sa.Uuid(), nullable=True),
        sa.Column("intermediary", sa.String(length=200), nullable=False),
        sa.Column(
            "settlement",
            sa.Enum("physical", "financial", name="ppasettlement", native_enum=False, length=32),
            nullable=True,
        ),
        sa.Column(
            "delivery_shape",
            sa.Enum("pay_as_produced", "baseload", "shaped", name="deliveryshape", native_enum=False, length=32),
            nullable=True,
        ),
        sa.Column("contracted_volume_mwh", sa.Float(), nullable=True),
        sa.Column(
            "balancing_responsibility",
            sa.Enum("buyer", "seller", "supplier", name="balancingresponsibility", native_enum=False, length=32),
            nullable=True,
        ),
        sa.Column("plant_name", sa.String(length=200), nullable=False),
        sa.Column(
            "technology",
            sa.Enum(
                "solar_pv",
                "wind_onshore",
                "wind_offshore",
                "hydro_run_of_river",
                "hydro_reservoir",
                "biomass",
                "biogas",
                "geothermal",
                "natural_gas",
                "coal",
                "oil",
                "chp_gas",
                "other",
                name="planttechnology",
                native_enum=False,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column("capacity_kw", sa.Float(), nullable=True),
        sa.Column("commissioning_date", sa.Date(), nullable=True),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("plant_country", sa.String(length=2), nullable=True),
        sa.Column("bidding_zone", sa.String(length=32), nullable=True),
        sa.Column("generator_meter_id", sa.Uuid(), nullable=True),
        sa.Column("fuel", sa.String(length=120), nullable=False),
        sa.Column("shared_link", sa.Boolean(), nullable=False),
        sa.Column("same_legal_entity", sa.Boolean(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "capacity_kw IS NULL OR capacity_kw > 0", name=op.f("ck_supply_contracts_capacity_positive")
        ),
        sa.CheckConstraint(
            "period_end IS NULL OR period_end > period_start", name=op.f("ck_supply_contracts_period_order")
        ),
        sa.ForeignKeyConstraint(
            ["generator_meter_id"],
            ["meters.id"],
            name=op.f("fk_supply_contracts_generator_meter_id_meters"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["installation_id"],
            ["installations.id"],
            name=op.f("fk_supply_contracts_installation_id_installations"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supply_contracts")),
        sa.UniqueConstraint("installation_id", "reference", name=op.f("uq_supply_contracts_installation_id_reference")),
    )
    op.create_index(op.f("ix_supply_contracts_installation_id"), "supply_contracts", ["installation_id"], unique=False)
    op.create_table(
        "supply_contract_delivery_points",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("contract_id", sa.Uuid(), nullable=False),
        sa.Column("meter_id", sa.Uuid(), nullable=True),
        sa.Column("grid_connection_point_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(meter_id IS NULL) <> (grid_connection_point_id IS NULL)",
            name=op.f("ck_supply_contract_delivery_points_one_target"),
        ),
        sa.ForeignKeyConstraint(
            ["contract_id"],
            ["supply_contracts.id"],
            name=op.f("fk_supply_contract_delivery_points_contract_id_supply_contracts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["grid_connection_point_id"],
            ["grid_connection_points.id"],
            name=op.f("fk_supply_contract_delivery_points_grid_connection_point_id_grid_connection_points"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["meter_id"],
            ["meters.id"],
            name=op.f("fk_supply_contract_delivery_points_meter_id_meters"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supply_contract_delivery_points")),
        sa.UniqueConstraint(
            "contract_id",
            "grid_connection_point_id",
            name=op.f("uq_supply_contract_delivery_points_contract_id_grid_connection_point_id"),
        ),
        sa.UniqueConstraint(
            "contract_id", "meter_id", name=op.f("uq_supply_contract_delivery_points_contract_id_meter_id")
        ),
    )
    op.create_index(
        op.f("ix_supply_contract_delivery_points_contract_id"),
        "supply_contract_delivery_points",
        ["contract_id"],
        unique=False,
    )
    op.create_table(
        "supply_contract_documents",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("contract_id", sa.Uuid(), nullable=False),
        sa.Column("document_id", sa.Uuid(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "contract",
                "tripartite_contract",
                "grid_connection",
                "single_line_diagram",
                "offtake_agreement",
                "supplier_disclosure",
                "invoice",
                "meter_data",
                "other",
                name="documentrole",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["contract_id"],
            ["supply_contracts.id"],
            name=op.f("fk_supply_contract_documents_contract_id_supply_contracts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["evidence_documents.id"],
            name=op.f("fk_supply_contract_documents_document_id_evidence_documents"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supply_contract_documents")),
        sa.UniqueConstraint(
            "contract_id", "document_id", "role", name=op.f("uq_supply_contract_documents_contract_id_document_id_role")
        ),
    )
    op.create_index(
        op.f("ix_supply_contract_documents_contract_id"), "supply_contract_documents", ["contract_id"], unique=False
    )
    op.create_index("ix_supply_contract_documents_sha256", "supply_contract_documents", ["sha256"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_supply_contract_documents_sha256", table_name="supply_contract_documents")
    op.drop_index(op.f("ix_supply_contract_documents_contract_id"), table_name="supply_contract_documents")
    op.drop_table("supply_contract_documents")
    op.drop_index(op.f("ix_supply_contract_delivery_points_contract_id"), table_name="supply_contract_delivery_points")
    op.drop_table("supply_contract_delivery_points")
    op.drop_index(op.f("ix_supply_contracts_installation_id"), table_name="supply_contracts")
    op.drop_table("supply_contracts")
    op.drop_index(op.f("ix_settlement_intervals_upload_id"), table_name="settlement_intervals")
    op.drop_table("settlement_intervals")
    op.drop_index(op.f("ix_settlement_uploads_connection_id"), table_name="settlement_uploads")
    op.drop_table("settlement_uploads")
    op.drop_index("ix_settlement_statements_connection", table_name="settlement_statements")
    op.drop_table("settlement_statements")
    op.drop_table("generation_plants")
