"""reading conflicts

Revision ID: 3befaf0a9323
Revises: 114067650999
Create Date: 2026-12-02 00:40:00.000000

"""

from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision: str = "3befaf0a9323"
down_revision: Union[str, Sequence[str], None] = "114067650999"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "reading_conflicts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("installation_id", sa.Uuid(), nullable=False),
        sa.Column("data_point_id", sa.Uuid(), nullable=False),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stored_value", sa.Float(), nullable=True),
        sa.Column("received_value", sa.Float(), nullable=False),
        sa.Column("received_quality", sa.SmallInteger(), nullable=False),
        sa.Column("received_raw", sa.LargeBinary(), nullable=True),
        sa.Column("batch_id", sa.Uuid(), nullable=False),
        sa.Column("item_index", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column(
            "status",
            sa.Enum("open", "kept_stored", "took_new", name="conflictstatus", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_by", sa.String(length=320), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["data_point_id"],
            ["data_points.id"],
            name=op.f("fk_reading_conflicts_data_point_id_data_points"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["installation_id"],
            ["installations.id"],
            name=op.f("fk_reading_conflicts_installation_id_installations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reading_conflicts")),
        sa.UniqueConstraint(
            "data_point_id", "ts", "received_value", name=op.f("uq_reading_conflicts_data_point_id_ts_received_value")
        ),
    )
    op.create_index(
        op.f("ix_reading_conflicts_installation_id"), "reading_conflicts", ["installation_id"], unique=False
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index(op.f("ix_reading_conflicts_installation_id"), table_name="reading_conflicts")
    op.drop_table("reading_conflicts")
