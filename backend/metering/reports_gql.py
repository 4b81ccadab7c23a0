"""GraphQL of interval data: series, meter balance, gaps, and editing an interval."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from backend.api import mutations
from backend.api.context import Context
from backend.api.errors import UserError
from backend.api.relay import node_uuid
from backend.metering import reports
from backend.metering.gql import Meter
from backend.metering.loaders import SharedFrom
from workers.engine import METHODOLOGY_VERSION


@strawberry.type(description="One meter's interval energy over a period, oldest first.")
class IntervalSeries:
    meter: Meter = strawberry.field(description="The meter.")
    start: datetime = strawberry.field(description="Start of the first interval (UTC).")
    resolution_seconds: int = strawberry.field(description="Interval length [s].")
    energy_kwh: list[float | None] = strawberry.field(description="Energy per interval [kWh]; null where missing.")
    status: list[str] = strawberry.field(description="MEASURED, ESTIMATED, MISSING or EDITED per interval.")
    flags: list[int] = strawberry.field(description="Validation flag bits per interval (see the methodology).")
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
            counts=s.counts,
            methodology_version=METHODOLOGY_VERSION,
        )


@strawberry.type(description="A parent meter against the sum of its direct children over the period.")
class BalanceLine:
    parent: Meter = strawberry.field(description="The parent meter.")
    children: list[Meter] = strawberry.field(description="Its direct children.")
    parent_kwh: float = strawberry.field(description="Parent energy [kWh].")
    children_kwh: float = strawberry.field(description="Children's signed sum [kWh] (generation counts negative).")
    residual_kwh: float = strawberry.field(description="Parent minus children: unmetered use and losses [kWh].")
    residual_share: float | None = strawberry.field(description="Residual / parent [-].")
    within_tolerance: bool = strawberry.field(description="Period residual share inside the tolerance.")
    intervals_compared: int = strawberry.field(description="Intervals with all inputs measured or edited.")
    intervals_out_of_tolerance: int = strawberry.field(description="Compared intervals outside the tolerance.")
    intervals_estimate_affected: int = strawberry.field(description="Intervals with an estimated or missing input.")


@strawberry.type(description="The meter balance of an installation.")
class BalanceReport:
    start: datetime = strawberry.field(description="Period start (inclusive).")
    end: datetime = strawberry.field(description="Period end (exclusive).")
    tolerance: float = strawberry.field(description="Allowed residual share [-].")
    lines: list[BalanceLine] = strawberry.field(description="One line per parent meter.")
    methodology_version: str = strawberry.field(description="Method of the balance check.")

    @classmethod
    def of(cls, r: reports.BalanceReport, shared_from: SharedFrom = None) -> BalanceReport:
        return cls(
            start=r.start,
            end=r.end,
            tolerance=r.tolerance,
            methodology_version=r.methodology_version,
            lines=[
                BalanceLine(
                    parent=Meter.of(x.parent, shared_from),
                    children=[Meter.of(c, shared_from) for c in x.children],
                    parent_kwh=x.parent_kwh,
                    children_kwh=x.children_kwh,
                    residual_kwh=x.residual_kwh,
                    residual_share=x.residual_share,
                    within_tolerance=x.within_tolerance,
                    intervals_compared=x.intervals_compared,
                    intervals_out_of_tolerance=x.intervals_out_of_tolerance,
                    intervals_estimate_affected=x.intervals_estimate_affected,
                )
                for x in r.lines
            ],
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
    meter_id: relay.GlobalID = strawberry.field(description="The meter.")
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
        self, info: strawberry.Info[Context, None], meter_id: relay.GlobalID, start: datetime, end: datetime
    ) -> IntervalSeries:
        principal = info.context.require_principal()
        async with info.context.tenant_uow() as db:
            s = await reports.interval_series(
                db, principal, node_uuid(meter_id, "Meter", field="meterId"), start=start, end=end
            )
        return IntervalSeries.of(s)

    @strawberry.field(description="Main meters against their sub-meters in [start, end).")
    async def balance_report(
        self,
        info: strawberry.Info[Context, None],
        installation_id: relay.GlobalID,
        start: datetime,
        end: datetime,
        tolerance: float | None = None,
    ) -> BalanceReport:
        principal = info.context.require_principal()
        async with info.context.tenant_uow() as db:
            r = await reports.balance_report(
                db,
                principal,
                node_uuid(installation_id, "Installation", field="installationId"),
                start=start,
                end=end,
                tolerance=tolerance,
            )
        return BalanceReport.of(r)

    @strawberry.field(description="Missing intervals per meter in [start, end).")
    async def gaps_report(
        self,
        info: strawberry.Info[Context, None],
        installation_id: relay.GlobalID,
        start: datetime,
        end: datetime,
    ) -> GapsReport:
        principal = info.context.require_principal()
        async with info.context.tenant_uow() as db:
            r = await reports.gaps_report(
                db,
                principal,
                node_uuid(installation_id, "Installation", field="installationId"),
                start=start,
                end=end,
            )
        return GapsReport.of(r)


@strawberry.type
class IntervalMutation:
    @strawberry.mutation(description="Correct one interval's value with a reason (audited, marked EDITED).")
    async def edit_interval(
        self, info: strawberry.Info[Context, None], input: EditIntervalInput
    ) -> EditIntervalPayload:
        principal = info.context.require_principal()

        async def body() -> EditIntervalPayload:
            async with info.context.tenant_uow() as db:
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

        return await mutations.run(
            body,
            lambda e: EditIntervalPayload(
                meter_id=None, interval_start=None, previous_value_kwh=None, value_kwh=None, errors=e
            ),
        )
