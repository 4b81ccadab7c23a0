"""Evidence documents: checked, stored by SHA-256 once, described, audited."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit.service import record, snapshot
from backend.db import tenant_scope_of
from backend.errors import FieldError, ValidationFailed
from backend.evidence.errors import ContentTypeRefused, DocumentNotFound, DocumentTooLarge
from backend.evidence.models import EvidenceDocument, EvidenceKind
from backend.evidence.store import ObjectStore, object_key
from backend.identity.principal import Principal

# declared type -> leading bytes the content must start with (None: text, checked for UTF-8)
ALLOWED_TYPES: dict[str, tuple[bytes, ...] | None] = {
    "application/pdf": (b"%PDF-",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": (b"PK\x03\x04",),
    "application/zip": (b"PK\x03\x04",),
    "text/csv": None,
    "text/plain": None,
    "application/json": None,
    "application/xml": None,
    "text/xml": None,
}


@dataclass(frozen=True, slots=True)
class NewDocument:
    data: bytes
    filename: str
    content_type: str
    kind: EvidenceKind
    title: str
    description: str = ""
    subjects: dict[str, str] = field(default_factory=dict)


def check_content(data: bytes, content_type: str, *, max_bytes: int) -> str:
    """The normalised content type, if the bytes are allowed and look like what they claim."""
    if len(data) > max_bytes:
        raise DocumentTooLarge(
            f"the document is {len(data)} bytes; the limit is {max_bytes}", field="file", limit=max_bytes
        )
    if not data:
        raise ValidationFailed([FieldError("the file is empty", field="file")])
    declared = content_type.split(";")[0].strip().lower()
    if declared not in ALLOWED_TYPES:
        raise ContentTypeRefused(f"{declared or 'unknown type'} is not accepted as evidence", field="contentType")
    signatures = ALLOWED_TYPES[declared]
    if signatures is None:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            raise ContentTypeRefused(f"the file is not UTF-8 text as {declared} requires", field="file")
    elif not data.startswith(signatures):
        raise ContentTypeRefused(f"the file's content does not match {declared}", field="file")
    return declared


async def upload_document(
    db: AsyncSession, store: ObjectStore, actor: Principal, data: NewDocument, *, max_bytes: int
) -> tuple[EvidenceDocument, bool]:
    """Store a document and its metadata; returns (document, created). Members and above."""
    actor.require("evidence:write")
    content_type = check_content(data.data, data.content_type, max_bytes=max_bytes)
    errors = []
    if not data.title.strip():
        errors.append(FieldError("must not be empty", field="title"))
    if not data.filename.strip() or len(data.filename) > 255:
        errors.append(FieldError("must be 1 to 255 characters", field="filename"))
    if errors:
        raise ValidationFailed(errors)
    sha256 = hashlib.sha256(data.data).hexdigest()
    existing = (
        await db.execute(select(EvidenceDocument).where(EvidenceDocument.sha256 == sha256))
    ).scalar_one_or_none()
    if existing is not None:
        return existing, False
    scope = tenant_scope_of(db)
    key = object_key(scope.schema, sha256)
    stored = await store.put(key, data.data, content_type=content_type, sha256=sha256)
    document = EvidenceDocument(
        sha256=sha256,
        size_bytes=len(data.data),
        content_type=content_type,
        filename=data.filename.strip(),
        kind=data.kind,
        title=data.title.strip(),
        description=data.description,
        subjects=dict(data.subjects),
        storage_key=key,
        storage_version_id=stored.version_id,
        retain_until=stored.retain_until,
        uploaded_by=actor.label,
    )
    try:
        db.add(document)
        await db.flush()
        await record(db, actor, "evidence.uploaded", "evidence_document", document.id, after=snapshot(document))
    except Exception:
        if stored.created:
            await store.delete_unlocked(key)
        raise
    return document, True


async def get_document(db: AsyncSession, actor: Principal, document_id: uuid.UUID) -> EvidenceDocument:
    actor.require("evidence:read")
    document = await db.get(EvidenceDocument, document_id)
    if document is None:
        raise DocumentNotFound("no such document", field="id")
    return document


async def list_documents(db: AsyncSession, actor: Principal, *, limit: int = 50) -> list[EvidenceDocument]:
    actor.require("evidence:read")
    query = select(EvidenceDocument).order_by(EvidenceDocument.uploaded_at.desc(), EvidenceDocument.id).limit(limit)
    return list((await db.execute(query)).scalars())
