"""shipments to EU customers and the batches they came from

Revision ID: 5e1d2c7a9b40
Revises: 9b2e6c41d8a3
Create Date: 2026-12-02 14:30:00.000000

"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "5e1d2c7a9b40"
down_revision: Union[str, Sequence[str], None] = "9b2e6c41d8a3"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# as backend.shipments.models creates it for a new tenant; runs under the tenant's search_path
FUNCTION = """
CREATE OR REPLACE FUNCTION shipment_batches_within_batch_mass() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $f$
DECLARE
  available double precision;
  taken numeric;
  batch_no text;
BEGIN
  -- one shipment at a time per batch: the second waits here, then counts the first one's rows
  SELECT net_mass_t, batch_number INTO available, batch_no
    FROM production_batches WHERE id = NEW.batch_id FOR UPDATE;
  SELECT COALESCE(SUM(mass_t), 0) INTO taken FROM shipment_batches WHERE batch_id = NEW.batch_id;
  IF taken > available::numeric + 0.0005 THEN
    RAISE EXCEPTION USING
      ERRCODE = 'check_violation',
      CONSTRAINT = 'shipment_batches_within_batch_mass',
      MESSAGE = 'batch ' || batch_no || ' would be shipped beyond its net mass: '
        || taken || ' t of ' || available || ' t';
  END IF;
  RETURN NULL;
END $f$
"""


def upgrade() -> None:
    op.create_table(
        "shipments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("installation_id", sa.Uuid(), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=False),
        sa.Column("customer_name", sa.String(length=200), nullable=False),
        sa.Column("customer_country", sa.String(length=2), nullable=False),
        sa.Column("customer_eori", sa.String(length=17), nullable=True),
        sa.Column("cn_code", sa.String(length=8), nullable=False),
        sa.Column("net_mass_t", sa.Numeric(12, 3), nullable=False),
        sa.Column("dispatch_date", sa.Date(), nullable=False),
        sa.Column("delivery_date", sa.Date(), nullable=True),
        sa.Column("invoice_number", sa.String(length=64), nullable=False),
        sa.Column("mrn", sa.String(length=18), nullable=True),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.String(length=320), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("net_mass_t > 0", name=op.f("ck_shipments_net_mass_positive")),
        sa.CheckConstraint("cn_code ~ '^[0-9]{8}$'", name=op.f("ck_shipments_cn_code_8_digits")),
        sa.CheckConstraint(
            "delivery_date IS NULL OR delivery_date >= dispatch_date", name=op.f("ck_shipments_delivered_after_dispatch")
        ),
        sa.ForeignKeyConstraint(
            ["installation_id"],
            ["installations.id"],
            name=op.f("fk_shipments_installation_id_installations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shipments")),
        sa.UniqueConstraint("reference", name=op.f("uq_shipments_reference")),
        sa.UniqueConstraint("invoice_number", name=op.f("uq_shipments_invoice_number")),
        sa.UniqueConstraint("mrn", name=op.f("uq_shipments_mrn")),
    )
    op.create_index(
        "ix_shipments_installation_id_dispatch_date", "shipments", ["installation_id", "dispatch_date"], unique=False
    )
    op.create_table(
        "shipment_batches",
        sa.Column("shipment_id", sa.Uuid(), nullable=False),
        sa.Column("batch_id", sa.Uuid(), nullable=False),
        sa.Column("mass_t", sa.Numeric(12, 3), nullable=False),
        sa.CheckConstraint("mass_t > 0", name=op.f("ck_shipment_batches_mass_positive")),
        sa.ForeignKeyConstraint(
            ["shipment_id"],
            ["shipments.id"],
            name=op.f("fk_shipment_batches_shipment_id_shipments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["production_batches.id"],
            name=op.f("fk_shipment_batches_batch_id_production_batches"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("shipment_id", "batch_id", name=op.f("pk_shipment_batches")),
    )
    op.create_index("ix_shipment_batches_batch_id", "shipment_batches", ["batch_id"], unique=False)
    op.execute(FUNCTION)
    op.execute(
        "CREATE TRIGGER within_batch_mass AFTER INSERT OR UPDATE ON shipment_batches "
        "FOR EACH ROW EXECUTE FUNCTION shipment_batches_within_batch_mass()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS within_batch_mass ON shipment_batches")
    op.execute("DROP FUNCTION IF EXISTS shipment_batches_within_batch_mass()")
    op.drop_index("ix_shipment_batches_batch_id", table_name="shipment_batches")
    op.drop_table("shipment_batches")
    op.drop_index("ix_shipments_installation_id_dispatch_date", table_name="shipments")
    op.drop_table("shipments")
