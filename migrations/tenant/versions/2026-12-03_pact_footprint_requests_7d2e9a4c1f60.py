"""data requests received through PACT v3 (RequestCreatedEvent), kept in the data owner's schema

Revision ID: 7d2e9a4c1f60
Revises: 2b8d4f6a1c93
Create Date: 2026-12-03 07:30:00.000000

"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "7d2e9a4c1f60"
down_revision: Union[str, Sequence[str], None] = "2b8d4f6a1c93"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
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
        sa.Column(
            "status",
            sa.Enum("received", "fulfilled", "rejected", name="requeststatus", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pact_footprint_requests")),
        sa.UniqueConstraint("source", "event_id", name=op.f("uq_pact_footprint_requests_source_event_id")),
    )


def downgrade() -> None:
    op.drop_table("pact_footprint_requests")
