"""GraphQL of provisional footprints: a batch's figure from the data received by its end, its versions,
and its comparison with the final figure of the period's calculation run."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry import relay

from backend.api.context import Context
from backend.api.relay import NodeRef, gid, node_uuid
from backend.provisional import models, service


@strawberry.type(
    description="A batch's embedded emissions computed from the data received by the time it ended "
    "(one version; a batch gets a new version as more of its data arrives). Intervals not yet "
    "delivered count 0 kWh and are reported in missingShare; dataUntil says how far the data went."
)
class ProvisionalFootprint:
    id: relay.GlobalID = strawberry.field(description="Id of this version.")
    batch_id: relay.GlobalID = strawberry.field(description="The ProductionBatch.")
    version: int = strawberry.field(description="1 for the first figure, then one more per recomputation.")
    computed_at: datetime = strawberry.field(description="When it was computed (UTC).")
    data_until: datetime | None = strawberry.field(
        description="End of the last interval that had meter data when it was computed (UTC)."
    )
    window_start: datetime = strawberry.field(description="Start of the data window: the batch's local day (UTC).")
    window_end: datetime = strawberry.field(description="End of the data window: after the batch's last local day.")
    energy_kwh: float = strawberry.field(description="Electricity allocated to the batch [kWh].")
    electricity_kwh_per_t: float = strawberry.field(description="Electricity per tonne of net output [kWh/t].")
    matched_kwh: float = strawberry.field(description="Of it, matched with contracted supply [kWh].")
    matched_share: float = strawberry.field(description="matchedKwh / energyKwh (0..1).")
    direct_tco2: float = strawberry.field(description="Direct emissions of the installation's fuels [tCO2e].")
    indirect_tco2: float = strawberry.field(description="Indirect emissions of the electricity [tCO2e].")
    precursor_direct_tco2: float = strawberry.field(description="Precursors' direct embedded emissions [tCO2e].")
    precursor_indirect_tco2: float = strawberry.field(description="Precursors' indirect embedded emissions [tCO2e].")
    see_direct: float = strawberry.field(description="Specific direct embedded emissions [tCO2e/t].")
    see_indirect: float = strawberry.field(description="Specific indirect embedded emissions [tCO2e/t].")
    see_total: float = strawberry.field(description="seeDirect + seeIndirect [tCO2e/t].")
    measured_share: float = strawberry.field(description="Share of the batch's intervals measured (0..1).")
    estimated_share: float = strawberry.field(description="Share estimated (0..1).")
    missing_share: float = strawberry.field(description="Share missing, e.g. not delivered yet (0..1).")
    factor_refs: list[str] = strawberry.field(description="The emission factors behind the figures.")
    warnings: list[str] = strawberry.field(description="The engine's warnings, as 'CODE: message'.")
    methodology_version: str = strawberry.field(description="Calculation methodology version.")
    inputs_digest: str = strawberry.field(description="SHA-256 of the inputs and parameters.")
    output_digest: str = strawberry.field(description="SHA-256 of the engine's outputs.")

    @classmethod
    def of(cls, row: models.ProvisionalFootprint) -> ProvisionalFootprint:
        return cls(
            id=gid("ProvisionalFootprint", row.id),
            batch_id=gid("ProductionBatch", row.batch_id),
            version=row.version,
            computed_at=row.computed_at,
            data_until=row.data_until,
            window_start=row.window_start,
            window_end=row.window_end,
            energy_kwh=row.energy_kwh,
            electricity_kwh_per_t=row.electricity_kwh_per_t,
            matched_kwh=row.matched_kwh,
            matched_share=row.matched_share,
            direct_tco2=row.direct_tco2,
            indirect_tco2=row.indirect_tco2,
            precursor_direct_tco2=row.precursor_direct_tco2,
            precursor_indirect_tco2=row.precursor_indirect_tco2,
            see_direct=row.see_direct,
            see_indirect=row.see_indirect,
            see_total=row.see_total,
            measured_share=row.measured_share,
            estimated_share=row.estimated_share,
            missing_share=row.missing_share,
            factor_refs=list(row.factor_refs),
            warnings=[f"{w.get('code', '')}: {w.get('message', '')}" for w in row.warnings],
            methodology_version=row.methodology_version,
            inputs_digest=row.inputs_digest,
            output_digest=row.output_digest,
        )


@strawberry.type(description="The batch's figures in a succeeded calculation run covering it.")
class FinalBatchFootprint:
    run_id: relay.GlobalID = strawberry.field(description="The CalculationRun.")
    period_start: datetime = strawberry.field(description="The run's period start (UTC).")
    period_end: datetime = strawberry.field(description="The run's period end (UTC).")
    finished_at: datetime | None = strawberry.field(description="When the run finished.")
    energy_kwh: float = strawberry.field(description="Electricity allocated to the batch [kWh].")
    see_direct: float = strawberry.field(description="[tCO2e/t].")
    see_indirect: float = strawberry.field(description="[tCO2e/t].")
    see_total: float = strawberry.field(description="[tCO2e/t].")

    @classmethod
    def of(cls, final: service.FinalFigures) -> FinalBatchFootprint:
        return cls(
            run_id=gid("CalculationRun", final.run.id),
            period_start=final.run.period_start,
            period_end=final.run.period_end,
            finished_at=final.run.finished_at,
            energy_kwh=final.energy_kwh,
            see_direct=final.see_direct,
            see_indirect=final.see_indirect,
            see_total=final.see_total,
        )


@strawberry.type(description="final - provisional, and relative to the final figure (null when that is 0).")
class FootprintDifference:
    absolute: float
    relative: float | None

    @classmethod
    def of(cls, d: service.Difference | None) -> FootprintDifference | None:
        return None if d is None else cls(absolute=d.absolute, relative=d.relative)


@strawberry.type(
    description="A batch's latest provisional footprint beside its final figure (the latest succeeded "
    "calculation run whose period covers the batch), with their difference; either side may be null."
)
class BatchFootprintComparison:
    batch_id: relay.GlobalID
    provisional: ProvisionalFootprint | None
    final: FinalBatchFootprint | None
    see_total_difference: FootprintDifference | None
    see_direct_difference: FootprintDifference | None
    see_indirect_difference: FootprintDifference | None
    energy_kwh_difference: FootprintDifference | None

    @classmethod
    def of(cls, c: service.Comparison) -> BatchFootprintComparison:
        return cls(
            batch_id=gid("ProductionBatch", c.batch.id),
            provisional=ProvisionalFootprint.of(c.provisional) if c.provisional else None,
            final=FinalBatchFootprint.of(c.final) if c.final else None,
            see_total_difference=FootprintDifference.of(c.see_total),
            see_direct_difference=FootprintDifference.of(c.see_direct),
            see_indirect_difference=FootprintDifference.of(c.see_indirect),
            energy_kwh_difference=FootprintDifference.of(c.energy_kwh),
        )


@strawberry.type
class ProvisionalQuery:
    @strawberry.field(description="A batch's latest provisional footprint; null until one is computed.")
    async def provisional_footprint(
        self, info: strawberry.Info[Context, None], batch_id: NodeRef
    ) -> ProvisionalFootprint | None:
        row = await info.context.in_tenant(
            lambda db, p: service.latest(db, p, node_uuid(batch_id, "ProductionBatch", field="batchId"))
        )
        return ProvisionalFootprint.of(row) if row else None

    @strawberry.field(description="Every provisional version of a batch's footprint, newest first.")
    async def provisional_footprint_versions(
        self, info: strawberry.Info[Context, None], batch_id: NodeRef
    ) -> list[ProvisionalFootprint]:
        rows = await info.context.in_tenant(
            lambda db, p: service.versions(db, p, node_uuid(batch_id, "ProductionBatch", field="batchId"))
        )
        return [ProvisionalFootprint.of(r) for r in rows]

    @strawberry.field(description="A batch's provisional footprint beside its final one, with their difference.")
    async def batch_footprint_comparison(
        self, info: strawberry.Info[Context, None], batch_id: NodeRef
    ) -> BatchFootprintComparison:
        found = await info.context.in_tenant(
            lambda db, p: service.comparison(db, p, node_uuid(batch_id, "ProductionBatch", field="batchId"))
        )
        return BatchFootprintComparison.of(found)
