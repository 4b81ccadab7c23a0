"""GraphQL of calculations: runs (start, follow, cancel), their results and validation report, footprint versions
with their lineage, and the default-against-actual comparison. Every figure carries its method, the factors it
rests on and where it comes from."""

from __future__ import annotations

import uuid
from datetime import date, datetime

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import relay
from strawberry.scalars import JSON

from backend.api import mutations
from backend.api.context import Context
from backend.api.errors import UserError
from backend.api.relay import (
    Connection,
    NodeRef,
    Page,
    decode_cursor,
    gid,
    grantor_uuid,
    node_uuid,
    page_size,
    to_connection,
)
from backend.calculations import models, service, shared
from backend.calculations.loaders import checks_by_run_id, lineage_by_version_id, reproductions_by_run_id
from backend.calculations.schemas import FootprintFilter, RunRequest
from backend.errors import FieldError, ValidationFailed
from backend.identity.principal import Principal

RunStatusEnum = strawberry.enum(
    models.RunStatus,
    name="CalculationRunStatus",
    description="queued, running, succeeded, failed (nothing stored, the cause named) or cancelled (nothing stored).",
)
CheckStatusEnum = strawberry.enum(models.CheckStatus, name="ValidationCheckStatus", description="pass, warn or fail.")

# factor references name their kind first: these are the ones electricity figures rest on
INDIRECT_KINDS = ("grid_default", "supplier_specific", "own_generation", "technology")
FIGURE_METHODS = {
    "see_direct": "(fuel combustion Eqs. 5-6 + precursors Eq. 60) / net mass [IR2547] Annex III",
    "see_indirect": "(electricity x factor Eq. 35 + precursors' indirect) / net mass",
    "see_obligation": "direct, plus indirect where indirect emissions count ([REG956] Art. 7(1), Annex II)",
    "electricity": "metered intervals allocated to batches by line share, overhead and idle pooled per local day",
}


@strawberry.type(
    description="One figure with its unit, the method that produced it, the factors it rests on and its source."
)
class Figure:
    value: float | None = strawberry.field(description="The value; null when it has none (e.g. no default exists).")
    unit: str = strawberry.field(description="Its unit.")
    method: str = strawberry.field(description="How it was calculated (equations of the regulation).")
    factor_refs: list[str] = strawberry.field(
        description="Factor versions it rests on (kind:subject:vVERSION:id), or the evidence for an actual value."
    )
    source: str = strawberry.field(description="The calculation run and output digest it comes from.")


def _refs(breakdown: dict, indirect: bool | None) -> list[str]:  # type: ignore[type-arg]
    # a fuel's set of factors is one reference of its three versions joined by "|"
    refs = [
        ref
        for row in breakdown.get("by_factor", [])
        if row.get("factor_ref")
        for ref in str(row["factor_ref"]).split("|")
    ]
    if indirect is None:
        return refs
    return [r for r in refs if r.startswith(INDIRECT_KINDS) == indirect]


def _figures(
    values: dict,  # type: ignore[type-arg]
    methods: dict,  # type: ignore[type-arg]
    breakdown: dict,  # type: ignore[type-arg]
    source: str,
) -> dict[str, Figure]:
    def figure(name: str, unit: str, method_key: str, indirect: bool | None) -> Figure:
        return Figure(
            value=values.get(name),
            unit=unit,
            method=str(methods.get(method_key, "")),
            factor_refs=_refs(breakdown, indirect),
            source=source,
        )

    return {
        "see_direct": figure("see_direct", "tCO2e/t", "see_direct", False),
        "see_indirect": figure("see_indirect", "tCO2e/t", "see_indirect", True),
        "see_total": figure("see_total", "tCO2e/t", "see_direct", None),
        "see_obligation": figure("see_obligation", "tCO2e/t", "see_obligation", None),
        "electricity_mwh_per_t": figure("electricity_mwh_per_t", "MWh/t", "electricity", None),
    }


@strawberry.type(description="Something the user should know about a run's result.")
class RunWarning:
    code: str = strawberry.field(description="Stable code.")
    message: str = strawberry.field(description="What it concerns, naming the data.")


@strawberry.type(description="One check of a run's validation report, with the numbers it judged.")
class ValidationCheck:
    code: str = strawberry.field(
        description="electricity_balance, batches_against_consumption, metering_gaps or intensity_outliers."
    )
    subject: str = strawberry.field(description="What was checked: the installation, a meter code, a product code.")
    status: CheckStatusEnum = strawberry.field(description="pass, warn or fail.")  # type: ignore[valid-type]
    message: str = strawberry.field(description="The finding.")
    figures: JSON = strawberry.field(description="The numbers behind it (kWh, shares, kWh/t, outlying batches).")

    @classmethod
    def of(cls, row: models.RunValidationCheck) -> ValidationCheck:
        return cls(code=row.code, subject=row.subject, status=row.status, message=row.message, figures=row.figures)


@strawberry.type(description="What one batch received in a run.")
class BatchResult:
    batch_id: relay.GlobalID = strawberry.field(description="The production batch.")
    batch_number: str = strawberry.field(description="Its number.")
    product_id: relay.GlobalID = strawberry.field(description="Its product.")
    line_id: relay.GlobalID | None = strawberry.field(description="Its line.")
    started_at: datetime = strawberry.field(description="Start (UTC).")
    ended_at: datetime = strawberry.field(description="End (UTC).")
    net_mass_t: float = strawberry.field(description="Net mass [t].")
    energy_kwh: float = strawberry.field(description="Electricity allocated [kWh] = line + overhead + idle.")
    line_kwh: float = strawberry.field(description="Share of its line's sub-meters by time overlap [kWh].")
    overhead_kwh: float = strawberry.field(description="Auxiliaries and unmetered use while lines ran [kWh].")
    idle_kwh: float = strawberry.field(description="Idle overhead pooled per local day, shared by net mass [kWh].")
    matched_kwh: float = strawberry.field(description="Electricity matched with supply sources [kWh].")
    matched_by_source: JSON = strawberry.field(description="Supply contract id -> matched kWh.")
    direct_tco2: float = strawberry.field(description="Fuel combustion (Eqs. 5-6) [tCO2e].")
    precursor_direct_tco2: float = strawberry.field(description="Precursors, direct (Eq. 60) [tCO2e].")
    precursor_indirect_tco2: float = strawberry.field(description="Precursors, indirect (Eq. 60) [tCO2e].")
    indirect_tco2: float = strawberry.field(description="Electricity (Eq. 35) [tCO2e].")
    measured_share: float = strawberry.field(description="Share of its meter intervals measured.")
    estimated_share: float = strawberry.field(description="Share estimated.")
    missing_share: float = strawberry.field(description="Share missing (counted as 0 kWh).")
    method: str = strawberry.field(description="How the electricity was allocated.")

    @classmethod
    def of(cls, row: models.RunBatchResult) -> BatchResult:
        return cls(
            batch_id=gid("ProductionBatch", row.batch_id),
            batch_number=row.batch_number,
            product_id=gid("Product", row.product_id),
            line_id=gid("ProductionLine", row.line_id) if row.line_id else None,
            started_at=row.started_at,
            ended_at=row.ended_at,
            net_mass_t=row.net_mass_t,
            energy_kwh=row.energy_kwh,
            line_kwh=row.line_kwh,
            overhead_kwh=row.overhead_kwh,
            idle_kwh=row.idle_kwh,
            matched_kwh=row.matched_kwh,
            matched_by_source=row.matched_by_source,
            direct_tco2=row.direct_tco2,
            precursor_direct_tco2=row.precursor_direct_tco2,
            precursor_indirect_tco2=row.precursor_indirect_tco2,
            indirect_tco2=row.indirect_tco2,
            measured_share=row.measured_share,
            estimated_share=row.estimated_share,
            missing_share=row.missing_share,
            method="line sub-meters shared by time overlap; overhead by line energy while lines ran; idle overhead "
            "pooled per local day and shared by net mass (methodology 1)",
        )


@strawberry.type(description="A product's specific embedded emissions in one run.")
class ProductResult:
    product_id: relay.GlobalID = strawberry.field(description="The product.")
    product_code: str = strawberry.field(description="Its code.")
    cn_code: str = strawberry.field(description="Its CN code.")
    batches: int = strawberry.field(description="Batches of it in the period.")
    net_mass_t: float = strawberry.field(description="Activity level: net mass [t].")
    see_direct: Figure = strawberry.field(description="Specific direct embedded emissions.")
    see_indirect: Figure = strawberry.field(description="Specific indirect embedded emissions.")
    see_total: Figure = strawberry.field(description="Direct plus indirect.")
    see_obligation: Figure = strawberry.field(description="What counts for the CBAM obligation.")
    electricity_mwh_per_t: Figure = strawberry.field(description="Electricity per tonne.")
    indirect_counts: bool = strawberry.field(description="Indirect emissions count for the obligation.")
    precursor_defaulted: bool = strawberry.field(description="A precursor's default value was used.")
    defaults: JSON = strawberry.field(description="Default values, exposure at the certificate price, factor ref.")
    breakdown: JSON = strawberry.field(description="Per line, supply source (with tier and factor), factor, tier.")
    data_quality: JSON = strawberry.field(description="Measured, estimated, missing and defaulted shares.")

    @classmethod
    def of(cls, row: models.RunProductResult, run: models.CalculationRun) -> ProductResult:
        values = {
            "see_direct": row.see_direct,
            "see_indirect": row.see_indirect,
            "see_total": row.see_total,
            "see_obligation": row.see_obligation,
            "electricity_mwh_per_t": row.electricity_mwh_per_t,
        }
        figures = _figures(
            values,
            dict(FIGURE_METHODS),
            row.breakdown,
            f"calculation run {gid('CalculationRun', run.id)}, output digest {run.output_digest}",
        )
        return cls(
            product_id=gid("Product", row.product_id),
            product_code=row.product_code,
            cn_code=row.cn_code,
            batches=row.batches,
            net_mass_t=row.net_mass_t,
            indirect_counts=row.indirect_counts,
            precursor_defaulted=row.precursor_defaulted,
            defaults=row.defaults,
            breakdown=row.breakdown,
            data_quality=row.data_quality,
            **figures,
        )


@strawberry.type(description="An input whose content hash differs between a run's manifest and the data now.")
class ChangedInput:
    input: str = strawberry.field(description="Its place in the run's manifest, e.g. interval_data.meters.<id>.")
    label: str = strawberry.field(description="What it is, e.g. 'interval data of meter MAIN'.")
    recorded: JSON | None = strawberry.field(description="Its hash (or value) in the run's manifest; null if new.")
    now: JSON | None = strawberry.field(description="Its hash (or value) from the data stored now; null if gone.")


@strawberry.type(
    description="A succeeded run computed again from the data stored now, by its organisation or a "
    "verifier through a footprint grant."
)
class RunReproduction(relay.Node):
    id: relay.NodeID[str]
    run_id: relay.GlobalID = strawberry.field(description="The run.")
    requested_by: str = strawberry.field(description="Who asked: a user's e-mail or a client's name.")
    requested_by_organization_id: relay.GlobalID = strawberry.field(
        description="Their organisation: this one, or a verifier's through its footprint grant."
    )
    recorded_inputs_digest: str = strawberry.field(description="The run's inputs digest.")
    recorded_output_digest: str = strawberry.field(description="The run's output digest.")
    inputs_digest: str | None = strawberry.field(
        description="The inputs digest of the data now (null if the inputs could not be loaded)."
    )
    output_digest: str | None = strawberry.field(description="The output digest computed now.")
    inputs_match: bool = strawberry.field(description="The data behind the run is unchanged.")
    output_matches: bool = strawberry.field(description="The output hash is the one recorded.")
    changed_inputs: list[ChangedInput] = strawberry.field(description="Each input that changed since the run.")
    methodology_version: str = strawberry.field(description="The run's methodology version.")
    error_code: str | None = strawberry.field(description="Why the inputs could not be loaded now (e.g. NO_DATA).")
    error_message: str | None = strawberry.field(description="The cause, naming the data.")
    duration_s: float = strawberry.field(description="How long loading and computing took [s].")
    created_at: datetime = strawberry.field(description="When.")

    @classmethod
    def of(cls, row: models.RunReproduction) -> RunReproduction:
        return cls(
            id=str(row.id),
            run_id=gid("CalculationRun", row.run_id),
            requested_by=row.requested_by,
            requested_by_organization_id=gid("Organization", row.requested_by_tenant_id),
            recorded_inputs_digest=row.recorded_inputs_digest,
            recorded_output_digest=row.recorded_output_digest,
            inputs_digest=row.inputs_digest,
            output_digest=row.output_digest,
            inputs_match=row.inputs_match,
            output_matches=row.output_matches,
            changed_inputs=[
                ChangedInput(input=c["input"], label=c.get("label", c["input"]), recorded=c["recorded"], now=c["now"])
                for c in row.changed_inputs
            ],
            methodology_version=row.methodology_version,
            error_code=row.error_code,
            error_message=row.error_message,
            duration_s=row.duration_s,
            created_at=row.created_at,
        )


@strawberry.type(description="A calculation of one installation over whole local days.")
class CalculationRun(relay.Node):
    id: relay.NodeID[str]
    installation_id: relay.GlobalID = strawberry.field(description="The installation.")
    period_start: datetime = strawberry.field(description="Start (UTC), a local midnight.")
    period_end: datetime = strawberry.field(description="End (UTC, exclusive), a local midnight.")
    matching_resolution: str = strawberry.field(description="interval, hour, day, month or year.")
    parameters: JSON = strawberry.field(description="Every parameter of the run.")
    methodology_version: str = strawberry.field(description="Version of the calculation rules.")
    status: RunStatusEnum = strawberry.field(description="Where the run is.")  # type: ignore[valid-type]
    progress: float = strawberry.field(description="0..1.")
    stage: str = strawberry.field(description="queued, loading inputs, calculating, writing results, done, ...")
    cancel_requested: bool = strawberry.field(description="A cancellation waits for the run's next stage.")
    job_id: str = strawberry.field(description="The calculation's key: the same calculation has the same key.")
    manifest: JSON = strawberry.field(description="Content hashes of every input, parameters, methodology version.")
    inputs_digest: str | None = strawberry.field(description="SHA-256 of the canonical inputs.")
    output_digest: str | None = strawberry.field(description="SHA-256 of the canonical outputs.")
    summary: JSON = strawberry.field(description="Installation figures: consumption, unallocated, matching scores.")
    warnings: list[RunWarning] = strawberry.field(description="What the user should know about the result.")
    error_code: str | None = strawberry.field(description="Why it failed (e.g. FACTOR_MISSING, NO_DATA).")
    error_message: str | None = strawberry.field(description="The cause, naming the data.")
    created_by: str = strawberry.field(description="Who started it.")
    created_at: datetime = strawberry.field(description="When.")
    started_at: datetime | None = strawberry.field(description="When a worker began it.")
    finished_at: datetime | None = strawberry.field(description="When it ended.")
    # set when read through another organisation's footprint grant: nested reads go through it too
    grantor_id: strawberry.Private[uuid.UUID | None] = None

    @strawberry.field(description="The validation report: each check pass, warn or fail with its numbers.")
    async def validation_report(self, info: strawberry.Info[Context, None]) -> list[ValidationCheck]:
        grantor = self.grantor_id
        loader = info.context.loader(f"checks_by_run_id@{grantor or 'own'}", lambda ctx: checks_by_run_id(ctx, grantor))
        return [ValidationCheck.of(r) for r in await loader.load(uuid.UUID(self.id))]

    @strawberry.field(description="Its re-computations from the data stored since, newest first.")
    async def reproductions(self, info: strawberry.Info[Context, None]) -> list[RunReproduction]:
        grantor = self.grantor_id
        loader = info.context.loader(
            f"reproductions_by_run_id@{grantor or 'own'}", lambda ctx: reproductions_by_run_id(ctx, grantor)
        )
        return [RunReproduction.of(r) for r in await loader.load(uuid.UUID(self.id))]

    @strawberry.field(description="What each batch received, by start (empty unless the run succeeded).")
    async def batch_results(
        self, info: strawberry.Info[Context, None], first: int | None = None, after: str | None = None
    ) -> Connection[BatchResult]:
        limit = page_size(first)
        cursor = decode_cursor(after)
        position = (datetime.fromisoformat(cursor[0]), cursor[1]) if cursor else None
        run_id = uuid.UUID(self.id)
        if self.grantor_id is not None:
            rows = await shared.read_run_rows(
                info.context.services,
                info.context.require_principal(),
                self.grantor_id,
                "calculation_run.batch_results",
                lambda db: service.batch_results_of_allowed_run(db, run_id, after=position, limit=limit + 1),
            )
        else:
            rows = await info.context.in_tenant(
                lambda db, p: service.batch_results(db, p, run_id, after=position, limit=limit + 1)
            )
        return to_connection(
            Page(rows, limit, cursor is not None), BatchResult.of, lambda r: [r.started_at.isoformat(), r.batch_number]
        )

    @strawberry.field(description="Each product's result (empty unless the run succeeded).")
    async def product_results(self, info: strawberry.Info[Context, None]) -> list[ProductResult]:
        run_id = uuid.UUID(self.id)
        if self.grantor_id is not None:

            async def shared_rows(db: AsyncSession) -> list[ProductResult]:
                run, rows = await service.product_results_of_allowed_run(db, run_id)
                return [ProductResult.of(r, run) for r in rows]

            return await shared.read_run_rows(
                info.context.services,
                info.context.require_principal(),
                self.grantor_id,
                "calculation_run.product_results",
                shared_rows,
            )

        async def action(db: AsyncSession, principal: Principal) -> list[ProductResult]:
            run = await service.get_run(db, principal, run_id)
            return [ProductResult.of(r, run) for r in await service.product_results(db, principal, run.id)]

        return await info.context.in_tenant(action)

    @classmethod
    def of(cls, row: models.CalculationRun, grantor_id: uuid.UUID | None = None) -> CalculationRun:
        return cls(
            grantor_id=grantor_id,
            id=str(row.id),
            installation_id=gid("Installation", row.installation_id),
            period_start=row.period_start,
            period_end=row.period_end,
            matching_resolution=row.matching_resolution,
            parameters=row.parameters,
            methodology_version=row.methodology_version,
            status=row.status,
            progress=row.progress,
            stage=row.stage,
            cancel_requested=row.cancel_requested,
            job_id=row.job_id,
            manifest=row.manifest,
            inputs_digest=row.inputs_digest,
            output_digest=row.output_digest,
            summary=row.summary,
            warnings=[RunWarning(code=str(w.get("code", "")), message=str(w.get("message", ""))) for w in row.warnings],
            error_code=row.error_code,
            error_message=row.error_message,
            created_by=row.created_by,
            created_at=row.created_at,
            started_at=row.started_at,
            finished_at=row.finished_at,
        )


@strawberry.type(description="An earlier or later version in a footprint's lineage.")
class FootprintLineageEntry:
    id: relay.GlobalID = strawberry.field(description="The version.")
    version: int = strawberry.field(description="Its number (1 first).")
    run_id: relay.GlobalID = strawberry.field(description="The run that computed it.")
    see_obligation: float | None = strawberry.field(description="Its SEE for the obligation [tCO2e/t].")
    output_digest: str = strawberry.field(description="Output digest of its run.")
    supersedes_id: relay.GlobalID | None = strawberry.field(description="The version it superseded.")
    created_at: datetime = strawberry.field(description="When it was published.")


@strawberry.type(description="One immutable version of a product's footprint at an installation over a period.")
class FootprintVersion(relay.Node):
    id: relay.NodeID[str]
    product_id: relay.GlobalID = strawberry.field(description="The product.")
    product_code: str = strawberry.field(description="Its code.")
    installation_id: relay.GlobalID = strawberry.field(description="The installation.")
    period_start: datetime = strawberry.field(description="Start (UTC).")
    period_end: datetime = strawberry.field(description="End (UTC, exclusive).")
    version: int = strawberry.field(description="1 for the first, then one more per run of the same period.")
    run_id: relay.GlobalID = strawberry.field(description="The calculation run that computed it.")
    methodology_version: str = strawberry.field(description="Version of the calculation rules.")
    net_mass_t: float = strawberry.field(description="Activity level: net mass [t].")
    see_direct: Figure = strawberry.field(description="Specific direct embedded emissions.")
    see_indirect: Figure = strawberry.field(description="Specific indirect embedded emissions.")
    see_total: Figure = strawberry.field(description="Direct plus indirect.")
    see_obligation: Figure = strawberry.field(description="What counts for the CBAM obligation.")
    electricity_mwh_per_t: Figure = strawberry.field(description="Electricity per tonne.")
    figures: JSON = strawberry.field(description="Every figure of the product result, with the default comparison.")
    breakdown: JSON = strawberry.field(description="Per line, supply source (tier, factor), factor, tier.")
    data_quality: JSON = strawberry.field(description="Measured, estimated, missing and defaulted shares.")
    manifest: JSON = strawberry.field(description="Content hashes of every input of its run.")
    output_digest: str = strawberry.field(description="SHA-256 of its run's outputs.")
    supersedes_id: relay.GlobalID | None = strawberry.field(description="The version it supersedes.")
    created_at: datetime = strawberry.field(description="When it was published.")
    # set when read through another organisation's footprint grant: nested reads go through it too
    grantor_id: strawberry.Private[uuid.UUID | None] = None

    @strawberry.field(description="Every version of this product, installation and period, newest first.")
    async def lineage(self, info: strawberry.Info[Context, None]) -> list[FootprintLineageEntry]:
        grantor = self.grantor_id
        loader = info.context.loader(
            f"lineage_by_version_id@{grantor or 'own'}", lambda ctx: lineage_by_version_id(ctx, grantor)
        )
        rows = await loader.load(uuid.UUID(self.id))
        return [
            FootprintLineageEntry(
                id=gid("FootprintVersion", r.id),
                version=r.version,
                run_id=gid("CalculationRun", r.run_id),
                see_obligation=r.see_obligation,
                output_digest=r.output_digest,
                supersedes_id=gid("FootprintVersion", r.supersedes_id) if r.supersedes_id else None,
                created_at=r.created_at,
            )
            for r in rows
        ]

    @classmethod
    def of(cls, row: models.FootprintVersion, grantor_id: uuid.UUID | None = None) -> FootprintVersion:
        values = {
            "see_direct": row.see_direct,
            "see_indirect": row.see_indirect,
            "see_total": row.see_total,
            "see_obligation": row.see_obligation,
            "electricity_mwh_per_t": row.figures.get("electricity_mwh_per_t"),
        }
        figures = _figures(
            values,
            dict(row.figures.get("methods") or FIGURE_METHODS),
            row.breakdown,
            f"calculation run {gid('CalculationRun', row.run_id)}, output digest {row.output_digest}",
        )
        return cls(
            id=str(row.id),
            product_id=gid("Product", row.product_id),
            product_code=str(row.figures.get("product_code", "")),
            installation_id=gid("Installation", row.installation_id),
            period_start=row.period_start,
            period_end=row.period_end,
            version=row.version,
            run_id=gid("CalculationRun", row.run_id),
            methodology_version=row.methodology_version,
            net_mass_t=row.net_mass_t,
            figures=row.figures,
            breakdown=row.breakdown,
            data_quality=row.data_quality,
            manifest=row.manifest,
            output_digest=row.output_digest,
            supersedes_id=gid("FootprintVersion", row.supersedes_id) if row.supersedes_id else None,
            created_at=row.created_at,
            grantor_id=grantor_id,
            **figures,
        )


@strawberry.type(description="The CBAM cost of a product's footprint with the actual value and with the default.")
class DefaultAgainstActual:
    footprint: FootprintVersion = strawberry.field(description="The newest footprint version of the period.")
    certificate_price: float = strawberry.field(description="Certificate price used [EUR/tCO2e].")
    net_mass_t: float = strawberry.field(description="Net mass [t].")
    actual: Figure = strawberry.field(description="Actual SEE for the obligation [tCO2e/t].")
    default: Figure = strawberry.field(description="Default SEE with the year's mark-up [tCO2e/t].")
    actual_eur: float | None = strawberry.field(description="Actual SEE x mass x price [EUR].")
    default_eur: float | None = strawberry.field(description="Default SEE x mass x price [EUR].")
    saving_eur: float | None = strawberry.field(description="Default minus actual [EUR].")


# --- inputs ---------------------------------------------------------------------------------------------


@strawberry.input(description="A calculation of one installation over whole local days.")
class StartCalculationRunInput:
    installation_id: NodeRef = strawberry.field(description="The installation.")
    start: datetime = strawberry.field(description="A midnight in the installation's time zone, with offset.")
    end: datetime = strawberry.field(description="A later local midnight (exclusive), at most a year on.")
    matching_resolution: str = strawberry.field(default="hour", description="interval, hour, day, month or year.")
    certificate_price: float = strawberry.field(default=75.0, description="EUR per tCO2e, for the default comparison.")
    fuel_density: JSON | None = strawberry.field(
        default=None,
        description="Fuel -> density [t/m3] for fuel meters measuring volume, e.g. {natural_gas: 0.00075}.",
    )


@strawberry.type(description="The run, or why it was not started.")
class CalculationRunPayload:
    run: CalculationRun | None = strawberry.field(description="The run.")
    created: bool = strawberry.field(description="False when the same calculation was already queued or running.")
    errors: list[UserError] = strawberry.field(description="Why nothing was started or changed.")


@strawberry.type(description="The re-computation, or why there is none.")
class RunReproductionPayload:
    reproduction: RunReproduction | None = strawberry.field(description="What the re-computation found.")
    errors: list[UserError] = strawberry.field(description="Why the run could not be re-computed.")


def _densities(value: object) -> dict[str, float]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, int | float) for v in value.values()):
        raise ValidationFailed([FieldError("an object of fuel -> density in t/m3", field="fuelDensity")])
    return {str(k): float(v) for k, v in value.items()}


# --- resolvers ------------------------------------------------------------------------------------------


@strawberry.type(description="One local hour of a line in a run: what powered it.")
class LineElectricityHour:
    hour_start: datetime = strawberry.field(description="Start of the hour (UTC; a local hour of the installation).")
    energy_kwh: float = strawberry.field(description="The line's own metered energy in the hour [kWh].")
    matched_kwh: float = strawberry.field(description="Of it, matched with supply sources in the hour [kWh].")
    matched_share: float | None = strawberry.field(description="Matched kWh / kWh; null when the line drew nothing.")
    factor: float | None = strawberry.field(
        description="Indirect factor the hour's energy carries [tCO2e/MWh]: matched kWh at their sources' factors "
        "(the grid default for a source whose conditions are not met), the rest at the grid default; null when "
        "the line drew nothing."
    )
    factor_refs: list[str] = strawberry.field(description="The factor versions that made up the hour's factor.")


@strawberry.type(description="What powered a production line hour by hour in a run (at most 31 days per read).")
class LineElectricity:
    run_id: relay.GlobalID = strawberry.field(description="The run.")
    line_id: relay.GlobalID = strawberry.field(description="The line.")
    line_code: str = strawberry.field(description="Its code.")
    matching_resolution: str = strawberry.field(description="The run's matching resolution (exact per hour).")
    hours: list[LineElectricityHour] = strawberry.field(description="The hours starting in the range asked for.")


@strawberry.type(description="What one line contributed to a footprint version's product in its run.")
class FootprintLine:
    line_id: relay.GlobalID | None = strawberry.field(description="The line; null for batches without a line.")
    line_code: str = strawberry.field(description="Its code.")
    batches: int = strawberry.field(description="The product's batches made on it.")
    net_mass_t: float = strawberry.field(description="Their net mass [t].")
    energy_kwh: float = strawberry.field(description="Electricity allocated to them [kWh]: line share, overhead, idle.")
    line_kwh: float = strawberry.field(description="Of it, the line's own metered energy (line share) [kWh].")
    overhead_kwh: float = strawberry.field(description="Of it, overhead of the intervals they ran in [kWh].")
    idle_kwh: float = strawberry.field(description="Of it, idle overhead of their local days [kWh].")
    matched_kwh: float = strawberry.field(description="Of it, matched with supply sources [kWh].")
    hourly_series: LineSeriesLink | None = strawberry.field(
        description="Arguments of lineElectricity for this line's hours (read 31 days at a time)."
    )


@strawberry.type(description="Where to read a line's hourly series of a run: the query lineElectricity.")
class LineSeriesLink:
    run_id: relay.GlobalID
    line_id: relay.GlobalID
    start: datetime = strawberry.field(description="The run's period start.")
    end: datetime = strawberry.field(description="The run's period end (exclusive).")


@strawberry.type(description="The factor a supply source's matched electricity got, and why.")
class SourceFactorExplanation:
    source_id: relay.GlobalID = strawberry.field(description="The supply contract.")
    reference: str = strawberry.field(description="Its reference.")
    kind: str = strawberry.field(description="ppa, own_generation or direct_link.")
    data: str = strawberry.field(description="Source of its volumes: developer_settlement, generator_meter, none.")
    eligible: bool = strawberry.field(description="Whether the definitive-period conditions are met.")
    missing_conditions: list[str] = strawberry.field(description="The conditions not met (empty when eligible).")
    factor: float | None = strawberry.field(description="The factor applied to its matched kWh [tCO2e/MWh].")
    factor_ref: str = strawberry.field(description="The factor version applied.")
    tier: str = strawberry.field(description="Evidence tier of its matched volume.")
    matched_kwh: float | None = strawberry.field(description="The product's kWh matched with it.")
    why: str = strawberry.field(description="Why this factor applied.")


@strawberry.type(
    description="A guarantee of origin cancelled for the installation with production in the footprint's period. "
    "For information only: it does not lower CBAM indirect emissions."
)
class CancelledCertificateInformation:
    certificate_id: relay.GlobalID
    scheme: str = strawberry.field(description="go_eecs, i_rec or other.")
    volume_mwh: int = strawberry.field(description="Its volume [MWh] (one certificate per MWh).")
    production_start_on: date = strawberry.field(description="Production period start.")
    production_end_on: date = strawberry.field(description="Production period end.")
    energy_source: str = strawberry.field(description="Energy source of the producing device.")
    device_name: str = strawberry.field(description="The producing device.")
    statement_reference: str = strawberry.field(description="Reference of its cancellation statement.")
    cancelled_on: date = strawberry.field(description="When it was cancelled.")


@strawberry.type(description="How a footprint version came about, to explain and re-compute it.")
class FootprintExplanation:
    footprint: FootprintVersion = strawberry.field(description="The version explained.")
    run_id: relay.GlobalID = strawberry.field(description="The run that computed it.")
    lines: list[FootprintLine] = strawberry.field(description="The lines that made the product, with mass and energy.")
    sources: list[SourceFactorExplanation] = strawberry.field(description="The factor each supply source got, and why.")
    grid_factor: float | None = strawberry.field(description="The grid default factor [tCO2e/MWh] for unmatched kWh.")
    grid_factor_ref: str = strawberry.field(description="Its factor version.")
    matching_resolution: str = strawberry.field(description="The bucket supply was matched in.")
    allocation_methods: JSON = strawberry.field(description="Allocation methods: line_share, overhead, idle.")
    methodology_version: str = strawberry.field(description="Version of the calculation rules.")
    inputs_digest: str | None = strawberry.field(description="SHA-256 of the run's canonical inputs.")
    output_digest: str = strawberry.field(description="SHA-256 of the run's outputs.")
    bundle_route: str = strawberry.field(
        description="GET route of the run's calculation bundle; `cbamx recompute BUNDLE` computes it again."
    )
    guarantees_of_origin: list[CancelledCertificateInformation] = strawberry.field(
        description="Certificates cancelled for the installation whose production period overlaps the footprint's: "
        "for information, beside the figures; they do not lower CBAM indirect emissions."
    )
    guarantees_of_origin_note: str = strawberry.field(description="Why the certificates do not change the figures.")
    guarantees_of_origin_mwh: int = strawberry.field(description="Their volume together [MWh].")


@strawberry.type
class CalculationQuery:
    @strawberry.field(description="One calculation run: status, progress, manifest, digests, warnings, report.")
    async def calculation_run(self, info: strawberry.Info[Context, None], id: NodeRef) -> CalculationRun:
        return CalculationRun.of(
            await info.context.in_tenant(lambda db, p: service.get_run(db, p, node_uuid(id, "CalculationRun")))
        )

    @strawberry.field(
        description="One of another organisation's calculation runs (manifest, digests, validation report, "
        "results, re-computations), through your footprint grant: its installation and period must lie inside it."
    )
    async def shared_calculation_run(
        self, info: strawberry.Info[Context, None], grantor_id: NodeRef, id: NodeRef
    ) -> CalculationRun:
        grantor = grantor_uuid(grantor_id)
        row, _ = await shared.read_run(
            info.context.services, info.context.require_principal(), grantor, node_uuid(id, "CalculationRun")
        )
        return CalculationRun.of(row, grantor)

    @strawberry.field(description="Calculation runs, newest first; of one installation if given.")
    async def calculation_runs(
        self,
        info: strawberry.Info[Context, None],
        installation_id: NodeRef | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[CalculationRun]:
        principal = info.context.require_principal()
        limit = page_size(first)
        cursor = decode_cursor(after)
        installation = node_uuid(installation_id, "Installation", field="installationId") if installation_id else None
        async with info.context.tenant_uow() as db:
            rows = await service.list_runs(
                db,
                principal,
                installation_id=installation,
                after=(datetime.fromisoformat(cursor[0]), uuid.UUID(cursor[1])) if cursor else None,
                limit=limit + 1,
            )
        return to_connection(
            Page(rows, limit, cursor is not None), CalculationRun.of, lambda r: [r.created_at.isoformat(), r.id]
        )

    @strawberry.field(description="Product footprint versions, newest first; by default only each lineage's newest.")
    async def product_footprints(
        self,
        info: strawberry.Info[Context, None],
        installation_id: NodeRef | None = None,
        product_id: NodeRef | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        latest_only: bool = True,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[FootprintVersion]:
        principal = info.context.require_principal()
        limit = page_size(first)
        cursor = decode_cursor(after)
        filters = FootprintFilter(
            installation_id=node_uuid(installation_id, "Installation", field="installationId")
            if installation_id
            else None,
            product_id=node_uuid(product_id, "Product", field="productId") if product_id else None,
            start=start,
            end=end,
            latest_only=latest_only,
        )
        async with info.context.tenant_uow() as db:
            rows = await service.list_footprints(
                db,
                principal,
                filters,
                after=(datetime.fromisoformat(cursor[0]), uuid.UUID(cursor[1])) if cursor else None,
                limit=limit + 1,
            )
        return to_connection(
            Page(rows, limit, cursor is not None), FootprintVersion.of, lambda r: [r.created_at.isoformat(), r.id]
        )

    @strawberry.field(
        description="Another organisation's footprint versions, newest first, through your live footprint grants: "
        "only installations and periods a grant includes."
    )
    async def shared_product_footprints(
        self,
        info: strawberry.Info[Context, None],
        grantor_id: NodeRef,
        installation_id: NodeRef | None = None,
        product_id: NodeRef | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        latest_only: bool = True,
        first: int | None = None,
    ) -> list[FootprintVersion]:
        principal = info.context.require_principal()
        grantor = grantor_uuid(grantor_id)
        filters = FootprintFilter(
            installation_id=node_uuid(installation_id, "Installation", field="installationId")
            if installation_id
            else None,
            product_id=node_uuid(product_id, "Product", field="productId") if product_id else None,
            start=start,
            end=end,
            latest_only=latest_only,
        )
        rows, _ = await shared.read_footprints(
            info.context.services, principal, grantor, filters, limit=page_size(first)
        )
        return [FootprintVersion.of(r, grantor) for r in rows]

    @strawberry.field(description="One of another organisation's footprint versions, through your footprint grant.")
    async def shared_footprint_version(
        self, info: strawberry.Info[Context, None], grantor_id: NodeRef, id: NodeRef
    ) -> FootprintVersion:
        principal = info.context.require_principal()
        grantor = grantor_uuid(grantor_id)
        row, _ = await shared.read_footprint(
            info.context.services, principal, grantor, node_uuid(id, "FootprintVersion")
        )
        return FootprintVersion.of(row, grantor)

    @strawberry.field(description="One footprint version, with its breakdown, data quality and lineage.")
    async def footprint_version(self, info: strawberry.Info[Context, None], id: NodeRef) -> FootprintVersion:
        return FootprintVersion.of(
            await info.context.in_tenant(lambda db, p: service.get_footprint(db, p, node_uuid(id, "FootprintVersion")))
        )

    @strawberry.field(
        description="A product's newest footprint for an installation and period, priced with the "
        "actual value and with the default at a certificate price."
    )
    async def default_against_actual(
        self,
        info: strawberry.Info[Context, None],
        product_id: NodeRef,
        installation_id: NodeRef,
        start: datetime,
        end: datetime,
        certificate_price: float = 75.0,
    ) -> DefaultAgainstActual:
        async def action(db: AsyncSession, principal: Principal) -> service.DefaultAgainstActual:
            return await service.default_against_actual(
                db,
                principal,
                product_id=node_uuid(product_id, "Product", field="productId"),
                installation_id=node_uuid(installation_id, "Installation", field="installationId"),
                start=start,
                end=end,
                certificate_price_eur_per_t=certificate_price,
            )

        found = await info.context.in_tenant(action)
        version = FootprintVersion.of(found.version)
        source = f"footprint version {version.id}, output digest {found.version.output_digest}"
        return DefaultAgainstActual(
            footprint=version,
            certificate_price=found.certificate_price_eur_per_t,
            net_mass_t=found.net_mass_t,
            actual=Figure(
                value=found.actual_see_obligation,
                unit="tCO2e/t",
                method=version.see_obligation.method,
                factor_refs=version.see_obligation.factor_refs,
                source=source,
            ),
            default=Figure(
                value=found.default_see_obligation,
                unit="tCO2e/t",
                method=found.method,
                factor_refs=[found.default_ref] if found.default_ref else [],
                source="factor library (published default values)",
            ),
            actual_eur=found.actual_eur,
            default_eur=found.default_eur,
            saving_eur=found.saving_eur,
        )

    @strawberry.field(
        description="What powered a line hour by hour in a succeeded run: kWh, matched kWh and share, the factor "
        "applied and its versions; at most 31 days per call."
    )
    async def line_electricity(
        self, info: strawberry.Info[Context, None], run_id: NodeRef, line_id: NodeRef, start: datetime, end: datetime
    ) -> LineElectricity:
        run = node_uuid(run_id, "CalculationRun", field="runId")
        line = node_uuid(line_id, "ProductionLine", field="lineId")
        found, series, hours = await info.context.in_tenant(
            lambda db, p: service.line_electricity(db, p, run, line, start, end)
        )
        return LineElectricity(
            run_id=gid("CalculationRun", series.run_id),
            line_id=gid("ProductionLine", series.line_id),
            line_code=series.line_code,
            matching_resolution=found.matching_resolution,
            hours=[
                LineElectricityHour(
                    hour_start=h.hour_start,
                    energy_kwh=h.energy_kwh,
                    matched_kwh=h.matched_kwh,
                    matched_share=h.matched_share,
                    factor=h.factor,
                    factor_refs=h.factor_refs,
                )
                for h in hours
            ],
        )

    @strawberry.field(
        description="How a footprint version came about: its lines, the factor of each supply source and why, the "
        "allocation, its run's digests and bundle, and guarantees of origin cancelled (for information)."
    )
    async def footprint_explanation(
        self, info: strawberry.Info[Context, None], footprint_version_id: NodeRef
    ) -> FootprintExplanation:
        version_id = node_uuid(footprint_version_id, "FootprintVersion", field="footprintVersionId")
        found = await info.context.in_tenant(lambda db, p: service.footprint_explanation(db, p, version_id))
        run, version = found.run, found.version
        with_series = {line_id for line_id, _ in found.series_lines}
        return FootprintExplanation(
            footprint=FootprintVersion.of(version),
            run_id=gid("CalculationRun", run.id),
            lines=[
                FootprintLine(
                    line_id=gid("ProductionLine", line.line_id) if line.line_id else None,
                    line_code=line.line_code,
                    batches=line.batches,
                    net_mass_t=line.net_mass_t,
                    energy_kwh=line.energy_kwh,
                    line_kwh=line.line_kwh,
                    overhead_kwh=line.overhead_kwh,
                    idle_kwh=line.idle_kwh,
                    matched_kwh=line.matched_kwh,
                    hourly_series=LineSeriesLink(
                        run_id=gid("CalculationRun", run.id),
                        line_id=gid("ProductionLine", line.line_id),
                        start=run.period_start,
                        end=run.period_end,
                    )
                    if line.line_id in with_series
                    else None,
                )
                for line in found.lines
            ],
            sources=[
                SourceFactorExplanation(
                    source_id=gid("SupplyContract", source.source_id),
                    reference=source.reference,
                    kind=source.kind,
                    data=source.data,
                    eligible=source.eligible,
                    missing_conditions=source.missing,
                    factor=source.factor,
                    factor_ref=source.factor_ref,
                    tier=source.tier,
                    matched_kwh=source.matched_kwh,
                    why=source.why,
                )
                for source in found.sources
            ],
            grid_factor=found.grid_factor,
            grid_factor_ref=found.grid_factor_ref,
            matching_resolution=found.matching_resolution,
            allocation_methods=found.allocation_methods,
            methodology_version=version.methodology_version,
            inputs_digest=run.inputs_digest,
            output_digest=version.output_digest,
            bundle_route=found.bundle_route,
            guarantees_of_origin=[
                CancelledCertificateInformation(
                    certificate_id=gid("Certificate", c.certificate_id),
                    scheme=c.scheme,
                    volume_mwh=c.volume_mwh,
                    production_start_on=c.production_start_on,
                    production_end_on=c.production_end_on,
                    energy_source=c.energy_source,
                    device_name=c.device_name,
                    statement_reference=c.statement_reference,
                    cancelled_on=c.cancelled_on,
                )
                for c in found.certificates
            ],
            guarantees_of_origin_note=found.certificates_note,
            guarantees_of_origin_mwh=sum(c.volume_mwh for c in found.certificates),
        )


@strawberry.type
class CalculationMutation:
    @strawberry.mutation(
        description="Queue a calculation run (the same calculation already queued or running is "
        "returned instead); an exporter's writers of production data."
    )
    async def start_calculation_run(
        self, info: strawberry.Info[Context, None], input: StartCalculationRunInput
    ) -> CalculationRunPayload:
        async def action(db: AsyncSession, principal: Principal) -> CalculationRunPayload:
            tenant = await info.context.tenant()
            request = RunRequest(
                installation_id=node_uuid(input.installation_id, "Installation", field="installationId"),
                start=input.start,
                end=input.end,
                matching_resolution=input.matching_resolution,
                certificate_price_eur_per_t=input.certificate_price,
                fuel_density_t_per_m3=_densities(input.fuel_density),
            )
            run, created = await service.start_run(db, principal, tenant.kind, request)
            return CalculationRunPayload(run=CalculationRun.of(run), created=created, errors=[])

        return await mutations.in_tenant(
            info, action, lambda e: CalculationRunPayload(run=None, created=False, errors=e)
        )

    @strawberry.mutation(
        description="Re-compute one of your succeeded runs from the data stored now: whether its inputs and output "
        "still give the recorded digests, and which inputs changed."
    )
    async def reproduce_calculation_run(
        self, info: strawberry.Info[Context, None], id: NodeRef
    ) -> RunReproductionPayload:
        async def action(db: AsyncSession, principal: Principal) -> RunReproductionPayload:
            found = await service.reproduce_run(info.context.services, db, principal, node_uuid(id, "CalculationRun"))
            return RunReproductionPayload(reproduction=RunReproduction.of(found), errors=[])

        return await mutations.in_tenant(info, action, lambda e: RunReproductionPayload(reproduction=None, errors=e))

    @strawberry.mutation(
        description="Re-compute another organisation's succeeded run through your footprint grant (a verifier): "
        "the record is kept beside the run, in that organisation's audit trail too."
    )
    async def reproduce_shared_calculation_run(
        self, info: strawberry.Info[Context, None], grantor_id: NodeRef, id: NodeRef
    ) -> RunReproductionPayload:
        async def body() -> RunReproductionPayload:
            found = await shared.reproduce_run(
                info.context.services,
                info.context.require_principal(),
                grantor_uuid(grantor_id),
                node_uuid(id, "CalculationRun"),
            )
            return RunReproductionPayload(reproduction=RunReproduction.of(found), errors=[])

        return await mutations.run(body, lambda e: RunReproductionPayload(reproduction=None, errors=e))

    @strawberry.mutation(
        description="Cancel a run: a queued one at once, a running one at its next stage; "
        "nothing of its results is kept."
    )
    async def cancel_calculation_run(self, info: strawberry.Info[Context, None], id: NodeRef) -> CalculationRunPayload:
        async def action(db: AsyncSession, principal: Principal) -> CalculationRunPayload:
            tenant = await info.context.tenant()
            run = await service.cancel_run(db, principal, tenant.kind, node_uuid(id, "CalculationRun"))
            return CalculationRunPayload(run=CalculationRun.of(run), created=False, errors=[])

        return await mutations.in_tenant(
            info, action, lambda e: CalculationRunPayload(run=None, created=False, errors=e)
        )
