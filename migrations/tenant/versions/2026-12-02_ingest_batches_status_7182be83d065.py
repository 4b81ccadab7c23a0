"""ingest batches: derivation status, quarantine reason and progress

Revision ID: 7182be83d065
Revises: e2373e257cce
Create Date: 2026-12-02 00:40:00

"""

from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = "7182be83d065"
down_revision: Union[str, Sequence[str], None] = "e2373e257cce"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.add_column(
        "ingest_batches",
        sa.Column(
            "status",
            sa.Enum("pending", "derived", "quarantined", "discarded", name="batchstatus", native_enum=False, length=16),
            server_default="pending",
            nullable=False,
        ),
    )
    op.add_column("ingest_batches", sa.Column("status_reason", sa.Text(), nullable=True))
    op.add_column("ingest_batches", sa.Column("status_changed_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("ingest_batches", sa.Column("derived_through", sa.Date(), nullable=True))
    op.execute("UPDATE ingest_batches SET status = 'derived' WHERE derived_at IS NOT NULL")


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_column("ingest_batches", "derived_through")
    op.drop_column("ingest_batches", "status_changed_at")
    op.drop_column("ingest_batches", "status_reason")
    op.drop_column("ingest_batches", "status")
