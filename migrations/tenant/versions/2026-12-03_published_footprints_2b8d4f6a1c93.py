"""published footprints: immutable content-hashed documents published from footprint versions, with their state

Revision ID: 2b8d4f6a1c93
Revises: 5b0e7c3d9a21
Create Date: 2026-12-03 07:30:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "2b8d4f6a1c93"
down_revision: str | Sequence[str] | None = "5b0e7c3d9a21"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# as published: only the state beside the document changes, and nothing is ever removed
IMMUTABLE_PUBLICATIONS_DDL = """
CREATE OR REPLACE FUNCTION published_footprints_immutable() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
  IF TG_OP = 'DELETE' THEN
    RAISE EXCEPTION 'a published footprint is never removed: publish a new one that supersedes it'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF (NEW.id, NEW.footprint_version_id, NEW.product_id, NEW.installation_id, NEW.cn_code, NEW.period_start,
      NEW.period_end, NEW.version, NEW.supersedes_id, NEW.document, NEW.content_hash, NEW.published_at,
      NEW.published_by)
     IS DISTINCT FROM
     (OLD.id, OLD.footprint_version_id, OLD.product_id, OLD.installation_id, OLD.cn_code, OLD.period_start,
      OLD.period_end, OLD.version, OLD.supersedes_id, OLD.document, OLD.content_hash, OLD.published_at,
      OLD.published_by) THEN
    RAISE EXCEPTION 'a published footprint''s document is immutable: only its status may change'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END $f$;
CREATE TRIGGER published_footprints_immutable BEFORE UPDATE OR DELETE ON published_footprints
  FOR EACH ROW EXECUTE FUNCTION published_footprints_immutable();
""".strip()


def upgrade() -> None:
    op.create_table(
        "published_footprints",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("footprint_version_id", sa.Uuid(), nullable=False),
        sa.Column("product_id", sa.Uuid(), nullable=False),
        sa.Column("installation_id", sa.Uuid(), nullable=False),
        sa.Column("cn_code", sa.String(length=8), nullable=False),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("period_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("supersedes_id", sa.Uuid(), nullable=True),
        sa.Column("document", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("content_hash", sa.String(length=71), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_by", sa.String(length=320), nullable=False),
        sa.Column(
            "status",
            sa.Enum("active", "deprecated", name="publicationstatus", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("deprecated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "verification_status",
            sa.Enum("unverified", "verified", name="verificationstatus", native_enum=False, length=16),
            nullable=False,
        ),
        sa.CheckConstraint("version >= 1", name=op.f("ck_published_footprints_version_positive")),
        sa.CheckConstraint(
            "content_hash ~ '^sha256:[0-9a-f]{64}$'", name=op.f("ck_published_footprints_content_hash_form")
        ),
        sa.ForeignKeyConstraint(
            ["footprint_version_id"],
            ["footprint_versions.id"],
            name=op.f("fk_published_footprints_footprint_version_id_footprint_versions"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["installation_id"],
            ["installations.id"],
            name=op.f("fk_published_footprints_installation_id_installations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_published_footprints_product_id_products"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["supersedes_id"],
            ["published_footprints.id"],
            name=op.f("fk_published_footprints_supersedes_id_published_footprints"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_published_footprints")),
        sa.UniqueConstraint("footprint_version_id", name="uq_published_footprints_footprint_version_id"),
        sa.UniqueConstraint(
            "product_id",
            "installation_id",
            "period_start",
            "period_end",
            "version",
            name="uq_published_footprints_product_period_version",
        ),
        sa.UniqueConstraint("supersedes_id", name=op.f("uq_published_footprints_supersedes_id")),
    )
    op.create_index("ix_published_footprints_published_at", "published_footprints", ["published_at", "id"])
    op.create_index("ix_published_footprints_cn_code", "published_footprints", ["cn_code"])
    # one statement per call: asyncpg prepares each, and a prepared statement holds one command
    function, trigger = IMMUTABLE_PUBLICATIONS_DDL.split("\nCREATE TRIGGER")
    op.execute(function)
    op.execute("CREATE TRIGGER" + trigger)


def downgrade() -> None:
    op.execute("DROP TRIGGER published_footprints_immutable ON published_footprints")
    op.execute("DROP FUNCTION published_footprints_immutable()")
    op.drop_index("ix_published_footprints_cn_code", table_name="published_footprints")
    op.drop_index("ix_published_footprints_published_at", table_name="published_footprints")
    op.drop_table("published_footprints")
