"""Use cases of calculations: start a run, follow it, cancel it, read its results and the footprints it published.

A run is queued through the transactional outbox (job ``calculations.run``) and computed by a worker
in stages: :func:`begin_run`, :func:`backend.calculations.inputs.load_inputs`, the engine, then
:func:`finish_run`, which writes every result in one transaction. Between stages the job asks
:func:`checkpoint`, which stops a run whose cancellation was requested; a run that fails or is
cancelled keeps no result. Each successful run publishes, per product with batches in the period, a
new footprint version that supersedes the previous one of the same product, installation and period.

The same calculation submitted twice while the first is queued or running is the first run: runs
carry a deterministic key (``job_id``: tenant, installation, period, hash of the parameters) that
PostgreSQL keeps unique among active runs.
"""

from __future__ import annotations

import hashlib
import json
import math
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit.service import record
from backend.calculations import repository
from backend.calculations.errors import (
    BadPeriod,
    CalculationFailed,
    CalculationRunNotFound,
    FootprintNotFound,
    RunNotCancellable,
    RunNotFinished,
)
from backend.calculations.inputs import LoadedInputs, finite_or_none
from backend.calculations.models import (
    ACTIVE_STATUSES,
    CalculationRun,
    CheckStatus,
    FootprintVersion,
    RunBatchResult,
    RunProductResult,
    RunStatus,
    RunValidationCheck,
)
from backend.calculations.schemas import FootprintFilter, RunRequest
from backend.calculations.validation import Check, validation_report
from backend.db import defer_job, new_id, tenant_scope_of, utcnow
from backend.errors import FieldError, PermissionDenied, ValidationFailed
from backend.identity.principal import Principal
from backend.installations.models import Installation
from backend.production.models import Product
from backend.production.service import installation_for
from backend.tenants.models import TenantKind
from workers.engine.calculation import (
    CALCULATION_METHODOLOGY_VERSION,
    MATCHING_RESOLUTIONS,
    CalculationParameters,
    CalculationResult,
)

JOB = "calculations.run"
MAX_PERIOD = timedelta(days=366)
MAX_LISTED = 200
# stages a run passes, with the share of the work done when it enters each
STAGES = {
    "queued": 0.0,
    "loading inputs": 0.05,
    "calculating": 0.4,
    "writing results": 0.85,
    "done": 1.0,
}


def require_read(principal: Principal) -> None:
    principal.require("production:read")


def require_footprints(principal: Principal) -> None:
    principal.require("footprints:read")


def require_run(principal: Principal, tenant_kind: TenantKind) -> None:
    """Runs are started and cancelled by an exporter's writers of production data."""
    principal.require("production:write")
    if tenant_kind != TenantKind.EXPORTER:
        raise PermissionDenied("only an exporter calculates the embedded emissions of its installations")


def _bound(principal: Principal) -> uuid.UUID | None:
    return principal.installation_id if principal.kind == "client" else None


def _visible(principal: Principal, installation_id: uuid.UUID) -> bool:
    bound = _bound(principal)
    return bound is None or bound == installation_id


# --- starting, following, cancelling ---------------------------------------------------------------------


def _is_local_midnight(moment: datetime, zone: ZoneInfo) -> bool:
    local = moment.astimezone(zone)
    return (local.hour, local.minute, local.second, local.microsecond) == (0, 0, 0, 0)


def check_period(installation: Installation, start: datetime, end: datetime, now: datetime) -> None:
    """Whole local days of the installation, ending no later than the end of today, at most a year."""
    zone = ZoneInfo(installation.timezone)
    errors: list[FieldError] = []
    for name, moment in (("start", start), ("end", end)):
        if moment.tzinfo is None:
            errors.append(BadPeriod("must carry a UTC offset", field=name))
        elif not _is_local_midnight(moment, zone):
            errors.append(
                BadPeriod(
                    f"must be a midnight in the installation's time zone {installation.timezone} "
                    f"(it is {moment.astimezone(zone).isoformat()} there)",
                    field=name,
                )
            )
    if errors:
        raise ValidationFailed(errors)
    today_end = datetime.combine(now.astimezone(zone).date() + timedelta(days=1), datetime.min.time(), zone)
    if end <= start:
        errors.append(BadPeriod("must be after the start", field="end"))
    elif end - start > MAX_PERIOD:
        errors.append(BadPeriod(f"a run covers at most {MAX_PERIOD.days} days", field="end"))
    if start >= now:
        errors.append(BadPeriod("the period has not begun yet", field="start"))
    elif end > today_end:
        errors.append(BadPeriod(f"ends after today ({today_end.isoformat()}): the future has no data", field="end"))
    if errors:
        raise ValidationFailed(errors)


def parameters_of(request: RunRequest) -> dict[str, Any]:
    """The run's parameters as stored and hashed (canonical: sorted keys, plain numbers)."""
    errors: list[FieldError] = []
    if request.matching_resolution not in MATCHING_RESOLUTIONS:
        errors.append(FieldError(f"one of {', '.join(MATCHING_RESOLUTIONS)}", field="matchingResolution"))
    price = request.certificate_price_eur_per_t
    if not isinstance(price, int | float) or not math.isfinite(price) or price < 0 or price > 10_000:
        errors.append(FieldError("EUR per tCO2e, 0 to 10000", field="certificatePrice"))
    densities = {}
    for fuel, value in sorted(request.fuel_density_t_per_m3.items()):
        if not isinstance(value, int | float) or not math.isfinite(value) or not 0 < value < 0.01:
            errors.append(FieldError("a gas density in t/m3, e.g. 0.00075", field=f"fuelDensity.{fuel}"))
        densities[str(fuel)] = float(value)
    if errors:
        raise ValidationFailed(errors)
    return {
        "matching_resolution": request.matching_resolution,
        "certificate_price_eur_per_t": float(price),
        "fuel_density_t_per_m3": densities,
        "methodology_version": CALCULATION_METHODOLOGY_VERSION,
    }


def job_key(
    tenant_id: uuid.UUID, installation_id: uuid.UUID, start: datetime, end: datetime, params: dict[str, Any]
) -> str:
    digest = hashlib.sha256(json.dumps(params, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:16]
    period = f"{int(start.timestamp())}-{int(end.timestamp())}"
    return f"calc:{tenant_id}:{installation_id}:{period}:{digest}"


async def start_run(
    db: AsyncSession,
    principal: Principal,
    tenant_kind: TenantKind,
    request: RunRequest,
    *,
    now: datetime | None = None,
) -> tuple[CalculationRun, bool]:
    """Queue a run (audited); the same calculation already queued or running is returned instead (False)."""
    require_run(principal, tenant_kind)
    installation = await installation_for(db, principal, request.installation_id)
    check_period(installation, request.start, request.end, now or utcnow())
    params = parameters_of(request)
    scope = tenant_scope_of(db)
    key = job_key(scope.tenant_id, installation.id, request.start, request.end, params)
    existing = await repository.active_run(db, key)
    if existing is not None:
        return existing, False
    run = CalculationRun(
        id=new_id(),
        installation_id=installation.id,
        period_start=request.start,
        period_end=request.end,
        matching_resolution=request.matching_resolution,
        parameters=params,
        methodology_version=CALCULATION_METHODOLOGY_VERSION,
        status=RunStatus.QUEUED,
        progress=0.0,
        stage="queued",
        cancel_requested=False,
        job_id=key,
        manifest={},
        summary={},
        warnings=[],
        created_by=principal.label[:320],
    )
    try:
        async with db.begin_nested():
            db.add(run)
            await db.flush()
    except IntegrityError:
        # the same calculation was submitted at the same moment by another request, which won
        existing = await repository.active_run(db, key)
        if existing is None:
            raise
        return existing, False
    await record(
        db,
        principal,
        "calculation_run.started",
        "calculation_run",
        run.id,
        details={"installation_id": installation.id, "start": request.start, "end": request.end, "parameters": params},
    )
    # one arq job per run (the run's id in it): arq keeps a finished job's id for a while, and a later run of
    # the same calculation must not be refused as its duplicate
    defer_job(db, JOB, str(scope.tenant_id), str(run.id), job_id=f"{key}:{run.id}")
    return run, True


async def get_run(db: AsyncSession, principal: Principal, run_id: uuid.UUID) -> CalculationRun:
    require_read(principal)
    run = await repository.run(db, run_id)
    if run is None or not _visible(principal, run.installation_id):
        raise CalculationRunNotFound("no such calculation run", field="id")
    return run


async def list_runs(
    db: AsyncSession,
    principal: Principal,
    *,
    installation_id: uuid.UUID | None,
    after: tuple[datetime, uuid.UUID] | None = None,
    limit: int = MAX_LISTED,
) -> list[CalculationRun]:
    require_read(principal)
    ids: list[uuid.UUID] | None = None
    if installation_id is not None:
        await installation_for(db, principal, installation_id)
        ids = [installation_id]
    elif (bound := _bound(principal)) is not None:
        ids = [bound]
    return await repository.runs(db, installation_ids=ids, after=after, limit=min(limit, MAX_LISTED + 1))


async def cancel_run(
    db: AsyncSession, principal: Principal, tenant_kind: TenantKind, run_id: uuid.UUID
) -> CalculationRun:
    """A queued run ends at once; a running one stops at its next stage, without results (audited)."""
    require_run(principal, tenant_kind)
    run = await repository.run(db, run_id, for_update=True)
    if run is None or not _visible(principal, run.installation_id):
        raise CalculationRunNotFound("no such calculation run", field="id")
    if run.status not in ACTIVE_STATUSES:
        raise RunNotCancellable(f"the run has already ended ({run.status.value})", field="id")
    if run.status == RunStatus.QUEUED:
        _end(run, RunStatus.CANCELLED, stage="cancelled")
    else:
        run.cancel_requested = True
    await db.flush()
    await record(
        db, principal, "calculation_run.cancel_requested", "calculation_run", run.id, details={"status": run.status}
    )
    return run


def _end(
    run: CalculationRun, status: RunStatus, *, stage: str, code: str | None = None, message: str | None = None
) -> None:
    run.status = status
    run.stage = stage
    run.finished_at = utcnow()
    run.error_code = code
    run.error_message = message
    if status == RunStatus.SUCCEEDED:
        run.progress = 1.0


# --- the job's steps -------------------------------------------------------------------------------------


async def begin_run(db: AsyncSession, run_id: uuid.UUID) -> tuple[CalculationRun, Installation] | None:
    """Mark a queued run running; None when it is not queued (cancelled meanwhile, or delivered twice)."""
    run = await repository.run(db, run_id, for_update=True)
    if run is None or run.status != RunStatus.QUEUED:
        return None
    installation = await db.get(Installation, run.installation_id)
    if installation is None:
        _end(run, RunStatus.FAILED, stage="failed", code="INSTALLATION_NOT_FOUND", message="the installation is gone")
        return None
    run.status = RunStatus.RUNNING
    run.started_at = utcnow()
    run.stage = "loading inputs"
    run.progress = STAGES["loading inputs"]
    await db.flush()
    return run, installation


def parameters_for_engine(run: CalculationRun) -> CalculationParameters:
    return CalculationParameters(
        matching_resolution=str(run.parameters["matching_resolution"]),
        certificate_price_eur_per_t=float(run.parameters["certificate_price_eur_per_t"]),
        methodology_version=str(run.parameters.get("methodology_version", CALCULATION_METHODOLOGY_VERSION)),
    )


async def checkpoint(db: AsyncSession, run_id: uuid.UUID, stage: str) -> bool:
    """Record the stage reached; False (and the run cancelled) when its cancellation was requested."""
    run = await repository.run(db, run_id, for_update=True)
    if run is None or run.status != RunStatus.RUNNING:
        return False
    if run.cancel_requested:
        _end(run, RunStatus.CANCELLED, stage="cancelled")
        return False
    run.stage = stage
    run.progress = STAGES.get(stage, run.progress)
    return True


async def fail_run(db: AsyncSession, actor: Principal, run_id: uuid.UUID, code: str, message: str) -> None:
    """End a run without results, naming why (audited)."""
    run = await repository.run(db, run_id, for_update=True)
    if run is None or run.status not in ACTIVE_STATUSES:
        return
    _end(run, RunStatus.FAILED, stage="failed", code=code, message=message[:4000])
    await record(db, actor, "calculation_run.failed", "calculation_run", run.id, details={"code": code})


def _json_number(value: Any) -> Any:
    """A float for JSON; NaN and infinities (no value) as null."""
    if isinstance(value, (float, np.floating)):
        return finite_or_none(float(value))
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def _float(array: Any, i: int) -> float | None:
    return finite_or_none(float(array[i]))


@dataclass(frozen=True, slots=True)
class Outcome:
    run: CalculationRun
    footprints: list[FootprintVersion]


def _product_payload(
    loaded: LoadedInputs, result: CalculationResult, q: int, price: float
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any], dict[str, Any]]:
    """The figures, default comparison, breakdown and data quality of one product row, each figure with its
    method and the factor or source it rests on."""
    inputs, p = loaded.inputs, result.products
    figures = {
        name: _float(getattr(p, name), q)
        for name in (
            "net_mass_t",
            "energy_kwh",
            "matched_kwh",
            "electricity_mwh_per_t",
            "direct_tco2",
            "indirect_tco2",
            "precursor_direct_tco2",
            "precursor_indirect_tco2",
            "see_direct",
            "see_indirect",
            "see_total",
            "see_obligation",
        )
    }
    figures["indirect_counts"] = bool(p.indirect_counts[q])
    figures["precursor_defaulted"] = bool(p.precursor_defaulted[q])
    figures["methods"] = {
        "see_direct": "(fuel combustion Eqs. 5-6 + precursors Eq. 60) / net mass [IR2547] Annex III",
        "see_indirect": "(electricity x factor Eq. 35 + precursors' indirect) / net mass",
        "see_obligation": "direct, plus indirect where indirect emissions count ([REG956] Art. 7(1), Annex II)",
        "electricity": "metered intervals allocated to batches by line share, overhead and idle pooled per local day",
    }
    product_index = inputs.products.ids.index(p.ids[q])
    defaults = {
        "default_see_direct": _float(p.default_see_direct, q),
        "default_see_indirect": _float(p.default_see_indirect, q),
        "default_see_obligation": _float(p.default_see_obligation, q),
        "exposure_actual_eur": _float(p.exposure_actual_eur, q),
        "exposure_default_eur": _float(p.exposure_default_eur, q),
        "certificate_price_eur_per_t": price,
        "factor_ref": inputs.products.default_refs[product_index] or None,
        "method": "default value of [IR2621] Annex I (with the year's mark-up) x net mass x certificate price",
    }
    figures.update({k: v for k, v in defaults.items() if k not in ("method", "factor_ref")})
    supply = inputs.supply
    breakdown = {
        "by_line": [
            {
                "line_id": inputs.lines.ids[i],
                "line_code": inputs.lines.codes[i],
                "energy_kwh": _float(p.energy_by_line_kwh[q], i),
            }
            for i in range(len(inputs.lines.ids))
            if p.energy_by_line_kwh[q, i] != 0
        ],
        "by_source": [
            {
                "source_id": supply.ids[s],
                "kind": supply.kinds[s],
                "matched_kwh": _float(p.matched_by_source_kwh[q], s),
                "eligible": bool(supply.eligible[s]),
                "tier": supply.tiers[s],
                "factor_ref": supply.factor_refs[s],
                "factor": _float(supply.actual_factor, s) if bool(supply.eligible[s]) else inputs.grid_factor.value,
                "method": "actual factor of the source"
                if bool(supply.eligible[s])
                else "grid default (conditions not met)",
            }
            for s in range(len(supply.ids))
        ],
        "by_factor": [
            {"factor_ref": ref, "tco2e": _float(p.emissions_by_factor_tco2[q], f)}
            for f, ref in enumerate(result.factor_refs)
            if p.emissions_by_factor_tco2[q, f] != 0
        ],
        "by_tier": [
            {"tier": tier, "matched_kwh": _float(p.matched_by_tier_kwh[q], k)} for k, tier in enumerate(result.tiers)
        ],
        "grid_factor": {"value": inputs.grid_factor.value, "factor_ref": inputs.grid_factor.ref},
    }
    quality = {
        name: _float(getattr(p, name), q)
        for name in ("measured_share", "estimated_share", "missing_share", "defaulted_share")
    }
    quality["precursor_defaulted"] = bool(p.precursor_defaulted[q])
    return figures, defaults, breakdown, quality


def _summary(result: CalculationResult) -> dict[str, Any]:
    inst = result.installation
    return {
        "consumption_kwh": float(inst.consumption_kwh),
        "allocated_kwh": float(inst.allocated_kwh),
        "unallocated_kwh": float(inst.unallocated_kwh),
        "direct_tco2": float(inst.direct_tco2),
        "direct_unallocated_tco2": float(inst.direct_unallocated_tco2),
        "matched_kwh": float(inst.matched_kwh),
        "unmetered_kwh": float(inst.unmetered_kwh),
        "negative_unmetered_intervals": int(inst.negative_unmetered_intervals.size),
        "fallback_intervals": int(inst.fallback_intervals.size),
        "scores": {k: _json_number(v) for k, v in inst.scores.as_dict().items()},
        "idle_days": [
            {"local_date_days": int(d), "idle_kwh": float(k), "allocated": bool(a)}
            for d, k, a in zip(
                inst.idle_days.local_date_days, inst.idle_days.idle_kwh, inst.idle_days.allocated, strict=True
            )
        ],
        "matching_resolution": result.matching_resolution,
        "factor_refs": list(result.factor_refs),
        "tiers": list(result.tiers),
    }


def check_balance(checks: list[Check]) -> None:
    """A meter tree whose sub-meters measure more than the installation drew beyond the tolerance cannot be
    allocated honestly: the run fails, naming the figures."""
    for check in checks:
        if check.code == "electricity_balance" and check.status == "fail":
            f = check.figures
            raise CalculationFailed(
                "METER_TREE_UNBALANCED",
                f"{check.message}: sub-meters {f['sub_meters_kwh']:,.1f} kWh against a consumption of "
                f"{f['consumption_kwh']:,.1f} kWh (main {f['main_kwh']:,.1f}, own generation "
                f"{f['own_generation_kwh']:,.1f}, export {f['export_kwh']:,.1f}); check the meter hierarchy",
                figures=f,
            )


async def finish_run(
    db: AsyncSession,
    actor: Principal,
    run_id: uuid.UUID,
    installation: Installation,
    loaded: LoadedInputs,
    result: CalculationResult,
    output_digest: str,
) -> Outcome | None:
    """Write every result of the run and its footprint versions in the caller's one transaction.

    None (nothing written) when the run was cancelled meanwhile. Raises :class:`CalculationFailed`
    for an unbalanced meter tree; the caller's transaction is then rolled back, and the run failed.
    """
    run = await repository.run(db, run_id, for_update=True)
    if run is None or run.status != RunStatus.RUNNING:
        return None
    if run.cancel_requested:
        _end(run, RunStatus.CANCELLED, stage="cancelled")
        return None
    checks = validation_report(loaded.inputs, result, tolerance=installation.balance_tolerance)
    check_balance(checks)
    inputs = loaded.inputs
    b = result.batches
    batch_rows = []
    for r, batch_id in enumerate(b.ids):
        i = int(b.index[r])
        product_id, line_id = loaded.batch_products[batch_id]
        batch_rows.append(
            {
                "id": new_id(),
                "run_id": run.id,
                "batch_id": uuid.UUID(batch_id),
                "batch_number": inputs.batches.numbers[i],
                "product_id": uuid.UUID(product_id),
                "line_id": uuid.UUID(line_id) if line_id else None,
                "started_at": datetime.fromtimestamp(int(inputs.batches.start_s[i]), tz=UTC),
                "ended_at": datetime.fromtimestamp(int(inputs.batches.end_s[i]), tz=UTC),
                **{
                    name: float(np.nan_to_num(getattr(b, name)[r]))
                    for name in (
                        "net_mass_t",
                        "energy_kwh",
                        "line_kwh",
                        "overhead_kwh",
                        "idle_kwh",
                        "matched_kwh",
                        "direct_tco2",
                        "precursor_direct_tco2",
                        "precursor_indirect_tco2",
                        "indirect_tco2",
                        "measured_share",
                        "estimated_share",
                        "missing_share",
                    )
                },
                "matched_by_source": {
                    inputs.supply.ids[s]: float(b.matched_by_source_kwh[r, s]) for s in range(len(inputs.supply.ids))
                },
            }
        )
    price = float(run.parameters["certificate_price_eur_per_t"])
    product_rows = []
    published = []
    batches_per_product = (
        np.bincount(inputs.batches.product[b.index], minlength=len(inputs.products.ids)) if b.ids else []
    )
    await repository.lock_footprint_period(db, run.installation_id, run.period_start, run.period_end)
    product_ids = [uuid.UUID(pid) for pid in result.products.ids]
    previous = await repository.latest_versions(db, run.installation_id, run.period_start, run.period_end, product_ids)
    products = {p.id: p for p in [await db.get(Product, pid) for pid in product_ids] if p is not None}
    manifest = loaded.manifest | {"output_digest": output_digest}
    for q, pid_text in enumerate(result.products.ids):
        pid = uuid.UUID(pid_text)
        index = inputs.products.ids.index(pid_text)
        count = int(batches_per_product[index]) if len(batches_per_product) else 0
        if count == 0:
            continue
        figures, defaults, breakdown, quality = _product_payload(loaded, result, q, price)
        p = result.products
        product_rows.append(
            {
                "id": new_id(),
                "run_id": run.id,
                "product_id": pid,
                "product_code": inputs.products.codes[index],
                "cn_code": inputs.products.cn_codes[index],
                "batches": count,
                "net_mass_t": float(p.net_mass_t[q]),
                "electricity_mwh_per_t": _float(p.electricity_mwh_per_t, q),
                "see_direct": _float(p.see_direct, q),
                "see_indirect": _float(p.see_indirect, q),
                "see_total": _float(p.see_total, q),
                "see_obligation": _float(p.see_obligation, q),
                "indirect_counts": bool(p.indirect_counts[q]),
                "precursor_defaulted": bool(p.precursor_defaulted[q]),
                "defaults": defaults,
                "breakdown": breakdown,
                "data_quality": quality,
            }
        )
        before = previous.get(pid)
        published.append(
            FootprintVersion(
                id=new_id(),
                product_id=pid,
                installation_id=run.installation_id,
                period_start=run.period_start,
                period_end=run.period_end,
                version=(before.version + 1) if before else 1,
                run_id=run.id,
                methodology_version=run.methodology_version,
                net_mass_t=float(p.net_mass_t[q]),
                see_direct=_float(p.see_direct, q),
                see_indirect=_float(p.see_indirect, q),
                see_total=_float(p.see_total, q),
                see_obligation=_float(p.see_obligation, q),
                figures=figures | {"product_code": products[pid].code if pid in products else "", "defaults": defaults},
                breakdown=breakdown,
                data_quality=quality,
                manifest=manifest,
                output_digest=output_digest,
                supersedes_id=before.id if before else None,
            )
        )
    await repository.insert_rows(db, RunBatchResult, batch_rows)
    await repository.insert_rows(db, RunProductResult, product_rows)
    await repository.insert_rows(
        db,
        RunValidationCheck,
        [
            {
                "id": new_id(),
                "run_id": run.id,
                "position": i,
                "code": c.code,
                "subject": c.subject[:200],
                "status": CheckStatus(c.status),
                "message": c.message,
                "figures": {k: _json_number(v) for k, v in c.figures.items()},
            }
            for i, c in enumerate(checks)
        ],
    )
    db.add_all(published)
    run.manifest = manifest
    run.inputs_digest = loaded.inputs_digest
    run.output_digest = output_digest
    run.summary = _summary(result)
    run.warnings = [*loaded.warnings, *({"code": w.code, "message": w.message} for w in result.warnings)]
    _end(run, RunStatus.SUCCEEDED, stage="done")
    await db.flush()
    await record(
        db,
        actor,
        "calculation_run.succeeded",
        "calculation_run",
        run.id,
        details={
            "inputs_digest": loaded.inputs_digest,
            "output_digest": output_digest,
            "footprint_versions": [str(v.id) for v in published],
        },
    )
    for version in published:
        await record(
            db,
            actor,
            "footprint_version.published",
            "footprint_version",
            version.id,
            details={
                "product_id": version.product_id,
                "version": version.version,
                "supersedes_id": version.supersedes_id,
                "run_id": run.id,
                "output_digest": output_digest,
            },
        )
    return Outcome(run, published)


# --- results and footprints ------------------------------------------------------------------------------


async def finished_run(db: AsyncSession, principal: Principal, run_id: uuid.UUID) -> CalculationRun:
    run = await get_run(db, principal, run_id)
    if run.status != RunStatus.SUCCEEDED:
        raise RunNotFinished(f"the run is {run.status.value}: it has no results", field="id")
    return run


async def batch_results(db: AsyncSession, principal: Principal, run_id: uuid.UUID) -> list[RunBatchResult]:
    run = await get_run(db, principal, run_id)
    return await repository.batch_results(db, run.id)


async def product_results(db: AsyncSession, principal: Principal, run_id: uuid.UUID) -> list[RunProductResult]:
    run = await get_run(db, principal, run_id)
    return await repository.product_results(db, run.id)


async def validation_checks(db: AsyncSession, principal: Principal, run_id: uuid.UUID) -> list[RunValidationCheck]:
    run = await get_run(db, principal, run_id)
    return await repository.checks(db, [run.id])


async def list_footprints(
    db: AsyncSession,
    principal: Principal,
    f: FootprintFilter,
    *,
    after: tuple[datetime, uuid.UUID] | None = None,
    limit: int = MAX_LISTED,
) -> list[FootprintVersion]:
    require_footprints(principal)
    ids: list[uuid.UUID] | None = None
    if f.installation_id is not None:
        await installation_for(db, principal, f.installation_id)
    elif (bound := _bound(principal)) is not None:
        ids = [bound]
    return await repository.footprints(db, f, installation_ids=ids, after=after, limit=min(limit, MAX_LISTED + 1))


async def get_footprint(db: AsyncSession, principal: Principal, version_id: uuid.UUID) -> FootprintVersion:
    require_footprints(principal)
    version = await repository.footprint(db, version_id)
    if version is None or not _visible(principal, version.installation_id):
        raise FootprintNotFound("no such footprint version", field="id")
    return version


async def lineage(db: AsyncSession, principal: Principal, version_id: uuid.UUID) -> list[FootprintVersion]:
    """The version's whole lineage (same product, installation and period), newest first."""
    version = await get_footprint(db, principal, version_id)
    return await repository.lineage(db, version)


@dataclass(frozen=True, slots=True)
class DefaultAgainstActual:
    """What the CBAM obligation costs with the actual footprint and with the default value, at one price."""

    version: FootprintVersion
    certificate_price_eur_per_t: float
    net_mass_t: float
    actual_see_obligation: float | None
    default_see_obligation: float | None
    actual_eur: float | None
    default_eur: float | None
    saving_eur: float | None  # default minus actual: what the actual footprint saves
    default_ref: str | None
    method: str


async def default_against_actual(
    db: AsyncSession,
    principal: Principal,
    *,
    product_id: uuid.UUID,
    installation_id: uuid.UUID,
    start: datetime,
    end: datetime,
    certificate_price_eur_per_t: float,
) -> DefaultAgainstActual:
    """The newest footprint of the product for exactly this installation and period, priced both ways."""
    require_footprints(principal)
    price = certificate_price_eur_per_t
    if not math.isfinite(price) or price < 0 or price > 10_000:
        raise ValidationFailed([FieldError("EUR per tCO2e, 0 to 10000", field="certificatePrice")])
    await installation_for(db, principal, installation_id)
    latest = await repository.latest_versions(db, installation_id, start, end, [product_id])
    version = latest.get(product_id)
    if version is None:
        raise FootprintNotFound("no footprint of this product for this installation and period", field="productId")
    defaults = version.figures.get("defaults", {})
    default_see = defaults.get("default_see_obligation")
    actual_see = version.see_obligation
    mass = version.net_mass_t
    actual_eur = actual_see * mass * price if actual_see is not None else None
    default_eur = default_see * mass * price if default_see is not None else None
    return DefaultAgainstActual(
        version=version,
        certificate_price_eur_per_t=price,
        net_mass_t=mass,
        actual_see_obligation=actual_see,
        default_see_obligation=default_see,
        actual_eur=actual_eur,
        default_eur=default_eur,
        saving_eur=default_eur - actual_eur if actual_eur is not None and default_eur is not None else None,
        default_ref=defaults.get("factor_ref"),
        method="see_obligation x net mass x certificate price; default: [IR2621] Annex I value with the year's mark-up",
    )


__all__ = [
    "JOB",
    "DefaultAgainstActual",
    "Outcome",
    "batch_results",
    "begin_run",
    "cancel_run",
    "check_period",
    "checkpoint",
    "default_against_actual",
    "fail_run",
    "finish_run",
    "get_footprint",
    "get_run",
    "lineage",
    "list_footprints",
    "list_runs",
    "parameters_for_engine",
    "product_results",
    "start_run",
    "validation_checks",
]


async def checks_of(db: AsyncSession, run_ids: list[uuid.UUID]) -> list[RunValidationCheck]:
    """Validation checks of several runs (a loader's batch function; the runs were authorised)."""
    return await repository.checks(db, run_ids)


async def lineages_of(db: AsyncSession, version_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[FootprintVersion]]:
    """Each version's whole lineage, newest first (a loader's batch function; the versions were authorised)."""
    return await repository.lineages(db, version_ids)
