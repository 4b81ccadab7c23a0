"""GraphQL of evidence documents (uploads go through the REST endpoint: files are not GraphQL)."""

from __future__ import annotations

import uuid
from datetime import datetime

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from backend.api.context import Context
from backend.api.relay import NodeRef, node_uuid
from backend.evidence import service
from backend.evidence.models import EvidenceDocument as EvidenceDocumentModel
from backend.evidence.models import EvidenceKind as EvidenceKindModel

EvidenceKind = strawberry.enum(EvidenceKindModel, description="What kind of evidence a document is.")


@strawberry.type(description="A document kept as evidence, addressed by its SHA-256.")
class EvidenceDocument(relay.Node):
    id: relay.NodeID[str]
    sha256: str = strawberry.field(description="SHA-256 of the bytes: the document's identity.")
    size_bytes: int = strawberry.field(description="Size [bytes].")
    content_type: str = strawberry.field(description="Media type.")
    filename: str = strawberry.field(description="File name as uploaded.")
    kind: EvidenceKind = strawberry.field(description="Contract, PPA, invoice, ...")
    title: str = strawberry.field(description="Title.")
    description: str = strawberry.field(description="Description.")
    subjects: JSON = strawberry.field(
        description='What it evidences: typed references, e.g. [{"kind": "meter", "id": "..."}].'
    )
    period_start: datetime | None = strawberry.field(description="Start of the period it covers, if any.")
    period_end: datetime | None = strawberry.field(description="End of the period it covers, if any.")
    uploaded_by: str = strawberry.field(description="Who uploaded it.")
    uploaded_at: datetime = strawberry.field(description="When.")
    retain_until: datetime | None = strawberry.field(description="Object lock: cannot be deleted before this.")
    grantor_id: strawberry.Private[uuid.UUID | None] = None

    @strawberry.field(description="A short-lived link to download the document.")
    async def download_url(self, info: strawberry.Info[Context, None]) -> str:
        services = info.context.services
        if self.grantor_id is not None:
            return f"{services.settings.issuer}/evidence/shared/{self.grantor_id}/{self.id}"
        return await services.store.download_url(
            self._key,
            filename=self.filename,
            content_type=self.content_type,
            ttl_s=services.settings.evidence_url_ttl_s,
        )

    _key: strawberry.Private[str] = ""

    @classmethod
    def of(cls, row: EvidenceDocumentModel, *, grantor: uuid.UUID | None = None) -> EvidenceDocument:
        doc = cls(
            id=str(row.id),
            sha256=row.sha256,
            size_bytes=row.size_bytes,
            content_type=row.content_type,
            filename=row.filename,
            kind=row.kind,
            title=row.title,
            description=row.description,
            subjects=row.subjects,
            period_start=row.period_start,
            period_end=row.period_end,
            uploaded_by=row.uploaded_by,
            uploaded_at=row.uploaded_at,
            retain_until=row.retain_until,
            grantor_id=grantor,
        )
        doc._key = row.storage_key
        return doc


@strawberry.type
class EvidenceQuery:
    @strawberry.field(description="Evidence documents of the viewer's organisation, newest first.")
    async def evidence_documents(self, info: strawberry.Info[Context, None], first: int = 50) -> list[EvidenceDocument]:
        principal = info.context.require_principal()
        async with info.context.tenant_uow() as db:
            rows = await service.list_documents(db, principal, limit=max(1, min(first, 200)))
        return [EvidenceDocument.of(r) for r in rows]

    @strawberry.field(description="One evidence document.")
    async def evidence_document(self, info: strawberry.Info[Context, None], id: NodeRef) -> EvidenceDocument:
        principal = info.context.require_principal()
        async with info.context.tenant_uow() as db:
            row = await service.get_document(db, principal, node_uuid(id, "EvidenceDocument"))
        return EvidenceDocument.of(row)
