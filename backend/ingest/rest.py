"""Bulk ingest endpoints for connector agents (JSON, optionally gzip-compressed)."""

from __future__ import annotations

import gzip
import zlib
from typing import Annotated, Any

from litestar import Controller, Request, Response, post
from litestar.enums import RequestEncodingType
from litestar.params import Body

from backend.api.auth import provide_principal, services_of
from backend.api.uploads import read_upload, upload_installation
from backend.errors import FieldError, ValidationFailed
from backend.ingest import files, service
from backend.ingest.errors import BatchRejected


async def _body(request: Request[Any, Any, Any], limit: int) -> bytes:
    body = await request.body()
    encoding = request.headers.get("content-encoding", "").lower()
    if encoding == "gzip":
        try:
            decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
            body = decompressor.decompress(body, limit + 1)
            if len(body) > limit or decompressor.unconsumed_tail:
                raise ValidationFailed([FieldError(f"the body exceeds {limit} bytes", field="body")])
            if not decompressor.eof:
                raise ValidationFailed([FieldError("the gzip stream is truncated", field="body")])
            # a second member would be concatenated by most readers but not by this one: refused
            # rather than silently ignored (and never decompressed past the limit)
            if decompressor.unused_data:
                raise ValidationFailed(
                    [FieldError("data after the first gzip member; send one gzip member", field="body")]
                )
        except (zlib.error, gzip.BadGzipFile) as exc:
            raise ValidationFailed([FieldError(f"not valid gzip: {exc}", field="body")])
    elif encoding not in ("", "identity"):
        raise ValidationFailed([FieldError(f"unsupported Content-Encoding {encoding}", field="Content-Encoding")])
    return body


class IngestController(Controller):
    path = "/ingest/v1"
    tags = ["ingest"]

    @post("/readings", operation_id="IngestReadings", status_code=200)
    async def readings(self, request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
        """Store a batch of counter readings; all or nothing, idempotent per (meter, quantity, ts)."""
        principal = await provide_principal(request)
        services = services_of(request)
        settings = services.settings
        service.require_ingest_client(principal)
        body = await _body(request, settings.ingest_max_body_bytes)
        tenant = await services.tenants.get(principal.require_tenant())
        try:
            async with services.db.tenant(tenant.scope) as db:
                result = await service.ingest_batch(
                    db,
                    principal,
                    body,
                    limits=service.ReadingLimits.of(settings),
                    max_batch=settings.ingest_max_batch,
                )
        except BatchRejected as exc:
            return Response(
                {
                    "type": "about:blank",
                    "title": "Batch rejected",
                    "status": 422,
                    "detail": exc.message,
                    "code": exc.code,
                    "errors": exc.errors,
                },
                status_code=422,
                media_type="application/problem+json",
            )
        return Response(
            {
                "batch_id": str(result.batch_id),
                "accepted": result.accepted,
                "duplicates": result.duplicates,
                "conflicts": result.conflicts,
            }
        )

    @post("/status", operation_id="ReportAgentStatus", status_code=200)
    async def status(self, request: Request[Any, Any, Any]) -> dict[str, Any]:
        """An agent's report about itself: buffer depth, devices, clock."""
        principal = await provide_principal(request)
        services = services_of(request)
        service.require_ingest_client(principal)
        body = await _body(request, 1024 * 1024)
        tenant = await services.tenants.get(principal.require_tenant())
        async with services.db.tenant(tenant.scope) as db:
            agent = await service.report_status(db, principal, body)
        return {"agent_id": agent.agent_id, "clock_offset_s": agent.clock_offset_s}

    @post("/files", operation_id="ImportMeterFile", status_code=202)
    async def import_file(
        self,
        request: Request[Any, Any, Any],
        data: Annotated[dict[str, Any], Body(media_type=RequestEncodingType.MULTI_PART)],
    ) -> Response[dict[str, Any]]:
        """Queue a historian/SCADA CSV export (multipart: file, mapping JSON, installation_id)."""
        principal = await provide_principal(request)
        services = services_of(request)
        content, filename, _ = await read_upload(data, what="CSV", max_bytes=services.settings.evidence_max_bytes)
        installation_id = upload_installation(data, principal)
        tenant = await services.tenants.get(principal.require_tenant())
        async with services.db.tenant(tenant.scope) as db:
            job = await files.submit_file(
                db,
                services.store,
                principal,
                installation_id=installation_id,
                data=content,
                filename=filename or "export.csv",
                mapping_json=str(data.get("mapping") or ""),
                max_bytes=services.settings.evidence_max_bytes,
            )
        return Response({"import_id": str(job.id), "status": job.status.value}, status_code=202)
