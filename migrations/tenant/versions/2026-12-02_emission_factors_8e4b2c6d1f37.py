"""emission factors owned by the tenant: supplier-specific (with disclosure) and own generation (with inputs)

Revision ID: 8e4b2c6d1f37
Revises: f5637afb2b74
Create Date: 2026-12-02 13:50:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "8e4b2c6d1f37"
down_revision: str | Sequence[str] | None = "f5637afb2b74"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# a stored version never changes but for its end moving earlier, and is never deleted
IMMUTABLE_VERSIONS_DDL = """
CREATE OR REPLACE FUNCTION emission_factors_immutable() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
  IF TG_OP = 'DELETE' THEN
    RAISE EXCEPTION 'emission factor versions are kept: DELETE refused' USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF (to_jsonb(NEW) - 'valid_to' - 'validity' - 'key_range')
     IS DISTINCT FROM (to_jsonb(OLD) - 'valid_to' - 'validity' - 'key_range')
     OR (OLD.valid_to IS NOT NULL AND (NEW.valid_to IS NULL OR NEW.valid_to > OLD.valid_to)) THEN
    RAISE EXCEPTION 'an emission factor version is immutable: supersede it with a new version'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END $f$;
CREATE TRIGGER emission_factors_immutable BEFORE UPDATE OR DELETE ON emission_factors
  FOR EACH ROW EXECUTE FUNCTION emission_factors_immutable();
""".strip()


def upgrade() -> None:
    op.create_table(
        "emission_factors",
        sa.Column("evidence_document_id", sa.Uuid(), nullable=True),
        sa.Column("evidence_sha256", sa.String(length=64), nullable=True),
        sa.Column("supersedes_id", sa.Uuid(), nullable=True),
        sa.Column("created_by", sa.String(length=320), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("subject", sa.String(length=100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("value", sa.Numeric(precision=24, scale=12), nullable=False),
        sa.Column("unit", sa.String(length=32), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column(
            "validity",
            postgresql.DATERANGE(),
            sa.Computed("daterange(valid_from, valid_to, '[)')", persisted=True),
            nullable=False,
        ),
        sa.Column(
            "key_range",
            postgresql.NUMRANGE(),
            sa.Computed(
                "numrange(hashtextextended(kind::text || '|' || subject::text, 0)::numeric, "
                "hashtextextended(kind::text || '|' || subject::text, 0)::numeric, '[]')",
                persisted=True,
            ),
            nullable=False,
        ),
        sa.Column("source_document", sa.Text(), nullable=False),
        sa.Column("source_table", sa.Text(), nullable=False),
        sa.Column("source_date", sa.Date(), nullable=True),
        sa.Column("source_url", sa.Text(), nullable=True),
        sa.Column("licence_note", sa.Text(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("formula", sa.Text(), nullable=True),
        sa.Column(
            "parameters", postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('own_generation', 'supplier_specific')", name=op.f("ck_emission_factors_tenant_kind")
        ),
        sa.CheckConstraint("valid_to IS NULL OR valid_to > valid_from", name=op.f("ck_emission_factors_valid_range")),
        sa.CheckConstraint(
            "kind <> 'supplier_specific' OR (evidence_document_id IS NOT NULL AND evidence_sha256 IS NOT NULL)",
            name=op.f("ck_emission_factors_supplier_disclosure"),
        ),
        sa.CheckConstraint(
            "kind <> 'own_generation' OR formula IS NOT NULL", name=op.f("ck_emission_factors_own_generation_formula")
        ),
        sa.ForeignKeyConstraint(
            ["evidence_document_id"],
            ["evidence_documents.id"],
            name=op.f("fk_emission_factors_evidence_document_id_evidence_documents"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["supersedes_id"],
            ["emission_factors.id"],
            name=op.f("fk_emission_factors_supersedes_id_emission_factors"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_emission_factors")),
        postgresql.ExcludeConstraint(
            (sa.column("key_range"), "&&"),
            (sa.column("validity"), "&&"),
            using="gist",
            name="ex_emission_factors_one_per_date",
        ),
    )
    op.create_index(
        "ix_emission_factors_kind_subject", "emission_factors", ["kind", "subject", "valid_from"], unique=False
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS emission_factors_immutable ON emission_factors")
    op.execute("DROP FUNCTION IF EXISTS emission_factors_immutable()")
    op.drop_index("ix_emission_factors_kind_subject", table_name="emission_factors")
    op.drop_table("emission_factors")
