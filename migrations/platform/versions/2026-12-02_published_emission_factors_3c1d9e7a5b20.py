"""published emission factors (schema published): regulatory factors with provenance, seeded from the packaged data file

Revision ID: 3c1d9e7a5b20
Revises: ea158a62fb5d
Create Date: 2026-12-02 13:50:00

The rows come from backend/factors/data/published_factors_cbam-2026-v1.json (reviewable data with
the document, table, date, URL and licence note of every value). A later edition is a new data
file and a new migration that supersedes rows; this one never changes.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from backend.factors.seed import published_rows

revision: str = "3c1d9e7a5b20"
down_revision: str | Sequence[str] | None = "ea158a62fb5d"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

EDITION = "cbam-2026-v1"


def upgrade() -> None:
    op.execute("CREATE SCHEMA IF NOT EXISTS published")
    table = op.create_table(
        "emission_factors",
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
        sa.Column("edition", sa.String(length=64), nullable=False),
        sa.CheckConstraint(
            "kind IN ('fuel_emission_factor', 'fuel_ncv', 'fuel_oxidation_factor', 'goods_default', "
            "'grid_default', 'imported_electricity')",
            name=op.f("ck_emission_factors_published_kind"),
        ),
        sa.CheckConstraint("valid_to IS NULL OR valid_to > valid_from", name=op.f("ck_emission_factors_valid_range")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_emission_factors")),
        postgresql.ExcludeConstraint(
            (sa.column("key_range"), "&&"),
            (sa.column("validity"), "&&"),
            using="gist",
            name="ex_emission_factors_one_per_date",
        ),
        schema="published",
    )
    op.create_index(
        "ix_emission_factors_kind_subject",
        "emission_factors",
        ["kind", "subject", "valid_from"],
        unique=False,
        schema="published",
    )
    op.bulk_insert(table, published_rows(EDITION))


def downgrade() -> None:
    op.drop_index("ix_emission_factors_kind_subject", table_name="emission_factors", schema="published")
    op.drop_table("emission_factors", schema="published")
    op.execute("DROP SCHEMA IF EXISTS published")
