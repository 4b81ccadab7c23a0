"""evidence typed subjects

Revision ID: f5637afb2b74
Revises: 3befaf0a9323
Create Date: 2026-12-02 00:45:00.000000

"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = "f5637afb2b74"
down_revision: Union[str, Sequence[str], None] = "3befaf0a9323"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Subjects become typed references with the installations they concern; one object, many documents."""
    op.add_column(
        "evidence_documents",
        sa.Column(
            "installation_ids",
            postgresql.ARRAY(sa.Uuid()),
            nullable=False,
            server_default=sa.text("'{}'::uuid[]"),
        ),
    )
    op.add_column("evidence_documents", sa.Column("period_start", postgresql.TIMESTAMP(timezone=True), nullable=True))
    op.add_column("evidence_documents", sa.Column("period_end", postgresql.TIMESTAMP(timezone=True), nullable=True))
    # {"installation_id": "x", "meter_id": "y"} -> [{"kind": "installation", "id": "x"}, {"kind": "meter", "id": "y"}]
    op.execute(
        "UPDATE evidence_documents SET subjects = COALESCE(("
        " SELECT jsonb_agg(jsonb_build_object('kind', regexp_replace(e.key, '_id$', ''), 'id', e.value #>> '{}')"
        "   ORDER BY e.key)"
        " FROM jsonb_each(subjects) AS e), '[]'::jsonb) WHERE jsonb_typeof(subjects) = 'object'"
    )
    # the installations the old subjects named directly or through a meter; unknown ids concern none
    op.execute(
        "UPDATE evidence_documents d SET installation_ids = COALESCE(("
        " SELECT array_agg(DISTINCT i.id) FROM jsonb_array_elements(d.subjects) AS s"
        " LEFT JOIN meters m ON s->>'kind' = 'meter' AND m.id::text = s->>'id'"
        " JOIN installations i ON i.id = COALESCE(m.installation_id,"
        "   CASE WHEN s->>'kind' = 'installation' AND s->>'id' ~* '^[0-9a-f-]{36}$' THEN (s->>'id')::uuid END)"
        "), '{}')"
    )
    op.alter_column("evidence_documents", "subjects", server_default=sa.text("'[]'::jsonb"))
    op.drop_constraint("uq_evidence_documents_sha256", "evidence_documents", type_="unique")
    op.create_index("ix_evidence_documents_sha256", "evidence_documents", ["sha256"])
    op.create_index(
        "ix_evidence_documents_installation_ids",
        "evidence_documents",
        ["installation_ids"],
        postgresql_using="gin",
    )


def downgrade() -> None:
    """Back to one document per object (the oldest) and subjects as a flat object."""
    op.drop_index("ix_evidence_documents_installation_ids", table_name="evidence_documents")
    op.drop_index("ix_evidence_documents_sha256", table_name="evidence_documents")
    op.execute(
        "UPDATE file_imports f SET document_id = (SELECT o.id FROM evidence_documents o"
        " JOIN evidence_documents d ON d.sha256 = o.sha256 WHERE d.id = f.document_id"
        " ORDER BY o.uploaded_at, o.id LIMIT 1)"
    )
    op.execute(
        "DELETE FROM evidence_documents d WHERE EXISTS (SELECT 1 FROM evidence_documents o"
        " WHERE o.sha256 = d.sha256 AND (o.uploaded_at, o.id) < (d.uploaded_at, d.id))"
    )
    op.create_unique_constraint("uq_evidence_documents_sha256", "evidence_documents", ["sha256"])
    op.alter_column("evidence_documents", "subjects", server_default=None)
    op.execute(
        "UPDATE evidence_documents SET subjects = COALESCE(("
        " SELECT jsonb_object_agg((s->>'kind') || '_id', s->>'id') FROM jsonb_array_elements(subjects) AS s),"
        " '{}'::jsonb) WHERE jsonb_typeof(subjects) = 'array'"
    )
    op.drop_column("evidence_documents", "period_end")
    op.drop_column("evidence_documents", "period_start")
    op.drop_column("evidence_documents", "installation_ids")
