"""GraphQL of live values: latest reading, recent series, and plausibility findings per meter."""

from __future__ import annotations

import strawberry

from backend.api.context import Context
from backend.api.derive import derived_type
from backend.api.relay import NodeRef, node_uuid
from backend.ingest import models as ingest_models
from backend.metering import live, models
from backend.metering.gql import Meter
from workers.engine.plausibility import Implausibility as EngineImplausibility

Implausibility = strawberry.enum(EngineImplausibility, description="How a meter's live values contradict each other.")
ReadingQuality = strawberry.enum(ingest_models.ReadingQuality, description="How far the agent trusted a reading.")
LiveReading = derived_type(live.LiveReading, name="LiveReading", description="One reading as the agent sent it.")
LiveDataPoint = derived_type(
    live.LivePoint,
    name="LiveDataPoint",
    description="A data point's latest reading and its recent series.",
    types={live.LiveReading: LiveReading},
)
LiveFinding = derived_type(
    live.LiveFinding, name="LiveFinding", description="Two live values of one meter that cannot both be right."
)
LiveValues = derived_type(
    live.LiveValues,
    name="LiveValues",
    description="A meter's live values and whether they are plausible.",
    types={models.Meter: Meter, live.LivePoint: LiveDataPoint, live.LiveFinding: LiveFinding},
)


@strawberry.type
class LiveQuery:
    @strawberry.field(
        description="Latest value and recent series of each data point of a meter (power, voltage, power "
        "factor, counters), and pairs that contradict each other, e.g. a counter standing still under load."
    )
    async def live_values(
        self,
        info: strawberry.Info[Context, None],
        meter_id: NodeRef,
        window_seconds: int = 3_600,
        limit: int = 360,
        power_threshold_kw: float | None = None,
    ) -> LiveValues:  # type: ignore[valid-type]
        values = await info.context.in_tenant(
            lambda db, principal: live.live_values(
                db,
                principal,
                node_uuid(meter_id, "Meter", field="meterId"),
                window_s=window_seconds,
                limit=limit,
                power_threshold_kw=power_threshold_kw,
            )
        )
        return LiveValues.of(values)
