"""credentials for the organisation's own PACT host (where answers to its PACT requests go); PACT requests
received move to the exchange's data requests (platform schema)

Revision ID: 9e4a7c2b1f60
Revises: 5c3f1a8e2d70
Create Date: 2026-12-03 12:30:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "9e4a7c2b1f60"
down_revision: str | Sequence[str] | None = "5c3f1a8e2d70"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "pact_host_credentials",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("host_url", sa.String(length=2000), nullable=False),
        sa.Column("client_id", sa.String(length=200), nullable=False),
        sa.Column("sealed_secret", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=320), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pact_host_credentials")),
        sa.UniqueConstraint("host_url", name=op.f("uq_pact_host_credentials_host_url")),
    )
    # requests received so far were never answered and live on as records of the event alone: the
    # exchange's data requests hold PACT requests from now on
    op.drop_table("pact_footprint_requests")


def downgrade() -> None:
    op.create_table(
        "pact_footprint_requests",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sa.String(length=200), nullable=False),
        sa.Column("source", sa.String(length=2000), nullable=False),
        sa.Column("requester_tenant_id", sa.Uuid(), nullable=False),
        sa.Column("requester_client_id", sa.String(length=200), nullable=False),
        sa.Column("requester_name", sa.String(length=200), nullable=False),
        sa.Column("criteria", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("event", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pact_footprint_requests")),
        sa.UniqueConstraint("source", "event_id", name=op.f("uq_pact_footprint_requests_source_event_id")),
    )
    op.drop_table("pact_host_credentials")
