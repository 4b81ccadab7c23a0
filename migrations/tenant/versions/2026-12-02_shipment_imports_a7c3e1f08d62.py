"""shipment imports: CSV or Excel files of shipments with their report

Revision ID: a7c3e1f08d62
Revises: 5e1d2c7a9b40
Create Date: 2026-12-02 15:00:00.000000

"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "a7c3e1f08d62"
down_revision: Union[str, Sequence[str], None] = "5e1d2c7a9b40"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "shipment_imports",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("installation_id", sa.Uuid(), nullable=False),
        sa.Column("document_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("rows_total", sa.Integer(), nullable=False),
        sa.Column("shipments_stored", sa.Integer(), nullable=False),
        sa.Column("errors", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_by", sa.String(length=320), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["evidence_documents.id"],
            name=op.f("fk_shipment_imports_document_id_evidence_documents"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["installation_id"],
            ["installations.id"],
            name=op.f("fk_shipment_imports_installation_id_installations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shipment_imports")),
    )
    op.create_index(
        op.f("ix_shipment_imports_installation_id"), "shipment_imports", ["installation_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_shipment_imports_installation_id"), table_name="shipment_imports")
    op.drop_table("shipment_imports")
