"""Verification workspace: engagements, extension requests, samples, findings, statements, statement keys

Revision ID: 7d41c9e2b8a5
Revises: 7e3b9c2d5a14
Create Date: 2026-12-03 08:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "7d41c9e2b8a5"
down_revision: str | Sequence[str] | None = "7e3b9c2d5a14"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = "platform"


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, length=16, schema=S)


def _tenant_fk(column: str, table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{S}.tenants.id"], name=op.f(f"fk_{table}_{column}_tenants"), ondelete="CASCADE"
    )


def _engagement_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["engagement_id"],
        [f"{S}.verification_engagements.id"],
        name=op.f(f"fk_{table}_engagement_id_verification_engagements"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    t = "verification_engagements"
    op.create_table(
        t,
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("exporter_tenant_id", sa.Uuid(), nullable=False),
        sa.Column("verifier_tenant_id", sa.Uuid(), nullable=False),
        sa.Column("installation_id", sa.Uuid(), nullable=False),
        sa.Column("installation_name", sa.String(length=200), nullable=False),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("period_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("footprint_versions", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("access_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("access_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("team_emails", postgresql.ARRAY(sa.String(length=320)), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column(
            "status", _enum("engagementstatus", "invited", "active", "declined", "ended", "revoked"), nullable=False
        ),
        sa.Column("grant_ids", postgresql.ARRAY(sa.Uuid()), nullable=False),
        sa.Column("invited_by", sa.String(length=320), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("period_end > period_start", name=op.f(f"ck_{t}_period_order")),
        sa.CheckConstraint("access_end > access_start", name=op.f(f"ck_{t}_access_order")),
        _tenant_fk("exporter_tenant_id", t),
        _tenant_fk("verifier_tenant_id", t),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{t}")),
        schema=S,
    )
    op.create_index("ix_verification_engagements_verifier", t, ["verifier_tenant_id", "created_at"], schema=S)
    op.create_index("ix_verification_engagements_exporter", t, ["exporter_tenant_id", "created_at"], schema=S)

    t = "verification_extension_requests"
    op.create_table(
        t,
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("engagement_id", sa.Uuid(), nullable=False),
        sa.Column("previous_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("requested_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", _enum("extensionstatus", "requested", "approved", "declined"), nullable=False),
        sa.Column("requested_by", sa.String(length=320), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(length=320), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        _engagement_fk(t),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{t}")),
        schema=S,
    )
    op.create_index(op.f(f"ix_{t}_engagement_id"), t, ["engagement_id"], schema=S)

    t = "verification_samples"
    op.create_table(
        t,
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("engagement_id", sa.Uuid(), nullable=False),
        sa.Column("population_kind", _enum("populationkind", "batch", "interval", "meter", "evidence"), nullable=False),
        sa.Column("seed", sa.String(length=40), nullable=False),
        sa.Column("population_size", sa.Integer(), nullable=False),
        sa.Column("population_digest", sa.String(length=64), nullable=False),
        sa.Column("sample_size", sa.Integer(), nullable=False),
        sa.Column("drawn_by", sa.String(length=320), nullable=False),
        sa.Column("drawn_at", sa.DateTime(timezone=True), nullable=False),
        _engagement_fk(t),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{t}")),
        schema=S,
    )
    op.create_index(op.f(f"ix_{t}_engagement_id"), t, ["engagement_id"], schema=S)

    t = "verification_sample_items"
    op.create_table(
        t,
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("sample_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("population_index", sa.Integer(), nullable=False),
        sa.Column("item_key", sa.String(length=120), nullable=False),
        sa.Column("label", sa.String(length=300), nullable=False),
        sa.Column("checked", sa.Text(), nullable=True),
        sa.Column("result", _enum("checkresult", "ok", "deviation"), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("checked_by", sa.String(length=320), nullable=True),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["sample_id"],
            [f"{S}.verification_samples.id"],
            name=op.f(f"fk_{t}_sample_id_verification_samples"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{t}")),
        sa.UniqueConstraint("sample_id", "position", name=op.f(f"uq_{t}_sample_id_position")),
        schema=S,
    )

    t = "verification_findings"
    op.create_table(
        t,
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("engagement_id", sa.Uuid(), nullable=False),
        sa.Column("type", _enum("findingtype", "misstatement", "non_conformity", "recommendation"), nullable=False),
        sa.Column("item_kind", sa.String(length=32), nullable=False),
        sa.Column("item_id", sa.String(length=120), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("amount_tco2e", sa.Float(), nullable=False),
        sa.Column("total_tco2e", sa.Float(), nullable=False),
        sa.Column("threshold_tco2e", sa.Float(), nullable=False),
        sa.Column("status", _enum("findingstatus", "open", "answered", "resolved", "accepted"), nullable=False),
        sa.Column("raised_by", sa.String(length=320), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _engagement_fk(t),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{t}")),
        schema=S,
    )
    op.create_index(op.f(f"ix_{t}_engagement_id"), t, ["engagement_id"], schema=S)

    t = "verification_finding_entries"
    op.create_table(
        t,
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("finding_id", sa.Uuid(), nullable=False),
        sa.Column("author", sa.String(length=320), nullable=False),
        sa.Column("author_tenant_id", sa.Uuid(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("status", _enum("findingstatus", "open", "answered", "resolved", "accepted"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["finding_id"],
            [f"{S}.verification_findings.id"],
            name=op.f(f"fk_{t}_finding_id_verification_findings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{t}")),
        schema=S,
    )
    op.create_index(op.f(f"ix_{t}_finding_id"), t, ["finding_id"], schema=S)

    t = "verification_statements"
    op.create_table(
        t,
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("engagement_id", sa.Uuid(), nullable=False),
        sa.Column("exporter_tenant_id", sa.Uuid(), nullable=False),
        sa.Column("verifier_tenant_id", sa.Uuid(), nullable=False),
        sa.Column("footprint_version_ids", postgresql.ARRAY(sa.Uuid()), nullable=False),
        sa.Column("opinion", _enum("opinion", "positive", "qualified", "negative"), nullable=False),
        sa.Column("assurance_level", _enum("assurancelevel", "reasonable", "limited"), nullable=False),
        sa.Column("verifier_name", sa.String(length=200), nullable=False),
        sa.Column("accreditation_id", sa.String(length=100), nullable=False),
        sa.Column("kid", sa.String(length=100), nullable=False),
        sa.Column("jws", sa.Text(), nullable=False),
        sa.Column("issued_by", sa.String(length=320), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        _engagement_fk(t),
        _tenant_fk("exporter_tenant_id", t),
        _tenant_fk("verifier_tenant_id", t),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{t}")),
        schema=S,
    )
    op.create_index(op.f(f"ix_{t}_engagement_id"), t, ["engagement_id"], schema=S)
    op.create_index(
        "ix_verification_statements_versions", t, ["footprint_version_ids"], schema=S, postgresql_using="gin"
    )

    t = "statement_signing_keys"
    op.create_table(
        t,
        sa.Column("kid", sa.String(length=100), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("alg", sa.String(length=16), nullable=False),
        sa.Column("public_jwk", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("sealed_private_jwk", sa.Text(), nullable=False),
        sa.Column("status", _enum("statementkeystatus", "active", "retired"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        _tenant_fk("tenant_id", t),
        sa.PrimaryKeyConstraint("kid", name=op.f(f"pk_{t}")),
        schema=S,
    )
    op.create_index(op.f(f"ix_{t}_tenant_id"), t, ["tenant_id"], schema=S)
    op.create_index(
        "uq_statement_signing_keys_active",
        t,
        ["tenant_id"],
        unique=True,
        schema=S,
        postgresql_where=sa.text("status = 'active'"),
    )


def downgrade() -> None:
    for table in (
        "statement_signing_keys",
        "verification_statements",
        "verification_finding_entries",
        "verification_findings",
        "verification_sample_items",
        "verification_samples",
        "verification_extension_requests",
        "verification_engagements",
    ):
        op.drop_table(table, schema=S)
