"""meter changes and retirement

Revision ID: 678a7c57a1a9
Revises: 7182be83d065
Create Date: 2026-12-02 00:40:00.000000

"""

from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = "678a7c57a1a9"
down_revision: Union[str, Sequence[str], None] = "7182be83d065"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """A meter can be retired (it keeps its history), and every change of a meter is kept with before and after."""
    op.add_column("meters", sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "meter_changes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("meter_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.Enum("updated", "data_points_added", "retired", name="meterchangekind", native_enum=False, length=32), nullable=False),
        sa.Column("effective_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("before", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("after", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("changed_by", sa.String(length=320), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["meter_id"], ["meters.id"], name=op.f("fk_meter_changes_meter_id_meters"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meter_changes")),
    )
    op.create_index(op.f("ix_meter_changes_meter_id"), "meter_changes", ["meter_id"], unique=False)


def downgrade() -> None:
    """Drop the meter history and the retirement time."""
    op.drop_index(op.f("ix_meter_changes_meter_id"), table_name="meter_changes")
    op.drop_table("meter_changes")
    op.drop_column("meters", "retired_at")
