"""PPA connections between developers and offtakers; contract-scoped grants

Revision ID: c3d8e2f41a77
Revises: 3c1d9e7a5b20
Create Date: 2026-12-02 13:45:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c3d8e2f41a77"
down_revision: str | Sequence[str] | None = "3c1d9e7a5b20"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ppa_connections",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("developer_tenant_id", sa.Uuid(), nullable=False),
        sa.Column("offtaker_tenant_id", sa.Uuid(), nullable=False),
        sa.Column("invited_by_tenant_id", sa.Uuid(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "invited",
                "active",
                "declined",
                "revoked",
                "ended",
                name="connectionstatus",
                native_enum=False,
                length=32,
                schema="platform",
            ),
            nullable=False,
        ),
        sa.Column("reference", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("period_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "settlement",
            sa.Enum("physical", "financial", name="ppasettlement", native_enum=False, length=32, schema="platform"),
            nullable=False,
        ),
        sa.Column(
            "delivery_shape",
            sa.Enum(
                "pay_as_produced",
                "baseload",
                "shaped",
                name="deliveryshape",
                native_enum=False,
                length=32,
                schema="platform",
            ),
            nullable=False,
        ),
        sa.Column("contracted_volume_mwh", sa.Float(), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("plant_id", sa.Uuid(), nullable=True),
        sa.Column("contract_id", sa.Uuid(), nullable=True),
        sa.Column("grant_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("period_end > period_start", name=op.f("ck_ppa_connections_period_order")),
        sa.ForeignKeyConstraint(
            ["developer_tenant_id"],
            ["platform.tenants.id"],
            name=op.f("fk_ppa_connections_developer_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["grant_id"], ["platform.grants.id"], name=op.f("fk_ppa_connections_grant_id_grants"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["invited_by_tenant_id"],
            ["platform.tenants.id"],
            name=op.f("fk_ppa_connections_invited_by_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["offtaker_tenant_id"],
            ["platform.tenants.id"],
            name=op.f("fk_ppa_connections_offtaker_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ppa_connections")),
        schema="platform",
    )
    op.create_index(
        "ix_ppa_connections_developer",
        "ppa_connections",
        ["developer_tenant_id", "status"],
        unique=False,
        schema="platform",
    )
    op.create_index(
        "ix_ppa_connections_offtaker",
        "ppa_connections",
        ["offtaker_tenant_id", "status"],
        unique=False,
        schema="platform",
    )
    op.add_column(
        "grants",
        sa.Column("contract_ids", sa.ARRAY(sa.UUID()), server_default=sa.text("'{}'::uuid[]"), nullable=False),
        schema="platform",
    )


def downgrade() -> None:
    op.drop_column("grants", "contract_ids", schema="platform")
    op.drop_index("ix_ppa_connections_offtaker", table_name="ppa_connections", schema="platform")
    op.drop_index("ix_ppa_connections_developer", table_name="ppa_connections", schema="platform")
    op.drop_table("ppa_connections", schema="platform")
