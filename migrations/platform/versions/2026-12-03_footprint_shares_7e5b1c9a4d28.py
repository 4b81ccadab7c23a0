"""footprint shares: grants narrowed by products and CN codes, tied to the connection they were made under

Revision ID: 7e5b1c9a4d28
Revises: 54c3570827d5
Create Date: 2026-12-03 07:30:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7e5b1c9a4d28"
down_revision: str | Sequence[str] | None = "54c3570827d5"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "grants",
        sa.Column("product_ids", sa.ARRAY(sa.UUID()), server_default=sa.text("'{}'::uuid[]"), nullable=False),
        schema="platform",
    )
    op.add_column(
        "grants",
        sa.Column("cn_codes", sa.ARRAY(sa.String(length=8)), server_default=sa.text("'{}'::varchar[]"), nullable=False),
        schema="platform",
    )
    op.add_column("grants", sa.Column("subscription_id", sa.Uuid(), nullable=True), schema="platform")
    op.create_foreign_key(
        op.f("fk_grants_subscription_id_subscriptions"),
        "grants",
        "subscriptions",
        ["subscription_id"],
        ["id"],
        source_schema="platform",
        referent_schema="platform",
        ondelete="SET NULL",
    )
    op.create_index(op.f("ix_grants_subscription_id"), "grants", ["subscription_id"], unique=False, schema="platform")
    op.create_index(
        "ix_subscriptions_subscriber_tenant_id",
        "subscriptions",
        ["subscriber_tenant_id", "status"],
        unique=False,
        schema="platform",
    )


def downgrade() -> None:
    op.drop_index("ix_subscriptions_subscriber_tenant_id", table_name="subscriptions", schema="platform")
    op.drop_index(op.f("ix_grants_subscription_id"), table_name="grants", schema="platform")
    op.drop_constraint(op.f("fk_grants_subscription_id_subscriptions"), "grants", schema="platform", type_="foreignkey")
    op.drop_column("grants", "subscription_id", schema="platform")
    op.drop_column("grants", "cn_codes", schema="platform")
    op.drop_column("grants", "product_ids", schema="platform")
