"""claim registry: the ``claims`` schema, and the exchange-wide registry of certificate claims

Revision ID: 54c3570827d5
Revises: c3d8e2f41a77
Create Date: 2026-12-02 13:50:00

The exclusion constraint tests "same scheme and issuing body" as the overlap of a one-point range
over their hash, beside ``&&`` on the identifier range: built-in GiST operators only, so no
extension is needed (the embedded PostgreSQL ships none). Tenant roles get USAGE on ``claims`` and INSERT on the registry from tenancy/ddl.py when each
tenant is migrated or provisioned; nobody else gets anything.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "54c3570827d5"
down_revision: str | Sequence[str] | None = "c3d8e2f41a77"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# scheme and issuing body as a one-point range: the exclusion constraint needs no btree_gist
ISSUER_KEY = (
    "numrange(hashtextextended(scheme::text || '|' || issuing_body::text, 0)::numeric, "
    "hashtextextended(scheme::text || '|' || issuing_body::text, 0)::numeric, '[]')"
)


def upgrade() -> None:
    op.execute("CREATE SCHEMA IF NOT EXISTS claims")
    op.execute("REVOKE ALL ON SCHEMA claims FROM PUBLIC")
    op.create_table(
        "claim_registry",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("scheme", sa.String(length=16), nullable=False),
        sa.Column("issuing_body", sa.String(length=120), nullable=False),
        sa.Column("range_start", sa.BigInteger(), nullable=False),
        sa.Column("range_end", sa.BigInteger(), nullable=False),
        sa.Column(
            "id_range",
            postgresql.INT8RANGE(),
            sa.Computed("int8range(range_start, range_end, '[]')", persisted=True),
            nullable=False,
        ),
        sa.Column("issuer_key", postgresql.NUMRANGE(), sa.Computed(ISSUER_KEY, persisted=True), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("certificate_id", sa.Uuid(), nullable=False),
        sa.Column("claim_id", sa.Uuid(), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("registered_by_role", sa.Text(), server_default=sa.text("current_user"), nullable=False),
        sa.CheckConstraint("range_start >= 0 AND range_end >= range_start", name=op.f("ck_claim_registry_range_order")),
        postgresql.ExcludeConstraint(
            (sa.column("issuer_key"), "&&"),
            (sa.column("id_range"), "&&"),
            using="gist",
            name="ex_claim_registry_identifiers",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claim_registry")),
        sa.UniqueConstraint("claim_id", name=op.f("uq_claim_registry_claim_id")),
        schema="claims",
    )


def downgrade() -> None:
    op.drop_table("claim_registry", schema="claims")
    op.execute("DROP SCHEMA IF EXISTS claims")
