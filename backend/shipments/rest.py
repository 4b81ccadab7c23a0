"""REST way in for a file of shipments (CSV or Excel), stored all or nothing with a report."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, post
from litestar.enums import RequestEncodingType
from litestar.params import Body

from backend.api.auth import provide_principal, services_of
from backend.api.uploads import read_upload, upload_installation
from backend.shipments import imports


class ShipmentController(Controller):
    path = "/shipments/v1"
    tags = ["shipments"]

    @post("/files", operation_id="ImportShipmentFile", status_code=201)
    async def import_file(
        self,
        request: Request[Any, Any, Any],
        data: Annotated[dict[str, Any], Body(media_type=RequestEncodingType.MULTI_PART)],
    ) -> Response[dict[str, Any]]:
        """A file of shipments (multipart: file = .csv or .xlsx, installation_id). 201 with the shipments
        stored, or 422 with the report naming row, column and reason and nothing stored; the file is
        kept as evidence either way."""
        principal = await provide_principal(request)
        services = services_of(request)
        content, filename, _ = await read_upload(
            data, what="CSV or Excel file", max_bytes=services.settings.evidence_max_bytes
        )
        installation_id = upload_installation(data, principal)
        tenant = await services.tenants.get(principal.require_tenant())
        async with services.db.tenant(tenant.scope) as db:
            job = await imports.import_shipments(
                db,
                services.store,
                principal,
                installation_id=installation_id,
                data=content,
                filename=filename or "shipments.csv",
                max_bytes=services.settings.evidence_max_bytes,
            )
            body = {
                "import_id": str(job.id),
                "status": job.status,
                "rows": job.rows_total,
                "shipments": job.shipments_stored,
                "document_id": str(job.document_id),
                "errors": job.errors,
            }
        return Response(body, status_code=201 if job.status == "completed" else 422)
