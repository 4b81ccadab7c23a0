"""A developer's CSV of certificate records for one PPA (multipart upload, stored all or nothing)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, post
from litestar.enums import RequestEncodingType
from litestar.params import Body

from backend.api.auth import provide_principal, services_of
from backend.api.uploads import read_upload
from backend.certificates.records import import_records
from backend.developers.reads import developer_connection
from backend.ids import parse_uuid


class CertificatesController(Controller):
    path = "/certificates/v1"
    tags = ["certificates"]

    @post("/connections/{connection_id:str}/records", operation_id="UploadCertificateRecords", status_code=201)
    async def upload_records(
        self,
        request: Request[Any, Any, Any],
        connection_id: str,
        data: Annotated[dict[str, Any], Body(media_type=RequestEncodingType.MULTI_PART)],
    ) -> Response[dict[str, Any]]:
        """Issuance, transfer and cancellation records of one PPA as CSV (multipart: file); see
        docs/certificates.md. All rows are stored, or none and a report naming each row and column."""
        principal = await provide_principal(request)
        services = services_of(request)
        content, filename, _ = await read_upload(data, what="CSV", max_bytes=services.settings.evidence_max_bytes)
        connection = await developer_connection(
            services, principal, parse_uuid(connection_id, "PpaConnection", field="connectionId")
        )
        tenant = await services.tenants.get(principal.require_tenant())
        async with services.db.tenant(tenant.scope) as db:
            result = await import_records(
                db,
                services.store,
                principal,
                connection,
                data=content,
                filename=filename or "certificates.csv",
                max_bytes=services.settings.evidence_max_bytes,
            )
        return Response(
            {
                "sha256": result.document_sha256,
                "certificates": result.certificates,
                "issued": result.issued,
                "transferred": result.transferred,
                "cancelled": result.cancelled,
            },
            status_code=201,
        )
