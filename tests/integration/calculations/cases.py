"""Tenant B's calculation run and footprint, and the cross-tenant cases of the calculation operations
(used by tests/integration/test_cross_tenant.py)."""

from __future__ import annotations

import base64
from typing import Any

from sqlalchemy import select

from backend.calculations import service
from backend.calculations.models import FootprintVersion
from backend.calculations.schemas import RunRequest
from backend.tenants.models import TenantKind
from tests.factories.calculations import small_plant
from workers.jobs.calculations import run_calculation


def _gid(type_name: str, value: object) -> str:
    return base64.b64encode(f"{type_name}:{value}".encode()).decode()


async def calculation_world(services: Any, b: Any) -> dict[str, Any]:
    """A succeeded run of B's small plant with its footprint version."""
    plant = await small_plant(services, b)
    async with services.db.tenant(b.tenant.scope()) as db:
        run, _ = await service.start_run(
            db, b.principal, TenantKind.EXPORTER, RunRequest(plant.plant.installation_id, plant.start, plant.end)
        )
    outcome = await run_calculation({"services": services}, str(b.id), str(run.id))
    assert outcome["status"] == "succeeded", outcome
    async with services.db.tenant(b.tenant.scope()) as db:
        version = (await db.execute(select(FootprintVersion))).scalar_one()
    return {
        "calc_plant_b": plant,
        "run_b": run.id,
        "footprint_b": version.id,
        "calculation_secrets": [str(run.id), str(version.id), run.job_id, plant.plant.name],
    }


def calculation_cases(w: dict[str, Any]) -> dict[str, dict[str, Any]]:
    plant = w["calc_plant_b"]
    inst_b = _gid("Installation", plant.plant.installation_id)
    run_b = _gid("CalculationRun", w["run_b"])
    window = {"start": plant.start.isoformat(), "end": plant.end.isoformat()}
    return {
        "StartCalculationRun": {"vars": {"input": {"installationId": inst_b, **window}}, "refused": True},
        "CancelCalculationRun": {"vars": {"id": run_b}, "refused": True},
        "CalculationRun": {"vars": {"id": run_b}, "refused": True},
        "CalculationRuns": {"vars": {"installationId": inst_b}, "refused": True},
        "CalculationResults": {"vars": {"id": run_b}, "refused": True},
        "ProductFootprints": {"vars": {"installationId": inst_b}, "refused": True},
        "FootprintVersion": {"vars": {"id": _gid("FootprintVersion", w["footprint_b"])}, "refused": True},
        "SharedProductFootprints": {"vars": {"grantorId": _gid("Organization", w["b"].id)}, "refused": True},
        "SharedFootprintVersion": {
            "vars": {"grantorId": _gid("Organization", w["b"].id), "id": _gid("FootprintVersion", w["footprint_b"])},
            "refused": True,
        },
        "LineElectricity": {
            "vars": {"runId": run_b, "lineId": _gid("ProductionLine", plant.plant.line_id), **window},
            "refused": True,
        },
        "FootprintExplanation": {
            "vars": {"footprintVersionId": _gid("FootprintVersion", w["footprint_b"])},
            "refused": True,
        },
        "ReproduceCalculationRun": {"vars": {"id": run_b}, "refused": True},
        "SharedCalculationRun": {"vars": {"grantorId": _gid("Organization", w["b"].id), "id": run_b}, "refused": True},
        "ReproduceSharedCalculationRun": {
            "vars": {"grantorId": _gid("Organization", w["b"].id), "id": run_b},
            "refused": True,
        },
        "DefaultAgainstActual": {
            "vars": {"productId": _gid("Product", plant.product_id), "installationId": inst_b, **window},
            "refused": True,
        },
    }
