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
import tempfile
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit.service import record
from backend.calculations import repository
from backend.calculations.bundle import write_bundle
from backend.calculations.errors import (
    BadPeriod,
    CalculationFailed,
    CalculationRunNotFound,
    FootprintNotFound,
    InputsChanged,
    LineSeriesNotFound,
    RunNotCancellable,
    RunNotFinished,
)
from backend.calculations.inputs import ASSUMED_DENSITY_T_PER_M3, LoadedInputs, finite_or_none, load_inputs
from backend.calculations.models import (
    ACTIVE_STATUSES,
    BATCH_FIGURES,
    CalculationRun,
    CheckStatus,
    FootprintVersion,
    RunBatchResult,
    RunLineSeries,
    RunProductResult,
    RunReproduction,
    RunStatus,
    RunValidationCheck,
)
from backend.calculations.reproduction import reproduce
from backend.calculations.schemas import FootprintFilter, RunRequest
from backend.calculations.series import HourPoint, line_hourly_series, unpack_hours
from backend.calculations.validation import Check, validation_report
from backend.certificates import service as certificates
from backend.db import defer_job, new_id, tenant_scope_of, utcnow
from backend.errors import FieldError, PermissionDenied, ValidationFailed
from backend.identity.principal import Principal
from backend.installations.models import Installation
from backend.offload import off_loop
from backend.production.service import installation_for
from backend.references import ReadLimit
from backend.services import Services
from backend.tenants.models import TenantKind
from workers.engine.calculation import (
    CALCULATION_METHODOLOGY_VERSION,
    MATCHING_RESOLUTIONS,
    CalculationInputs,
    CalculationParameters,
    CalculationResult,
    calculate,
)

JOB = "calculations.run"
FUELS_BY_VOLUME = frozenset(ASSUMED_DENSITY_T_PER_M3)
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
        if fuel not in FUELS_BY_VOLUME:
            errors.append(
                FieldError(
                    f"a fuel metered by volume: one of {', '.join(sorted(FUELS_BY_VOLUME))}", field="fuelDensity"
                )
            )
        elif not isinstance(value, int | float) or not math.isfinite(value) or not 0 < value < 0.01:
            errors.append(FieldError("a gas density in t/m3, e.g. 0.00075", field=f"fuelDensity.{fuel}"))
        else:
            densities[fuel] = float(value)
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


async def fail_stale_runs(db: AsyncSession, actor: Principal, *, older_than: datetime) -> int:
    """Fail the runs still queued or running since before ``older_than``: their job died (the worker stopped).

    Until then the same calculation cannot be started again (one active run per key).
    """
    ids = await repository.unfinished_run_ids(db, created_before=older_than)
    for run_id in ids:
        await fail_run(
            db,
            actor,
            run_id,
            "RUN_JOB_LOST",
            f"the run did not finish by {older_than.isoformat()}; nothing was stored: start it again",
        )
    return len(ids)


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
    figures: dict[str, Any] = {
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
    defaults: dict[str, Any] = {
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
    quality: dict[str, Any] = {
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


def _batch_result_rows(run_id: uuid.UUID, loaded: LoadedInputs, result: CalculationResult) -> list[tuple[Any, ...]]:
    """One record per reported batch in the column order of :data:`repository.BATCH_RESULT_COLUMNS`.

    A plant-year holds tens of thousands of batches: each figure's column is converted to Python floats
    once (``tolist``), not value by value, which took seconds.
    """
    inputs, b = loaded.inputs, result.batches
    index = b.index.tolist()
    numbers = inputs.batches.numbers
    starts = inputs.batches.start_s[b.index].tolist()
    ends = inputs.batches.end_s[b.index].tolist()
    figures = [np.nan_to_num(np.asarray(getattr(b, name), dtype=np.float64)).tolist() for name in BATCH_FIGURES]
    sources = inputs.supply.ids
    matched = np.asarray(b.matched_by_source_kwh, dtype=np.float64).reshape(len(b.ids), len(sources)).tolist()
    rows: list[tuple[Any, ...]] = []
    for r, batch_id in enumerate(b.ids):
        product_id, line_id = loaded.batch_products[batch_id]
        rows.append(
            (
                new_id(),
                run_id,
                batch_id,  # asyncpg encodes UUID text as uuid: no need to parse 60,000 of them here
                numbers[index[r]],
                product_id,
                line_id,
                datetime.fromtimestamp(starts[r], tz=UTC),
                datetime.fromtimestamp(ends[r], tz=UTC),
                *(column[r] for column in figures),
                json.dumps(dict(zip(sources, matched[r], strict=True)), separators=(",", ":")),
            )
        )
    return rows


def _calculate(inputs: CalculationInputs, parameters: CalculationParameters) -> tuple[CalculationResult, str]:
    result = calculate(inputs, parameters)
    return result, result.output_digest()


async def calculate_off_loop(
    inputs: CalculationInputs, parameters: CalculationParameters
) -> tuple[CalculationResult, str]:
    """The engine's result and its output digest, computed in a worker thread, off the event loop."""
    return await off_loop(_calculate, inputs, parameters)


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
    checks = await off_loop(validation_report, loaded.inputs, result, tolerance=installation.balance_tolerance)
    check_balance(checks)
    inputs = loaded.inputs
    batch_rows = await off_loop(_batch_result_rows, run.id, loaded, result)
    price = float(run.parameters["certificate_price_eur_per_t"])
    product_rows = []
    published = []
    b = result.batches
    batches_per_product: list[int] = (
        np.bincount(inputs.batches.product[b.index], minlength=len(inputs.products.ids)).tolist() if b.ids else []
    )
    await repository.lock_footprint_period(db, run.installation_id, run.period_start, run.period_end)
    product_ids = [uuid.UUID(pid) for pid in result.products.ids]
    previous = await repository.latest_versions(db, run.installation_id, run.period_start, run.period_end, product_ids)
    products = await repository.products_by_id(db, product_ids)
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
    await repository.copy_batch_results(db, batch_rows)
    series = await off_loop(line_hourly_series, inputs, result)
    await repository.insert_rows(db, RunLineSeries, [{"run_id": run.id, **s.packed()} for s in series])
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


async def succeeded_run(db: AsyncSession, principal: Principal, run_id: uuid.UUID) -> CalculationRun:
    run = await get_run(db, principal, run_id)
    if run.status != RunStatus.SUCCEEDED:
        raise RunNotFinished(f"the run is {run.status.value}: it has no results", field="id")
    return run


async def batch_results(
    db: AsyncSession,
    principal: Principal,
    run_id: uuid.UUID,
    *,
    after: tuple[datetime, str] | None = None,
    limit: int = MAX_LISTED,
) -> list[RunBatchResult]:
    """A page of what each batch received, by start (a plant-year has thousands of batches)."""
    run = await get_run(db, principal, run_id)
    return await repository.batch_results(db, run.id, after=after, limit=min(limit, MAX_LISTED + 1))


async def batch_results_of_allowed_run(
    db: AsyncSession, run_id: uuid.UUID, *, after: tuple[datetime, str] | None, limit: int
) -> list[RunBatchResult]:
    """A run's batch results, for a reader a grant's read of that run has already allowed."""
    return await repository.batch_results(db, run_id, after=after, limit=limit)


async def product_results_of_allowed_run(
    db: AsyncSession, run_id: uuid.UUID
) -> tuple[CalculationRun, list[RunProductResult]]:
    """A run and its product results, for a reader a grant's read of that run has already allowed."""
    run = await repository.run(db, run_id)
    if run is None:
        raise CalculationRunNotFound("no such calculation run", field="id")
    return run, await repository.product_results(db, run_id)


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
    limits: Sequence[ReadLimit] | None = None,
) -> list[FootprintVersion]:
    """Footprint versions the principal may see, inside ``limits`` when read through grants."""
    require_footprints(principal)
    ids: list[uuid.UUID] | None = None
    if f.installation_id is not None:
        await installation_for(db, principal, f.installation_id)
    elif (bound := _bound(principal)) is not None:
        ids = [bound]
    return await repository.footprints(
        db, f, installation_ids=ids, after=after, limit=min(limit, MAX_LISTED + 1), limits=limits
    )


async def get_footprint(db: AsyncSession, principal: Principal, version_id: uuid.UUID) -> FootprintVersion:
    require_footprints(principal)
    version = await repository.footprint(db, version_id)
    if version is None or not _visible(principal, version.installation_id):
        raise FootprintNotFound("no such footprint version", field="id")
    return version


async def cn_code_of(db: AsyncSession, product_id: uuid.UUID) -> str:
    """The CN code of a product a footprint version names (kept: RESTRICT)."""
    return await repository.cn_code(db, product_id)


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
    "bundle_of",
    "cancel_run",
    "check_period",
    "checkpoint",
    "default_against_actual",
    "export_bundle",
    "fail_run",
    "fail_stale_runs",
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


# --- bundle export -----------------------------------------------------------------------------------------


def _bundle_bytes(loaded: LoadedInputs, extra: dict[str, Any], time_zone: str) -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bundle.zip"
        write_bundle(path, loaded.inputs, loaded.parameters, extra, time_zone=time_zone)
        return path.read_bytes()


async def export_bundle(
    services: Services, db: AsyncSession, principal: Principal, run_id: uuid.UUID
) -> tuple[CalculationRun, bytes]:
    """A succeeded run's calculation bundle (zip), rebuilt from the stored data (audited).

    The inputs are loaded again and must give the run's inputs digest: if the stored data changed since the
    run (a batch corrected, an interval edited), the bundle would not recompute the run, and it is refused.
    """
    return await bundle_of(services, db, principal, await succeeded_run(db, principal, run_id))


async def bundle_of(
    services: Services, db: AsyncSession, principal: Principal, run: CalculationRun
) -> tuple[CalculationRun, bytes]:
    """``export_bundle`` for a run the caller may see (its own, or one a grant's read allowed)."""
    if run.status != RunStatus.SUCCEEDED:
        raise RunNotFinished(f"the run is {run.status.value}: it has no results", field="id")
    installation = await db.get(Installation, run.installation_id)
    assert installation is not None
    parameters = parameters_for_engine(run)
    loaded = await load_inputs(
        services,
        db,
        # the run's own organisation loads the inputs (its PPAs through its own grants), whoever exports
        Principal.system("calculation bundle", tenant_scope_of(db).tenant_id),
        installation,
        run.period_start,
        run.period_end,
        parameters,
        fuel_density_t_per_m3=dict(run.parameters.get("fuel_density_t_per_m3") or {}),
    )
    if loaded.inputs_digest != run.inputs_digest:
        raise InputsChanged(
            "the stored data of this installation and period changed since the run: start a new run to export "
            "a bundle that recomputes it",
            field="id",
        )
    extra = {
        "run_id": str(run.id),
        "installation": run.manifest.get("installation", {}),
        "period": {"start": run.period_start.isoformat(), "end": run.period_end.isoformat()},
        "output_digest": run.output_digest,
        "run_manifest": run.manifest,
        "exported_by": principal.label,
    }
    data = await off_loop(_bundle_bytes, loaded, extra, installation.timezone)
    await record(
        db,
        principal,
        "calculation_run.bundle_exported",
        "calculation_run",
        run.id,
        details={"inputs_digest": run.inputs_digest, "bundle_sha256": hashlib.sha256(data).hexdigest()},
    )
    return run, data


# --- re-computation --------------------------------------------------------------------------------------


async def reproduce_checked(
    services: Services, db: AsyncSession, actor: Principal, run: CalculationRun
) -> RunReproduction:
    """Re-compute a succeeded run the caller may see (checked by the caller) and record it (audited)."""
    if run.status != RunStatus.SUCCEEDED:
        raise RunNotFinished(f"the run is {run.status.value}: it has no results to reproduce", field="id")
    installation = await db.get(Installation, run.installation_id)
    assert installation is not None
    reproduction = await reproduce(services, db, actor, run, installation)
    await record(
        db,
        actor,
        "calculation_run.reproduced",
        "calculation_run",
        run.id,
        details={
            "reproduction_id": str(reproduction.id),
            "inputs_match": reproduction.inputs_match,
            "output_matches": reproduction.output_matches,
            "output_digest": reproduction.output_digest,
            "changed_inputs": [c["input"] for c in reproduction.changed_inputs],
            "error_code": reproduction.error_code,
        },
    )
    return reproduction


async def reproduce_run(
    services: Services, db: AsyncSession, principal: Principal, run_id: uuid.UUID
) -> RunReproduction:
    """Re-compute one of the organisation's succeeded runs from the data stored now."""
    return await reproduce_checked(services, db, principal, await get_run(db, principal, run_id))


async def reproductions_of_runs(db: AsyncSession, run_ids: list[uuid.UUID]) -> list[RunReproduction]:
    """The runs' re-computations, newest first (the caller has checked it may see the runs)."""
    return await repository.reproductions(db, run_ids)


# --- what powered a line, and how a footprint came about -------------------------------------------------

MAX_SERIES_RANGE = timedelta(days=31)


async def line_electricity(
    db: AsyncSession, principal: Principal, run_id: uuid.UUID, line_id: uuid.UUID, start: datetime, end: datetime
) -> tuple[CalculationRun, RunLineSeries, list[HourPoint]]:
    """A line's hours in [start, end) of a succeeded run: energy, matched energy and share, factor; at most
    31 days per call (a plant-year is 8,760 hours per line)."""
    errors = []
    if start.tzinfo is None:
        errors.append(FieldError("must carry a UTC offset", field="start"))
    if end.tzinfo is None:
        errors.append(FieldError("must carry a UTC offset", field="end"))
    if not errors and end <= start:
        errors.append(FieldError("must be after the start", field="end"))
    elif not errors and end - start > MAX_SERIES_RANGE:
        errors.append(FieldError("must be at most 31 days after the start", field="end"))
    if errors:
        raise ValidationFailed(errors)
    run = await succeeded_run(db, principal, run_id)
    series = await repository.line_series(db, run.id, line_id)
    if series is None:
        raise LineSeriesNotFound("the run has no hourly series of this line", field="lineId")
    return (
        run,
        series,
        unpack_hours(
            series.first_hour,
            series.energy_kwh,
            series.matched_kwh,
            series.factor,
            series.factor_mask,
            list(series.factor_refs),
            start,
            end,
        ),
    )


ALLOCATION_METHODS = {
    "line_share": "a line's metered energy shared by its active batches by time overlap, o_bt / Σ o_b't",
    "overhead": "auxiliaries and unmetered energy (main minus sub-meters) of an interval, spread over the "
    "active batches by their line energy, OH_t · e_bt / A_t",
    "idle": "overhead of intervals without an active batch, pooled per local day and spread by net mass over "
    "the batches of that day",
}


@dataclass(frozen=True, slots=True)
class LineContribution:
    line_id: uuid.UUID | None
    line_code: str
    batches: int
    net_mass_t: float
    energy_kwh: float
    line_kwh: float
    overhead_kwh: float
    idle_kwh: float
    matched_kwh: float


@dataclass(frozen=True, slots=True)
class SourceExplanation:
    source_id: str
    reference: str
    kind: str
    data: str
    eligible: bool
    missing: list[str]
    factor: float | None
    factor_ref: str
    tier: str
    matched_kwh: float | None
    why: str


@dataclass(frozen=True, slots=True)
class CertificateInformation:
    certificate_id: uuid.UUID
    scheme: str
    volume_mwh: int
    production_start_on: date
    production_end_on: date
    energy_source: str
    device_name: str
    statement_reference: str
    cancelled_on: date


CERTIFICATES_NOTE = (
    "For information only: guarantees of origin do not lower CBAM indirect emissions. Indirect emissions use "
    "the grid default factor unless a direct technical link or a PPA meeting the conditions of [IR2547] "
    "Annex II D.4.3 supplies the electricity, whatever certificates were cancelled."
)


@dataclass(frozen=True, slots=True)
class FootprintExplanation:
    version: FootprintVersion
    run: CalculationRun
    lines: list[LineContribution]
    series_lines: list[tuple[uuid.UUID, str]]
    sources: list[SourceExplanation]
    grid_factor: float | None
    grid_factor_ref: str
    matching_resolution: str
    allocation_methods: dict[str, str]
    bundle_route: str
    certificates: list[CertificateInformation]
    certificates_note: str


async def guarantees_of_origin(
    db: AsyncSession, principal: Principal, installation_id: uuid.UUID, start: datetime, end: datetime, zone: str
) -> list[CertificateInformation]:
    """Certificates cancelled for the installation whose production period overlaps the period's local days."""
    local = ZoneInfo(zone)
    first_day = start.astimezone(local).date()
    last_day = (end.astimezone(local) - timedelta(days=1)).date()
    rows = await certificates.cancelled_for_installation(db, principal, installation_id, first_day, last_day)
    return [
        CertificateInformation(
            certificate_id=c.id,
            scheme=c.scheme.value,
            volume_mwh=int(c.quantity),
            production_start_on=c.production_start_on,
            production_end_on=c.production_end_on,
            energy_source=c.energy_source,
            device_name=c.device_name,
            statement_reference=s.statement_reference,
            cancelled_on=s.cancelled_on,
        )
        for c, s in rows
    ]


async def footprint_explanation(db: AsyncSession, principal: Principal, version_id: uuid.UUID) -> FootprintExplanation:
    """How a footprint version came about: the lines that made it, the factor each supply source got and why,
    the allocation, and the run's digests and bundle to compute it again."""
    version = await get_footprint(db, principal, version_id)
    run = await repository.run(db, version.run_id)
    assert run is not None  # a footprint version's run is kept (RESTRICT)
    totals = await repository.line_totals(db, run.id, version.product_id)
    codes = {
        uuid.UUID(row["line_id"]): row.get("line_code", "")
        for row in (version.breakdown or {}).get("by_line", [])
        if row.get("line_id")
    }
    series_lines = await repository.line_series_keys(db, run.id)
    codes.update(dict(series_lines))
    lines = [
        LineContribution(
            line_id=r[0],
            line_code=codes.get(r[0], "") if r[0] else "(no line)",
            batches=int(r[1]),
            net_mass_t=float(r[2] or 0),
            energy_kwh=float(r[3] or 0),
            line_kwh=float(r[4] or 0),
            overhead_kwh=float(r[5] or 0),
            idle_kwh=float(r[6] or 0),
            matched_kwh=float(r[7] or 0),
        )
        for r in sorted(totals, key=lambda r: codes.get(r[0], "") if r[0] else "~")
    ]
    contracts = {c["id"]: c for c in (version.manifest or {}).get("contracts", [])}
    breakdown = version.breakdown or {}
    grid = breakdown.get("grid_factor", {})
    sources = []
    for row in breakdown.get("by_source", []):
        contract = contracts.get(row["source_id"], {})
        conditions = contract.get("conditions", {})
        eligible = bool(row.get("eligible"))
        missing = [str(m) for m in conditions.get("missing", [])]
        why = (
            "the definitive-period conditions are met: its matched electricity counts at its own factor"
            if eligible
            else "conditions not met (" + "; ".join(missing or ["not stated"]) + "): its matched electricity "
            "counts at the grid default"
        )
        sources.append(
            SourceExplanation(
                source_id=row["source_id"],
                reference=str(contract.get("reference", "")),
                kind=row.get("kind", ""),
                data=str(contract.get("data", "")),
                eligible=eligible,
                missing=missing,
                factor=row.get("factor"),
                factor_ref=row.get("factor_ref") if eligible else grid.get("factor_ref", ""),
                tier=row.get("tier", ""),
                matched_kwh=row.get("matched_kwh"),
                why=why,
            )
        )
    installation = await db.get(Installation, version.installation_id)
    zone = installation.timezone if installation is not None else "UTC"
    return FootprintExplanation(
        version=version,
        run=run,
        lines=lines,
        series_lines=series_lines,
        sources=sources,
        grid_factor=grid.get("value"),
        grid_factor_ref=str(grid.get("factor_ref", "")),
        matching_resolution=run.matching_resolution,
        allocation_methods=ALLOCATION_METHODS,
        bundle_route=f"/calculations/v1/runs/{run.id}/bundle",
        certificates=await guarantees_of_origin(
            db, principal, version.installation_id, version.period_start, version.period_end, zone
        ),
        certificates_note=CERTIFICATES_NOTE,
    )


async def factor_ids_used(
    db: AsyncSession, principal: Principal, installation_id: uuid.UUID, start: datetime, end: datetime
) -> list[uuid.UUID]:
    """The factor versions the installation's succeeded runs over periods inside [start, end) used."""
    principal.require("site:read")
    used: dict[uuid.UUID, None] = {}
    for manifest in await repository.run_manifests_within(db, installation_id, start, end):
        for entry in manifest.get("factors", []):
            used[uuid.UUID(entry["id"])] = None
    return list(used)
