"""Evidence documents: metadata and hashes in the tenant schema, bytes in the object store."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Index, String, Text, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import TenantBase, new_id, str_enum, utcnow


class EvidenceKind(enum.StrEnum):
    ELECTRICITY_CONTRACT = "electricity_contract"
    PPA = "ppa"
    INVOICE = "invoice"
    GO_CANCELLATION = "go_cancellation"
    SINGLE_LINE_DIAGRAM = "single_line_diagram"
    SETTLEMENT_STATEMENT = "settlement_statement"
    GRID_CONNECTION = "grid_connection"
    SCADA_EXPORT = "scada_export"
    METER_CERTIFICATE = "meter_certificate"
    PRODUCTION_RECORD = "production_record"
    OTHER = "other"


class EvidenceDocument(TenantBase):
    """One purpose a stored object serves: the same bytes uploaded again with other metadata (another
    kind, title, subject) are a new document pointing to the same object in the store."""

    __tablename__ = "evidence_documents"
    __table_args__ = (
        Index("ix_evidence_documents_sha256", "sha256"),
        Index("ix_evidence_documents_installation_ids", "installation_ids", postgresql_using="gin"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    content_type: Mapped[str] = mapped_column(String(120))
    filename: Mapped[str] = mapped_column(String(255))
    kind: Mapped[EvidenceKind] = mapped_column(str_enum(EvidenceKind))
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    # what the document evidences: typed references that existed at upload,
    # e.g. [{"kind": "meter", "id": "..."}] (kinds: backend.references)
    subjects: Mapped[list[dict[str, str]]] = mapped_column(JSONB, default=list, server_default=text("'[]'::jsonb"))
    storage_key: Mapped[str] = mapped_column(String(200))
    storage_version_id: Mapped[str | None] = mapped_column(String(200))
    retain_until: Mapped[datetime | None]
    uploaded_by: Mapped[str] = mapped_column(String(320))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)
    # the installations those subjects concern: what grants and bound clients are limited by
    installation_ids: Mapped[list[uuid.UUID]] = mapped_column(
        ARRAY(UUID(as_uuid=True)), default=list, server_default=text("'{}'::uuid[]")
    )
    # the period the document covers (contract term, billing period), if it has one
    period_start: Mapped[datetime | None]
    period_end: Mapped[datetime | None]
