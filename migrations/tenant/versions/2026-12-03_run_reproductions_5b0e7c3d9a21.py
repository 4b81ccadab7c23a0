"""run reproductions: a succeeded run computed again from the data stored now, with what changed

Revision ID: 5b0e7c3d9a21
Revises: c4d8e2a61b57
Create Date: 2026-12-03 08:00:00.000000

"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "5b0e7c3d9a21"
down_revision: Union[str, Sequence[str], None] = "c4d8e2a61b57"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "run_reproductions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("run_id", sa.Uuid(), nullable=False),
        sa.Column("requested_by", sa.String(length=320), nullable=False),
        sa.Column("requested_by_tenant_id", sa.Uuid(), nullable=False),
        sa.Column("recorded_inputs_digest", sa.String(length=64), nullable=False),
        sa.Column("recorded_output_digest", sa.String(length=64), nullable=False),
        sa.Column("inputs_digest", sa.String(length=64), nullable=True),
        sa.Column("output_digest", sa.String(length=64), nullable=True),
        sa.Column("inputs_match", sa.Boolean(), nullable=False),
        sa.Column("output_matches", sa.Boolean(), nullable=False),
        sa.Column("changed_inputs", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("methodology_version", sa.String(length=32), nullable=False),
        sa.Column("error_code", sa.String(length=64), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("duration_s", sa.Float(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["calculation_runs.id"],
            name=op.f("fk_run_reproductions_run_id_calculation_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_run_reproductions")),
    )
    op.create_index(
        "ix_run_reproductions_run_id_created_at", "run_reproductions", ["run_id", "created_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_run_reproductions_run_id_created_at", table_name="run_reproductions")
    op.drop_table("run_reproductions")
