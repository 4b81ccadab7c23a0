"""Evidence upload and download over HTTP (multipart upload; authorised or signed download)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect

from backend.api.auth import provide_principal, services_of
from backend.api.uploads import read_upload
from backend.errors import FieldError, ValidationFailed
from backend.evidence import service
from backend.evidence.errors import DocumentNotFound
from backend.evidence.models import EvidenceKind
from backend.evidence.store import LocalStore
from backend.ids import parse_uuid
from backend.sharing.reads import read_evidence_document

SUBJECTS_HINT = 'a JSON list such as [{"kind": "meter", "id": "..."}]'


def _subjects(raw: object) -> list[service.SubjectRef]:
    """Subjects as typed references; the older object form {"installation_id": "..."} is read too."""
    if raw is None or raw == "":
        return []
    try:
        value = json.loads(str(raw))
    except ValueError:
        raise ValidationFailed([FieldError(SUBJECTS_HINT, field="subjects")])
    if isinstance(value, dict):
        value = [{"kind": str(k).removesuffix("_id"), "id": v} for k, v in value.items()]
    if not isinstance(value, list):
        raise ValidationFailed([FieldError(SUBJECTS_HINT, field="subjects")])
    refs, errors = [], []
    for index, item in enumerate(value):
        if not isinstance(item, dict) or not isinstance(item.get("kind"), str) or not isinstance(item.get("id"), str):
            errors.append(FieldError('an object {"kind": ..., "id": ...}', field=f"subjects.{index}"))
        else:
            refs.append(service.SubjectRef(item["kind"], item["id"]))
    if errors:
        raise ValidationFailed(errors)
    return refs


def _when(raw: object, field: str) -> datetime | None:
    if raw is None or raw == "":
        return None
    try:
        value = datetime.fromisoformat(str(raw))
    except ValueError:
        raise ValidationFailed([FieldError("an ISO 8601 time with a UTC offset", field=field)])
    if value.tzinfo is None:
        raise ValidationFailed([FieldError("an ISO 8601 time with a UTC offset", field=field)])
    return value


def _document_json(doc: Any, created: bool) -> dict[str, Any]:
    return {
        "id": str(doc.id),
        "sha256": doc.sha256,
        "size_bytes": doc.size_bytes,
        "content_type": doc.content_type,
        "filename": doc.filename,
        "kind": doc.kind.value,
        "title": doc.title,
        "subjects": doc.subjects,
        "period_start": doc.period_start.isoformat() if doc.period_start else None,
        "period_end": doc.period_end.isoformat() if doc.period_end else None,
        "created": created,
        "retain_until": doc.retain_until.isoformat() if doc.retain_until else None,
    }


class EvidenceController(Controller):
    path = "/evidence"
    tags = ["evidence"]

    @post("/", operation_id="UploadEvidence", status_code=201)
    async def upload(
        self,
        request: Request[Any, Any, Any],
        data: Annotated[dict[str, Any], Body(media_type=RequestEncodingType.MULTI_PART)],
    ) -> Response[dict[str, Any]]:
        """Upload a document (multipart: file, kind, title, description, subjects as JSON)."""
        principal = await provide_principal(request)
        services = services_of(request)
        content, filename, content_type = await read_upload(
            data, what="document", max_bytes=services.settings.evidence_max_bytes
        )
        try:
            kind = EvidenceKind(str(data.get("kind", "other")))
        except ValueError:
            raise ValidationFailed([FieldError(f"one of {', '.join(k.value for k in EvidenceKind)}", field="kind")])
        subjects = _subjects(data.get("subjects"))
        new = service.NewDocument(
            data=content,
            filename=filename or "document",
            content_type=content_type,
            kind=kind,
            title=str(data.get("title") or filename),
            description=str(data.get("description") or ""),
            subjects=subjects,
            period_start=_when(data.get("period_start"), "periodStart"),
            period_end=_when(data.get("period_end"), "periodEnd"),
        )
        tenant = await services.tenants.get(principal.require_tenant())
        async with services.db.tenant(tenant.scope) as db:
            doc, created = await service.upload_document(
                db, services.store, principal, new, max_bytes=services.settings.evidence_max_bytes
            )
        return Response(_document_json(doc, created), status_code=201 if created else 200)

    @get("/{document_id:str}/download", operation_id="DownloadEvidence")
    async def download(self, request: Request[Any, Any, Any], document_id: str) -> Response[Any]:
        """Download one of the organisation's documents (redirects to a short-lived signed URL)."""
        principal = await provide_principal(request)
        services = services_of(request)
        tenant = await services.tenants.get(principal.require_tenant())
        async with services.db.tenant(tenant.scope) as db:
            doc = await service.get_document(db, principal, parse_uuid(document_id, "EvidenceDocument", field="id"))
        return await _deliver(services, doc)

    @get("/shared/{grantor_id:str}/{document_id:str}", operation_id="DownloadSharedEvidence")
    async def download_shared(
        self, request: Request[Any, Any, Any], grantor_id: str, document_id: str
    ) -> Response[Any]:
        """Download another organisation's document through a live evidence grant."""
        principal = await provide_principal(request)
        services = services_of(request)
        doc_id = parse_uuid(document_id, "EvidenceDocument", field="id")
        doc, _ = await read_evidence_document(
            services, principal, parse_uuid(grantor_id, "Organization", field="grantorId"), doc_id
        )
        return await _deliver(services, doc)

    @get("/blob/{key:path}", operation_id="EvidenceBlob")
    async def blob(self, request: Request[Any, Any, Any], key: str, expires: int, signature: str) -> Response[bytes]:
        """Bytes of a document from the local store, for a signed, unexpired link."""
        store = services_of(request).store
        key = key.lstrip("/")
        if not isinstance(store, LocalStore) or not store.verify(key, expires, signature):
            raise DocumentNotFound("this link is invalid or has expired")
        return Response(await store.get(key), media_type="application/octet-stream")


async def _deliver(services: Any, doc: Any) -> Response[Any]:
    url = await services.store.download_url(
        doc.storage_key,
        filename=doc.filename,
        content_type=doc.content_type,
        ttl_s=services.settings.evidence_url_ttl_s,
    )
    return Redirect(url, status_code=302)
