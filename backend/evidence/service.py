"""Evidence documents: checked, stored by SHA-256 once, described, audited."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, and_, false, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit.service import record, snapshot
from backend.db import tenant_scope_of
from backend.errors import FieldError, ValidationFailed
from backend.evidence.errors import ContentTypeRefused, DocumentNotFound, DocumentTooLarge
from backend.evidence.models import EvidenceDocument, EvidenceKind
from backend.evidence.store import ObjectStore, object_key
from backend.identity.principal import Principal
from backend.references import KINDS, ReadLimit, bound_limits, parse_id, subject_kinds, uuid_array

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
class SubjectRef:
    """What a document evidences: a kind from ``backend.references`` and the record's id."""

    kind: str
    id: str


@dataclass(frozen=True, slots=True)
class NewDocument:
    data: bytes
    filename: str
    content_type: str
    kind: EvidenceKind
    title: str
    description: str = ""
    subjects: list[SubjectRef] = field(default_factory=list)
    period_start: datetime | None = None
    period_end: datetime | None = None


MAX_SUBJECTS = 50


async def resolve_subjects(
    db: AsyncSession, subjects: Sequence[SubjectRef]
) -> tuple[list[dict[str, str]], list[uuid.UUID], list[FieldError]]:
    """Stored references and the installations they concern, or an error naming each missing subject."""
    stored: list[dict[str, str]] = []
    installations: list[uuid.UUID] = []
    errors: list[FieldError] = []
    if len(subjects) > MAX_SUBJECTS:
        return [], [], [FieldError(f"at most {MAX_SUBJECTS} subjects", field="subjects")]
    for index, subject in enumerate(subjects):
        kind = KINDS.get(subject.kind)
        if kind is None or not kind.evidence_subject:
            errors.append(FieldError(f"known kinds: {', '.join(subject_kinds())}", field=f"subjects.{index}.kind"))
            continue
        record_id = parse_id(subject.id, kind) if len(subject.id) <= 200 else None
        if record_id is None:
            errors.append(FieldError(f"not the id of a {kind.name}", field=f"subjects.{index}.id"))
            continue
        installation_id = await kind.installation_of(db, record_id)
        if installation_id is None:
            errors.append(FieldError(f"no such {kind.name}: {record_id}", field=f"subjects.{index}.id"))
            continue
        ref = {"kind": kind.name, "id": str(record_id)}
        if ref not in stored:
            stored.append(ref)
        if installation_id not in installations:
            installations.append(installation_id)  # type: ignore[arg-type]
    return stored, installations, errors


def _same_metadata(doc: EvidenceDocument, data: NewDocument, subjects: list[dict[str, str]]) -> bool:
    return (
        doc.kind == data.kind
        and doc.title == data.title.strip()
        and doc.description == data.description
        and doc.subjects == subjects
        and doc.period_start == data.period_start
        and doc.period_end == data.period_end
    )


def limits_condition(limits: Sequence[ReadLimit]) -> ColumnElement[bool]:
    """Documents any of the limits allows.

    A document concerns the installations its subjects name. It is in a period when the period it
    covers (contract term, billing period) overlaps it; a document without one is in a period when it
    was uploaded inside it.
    """
    parts: list[ColumnElement[bool]] = []
    for limit in limits:
        conditions: list[ColumnElement[bool]] = []
        if limit.installation_ids is not None:
            conditions.append(EvidenceDocument.installation_ids.overlap(uuid_array(limit.installation_ids)))
        if limit.start is not None:
            conditions.append(
                or_(
                    and_(
                        EvidenceDocument.period_start.is_not(None),
                        or_(EvidenceDocument.period_end.is_(None), EvidenceDocument.period_end > limit.start),
                    ),
                    and_(EvidenceDocument.period_start.is_(None), EvidenceDocument.uploaded_at >= limit.start),
                )
            )
        if limit.end is not None:
            conditions.append(
                or_(
                    and_(EvidenceDocument.period_start.is_not(None), EvidenceDocument.period_start < limit.end),
                    and_(EvidenceDocument.period_start.is_(None), EvidenceDocument.uploaded_at < limit.end),
                )
            )
        parts.append(and_(*conditions) if conditions else true())
    return or_(*parts) if parts else false()


def document_check(doc: EvidenceDocument) -> Callable[[ReadLimit], tuple[bool, bool]]:
    """(installation allowed, period allowed) of one document under a limit, as ``limits_condition`` decides."""

    def check(limit: ReadLimit) -> tuple[bool, bool]:
        installation_ok = limit.installation_ids is None or bool(limit.installation_ids & set(doc.installation_ids))
        if doc.period_start is None:
            # no covered period: the upload instant must lie inside
            at = doc.uploaded_at
            period_ok = (limit.start is None or at >= limit.start) and (limit.end is None or at < limit.end)
        else:
            # the covered period [start, end or open) must overlap
            period_ok = (limit.end is None or doc.period_start < limit.end) and (
                limit.start is None or doc.period_end is None or doc.period_end > limit.start
            )
        return installation_ok, period_ok

    return check


def _effective_limits(actor: Principal, limits: Sequence[ReadLimit] | None) -> Sequence[ReadLimit] | None:
    return limits if limits is not None else bound_limits(actor)


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
    elif len(data.title.strip()) > 300:
        errors.append(FieldError("at most 300 characters", field="title"))
    if not data.filename.strip() or len(data.filename) > 255:
        errors.append(FieldError("must be 1 to 255 characters", field="filename"))
    if len(data.description) > 10_000:
        errors.append(FieldError("at most 10000 characters", field="description"))
    for name, value in (("title", data.title), ("description", data.description), ("filename", data.filename)):
        if "\x00" in value:
            errors.append(FieldError("must not contain NUL characters", field=name))
    for name, when in (("periodStart", data.period_start), ("periodEnd", data.period_end)):
        if when is not None and when.tzinfo is None:
            errors.append(FieldError("must carry a UTC offset", field=name))
    if data.period_end is not None and data.period_start is None:
        errors.append(FieldError("give the start of the period the document covers too", field="periodStart"))
    if (
        data.period_start
        and data.period_end
        and data.period_start.tzinfo
        and data.period_end.tzinfo
        and data.period_end <= data.period_start
    ):
        errors.append(FieldError("must be after the period start", field="periodEnd"))
    subjects, installation_ids, subject_errors = await resolve_subjects(db, data.subjects)
    errors += subject_errors
    bound = bound_limits(actor)
    if bound is not None and not subject_errors:
        # a client bound to one installation files documents about that installation only
        allowed = bound[0].installation_ids or frozenset()
        if not installation_ids or not set(installation_ids) <= allowed:
            errors.append(FieldError("name a subject of the installation this client is bound to", field="subjects"))
    if errors:
        raise ValidationFailed(errors)
    sha256 = hashlib.sha256(data.data).hexdigest()
    same_bytes = (await db.execute(select(EvidenceDocument).where(EvidenceDocument.sha256 == sha256))).scalars()
    for existing in same_bytes:
        if _same_metadata(existing, data, subjects):
            return existing, False  # the same upload again: idempotent
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
        subjects=subjects,
        installation_ids=installation_ids,
        period_start=data.period_start,
        period_end=data.period_end,
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


async def get_document(
    db: AsyncSession, actor: Principal, document_id: uuid.UUID, *, limits: Sequence[ReadLimit] | None = None
) -> EvidenceDocument:
    """One document, if the actor's limits (a grant's, a bound client's installation) allow it."""
    actor.require("evidence:read")
    query = select(EvidenceDocument).where(EvidenceDocument.id == document_id)
    if (effective := _effective_limits(actor, limits)) is not None:
        query = query.where(limits_condition(effective))
    document = (await db.execute(query)).scalar_one_or_none()
    if document is None:
        raise DocumentNotFound("no such document", field="id")
    return document


async def list_documents(
    db: AsyncSession, actor: Principal, *, limit: int = 50, limits: Sequence[ReadLimit] | None = None
) -> list[EvidenceDocument]:
    """Documents newest first, those the actor's limits allow."""
    actor.require("evidence:read")
    query = select(EvidenceDocument).order_by(EvidenceDocument.uploaded_at.desc(), EvidenceDocument.id).limit(limit)
    if (effective := _effective_limits(actor, limits)) is not None:
        query = query.where(limits_condition(effective))
    return list((await db.execute(query)).scalars())
