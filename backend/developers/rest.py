"""A developer's file uploads per contract: interval generation (CSV, queued for the worker) and
settlement statements (document with period and volume)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from litestar import Controller, Request, Response, post
from litestar.enums import RequestEncodingType
from litestar.params import Body

from backend.api.auth import provide_principal, services_of
from backend.api.uploads import read_upload
from backend.developers import reads, service, settlement
from backend.developers.schemas import StatementData
from backend.errors import FieldError, ValidationFailed
from backend.ids import parse_uuid


def _when(raw: object, field: str) -> datetime:
    try:
        value = datetime.fromisoformat(str(raw or ""))
    except ValueError:
        raise ValidationFailed([FieldError("an ISO 8601 time with a UTC offset", field=field)]) from None
    if value.tzinfo is None:
        raise ValidationFailed([FieldError("an ISO 8601 time with a UTC offset", field=field)])
    return value


def _number(raw: object, field: str) -> float:
    try:
        return float(str(raw or ""))
    except ValueError:
        raise ValidationFailed([FieldError("a number", field=field)]) from None


class DevelopersController(Controller):
    path = "/developers/v1"
    tags = ["developers"]

    @post("/connections/{connection_id:str}/generation", operation_id="UploadGeneration", status_code=202)
    async def upload_generation(
        self,
        request: Request[Any, Any, Any],
        connection_id: str,
        data: Annotated[dict[str, Any], Body(media_type=RequestEncodingType.MULTI_PART)],
    ) -> Response[dict[str, Any]]:
        """Queue a CSV of interval generation for one contract (multipart: file); see docs/renewable-developer.md."""
        principal = await provide_principal(request)
        services = services_of(request)
        content, filename, _ = await read_upload(data, what="CSV", max_bytes=services.settings.evidence_max_bytes)
        connection = await reads.developer_connection(
            services, principal, parse_uuid(connection_id, "PpaConnection", field="connectionId")
        )
        tenant = await services.tenants.get(principal.require_tenant())
        async with services.db.tenant(tenant.scope) as db:
            upload = await settlement.submit_generation(
                db,
                services.store,
                principal,
                connection,
                data=content,
                filename=filename or "generation.csv",
                max_bytes=services.settings.evidence_max_bytes,
            )
        return Response({"upload_id": str(upload.id), "status": upload.status.value}, status_code=202)

    @post("/connections/{connection_id:str}/statements", operation_id="AddSettlementStatement", status_code=201)
    async def add_statement(
        self,
        request: Request[Any, Any, Any],
        connection_id: str,
        data: Annotated[dict[str, Any], Body(media_type=RequestEncodingType.MULTI_PART)],
    ) -> Response[dict[str, Any]]:
        """File a settlement statement (multipart: file, reference, period_start, period_end, volume_mwh)."""
        principal = await provide_principal(request)
        services = services_of(request)
        content, filename, content_type = await read_upload(
            data, what="statement", max_bytes=services.settings.evidence_max_bytes
        )
        statement_data = StatementData(
            reference=str(data.get("reference") or ""),
            period_start=_when(data.get("period_start"), "period_start"),
            period_end=_when(data.get("period_end"), "period_end"),
            volume_mwh=_number(data.get("volume_mwh"), "volume_mwh"),
        )
        connection = await reads.developer_connection(
            services, principal, parse_uuid(connection_id, "PpaConnection", field="connectionId")
        )
        tenant = await services.tenants.get(principal.require_tenant())
        async with services.db.tenant(tenant.scope) as db:
            statement = await service.add_statement(
                db,
                services.store,
                principal,
                connection,
                statement_data,
                content=content,
                filename=filename or "statement.pdf",
                content_type=content_type or "application/pdf",
                max_bytes=services.settings.evidence_max_bytes,
            )
        return Response({"statement_id": str(statement.id), "sha256": statement.sha256}, status_code=201)
