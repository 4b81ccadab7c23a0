"""REST of calculations: a succeeded run's calculation bundle (zip), for ``cbamx recompute`` and verifiers."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get

from backend.api.auth import provide_principal, services_of
from backend.calculations import service, shared
from backend.ids import parse_uuid


class CalculationsController(Controller):
    path = "/calculations/v1"
    tags = ["calculations"]

    @get("/runs/{run_id:str}/bundle", operation_id="ExportCalculationBundle")
    async def bundle(self, request: Request[Any, Any, Any], run_id: str) -> Response[bytes]:
        """The run's inputs as a calculation bundle (zip with per-file SHA-256); audited."""
        principal = await provide_principal(request)
        services = services_of(request)
        tenant = await services.tenants.get(principal.require_tenant())
        async with services.db.tenant(tenant.scope) as db:
            run, data = await service.export_bundle(
                services, db, principal, parse_uuid(run_id, "CalculationRun", field="id")
            )
        return _zip(run.id, data)

    @get("/shared/{grantor_id:str}/runs/{run_id:str}/bundle", operation_id="ExportSharedCalculationBundle")
    async def shared_bundle(self, request: Request[Any, Any, Any], grantor_id: str, run_id: str) -> Response[bytes]:
        """Another organisation's run as a calculation bundle, through your footprint grant (a verifier);
        audited in that organisation's trail."""
        principal = await provide_principal(request)
        run, data = await shared.export_bundle(
            services_of(request),
            principal,
            parse_uuid(grantor_id, "Organization", field="grantorId"),
            parse_uuid(run_id, "CalculationRun", field="id"),
        )
        return _zip(run.id, data)


def _zip(run_id: object, data: bytes) -> Response[bytes]:
    return Response(
        data,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="calculation-{run_id}.zip"'},
    )
