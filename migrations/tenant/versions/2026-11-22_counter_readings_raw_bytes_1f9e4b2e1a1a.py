"""counter readings raw bytes

Revision ID: 1f9e4b2e1a1a
Revises: abfd37ca1759
Create Date: 2026-11-22 23:02:22.064000

"""

from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = "1f9e4b2e1a1a"
down_revision: Union[str, Sequence[str], None] = "abfd37ca1759"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Raw register words become the bytes read on the wire; the receive time lives on the batch."""
    op.add_column("counter_readings", sa.Column("raw_bytes", sa.LargeBinary(), nullable=True))
    # each 16-bit word as two big-endian bytes, in order (subqueries are not allowed in ALTER ... USING)
    op.execute(
        "UPDATE counter_readings SET raw_bytes = ("
        " SELECT decode(string_agg(lpad(to_hex(w & 65535), 4, '0'), '' ORDER BY n), 'hex')"
        " FROM unnest(raw) WITH ORDINALITY AS u(w, n)) WHERE raw IS NOT NULL"
    )
    op.drop_column("counter_readings", "raw")
    op.alter_column("counter_readings", "raw_bytes", new_column_name="raw")
    op.drop_column("counter_readings", "received_at")


def downgrade() -> None:
    """Back to one receive time per reading (from its batch) and integer register words."""
    op.add_column("counter_readings", sa.Column("received_at", postgresql.TIMESTAMP(timezone=True), nullable=True))
    op.execute(
        "UPDATE counter_readings r SET received_at = b.received_at FROM ingest_batches b WHERE b.id = r.batch_id"
    )
    op.execute("UPDATE counter_readings SET received_at = now() WHERE received_at IS NULL")
    op.alter_column("counter_readings", "received_at", nullable=False)
    op.add_column("counter_readings", sa.Column("raw_words", postgresql.ARRAY(sa.INTEGER()), nullable=True))
    op.execute(
        "UPDATE counter_readings SET raw_words = ARRAY("
        " SELECT get_byte(raw, 2 * i) * 256 + get_byte(raw, 2 * i + 1)"
        " FROM generate_series(0, length(raw) / 2 - 1) AS i ORDER BY i) WHERE raw IS NOT NULL"
    )
    op.drop_column("counter_readings", "raw")
    op.alter_column("counter_readings", "raw_words", new_column_name="raw")
