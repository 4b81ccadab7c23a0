"""GraphQL of interval data: series, meter balance, gaps, and editing an interval."""

from __future__ import annotations

from datetime import datetime

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import relay
from strawberry.scalars import JSON

from backend.api import mutations
from backend.api.context import Context
from backend.api.derive import derived_type
from backend.api.errors import UserError
from backend.api.relay import NodeRef, node_uuid
from backend.identity.principal import Principal
from backend.metering import models, reports
from backend.metering.gql import Meter
from backend.metering.loaders import SharedFrom
from workers import engine
from workers.engine import METHODOLOGY_VERSION

IntervalFlag = strawberry.enum(
    engine.IntervalFlag, name="IntervalFlag", description="Why an interval is marked (see the methodology)."
)


@strawberry.type(description="One meter's interval energy over a period, oldest first.")
class IntervalSeries:
    meter: Meter = strawberry.field(description="The meter.")
    start: datetime = strawberry.field(description="Start of the first interval (UTC).")
    resolution_seconds: int = strawberry.field(description="Interval length [s].")
    energy_kwh: list[float | None] = strawberry.field(description="Energy per interval [kWh]; null where missing.")
    status: list[str] = strawberry.field(description="MEASURED, ESTIMATED, MISSING or EDITED per interval.")
    flags: list[int] = strawberry.field(description="Validation flag bits per interval (see flagNames).")
    flag_names: list[list[IntervalFlag]] = strawberry.field(  # type: ignore[valid-type]
        description="The flags of each interval by name, lowest bit first; empty when none."
    )
    counts: JSON = strawberry.field(description="Intervals per status.")
    methodology_version: str = strawberry.field(description="Method that derived the values.")

    @classmethod
    def of(cls, s: reports.Series, shared_from: SharedFrom = None) -> IntervalSeries:
        return cls(
            meter=Meter.of(s.meter, shared_from),
            start=s.start,
            resolution_seconds=s.resolution_s,
            energy_kwh=s.energy_kwh,
            status=s.status,
            flags=s.flags,
            flag_names=s.flag_names,
            counts=s.counts,
            methodology_version=METHODOLOGY_VERSION,
        )


BalanceStatus = strawberry.enum(reports.BalanceStatus, description="What a balance line says about its period.")
BalanceLine = derived_type(
    reports.BalanceLine,
    name="BalanceLine",
    description="A parent meter against the sum of its direct children over the period.",
    types={models.Meter: Meter},
)
BalanceReport = derived_type(
    reports.BalanceReport,
    name="BalanceReport",
    description="The meter balance of an installation.",
    types={reports.BalanceLine: BalanceLine},
    exclude=("installation",),
)


@strawberry.type(description="A run of missing intervals of one meter.")
class MeteringGap:
    meter: Meter = strawberry.field(description="The meter.")
    start: datetime = strawberry.field(description="First missing interval's start.")
    end: datetime = strawberry.field(description="End of the last missing interval.")
    intervals: int = strawberry.field(description="Number of missing intervals.")


@strawberry.type(description="Metering gaps of an installation, and interval counts per meter and status.")
class GapsReport:
    gaps: list[MeteringGap] = strawberry.field(description="Gaps, oldest first.")
    counts: JSON = strawberry.field(description="Per meter code: intervals per status.")

    @classmethod
    def of(cls, r: reports.GapsReport, shared_from: SharedFrom = None) -> GapsReport:
        return cls(
            gaps=[
                MeteringGap(meter=Meter.of(g.meter, shared_from), start=g.start, end=g.end, intervals=g.intervals)
                for g in r.gaps
            ],
            counts=r.counts_by_meter_code,
        )


@strawberry.input(description="Correct one interval.")
class EditIntervalInput:
    meter_id: NodeRef = strawberry.field(description="The meter.")
    interval_start: datetime = strawberry.field(description="Start of the interval (UTC offset required).")
    value_kwh: float = strawberry.field(description="The correct energy [kWh].")
    reason: str = strawberry.field(description="Why: kept with the edit and in the audit trail.")


@strawberry.type(description="The edit, or why it was refused.")
class EditIntervalPayload:
    meter_id: relay.GlobalID | None = strawberry.field(description="The meter.")
    interval_start: datetime | None = strawberry.field(description="The interval.")
    previous_value_kwh: float | None = strawberry.field(description="Its value before the edit [kWh].")
    value_kwh: float | None = strawberry.field(description="Its value now [kWh].")
    errors: list[UserError] = strawberry.field(description="Why nothing changed.")


@strawberry.type
class IntervalQuery:
    @strawberry.field(description="A meter's intervals in [start, end), at most 400 days.")
    async def interval_series(
        self, info: strawberry.Info[Context, None], meter_id: NodeRef, start: datetime, end: datetime
    ) -> IntervalSeries:
        s = await info.context.in_tenant(
            lambda db, principal: reports.interval_series(
                db, principal, node_uuid(meter_id, "Meter", field="meterId"), start=start, end=end
            )
        )
        return IntervalSeries.of(s)

    @strawberry.field(description="Main meters against their sub-meters in [start, end).")
    async def balance_report(
        self,
        info: strawberry.Info[Context, None],
        installation_id: NodeRef,
        start: datetime,
        end: datetime,
        tolerance: float | None = None,
    ) -> BalanceReport:  # type: ignore[valid-type]
        r = await info.context.in_tenant(
            lambda db, principal: reports.balance_report(
                db,
                principal,
                node_uuid(installation_id, "Installation", field="installationId"),
                start=start,
                end=end,
                tolerance=tolerance,
            )
        )
        return BalanceReport.of(r)

    @strawberry.field(description="Missing intervals per meter in [start, end).")
    async def gaps_report(
        self,
        info: strawberry.Info[Context, None],
        installation_id: NodeRef,
        start: datetime,
        end: datetime,
    ) -> GapsReport:
        r = await info.context.in_tenant(
            lambda db, principal: reports.gaps_report(
                db, principal, node_uuid(installation_id, "Installation", field="installationId"), start=start, end=end
            )
        )
        return GapsReport.of(r)


@strawberry.type
class IntervalMutation:
    @strawberry.mutation(description="Correct one interval's value with a reason (audited, marked EDITED).")
    async def edit_interval(
        self, info: strawberry.Info[Context, None], input: EditIntervalInput
    ) -> EditIntervalPayload:
        async def action(db: AsyncSession, principal: Principal) -> EditIntervalPayload:
            edit = await reports.edit_interval(
                db,
                principal,
                node_uuid(input.meter_id, "Meter", field="meterId"),
                interval_start=input.interval_start,
                value_kwh=input.value_kwh,
                reason=input.reason,
            )
            return EditIntervalPayload(
                meter_id=input.meter_id,
                interval_start=edit.interval_start,
                previous_value_kwh=edit.previous_value,
                value_kwh=edit.value,
                errors=[],
            )

        return await mutations.in_tenant(
            info,
            action,
            lambda e: EditIntervalPayload(
                meter_id=None, interval_start=None, previous_value_kwh=None, value_kwh=None, errors=e
            ),
        )
