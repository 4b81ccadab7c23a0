"""certificates: ranges held, cancellation statements, claims

Revision ID: 049a8fbb55ee
Revises: 5a7c1e9d2b40
Create Date: 2026-12-02 13:50:00

The holder's own no-overlap constraint on (scheme, issuing body, identifier range) uses built-in
GiST range operators only (scheme and issuing body as a one-point range over their hash).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "049a8fbb55ee"
down_revision: str | Sequence[str] | None = "5a7c1e9d2b40"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RANGE = "int8range(range_start, range_end, '[]')"
# scheme and issuing body as a one-point range: the exclusion constraint needs no btree_gist
ISSUER_KEY = (
    "numrange(hashtextextended(scheme::text || '|' || issuing_body::text, 0)::numeric, "
    "hashtextextended(scheme::text || '|' || issuing_body::text, 0)::numeric, '[]')"
)


def upgrade() -> None:
    op.create_table(
        "certificates",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "scheme",
            sa.Enum("go_eecs", "i_rec", "other", name="certificatescheme", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("issuing_body", sa.String(length=120), nullable=False),
        sa.Column("issuing_country", sa.String(length=2), nullable=False),
        sa.Column("range_start", sa.BigInteger(), nullable=False),
        sa.Column("range_end", sa.BigInteger(), nullable=False),
        sa.Column(
            "quantity", sa.BigInteger(), sa.Computed("range_end - range_start + 1", persisted=True), nullable=False
        ),
        sa.Column("id_range", postgresql.INT8RANGE(), sa.Computed(RANGE, persisted=True), nullable=False),
        sa.Column("issuer_key", postgresql.NUMRANGE(), sa.Computed(ISSUER_KEY, persisted=True), nullable=False),
        sa.Column("registry_reference", sa.String(length=120), nullable=False),
        sa.Column("device_id", sa.String(length=120), nullable=False),
        sa.Column("device_name", sa.String(length=200), nullable=False),
        sa.Column("device_country", sa.String(length=2), nullable=False),
        sa.Column("energy_source", sa.String(length=16), nullable=False),
        sa.Column("technology", sa.String(length=16), nullable=False),
        sa.Column("production_start_on", sa.Date(), nullable=False),
        sa.Column("production_end_on", sa.Date(), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=False),
        sa.Column("expiry_rule", sa.String(length=200), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "active", "transferred", "cancelled", "expired", name="certificatestate", native_enum=False, length=16
            ),
            nullable=False,
        ),
        sa.Column("state_changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("transferred_to", sa.String(length=200), nullable=False),
        sa.Column("transferred_on", sa.Date(), nullable=True),
        sa.Column("supply_contract_id", sa.Uuid(), nullable=True),
        sa.Column("ppa_connection_id", sa.Uuid(), nullable=True),
        sa.Column("split_from_id", sa.Uuid(), nullable=True),
        sa.Column(
            "evidence_sha256",
            postgresql.ARRAY(sa.String(length=64)),
            server_default=sa.text("'{}'::varchar[]"),
            nullable=False,
        ),
        sa.Column("created_by", sa.String(length=320), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("range_start >= 0 AND range_end >= range_start", name=op.f("ck_certificates_range_order")),
        sa.CheckConstraint("production_end_on > production_start_on", name=op.f("ck_certificates_production_period")),
        postgresql.ExcludeConstraint(
            (sa.column("issuer_key"), "&&"),
            (sa.column("id_range"), "&&"),
            using="gist",
            name="ex_certificates_identifiers",
        ),
        sa.ForeignKeyConstraint(
            ["supply_contract_id"],
            ["supply_contracts.id"],
            name=op.f("fk_certificates_supply_contract_id_supply_contracts"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["split_from_id"],
            ["certificates.id"],
            name=op.f("fk_certificates_split_from_id_certificates"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certificates")),
    )
    op.create_index("ix_certificates_supply_contract_id", "certificates", ["supply_contract_id"], unique=False)
    op.create_index("ix_certificates_ppa_connection_id", "certificates", ["ppa_connection_id"], unique=False)
    op.create_index("ix_certificates_state_expires_on", "certificates", ["state", "expires_on"], unique=False)
    op.create_table(
        "cancellation_statements",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("certificate_id", sa.Uuid(), nullable=False),
        sa.Column("beneficiary", sa.String(length=200), nullable=False),
        sa.Column("consumption_start_on", sa.Date(), nullable=False),
        sa.Column("consumption_end_on", sa.Date(), nullable=False),
        sa.Column("consumption_country", sa.String(length=2), nullable=False),
        sa.Column("purpose", sa.String(length=300), nullable=False),
        sa.Column("installation_id", sa.Uuid(), nullable=True),
        sa.Column("statement_reference", sa.String(length=120), nullable=False),
        sa.Column("cancelled_on", sa.Date(), nullable=False),
        sa.Column("created_by", sa.String(length=320), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "consumption_end_on > consumption_start_on", name=op.f("ck_cancellation_statements_consumption_period")
        ),
        sa.ForeignKeyConstraint(
            ["certificate_id"],
            ["certificates.id"],
            name=op.f("fk_cancellation_statements_certificate_id_certificates"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["installation_id"],
            ["installations.id"],
            name=op.f("fk_cancellation_statements_installation_id_installations"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cancellation_statements")),
        sa.UniqueConstraint("certificate_id", name=op.f("uq_cancellation_statements_certificate_id")),
    )
    op.create_table(
        "certificate_claims",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("certificate_id", sa.Uuid(), nullable=False),
        sa.Column("range_start", sa.BigInteger(), nullable=False),
        sa.Column("range_end", sa.BigInteger(), nullable=False),
        sa.Column(
            "quantity", sa.BigInteger(), sa.Computed("range_end - range_start + 1", persisted=True), nullable=False
        ),
        sa.Column("installation_id", sa.Uuid(), nullable=True),
        sa.Column("period_start_on", sa.Date(), nullable=False),
        sa.Column("period_end_on", sa.Date(), nullable=False),
        sa.Column("purpose", sa.String(length=300), nullable=False),
        sa.Column("claimed_by", sa.String(length=320), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "range_start >= 0 AND range_end >= range_start", name=op.f("ck_certificate_claims_range_order")
        ),
        sa.CheckConstraint("period_end_on > period_start_on", name=op.f("ck_certificate_claims_claim_period")),
        sa.ForeignKeyConstraint(
            ["certificate_id"],
            ["certificates.id"],
            name=op.f("fk_certificate_claims_certificate_id_certificates"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["installation_id"],
            ["installations.id"],
            name=op.f("fk_certificate_claims_installation_id_installations"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certificate_claims")),
    )
    op.create_index("ix_certificate_claims_certificate_id", "certificate_claims", ["certificate_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_certificate_claims_certificate_id", table_name="certificate_claims")
    op.drop_table("certificate_claims")
    op.drop_table("cancellation_statements")
    op.drop_index("ix_certificates_state_expires_on", table_name="certificates")
    op.drop_index("ix_certificates_ppa_connection_id", table_name="certificates")
    op.drop_index("ix_certificates_supply_contract_id", table_name="certificates")
    op.drop_table("certificates")
