"""what powered each line hour by hour in a calculation run (packed arrays per line per run)

Revision ID: 9b1e5d7c3a20
Revises: 4fcca451b24a
Create Date: 2026-12-02 18:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "9b1e5d7c3a20"
down_revision: str | Sequence[str] | None = "4fcca451b24a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "run_line_series",
        sa.Column("run_id", sa.Uuid(), nullable=False),
        sa.Column("line_id", sa.Uuid(), nullable=False),
        sa.Column("line_code", sa.String(length=64), nullable=False),
        sa.Column("first_hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("hours", sa.Integer(), nullable=False),
        sa.Column("energy_kwh", sa.LargeBinary(), nullable=False),
        sa.Column("matched_kwh", sa.LargeBinary(), nullable=False),
        sa.Column("factor", sa.LargeBinary(), nullable=False),
        sa.Column("factor_mask", sa.LargeBinary(), nullable=False),
        sa.Column("factor_refs", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.CheckConstraint("hours > 0", name=op.f("ck_run_line_series_hours_positive")),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["calculation_runs.id"],
            name=op.f("fk_run_line_series_run_id_calculation_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("run_id", "line_id", name=op.f("pk_run_line_series")),
    )


def downgrade() -> None:
    op.drop_table("run_line_series")
