"""Evidence documents: metadata and hashes in the tenant schema, bytes in the object store."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import BigInteger, String, Text
from sqlalchemy.dialects.postgresql import JSONB
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
    __tablename__ = "evidence_documents"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    content_type: Mapped[str] = mapped_column(String(120))
    filename: Mapped[str] = mapped_column(String(255))
    kind: Mapped[EvidenceKind] = mapped_column(str_enum(EvidenceKind))
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    # what the document evidences, e.g. {"installation_id": "...", "meter_id": "..."}
    subjects: Mapped[dict[str, object]] = mapped_column(JSONB, default=dict)
    storage_key: Mapped[str] = mapped_column(String(200))
    storage_version_id: Mapped[str | None] = mapped_column(String(200))
    retain_until: Mapped[datetime | None]
    uploaded_by: Mapped[str] = mapped_column(String(320))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)
