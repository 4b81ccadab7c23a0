"""REST ways in for an MES: upload an export file (CSV or Excel) and post one batch the moment it closes."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, post
from litestar.enums import RequestEncodingType
from litestar.params import Body

from backend.api.auth import provide_principal, services_of
from backend.api.uploads import read_upload, upload_installation
from backend.production import imports, service, stream
from backend.production.models import BatchSource


class ProductionController(Controller):
    path = "/production/v1"
    tags = ["production"]

    @post("/batch-files", operation_id="ImportBatchFile", status_code=202)
    async def import_file(
        self,
        request: Request[Any, Any, Any],
        data: Annotated[dict[str, Any], Body(media_type=RequestEncodingType.MULTI_PART)],
    ) -> Response[dict[str, Any]]:
        """Queue an MES export (multipart: file = .csv or .xlsx, mapping = a saved mapping's name, installation_id)."""
        principal = await provide_principal(request)
        services = services_of(request)
        content, filename, _ = await read_upload(
            data, what="CSV or Excel file", max_bytes=services.settings.evidence_max_bytes
        )
        installation_id = upload_installation(data, principal)
        tenant = await services.tenants.get(principal.require_tenant())
        async with services.db.tenant(tenant.scope) as db:
            job = await imports.submit_batch_file(
                db,
                services.store,
                principal,
                installation_id=installation_id,
                mapping_name=str(data.get("mapping") or ""),
                data=content,
                filename=filename or "batches.csv",
                max_bytes=services.settings.evidence_max_bytes,
            )
        return Response(
            {"import_id": str(job.id), "status": job.status.value, "format": job.file_format}, status_code=202
        )

    @post("/batches", operation_id="PostProductionBatch", status_code=201)
    async def post_batch(self, request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
        """One batch as it closes (JSON); idempotent on the batch number: the same post again answers 200."""
        principal = await provide_principal(request)
        stream.require_stream_client(principal)
        services = services_of(request)
        batch = stream.decode_batch(await request.body())
        installation_id = stream.installation_of(principal, batch)
        tenant = await services.tenants.get(principal.require_tenant())
        async with services.db.tenant(tenant.scope) as db:
            stored, created = await service.record_batch(
                db, principal, installation_id, stream.row_of(batch), source=BatchSource.STREAM
            )
            body = {
                "batch_id": str(stored.id),
                "batch_number": stored.batch_number,
                "created": created,
                "started_at": stored.started_at.isoformat(),
                "ended_at": stored.ended_at.isoformat(),
            }
        return Response(body, status_code=201 if created else 200)
