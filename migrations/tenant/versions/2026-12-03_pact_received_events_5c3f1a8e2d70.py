"""PACT events other hosts send to the organisation (PublishedEvent, RequestFulfilledEvent, RequestRejectedEvent)

Revision ID: 5c3f1a8e2d70
Revises: 7ddd35173455
Create Date: 2026-12-03 12:40:00.000000

"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "5c3f1a8e2d70"
down_revision: Union[str, Sequence[str], None] = "7ddd35173455"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "pact_received_events",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "type",
            sa.Enum(
                "org.wbcsd.pact.ProductFootprint.PublishedEvent.3",
                "org.wbcsd.pact.ProductFootprint.RequestFulfilledEvent.3",
                "org.wbcsd.pact.ProductFootprint.RequestRejectedEvent.3",
                name="receivedeventtype",
                native_enum=False,
                length=80,
            ),
            nullable=False,
        ),
        sa.Column("source", sa.String(length=2000), nullable=False),
        sa.Column("event_id", sa.String(length=200), nullable=False),
        sa.Column("event_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("request_event_id", sa.String(length=200), nullable=True),
        sa.Column("pf_ids", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("pfs", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("error", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("event", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("client_id", sa.String(length=200), nullable=False),
        sa.Column("client_name", sa.String(length=200), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pact_received_events")),
        sa.UniqueConstraint("source", "event_id", name=op.f("uq_pact_received_events_source_event_id")),
    )


def downgrade() -> None:
    op.drop_table("pact_received_events")
