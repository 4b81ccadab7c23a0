"""footprint questions: an importer's question to a supplier about a published footprint, and the answer

Revision ID: 49555a8889f1
Revises: 7d41c9e2b8a5
Create Date: 2026-12-03 08:30:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "49555a8889f1"
down_revision: str | Sequence[str] | None = "7d41c9e2b8a5"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "footprint_questions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("importer_tenant_id", sa.Uuid(), nullable=False),
        sa.Column("supplier_tenant_id", sa.Uuid(), nullable=False),
        sa.Column("publication_id", sa.Uuid(), nullable=False),
        sa.Column("escalation_id", sa.Uuid(), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("asked_by", sa.String(length=320), nullable=False),
        sa.Column("asked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "status",
            sa.Enum("open", "answered", name="questionstatus", native_enum=False, length=16, schema="platform"),
            nullable=False,
        ),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("answered_by", sa.String(length=320), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "(status = 'answered') = (answer IS NOT NULL AND answered_at IS NOT NULL)",
            name=op.f("ck_footprint_questions_answered_exactly_with_answer"),
        ),
        sa.ForeignKeyConstraint(
            ["importer_tenant_id"],
            ["platform.tenants.id"],
            name=op.f("fk_footprint_questions_importer_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["supplier_tenant_id"],
            ["platform.tenants.id"],
            name=op.f("fk_footprint_questions_supplier_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_footprint_questions")),
        schema="platform",
    )
    op.create_index(
        "ix_footprint_questions_supplier_tenant_id_status",
        "footprint_questions",
        ["supplier_tenant_id", "status"],
        unique=False,
        schema="platform",
    )
    op.create_index(
        "ix_footprint_questions_importer_tenant_id_escalation_id",
        "footprint_questions",
        ["importer_tenant_id", "escalation_id"],
        unique=False,
        schema="platform",
    )


def downgrade() -> None:
    op.drop_index(
        "ix_footprint_questions_importer_tenant_id_escalation_id", table_name="footprint_questions", schema="platform"
    )
    op.drop_index(
        "ix_footprint_questions_supplier_tenant_id_status", table_name="footprint_questions", schema="platform"
    )
    op.drop_table("footprint_questions", schema="platform")
