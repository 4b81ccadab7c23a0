"""mirror checks of received footprints: the importer's stored check results and the escalations they raise

Revision ID: 7ddd35173455
Revises: d81f4a6c2e93
Create Date: 2026-12-03 08:30:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "7ddd35173455"
down_revision: str | Sequence[str] | None = "d81f4a6c2e93"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "mirror_check_results",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("publication_id", sa.Uuid(), nullable=False),
        sa.Column("supplier_tenant_id", sa.Uuid(), nullable=False),
        sa.Column("content_hash", sa.String(length=71), nullable=False),
        sa.Column("shipped_mass_t", sa.Float(), nullable=True),
        sa.Column(
            "status",
            sa.Enum("PASS", "WARN", "FAIL", "NOT_APPLICABLE", name="mirrorcheckstatus", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("report", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("rules_version", sa.String(length=64), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("checked_by", sa.String(length=320), nullable=False),
        sa.CheckConstraint(
            "content_hash ~ '^sha256:[0-9a-f]{64}$'", name=op.f("ck_mirror_check_results_content_hash_form")
        ),
        sa.CheckConstraint(
            "shipped_mass_t IS NULL OR shipped_mass_t >= 0",
            name=op.f("ck_mirror_check_results_shipped_mass_t_not_negative"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mirror_check_results")),
    )
    op.create_index(
        "ix_mirror_check_results_publication_id_checked_at",
        "mirror_check_results",
        ["publication_id", "checked_at"],
        unique=False,
    )
    op.create_table(
        "mirror_escalations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("check_result_id", sa.Uuid(), nullable=False),
        sa.Column("publication_id", sa.Uuid(), nullable=False),
        sa.Column("supplier_tenant_id", sa.Uuid(), nullable=False),
        sa.Column("failed_checks", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "status",
            sa.Enum("open", "resolved", "accepted_risk", name="escalationstatus", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.String(length=320), nullable=True),
        sa.Column("close_note", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "(status = 'open') = (closed_at IS NULL)", name=op.f("ck_mirror_escalations_closed_exactly_when_not_open")
        ),
        sa.ForeignKeyConstraint(
            ["check_result_id"],
            ["mirror_check_results.id"],
            name=op.f("fk_mirror_escalations_check_result_id_mirror_check_results"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mirror_escalations")),
        sa.UniqueConstraint("check_result_id", name=op.f("uq_mirror_escalations_check_result_id")),
    )
    op.create_index(
        "ix_mirror_escalations_status_opened_at", "mirror_escalations", ["status", "opened_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_mirror_escalations_status_opened_at", table_name="mirror_escalations")
    op.drop_table("mirror_escalations")
    op.drop_index("ix_mirror_check_results_publication_id_checked_at", table_name="mirror_check_results")
    op.drop_table("mirror_check_results")
