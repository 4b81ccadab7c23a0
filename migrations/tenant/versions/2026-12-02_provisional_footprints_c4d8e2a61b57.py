"""provisional footprints: a batch's figures from the data received by its end, in versions

Revision ID: c4d8e2a61b57
Revises: 3d6a9f2c8e15
Create Date: 2026-12-02 17:00:00.000000

"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "c4d8e2a61b57"
down_revision: Union[str, Sequence[str], None] = "3d6a9f2c8e15"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "provisional_footprints",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("batch_id", sa.Uuid(), nullable=False),
        sa.Column("installation_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("data_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("window_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("energy_kwh", sa.Float(), nullable=False),
        sa.Column("electricity_kwh_per_t", sa.Float(), nullable=False),
        sa.Column("matched_kwh", sa.Float(), nullable=False),
        sa.Column("matched_share", sa.Float(), nullable=False),
        sa.Column("direct_tco2", sa.Float(), nullable=False),
        sa.Column("indirect_tco2", sa.Float(), nullable=False),
        sa.Column("precursor_direct_tco2", sa.Float(), nullable=False),
        sa.Column("precursor_indirect_tco2", sa.Float(), nullable=False),
        sa.Column("see_direct", sa.Float(), nullable=False),
        sa.Column("see_indirect", sa.Float(), nullable=False),
        sa.Column("see_total", sa.Float(), nullable=False),
        sa.Column("measured_share", sa.Float(), nullable=False),
        sa.Column("estimated_share", sa.Float(), nullable=False),
        sa.Column("missing_share", sa.Float(), nullable=False),
        sa.Column("factor_refs", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("warnings", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("methodology_version", sa.String(length=16), nullable=False),
        sa.Column("inputs_digest", sa.String(length=64), nullable=False),
        sa.Column("output_digest", sa.String(length=64), nullable=False),
        sa.CheckConstraint("version >= 1", name=op.f("ck_provisional_footprints_version_positive")),
        sa.CheckConstraint("matched_share BETWEEN 0 AND 1", name=op.f("ck_provisional_footprints_matched_share_0_1")),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["production_batches.id"],
            name=op.f("fk_provisional_footprints_batch_id_production_batches"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["installation_id"],
            ["installations.id"],
            name=op.f("fk_provisional_footprints_installation_id_installations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provisional_footprints")),
        sa.UniqueConstraint("batch_id", "version", name=op.f("uq_provisional_footprints_batch_id_version")),
    )
    op.create_index(
        "ix_provisional_footprints_installation_id_computed_at",
        "provisional_footprints",
        ["installation_id", "computed_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_provisional_footprints_installation_id_computed_at", table_name="provisional_footprints")
    op.drop_table("provisional_footprints")
