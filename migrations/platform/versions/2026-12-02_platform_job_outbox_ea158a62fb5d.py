"""platform job outbox: jobs written with a platform change, handed to the queue after commit

Revision ID: ea158a62fb5d
Revises: a6f6811dd9a6
Create Date: 2026-12-02 00:50:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "ea158a62fb5d"
down_revision: str | Sequence[str] | None = "a6f6811dd9a6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "job_outbox",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("function", sa.String(length=120), nullable=False),
        sa.Column("args", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("job_id", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_outbox")),
        schema="platform",
    )
    op.create_index(
        "ix_job_outbox_undelivered",
        "job_outbox",
        ["created_at"],
        unique=False,
        schema="platform",
        postgresql_where=sa.text("delivered_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_job_outbox_undelivered",
        table_name="job_outbox",
        schema="platform",
        postgresql_where=sa.text("delivered_at IS NULL"),
    )
    op.drop_table("job_outbox", schema="platform")
