"""calculations.run: compute one queued calculation run, stage by stage, and write its results in one transaction.

Stages: begin (queued -> running), load the inputs from the database, run the engine off the event
loop, write the results and footprint versions. Between stages the run's cancellation is honoured;
a failure at any stage (a missing factor, no data, an unbalanced meter tree, the engine refusing the
inputs) ends the run as failed with its cause named, and nothing of its results is stored.

calculations.sweep_stale_runs: fail runs whose job died, so that none stays queued or running for ever.
"""

from __future__ import annotations

import uuid
from typing import Any

from backend.calculations import service
from backend.calculations.inputs import load_inputs
from backend.errors import DomainError
from backend.identity.principal import Principal
from backend.logging import get_logger
from workers.engine.calculation import CalculationInputError
from workers.jobs.imports import sweep_tenants

log = get_logger(__name__)


async def run_calculation(ctx: dict[str, Any], tenant_id: str, run_id: str) -> dict[str, Any]:
    services = ctx["services"]
    tenant = await services.tenants.get(uuid.UUID(tenant_id))
    actor = Principal.system("calculation", tenant.id)
    rid = uuid.UUID(run_id)
    async with services.db.tenant(tenant.scope) as db:
        begun = await service.begin_run(db, rid)
        if begun is None:
            return {"status": "not_queued"}
        run, installation = begun
        parameters = service.parameters_for_engine(run)
        densities = dict(run.parameters.get("fuel_density_t_per_m3") or {})
        start, end = run.period_start, run.period_end
    try:
        async with services.db.tenant(tenant.scope) as db:
            loaded = await load_inputs(
                services, db, actor, installation, start, end, parameters, fuel_density_t_per_m3=densities
            )
        async with services.db.tenant(tenant.scope) as db:
            if not await service.checkpoint(db, rid, "calculating"):
                return {"status": "cancelled"}
        result, digest = await service.calculate_off_loop(loaded.inputs, parameters)
        async with services.db.tenant(tenant.scope) as db:
            if not await service.checkpoint(db, rid, "writing results"):
                return {"status": "cancelled"}
        async with services.db.tenant(tenant.scope) as db:
            outcome = await service.finish_run(db, actor, rid, installation, loaded, result, digest)
        if outcome is None:
            async with services.db.tenant(tenant.scope) as db:
                await service.checkpoint(db, rid, "cancelled")
            return {"status": "cancelled"}
        return {"status": "succeeded", "output_digest": digest, "footprints": len(outcome.footprints)}
    except DomainError as failure:
        code, message = failure.code, failure.message
    except CalculationInputError as refused:
        code, message = "INPUTS_REFUSED", f"the engine refused the inputs: {refused.message} ({refused.code})"
    except Exception:
        log.exception("calculation_run.failed", tenant_id=tenant_id, run_id=run_id)
        code, message = "RUN_FAILED", f"the run stopped on an unexpected error (reference {run_id}); nothing was stored"
    async with services.db.tenant(tenant.scope) as db:
        await service.fail_run(db, actor, rid, code, message)
    return {"status": "failed", "code": code}


async def sweep_stale_runs(ctx: dict[str, Any]) -> dict[str, int]:
    """Fail calculation runs queued or running for longer than a job may take (calculations.sweep_stale_runs)."""
    return await sweep_tenants(
        ctx, service.fail_stale_runs, actor="calculation sweep", event="calculation_run.sweep_failed"
    )
