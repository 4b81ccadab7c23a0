"""GraphQL of the organisation's inbox of PACT events: answers to its requests and notices of footprints
that other PACT hosts sent to ``/3/events``.

Resolvers parse and convert only; every rule is in ``backend.pact.inbox``.
"""

from __future__ import annotations

from datetime import datetime

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import relay
from strawberry.scalars import JSON

from backend.api.context import Context
from backend.identity.principal import Principal
from backend.pact import inbox
from backend.pact.inbox_models import ReceivedEventType as ReceivedEventTypeModel
from backend.pact.inbox_models import ReceivedPactEvent as ReceivedPactEventModel

ReceivedPactEventType = strawberry.enum(
    ReceivedEventTypeModel,
    name="ReceivedPactEventType",
    description="PUBLISHED (footprints published or changed), REQUEST_FULFILLED (an answer with footprints) or "
    "REQUEST_REJECTED (an answer with an error).",
)


@strawberry.type(description="A PACT event another host sent to the organisation, as received.")
class ReceivedPactEvent(relay.Node):
    id: relay.NodeID[str]
    type: ReceivedPactEventType = strawberry.field(description="What kind of event.")
    source: str = strawberry.field(description="The sending host (the CloudEvent's source).")
    event_id: str = strawberry.field(description="The event's id at its source.")
    event_time: datetime = strawberry.field(description="When the sender says it sent it.")
    request_event_id: str | None = strawberry.field(
        description="The request an answer is to (the id of the RequestCreatedEvent)."
    )
    pf_ids: list[str] | None = strawberry.field(description="The ids of the footprints it names.")
    pfs: JSON | None = strawberry.field(description="The v3 ProductFootprints of a fulfilled request.")
    error: JSON | None = strawberry.field(description="The error of a rejected request: code and message.")
    received_at: datetime = strawberry.field(description="When this host received it.")
    client_id: str = strawberry.field(description="The organisation's client that posted it.")
    client_name: str = strawberry.field(description="That client's name.")

    @classmethod
    def of(cls, row: ReceivedPactEventModel) -> ReceivedPactEvent:
        return cls(
            id=str(row.id),
            type=row.type,
            source=row.source,
            event_id=row.event_id,
            event_time=row.event_time,
            request_event_id=row.request_event_id,
            pf_ids=row.pf_ids,
            pfs=row.pfs,
            error=row.error,
            received_at=row.received_at,
            client_id=row.client_id,
            client_name=row.client_name,
        )


@strawberry.type
class PactInboxQuery:
    @strawberry.field(
        description="PACT events other hosts sent to the organisation (all, or of one type), newest first; "
        "members and above."
    )
    async def received_pact_events(
        self, info: strawberry.Info[Context, None], type: ReceivedPactEventType | None = None
    ) -> list[ReceivedPactEvent]:
        async def action(db: AsyncSession, principal: Principal) -> list[ReceivedPactEvent]:
            rows = await inbox.list_received(db, principal, ReceivedEventTypeModel(type.value) if type else None)
            return [ReceivedPactEvent.of(r) for r in rows]

        return await info.context.in_tenant(action)
