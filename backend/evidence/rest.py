"""Evidence upload and download over HTTP (multipart upload; authorised or signed download)."""

from __future__ import annotations

import json
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
from backend.sharing.access import granted_read
from backend.sharing.models import ResourceKind


def _document_json(doc: Any, created: bool) -> dict[str, Any]:
    return {
        "id": str(doc.id),
        "sha256": doc.sha256,
        "size_bytes": doc.size_bytes,
        "content_type": doc.content_type,
        "filename": doc.filename,
        "kind": doc.kind.value,
        "title": doc.title,
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
        try:
            subjects = json.loads(str(data.get("subjects") or "{}"))
            if not isinstance(subjects, dict):
                raise ValueError
        except ValueError:
            raise ValidationFailed([FieldError('a JSON object such as {"installation_id": "..."}', field="subjects")])
        new = service.NewDocument(
            data=content,
            filename=filename or "document",
            content_type=content_type,
            kind=kind,
            title=str(data.get("title") or filename),
            description=str(data.get("description") or ""),
            subjects={str(k): str(v) for k, v in subjects.items()},
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
        async with granted_read(
            services,
            principal,
            grantor_id=parse_uuid(grantor_id, "Organization", field="grantorId"),
            kind=ResourceKind.EVIDENCE,
            what="evidence_document",
            entity_id=doc_id,
        ) as (db, reader, _):
            doc = await service.get_document(db, reader, doc_id)
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
