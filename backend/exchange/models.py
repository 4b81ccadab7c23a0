"""Published footprints (tenant schema): the immutable documents an exporter publishes from its footprint
versions, with the mutable state (status, verification) beside them.

The document and its content hash never change after the row is written; PostgreSQL refuses it for
every role (trigger below). Only ``status``, ``deprecated_at`` and ``verification_status`` may change:
a later publication of the same product, installation and period deprecates the one before.
"""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    DDL,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    event,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import PlatformBase, TenantBase, new_id, str_enum, utcnow

DOCUMENT_SCHEMA = "cbamx.published-footprint/1"


class PublicationStatus(enum.StrEnum):
    ACTIVE = "active"
    DEPRECATED = "deprecated"  # a later publication of the same product, installation and period supersedes it


class VerificationStatus(enum.StrEnum):
    UNVERIFIED = "unverified"
    VERIFIED = "verified"  # a signed verification statement attaches to the publication


class PublishedFootprint(TenantBase):
    """One publication of one footprint version: the document as shared, and its state."""

    __tablename__ = "published_footprints"
    __table_args__ = (
        UniqueConstraint("footprint_version_id", name="uq_published_footprints_footprint_version_id"),
        UniqueConstraint(
            "product_id",
            "installation_id",
            "period_start",
            "period_end",
            "version",
            name="uq_published_footprints_product_period_version",
        ),
        CheckConstraint("version >= 1", name="version_positive"),
        CheckConstraint("content_hash ~ '^sha256:[0-9a-f]{64}$'", name="content_hash_form"),
        Index("ix_published_footprints_published_at", "published_at", "id"),
        Index("ix_published_footprints_cn_code", "cn_code"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    footprint_version_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("footprint_versions.id", ondelete="RESTRICT"))
    product_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("products.id", ondelete="RESTRICT"))
    installation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("installations.id", ondelete="RESTRICT"))
    cn_code: Mapped[str] = mapped_column(String(8))
    period_start: Mapped[datetime]
    period_end: Mapped[datetime]
    # the publication number for (product, installation, period), 1..n
    version: Mapped[int] = mapped_column(Integer)
    supersedes_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("published_footprints.id", ondelete="RESTRICT"), unique=True
    )
    document: Mapped[dict[str, Any]] = mapped_column(JSONB)
    content_hash: Mapped[str] = mapped_column(String(71))
    published_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_by: Mapped[str] = mapped_column(String(320))
    # beside the document, never in it
    status: Mapped[PublicationStatus] = mapped_column(
        str_enum(PublicationStatus, length=16), default=PublicationStatus.ACTIVE
    )
    deprecated_at: Mapped[datetime | None]
    verification_status: Mapped[VerificationStatus] = mapped_column(
        str_enum(VerificationStatus, length=16), default=VerificationStatus.UNVERIFIED
    )


# What was published stays as it was published: only the state beside the document may change, and no
# publication is ever removed. The function names every column that is not state.
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

event.listen(PublishedFootprint.__table__, "after_create", DDL(IMMUTABLE_PUBLICATIONS_DDL))


# --- mirror checks of received footprints (the importer's side) --------------------------------------------


class MirrorCheckStatus(enum.StrEnum):
    """The worst status of a stored report (``backend.mirror.Status`` values)."""

    PASS = "PASS"
    WARN = "WARN"
    FAIL = "FAIL"
    NOT_APPLICABLE = "NOT_APPLICABLE"


class EscalationStatus(enum.StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"  # the supplier's answer (or a corrected publication) settles it
    ACCEPTED_RISK = "accepted_risk"  # the importer keeps the footprint knowing the finding


class MirrorCheckResult(TenantBase):
    """The importer's record of one mirror check of a received footprint: evidence of its due diligence.

    Lives in the importer's schema; the supplier never reads it. Never changed after it is written.
    """

    __tablename__ = "mirror_check_results"
    __table_args__ = (
        Index("ix_mirror_check_results_publication_id_checked_at", "publication_id", "checked_at"),
        CheckConstraint("content_hash ~ '^sha256:[0-9a-f]{64}$'", name="content_hash_form"),
        CheckConstraint("shipped_mass_t IS NULL OR shipped_mass_t >= 0", name="shipped_mass_t_not_negative"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    # the supplier's publication, in the supplier's schema: no foreign key across schemas
    publication_id: Mapped[uuid.UUID]
    supplier_tenant_id: Mapped[uuid.UUID]
    content_hash: Mapped[str] = mapped_column(String(71))
    shipped_mass_t: Mapped[float | None]
    status: Mapped[MirrorCheckStatus] = mapped_column(str_enum(MirrorCheckStatus, length=16))
    report: Mapped[dict[str, Any]] = mapped_column(JSONB)
    rules_version: Mapped[str] = mapped_column(String(64))
    checked_at: Mapped[datetime] = mapped_column(default=utcnow)
    checked_by: Mapped[str] = mapped_column(String(320))


class MirrorEscalation(TenantBase):
    """A check result with a failing check, to be settled by the importer: open until resolved or accepted."""

    __tablename__ = "mirror_escalations"
    __table_args__ = (
        Index("ix_mirror_escalations_status_opened_at", "status", "opened_at"),
        CheckConstraint("(status = 'open') = (closed_at IS NULL)", name="closed_exactly_when_not_open"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    check_result_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("mirror_check_results.id", ondelete="RESTRICT"), unique=True
    )
    publication_id: Mapped[uuid.UUID]
    supplier_tenant_id: Mapped[uuid.UUID]
    failed_checks: Mapped[list[str]] = mapped_column(JSONB)
    status: Mapped[EscalationStatus] = mapped_column(
        str_enum(EscalationStatus, length=16), default=EscalationStatus.OPEN
    )
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None]
    closed_by: Mapped[str | None] = mapped_column(String(320))
    close_note: Mapped[str | None] = mapped_column(Text)


class QuestionStatus(enum.StrEnum):
    OPEN = "open"
    ANSWERED = "answered"


class FootprintQuestion(PlatformBase):
    """An importer's question to a supplier about one of its publications, and the supplier's answer.

    A platform row naming both organisations, as a connection does: each side reads its own side through
    the exchange's service (never the other's schema), and each step is in both organisations' trails.
    """

    __tablename__ = "footprint_questions"
    __table_args__ = (
        Index("ix_footprint_questions_supplier_tenant_id_status", "supplier_tenant_id", "status"),
        Index("ix_footprint_questions_importer_tenant_id_escalation_id", "importer_tenant_id", "escalation_id"),
        CheckConstraint(
            "(status = 'answered') = (answer IS NOT NULL AND answered_at IS NOT NULL)",
            name="answered_exactly_with_answer",
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    importer_tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    supplier_tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    # rows of the tenants' schemas: no foreign keys across schemas
    publication_id: Mapped[uuid.UUID]
    escalation_id: Mapped[uuid.UUID]
    question: Mapped[str] = mapped_column(Text)
    asked_by: Mapped[str] = mapped_column(String(320))
    asked_at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[QuestionStatus] = mapped_column(str_enum(QuestionStatus, length=16), default=QuestionStatus.OPEN)
    answer: Mapped[str | None] = mapped_column(Text)
    answered_by: Mapped[str | None] = mapped_column(String(320))
    answered_at: Mapped[datetime | None]


# --- data requests (platform schema) ---------------------------------------------------------------------


class RequestStatus(enum.StrEnum):
    REQUESTED = "requested"
    FULFILLED = "fulfilled"  # answered with published footprints, shared with the importer
    REJECTED = "rejected"  # refused by the supplier, with a reason
    CANCELLED = "cancelled"  # withdrawn by the importer


class RequestOrigin(enum.StrEnum):
    PLATFORM = "platform"  # made on this exchange (GraphQL, portal)
    PACT = "pact"  # a PACT v3 RequestCreatedEvent received by our PACT host (``backend.pact.answers``)


class FootprintRequest(PlatformBase):
    """An importer's request to a connected supplier for footprints of products or CN codes in a period.

    A request concerns two organisations, so it lives beside the connection it is made under, in the
    platform schema; only ``backend.exchange.requests`` reads it, naming the caller's organisation.

    A request received through PACT is one of these too (``origin`` PACT): its ``pact_*`` columns keep
    the event as received, its criteria, the requester's host (``pact_source``) and event id, once per
    (supplier, source, event id); its answer goes back to that host (``backend.pact.callbacks``).
    """

    __tablename__ = "footprint_requests"
    __table_args__ = (
        Index("ix_footprint_requests_importer", "importer_tenant_id", "created_at"),
        Index("ix_footprint_requests_supplier", "supplier_tenant_id", "created_at"),
        Index("ix_footprint_requests_open_due", "due_date", postgresql_where=text("status = 'requested'")),
        CheckConstraint("period_start < period_end", name="period_ordered"),
        CheckConstraint(
            "origin = 'pact' OR cardinality(product_ids) + cardinality(cn_codes) > 0", name="names_something"
        ),
        CheckConstraint("origin = 'pact' OR subscription_id IS NOT NULL", name="platform_under_connection"),
        Index(
            "uq_footprint_requests_pact_event",
            "supplier_tenant_id",
            "pact_source",
            "pact_event_id",
            unique=True,
            postgresql_where=text("origin = 'pact'"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    importer_tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    supplier_tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    # None only for a PACT request from a requester shared with outside a connection
    subscription_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("subscriptions.id", ondelete="CASCADE"))
    product_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(Uuid()), default=list)
    cn_codes: Mapped[list[str]] = mapped_column(ARRAY(String(8)), default=list)
    period_start: Mapped[datetime]
    period_end: Mapped[datetime]
    shipment_refs: Mapped[list[str]] = mapped_column(ARRAY(String(64)), default=list)
    due_date: Mapped[date]
    message: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[RequestStatus] = mapped_column(str_enum(RequestStatus, length=16), default=RequestStatus.REQUESTED)
    reason: Mapped[str | None] = mapped_column(Text)
    publication_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(Uuid()), default=list)
    share_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("grants.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(320))
    decided_at: Mapped[datetime | None]
    origin: Mapped[RequestOrigin] = mapped_column(
        str_enum(RequestOrigin, length=16), default=RequestOrigin.PLATFORM, server_default=RequestOrigin.PLATFORM.value
    )
    pact_event_id: Mapped[str | None] = mapped_column(String(200))
    pact_source: Mapped[str | None] = mapped_column(String(2000))
    pact_criteria: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    pact_event: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    pact_client_id: Mapped[str | None] = mapped_column(String(200))


class FootprintRequestEntry(PlatformBase):
    """One step in a request's history: who (organisation and person or client), when, what, a note.

    ``reminder`` names the reminder kind of a reminder entry; one per request and kind.
    """

    __tablename__ = "footprint_request_entries"
    __table_args__ = (UniqueConstraint("request_id", "reminder", name="uq_footprint_request_entries_reminder"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    request_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("footprint_requests.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_tenant_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    actor: Mapped[str] = mapped_column(String(320))
    action: Mapped[str] = mapped_column(String(32))
    note: Mapped[str] = mapped_column(Text, default="")
    reminder: Mapped[str | None] = mapped_column(String(16))
