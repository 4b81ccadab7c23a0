"""The shipments domain's tables (tenant schema): shipments to EU customers and the production
batches each one was loaded from, with the mass taken from each.

A batch is never shipped beyond its net output mass: a trigger on ``shipment_batches`` locks the
batch row and compares what all shipments take from it with its net mass, so two concurrent
shipments of the same batch cannot both pass (the second waits for the first and then sees it).
The service checks the same first to name the field; the trigger is the rule PostgreSQL keeps.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import DDL, CheckConstraint, Date, ForeignKey, Index, Integer, Numeric, String, UniqueConstraint, event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import TenantBase, new_id, utcnow

# tonnes to the kilogram
MASS = Numeric(12, 3)


class Shipment(TenantBase):
    """One consignment to a customer in the EU: who, what (CN code, net mass), when, and its papers."""

    __tablename__ = "shipments"
    __table_args__ = (
        UniqueConstraint("reference"),
        UniqueConstraint("invoice_number"),
        UniqueConstraint("mrn"),
        CheckConstraint("net_mass_t > 0", name="net_mass_positive"),
        CheckConstraint("cn_code ~ '^[0-9]{8}$'", name="cn_code_8_digits"),
        CheckConstraint("delivery_date IS NULL OR delivery_date >= dispatch_date", name="delivered_after_dispatch"),
        Index("ix_shipments_installation_id_dispatch_date", "installation_id", "dispatch_date"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    # the installation the goods left from; every batch of the shipment is of this installation
    installation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("installations.id", ondelete="CASCADE"))
    # the exporter's own shipment or delivery note number
    reference: Mapped[str] = mapped_column(String(64))
    customer_name: Mapped[str] = mapped_column(String(200))
    customer_country: Mapped[str] = mapped_column(String(2))  # an EU member state
    customer_eori: Mapped[str | None] = mapped_column(String(17))
    cn_code: Mapped[str] = mapped_column(String(8))
    net_mass_t: Mapped[Decimal] = mapped_column(MASS)
    dispatch_date: Mapped[date] = mapped_column(Date)
    delivery_date: Mapped[date | None] = mapped_column(Date)
    invoice_number: Mapped[str] = mapped_column(String(64))
    # Movement Reference Number of the export customs declaration (18 characters)
    mrn: Mapped[str | None] = mapped_column(String(18))
    # where it was recorded from: api, or the id of the CSV import that brought it
    source: Mapped[str] = mapped_column(String(64), default="api")
    created_by: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ShipmentBatch(TenantBase):
    """The mass a shipment took from one production batch."""

    __tablename__ = "shipment_batches"
    __table_args__ = (
        CheckConstraint("mass_t > 0", name="mass_positive"),
        Index("ix_shipment_batches_batch_id", "batch_id"),
    )

    shipment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("shipments.id", ondelete="CASCADE"), primary_key=True)
    # a shipped batch cannot be deleted: the shipment goes first
    batch_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("production_batches.id", ondelete="RESTRICT"), primary_key=True
    )
    mass_t: Mapped[Decimal] = mapped_column(MASS)


class ShipmentImport(TenantBase):
    """A CSV or Excel file of shipments: the file (evidence), and either the shipments it stored or
    the report of why none were stored (all or nothing)."""

    __tablename__ = "shipment_imports"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    installation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("installations.id", ondelete="CASCADE"), index=True)
    document_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("evidence_documents.id", ondelete="RESTRICT"))
    status: Mapped[str] = mapped_column(String(16))  # completed | rejected
    rows_total: Mapped[int] = mapped_column(Integer, default=0)
    shipments_stored: Mapped[int] = mapped_column(Integer, default=0)
    # [{"row": 7, "column": "batch_mass_t", "code": "BATCH_OVER_SHIPPED", "message": "..."}]
    errors: Mapped[list[dict[str, object]]] = mapped_column(JSONB, default=list)
    created_by: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# the SQLSTATE-named constraint the trigger raises, found by the service in the database's answer
WITHIN_BATCH_MASS = "shipment_batches_within_batch_mass"

# No percent signs below: SQLAlchemy's DDL formats the statement with % (see tenancy.ddl, which
# builds a new tenant's schema from this metadata). ``SET search_path FROM CURRENT`` pins the
# function to the tenant schema it is created in.
WITHIN_BATCH_MASS_FUNCTION = """
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
WITHIN_BATCH_MASS_TRIGGER = (
    "CREATE TRIGGER within_batch_mass AFTER INSERT OR UPDATE ON shipment_batches "
    "FOR EACH ROW EXECUTE FUNCTION shipment_batches_within_batch_mass()"
)

event.listen(ShipmentBatch.__table__, "after_create", DDL(WITHIN_BATCH_MASS_FUNCTION))
event.listen(ShipmentBatch.__table__, "after_create", DDL(WITHIN_BATCH_MASS_TRIGGER))
