"""footprint requests: an importer's data requests to a connected supplier, and their history

Revision ID: b4e7a2c91d53
Revises: 49555a8889f1
Create Date: 2026-12-03 08:40:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b4e7a2c91d53"
down_revision: str | Sequence[str] | None = "49555a8889f1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "footprint_requests",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("importer_tenant_id", sa.Uuid(), nullable=False),
        sa.Column("supplier_tenant_id", sa.Uuid(), nullable=False),
        sa.Column("subscription_id", sa.Uuid(), nullable=False),
        sa.Column("product_ids", sa.ARRAY(sa.Uuid()), nullable=False),
        sa.Column("cn_codes", sa.ARRAY(sa.String(length=8)), nullable=False),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("period_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("shipment_refs", sa.ARRAY(sa.String(length=64)), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("publication_ids", sa.ARRAY(sa.Uuid()), nullable=False),
        sa.Column("share_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=320), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("period_start < period_end", name=op.f("ck_footprint_requests_period_ordered")),
        sa.CheckConstraint(
            "cardinality(product_ids) + cardinality(cn_codes) > 0", name=op.f("ck_footprint_requests_names_something")
        ),
        sa.ForeignKeyConstraint(
            ["importer_tenant_id"],
            ["platform.tenants.id"],
            name=op.f("fk_footprint_requests_importer_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["supplier_tenant_id"],
            ["platform.tenants.id"],
            name=op.f("fk_footprint_requests_supplier_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["platform.subscriptions.id"],
            name=op.f("fk_footprint_requests_subscription_id_subscriptions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["share_id"],
            ["platform.grants.id"],
            name=op.f("fk_footprint_requests_share_id_grants"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_footprint_requests")),
        schema="platform",
    )
    op.create_index(
        "ix_footprint_requests_importer",
        "footprint_requests",
        ["importer_tenant_id", "created_at"],
        unique=False,
        schema="platform",
    )
    op.create_index(
        "ix_footprint_requests_supplier",
        "footprint_requests",
        ["supplier_tenant_id", "created_at"],
        unique=False,
        schema="platform",
    )
    op.create_index(
        "ix_footprint_requests_open_due",
        "footprint_requests",
        ["due_date"],
        unique=False,
        schema="platform",
        postgresql_where=sa.text("status = 'requested'"),
    )
    op.create_table(
        "footprint_request_entries",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("request_id", sa.Uuid(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_tenant_id", sa.Uuid(), nullable=True),
        sa.Column("actor", sa.String(length=320), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("reminder", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["platform.footprint_requests.id"],
            name=op.f("fk_footprint_request_entries_request_id_footprint_requests"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["actor_tenant_id"],
            ["platform.tenants.id"],
            name=op.f("fk_footprint_request_entries_actor_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_footprint_request_entries")),
        sa.UniqueConstraint("request_id", "reminder", name="uq_footprint_request_entries_reminder"),
        schema="platform",
    )
    op.create_index(
        op.f("ix_footprint_request_entries_request_id"),
        "footprint_request_entries",
        ["request_id"],
        unique=False,
        schema="platform",
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_footprint_request_entries_request_id"), table_name="footprint_request_entries", schema="platform"
    )
    op.drop_table("footprint_request_entries", schema="platform")
    op.drop_index("ix_footprint_requests_open_due", table_name="footprint_requests", schema="platform")
    op.drop_index("ix_footprint_requests_supplier", table_name="footprint_requests", schema="platform")
    op.drop_index("ix_footprint_requests_importer", table_name="footprint_requests", schema="platform")
    op.drop_table("footprint_requests", schema="platform")
