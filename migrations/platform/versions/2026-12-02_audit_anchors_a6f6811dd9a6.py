"""audit anchors: tenants' chain heads kept outside their schemas

Revision ID: a6f6811dd9a6
Revises: 62a3f07d33e6
Create Date: 2026-12-02 00:45:00

"""

from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = "a6f6811dd9a6"
down_revision: Union[str, Sequence[str], None] = "62a3f07d33e6"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "audit_anchors",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("anchored_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("object_key", sa.String(length=300), nullable=False),
        sa.Column("object_sha256", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_anchors")),
        sa.UniqueConstraint("tenant_id", "seq", name=op.f("uq_audit_anchors_tenant_id_seq")),
        schema="platform",
    )
    op.create_index(
        op.f("ix_audit_anchors_tenant_id"), "audit_anchors", ["tenant_id"], unique=False, schema="platform"
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_audit_anchors_tenant_id"), table_name="audit_anchors", schema="platform")
    op.drop_table("audit_anchors", schema="platform")
