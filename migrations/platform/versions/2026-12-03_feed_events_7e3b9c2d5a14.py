"""feed events: the ``feeds`` schema and its exchange-wide event log

Revision ID: 7e3b9c2d5a14
Revises: 7e5b1c9a4d28
Create Date: 2026-12-03 07:30:00

Tenant roles get USAGE on ``feeds`` and INSERT on the event columns from tenancy/ddl.py when each
tenant is migrated or provisioned; the runtime role gets SELECT (platform privileges).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "7e3b9c2d5a14"
down_revision: str | Sequence[str] | None = "7e5b1c9a4d28"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("CREATE SCHEMA IF NOT EXISTS feeds")
    op.execute("REVOKE ALL ON SCHEMA feeds FROM PUBLIC")
    op.create_table(
        "events",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("type", sa.String(length=120), nullable=False),
        sa.Column("source_tenant_id", sa.Uuid(), nullable=False),
        sa.Column("recipient_tenant_id", sa.Uuid(), nullable=False),
        sa.Column("recipient_client_id", sa.Uuid(), nullable=True),
        sa.Column("subject", sa.String(length=500), nullable=False),
        sa.Column("data", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "tx_id", sa.BigInteger(), server_default=sa.text("pg_current_xact_id()::text::bigint"), nullable=False
        ),
        sa.Column("source_role", sa.Text(), server_default=sa.text("current_user"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
        schema="feeds",
    )
    op.create_index(
        "ix_events_recipient_position",
        "events",
        ["recipient_tenant_id", "tx_id", "occurred_at", "id"],
        unique=False,
        schema="feeds",
    )


def downgrade() -> None:
    op.drop_index("ix_events_recipient_position", table_name="events", schema="feeds")
    op.drop_table("events", schema="feeds")
    op.execute("DROP SCHEMA IF EXISTS feeds CASCADE")
