"""PACT requests as data requests (origin, the event as received) and their answers to the requester's host

Revision ID: 5c8e2f1a9d47
Revises: b4e7a2c91d53
Create Date: 2026-12-03 12:30:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "5c8e2f1a9d47"
down_revision: str | Sequence[str] | None = "b4e7a2c91d53"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = "platform"


def upgrade() -> None:
    op.add_column(
        "footprint_requests",
        sa.Column("origin", sa.String(length=16), server_default="platform", nullable=False),
        schema=S,
    )
    op.add_column("footprint_requests", sa.Column("pact_event_id", sa.String(length=200), nullable=True), schema=S)
    op.add_column("footprint_requests", sa.Column("pact_source", sa.String(length=2000), nullable=True), schema=S)
    op.add_column(
        "footprint_requests",
        sa.Column("pact_criteria", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        schema=S,
    )
    op.add_column(
        "footprint_requests", sa.Column("pact_event", postgresql.JSONB(astext_type=sa.Text()), nullable=True), schema=S
    )
    op.add_column("footprint_requests", sa.Column("pact_client_id", sa.String(length=200), nullable=True), schema=S)
    op.alter_column("footprint_requests", "subscription_id", existing_type=sa.Uuid(), nullable=True, schema=S)
    op.drop_constraint(op.f("ck_footprint_requests_names_something"), "footprint_requests", type_="check", schema=S)
    op.create_check_constraint(
        op.f("ck_footprint_requests_names_something"),
        "footprint_requests",
        "origin = 'pact' OR cardinality(product_ids) + cardinality(cn_codes) > 0",
        schema=S,
    )
    op.create_check_constraint(
        op.f("ck_footprint_requests_platform_under_connection"),
        "footprint_requests",
        "origin = 'pact' OR subscription_id IS NOT NULL",
        schema=S,
    )
    op.create_index(
        "uq_footprint_requests_pact_event",
        "footprint_requests",
        ["supplier_tenant_id", "pact_source", "pact_event_id"],
        unique=True,
        schema=S,
        postgresql_where=sa.text("origin = 'pact'"),
    )
    op.create_table(
        "pact_answers",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("request_id", sa.Uuid(), nullable=False),
        sa.Column("importer_tenant_id", sa.Uuid(), nullable=False),
        sa.Column("supplier_tenant_id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("event_type", sa.String(length=120), nullable=False),
        sa.Column("target", sa.String(length=2000), nullable=False),
        sa.Column("event", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            [f"{S}.footprint_requests.id"],
            name=op.f("fk_pact_answers_request_id_footprint_requests"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["importer_tenant_id"],
            [f"{S}.tenants.id"],
            name=op.f("fk_pact_answers_importer_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["supplier_tenant_id"],
            [f"{S}.tenants.id"],
            name=op.f("fk_pact_answers_supplier_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pact_answers")),
        sa.UniqueConstraint("request_id", name=op.f("uq_pact_answers_request_id")),
        schema=S,
    )
    op.create_index(
        "ix_pact_answers_pending",
        "pact_answers",
        ["next_attempt_at"],
        unique=False,
        schema=S,
        postgresql_where=sa.text("state = 'pending'"),
    )
    op.create_index(
        "ix_pact_answers_importer_target", "pact_answers", ["importer_tenant_id", "target"], unique=False, schema=S
    )
    op.create_table(
        "pact_answer_attempts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("answer_id", sa.Uuid(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["answer_id"],
            [f"{S}.pact_answers.id"],
            name=op.f("fk_pact_answer_attempts_answer_id_pact_answers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pact_answer_attempts")),
        sa.UniqueConstraint("answer_id", "attempt", name=op.f("uq_pact_answer_attempts_answer_id_attempt")),
        schema=S,
    )
    op.create_index(
        op.f("ix_pact_answer_attempts_answer_id"), "pact_answer_attempts", ["answer_id"], unique=False, schema=S
    )


def downgrade() -> None:
    op.drop_table("pact_answer_attempts", schema=S)
    op.drop_table("pact_answers", schema=S)
    op.execute(f"DELETE FROM {S}.footprint_requests WHERE origin = 'pact'")
    op.drop_index("uq_footprint_requests_pact_event", table_name="footprint_requests", schema=S)
    op.drop_constraint(op.f("ck_footprint_requests_platform_under_connection"), "footprint_requests", type_="check", schema=S)
    op.drop_constraint(op.f("ck_footprint_requests_names_something"), "footprint_requests", type_="check", schema=S)
    op.create_check_constraint(
        op.f("ck_footprint_requests_names_something"),
        "footprint_requests",
        "cardinality(product_ids) + cardinality(cn_codes) > 0",
        schema=S,
    )
    op.alter_column("footprint_requests", "subscription_id", existing_type=sa.Uuid(), nullable=False, schema=S)
    for column in ("pact_client_id", "pact_event", "pact_criteria", "pact_source", "pact_event_id", "origin"):
        op.drop_column("footprint_requests", column, schema=S)
