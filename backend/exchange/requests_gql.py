"""GraphQL of data requests: an importer asks a connected supplier for footprints; the supplier answers.

Resolvers parse and convert only; every rule is in ``backend.exchange.requests``.
"""

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
from backend.api.relay import NodeRef, gid, node_uuid
from backend.exchange import requests
from backend.exchange.models import FootprintRequest as FootprintRequestModel
from backend.exchange.models import FootprintRequestEntry as FootprintRequestEntryModel
from backend.exchange.models import RequestOrigin as RequestOriginModel
from backend.exchange.models import RequestStatus as RequestStatusModel
from backend.identity.gql import Organization
from backend.pact import callbacks
from backend.pact.gql import PactAnswer
from backend.pact.models import PactAnswer as PactAnswerModel
from backend.pact.models import PactAnswerAttempt as PactAnswerAttemptModel
from backend.sharing import organizations
from backend.tenants.models import Tenant as TenantModel

FootprintRequestStatus = strawberry.enum(
    RequestStatusModel,
    name="FootprintRequestStatus",
    description="REQUESTED, FULFILLED (answered with footprints), REJECTED (by the supplier) or CANCELLED "
    "(by the importer).",
)

FootprintRequestOrigin = strawberry.enum(
    RequestOriginModel,
    name="FootprintRequestOrigin",
    description="PLATFORM (made on this exchange) or PACT (a RequestCreatedEvent received by our PACT host).",
)


@strawberry.type(description="Where a PACT request came from.")
class PactRequestOrigin:
    source: str = strawberry.field(description="The requester's PACT host (the event's source), where answers go.")
    event_id: str = strawberry.field(description="The RequestCreatedEvent's id.")
    client_id: str = strawberry.field(description="The requester's client that sent it.")
    criteria: JSON = strawberry.field(description="Its criteria, as PACT names them.")


@strawberry.type(description="One step in a footprint request's history.")
class FootprintRequestEntry:
    at: datetime = strawberry.field(description="When.")
    organization: Organization | None = strawberry.field(
        description="Whose step: the importer or the supplier (none for the platform's reminders)."
    )
    actor: str = strawberry.field(description="Who: the person, or the platform for reminders.")
    action: str = strawberry.field(description="requested, fulfilled, rejected, cancelled or reminded.")
    note: str = strawberry.field(description="The message, reason or note given with the step.")

    @classmethod
    def of(cls, row: FootprintRequestEntryModel, tenants: dict[uuid.UUID, TenantModel]) -> FootprintRequestEntry:
        org = tenants.get(row.actor_tenant_id) if row.actor_tenant_id else None
        return cls(
            at=row.at,
            organization=Organization.of(org) if org else None,
            actor=row.actor,
            action=row.action,
            note=row.note,
        )


@strawberry.type(description="An importer's request to a connected supplier for footprints.")
class FootprintRequest(relay.Node):
    id: relay.NodeID[str]
    importer: Organization = strawberry.field(description="The importer that asks.")
    supplier: Organization = strawberry.field(description="The supplier asked.")
    status: FootprintRequestStatus = strawberry.field(description="Where the request stands.")
    product_ids: list[relay.GlobalID] = strawberry.field(description="The supplier's products asked for.")
    cn_codes: list[str] = strawberry.field(description="CN codes (prefixes) asked for.")
    period_start: datetime = strawberry.field(description="The reporting period's start.")
    period_end: datetime = strawberry.field(description="The reporting period's end.")
    shipment_refs: list[str] = strawberry.field(description="Shipments the request is for (MRNs, invoices).")
    due_date: date = strawberry.field(description="When the importer needs the answer.")
    message: str = strawberry.field(description="The importer's message.")
    reason: str | None = strawberry.field(description="Why the supplier rejected it.")
    publication_ids: list[relay.GlobalID] = strawberry.field(
        description="The published footprints it was answered with (read them as receivedFootprint)."
    )
    share_id: relay.GlobalID | None = strawberry.field(description="The share made when fulfilling, if one was.")
    requested_at: datetime = strawberry.field(description="When it was made.")
    decided_at: datetime | None = strawberry.field(description="When it was fulfilled, rejected or cancelled.")
    history: list[FootprintRequestEntry] = strawberry.field(description="Every step, oldest first.")
    origin: FootprintRequestOrigin = strawberry.field(description="Made on this exchange, or received through PACT.")
    pact: PactRequestOrigin | None = strawberry.field(description="For a PACT request: its source and event.")
    pact_answer: PactAnswer | None = strawberry.field(
        description="For an answered PACT request: the answer sent to the requester's host and its delivery log."
    )

    @classmethod
    def of(
        cls,
        row: FootprintRequestModel,
        history: list[FootprintRequestEntryModel],
        tenants: dict[uuid.UUID, TenantModel],
        answer: tuple[PactAnswerModel, list[PactAnswerAttemptModel]] | None = None,
    ) -> FootprintRequest:
        return cls(
            id=str(row.id),
            importer=Organization.of(tenants[row.importer_tenant_id]),
            supplier=Organization.of(tenants[row.supplier_tenant_id]),
            status=row.status,
            product_ids=[gid("Product", p) for p in row.product_ids],
            cn_codes=list(row.cn_codes),
            period_start=row.period_start,
            period_end=row.period_end,
            shipment_refs=list(row.shipment_refs),
            due_date=row.due_date,
            message=row.message,
            reason=row.reason,
            publication_ids=[gid("PublishedFootprint", p) for p in row.publication_ids],
            share_id=gid("FootprintShare", row.share_id) if row.share_id else None,
            requested_at=row.created_at,
            decided_at=row.decided_at,
            history=[FootprintRequestEntry.of(e, tenants) for e in history],
            origin=row.origin,
            pact=PactRequestOrigin(
                source=row.pact_source or "",
                event_id=row.pact_event_id or "",
                client_id=row.pact_client_id or "",
                criteria=row.pact_criteria or {},
            )
            if row.origin == RequestOriginModel.PACT
            else None,
            pact_answer=PactAnswer.of(*answer) if answer is not None else None,
        )


@strawberry.input(description="Ask a connected supplier for footprints of products or CN codes in a period.")
class RequestFootprintsInput:
    supplier_id: NodeRef = strawberry.field(description="The supplier (an active connection).")
    period_start: datetime = strawberry.field(description="The reporting period's start.")
    period_end: datetime = strawberry.field(description="The reporting period's end.")
    due_date: date = strawberry.field(description="When you need the answer (today or later).")
    product_ids: list[NodeRef] = strawberry.field(default_factory=list, description="The supplier's products.")
    cn_codes: list[str] = strawberry.field(default_factory=list, description="CN codes (2 to 8 digit prefixes).")
    shipment_refs: list[str] = strawberry.field(
        default_factory=list, description="Shipments this is for: MRNs or invoice numbers."
    )
    message: str = strawberry.field(default="", description="A note to the supplier.")


@strawberry.input(description="Withdraw a request you made.")
class CancelFootprintRequestInput:
    id: NodeRef = strawberry.field(description="The request.")
    note: str = strawberry.field(default="", description="Why, for the supplier.")


@strawberry.input(description="Answer a request with published footprints that match it.")
class FulfilFootprintRequestInput:
    id: NodeRef = strawberry.field(description="The request.")
    publication_ids: list[NodeRef] = strawberry.field(description="Your published footprints that answer it.")


@strawberry.input(description="Refuse a request, saying why.")
class RejectFootprintRequestInput:
    id: NodeRef = strawberry.field(description="The request.")
    reason: str = strawberry.field(description="Why (required).")


@strawberry.type(description="The request, or why nothing changed.")
class FootprintRequestPayload:
    request: FootprintRequest | None = strawberry.field(description="The request.")
    errors: list[UserError] = strawberry.field(description="Why nothing changed.")


async def _out(session: AsyncSession, rows: list[FootprintRequestModel]) -> list[FootprintRequest]:
    histories = await requests.histories(session, rows)
    ids = {r.importer_tenant_id for r in rows} | {r.supplier_tenant_id for r in rows}
    tenants = await organizations.tenants_by_id(session, ids)
    answers = await callbacks.answers_with_log(session, [r.id for r in rows])
    return [FootprintRequest.of(r, histories[r.id], tenants, answers.get(r.id)) for r in rows]


async def _payload(info: strawberry.Info[Context, None], row: FootprintRequestModel) -> FootprintRequestPayload:
    async with info.context.services.db.platform_session() as session:
        (out,) = await _out(session, [row])
    return FootprintRequestPayload(request=out, errors=[])


def _error(errors: list[UserError]) -> FootprintRequestPayload:
    return FootprintRequestPayload(request=None, errors=errors)


def _status(status: RequestStatusModel | None) -> RequestStatusModel | None:
    return RequestStatusModel(status.value) if status else None


@strawberry.type
class RequestsQuery:
    @strawberry.field(description="Footprint requests the organisation made, newest first (importers).")
    async def footprint_requests(
        self,
        info: strawberry.Info[Context, None],
        status: FootprintRequestStatus | None = None,
        supplier_id: NodeRef | None = None,
    ) -> list[FootprintRequest]:
        principal = info.context.require_principal()
        supplier = node_uuid(supplier_id, "Organization", field="supplierId") if supplier_id else None
        async with info.context.services.db.platform_session() as session:
            rows = await requests.list_requests(
                session, principal, incoming=False, status=_status(status), supplier_id=supplier
            )
            return await _out(session, rows)

    @strawberry.field(description="Footprint requests made to the organisation, newest first (suppliers).")
    async def incoming_footprint_requests(
        self, info: strawberry.Info[Context, None], status: FootprintRequestStatus | None = None
    ) -> list[FootprintRequest]:
        principal = info.context.require_principal()
        async with info.context.services.db.platform_session() as session:
            rows = await requests.list_requests(session, principal, incoming=True, status=_status(status))
            return await _out(session, rows)

    @strawberry.field(description="One footprint request the organisation made or received, with its history.")
    async def footprint_request(self, info: strawberry.Info[Context, None], id: NodeRef) -> FootprintRequest:
        principal = info.context.require_principal()
        request_id = node_uuid(id, "FootprintRequest")
        async with info.context.services.db.platform_session() as session:
            found = await requests.get_request(session, principal, request_id)
            tenants = await organizations.tenants_by_id(
                session, {found.request.importer_tenant_id, found.request.supplier_tenant_id}
            )
            answers = await callbacks.answers_with_log(session, [found.request.id])
            return FootprintRequest.of(found.request, found.history, tenants, answers.get(found.request.id))


@strawberry.type
class RequestsMutation:
    @strawberry.mutation(description="Ask a connected supplier for footprints (an importer's admins).")
    async def request_footprints(
        self, info: strawberry.Info[Context, None], input: RequestFootprintsInput
    ) -> FootprintRequestPayload:
        principal = info.context.require_principal()

        async def body() -> FootprintRequestPayload:
            data = requests.RequestData(
                supplier_id=node_uuid(input.supplier_id, "Organization", field="supplierId"),
                period_start=input.period_start,
                period_end=input.period_end,
                due_date=input.due_date,
                product_ids=[node_uuid(p, "Product", field=f"productIds.{i}") for i, p in enumerate(input.product_ids)],
                cn_codes=list(input.cn_codes),
                shipment_refs=list(input.shipment_refs),
                message=input.message,
            )
            return await _payload(info, await requests.request_footprints(info.context.services, principal, data))

        return await mutations.run(body, _error)

    @strawberry.mutation(description="Withdraw a footprint request you made (the importer's admins).")
    async def cancel_footprint_request(
        self, info: strawberry.Info[Context, None], input: CancelFootprintRequestInput
    ) -> FootprintRequestPayload:
        principal = info.context.require_principal()

        async def body() -> FootprintRequestPayload:
            request_id = node_uuid(input.id, "FootprintRequest")
            row = await requests.cancel_request(info.context.services, principal, request_id, input.note)
            return await _payload(info, row)

        return await mutations.run(body, _error)

    @strawberry.mutation(
        description="Answer a footprint request with your matching published footprints; they are shared with "
        "the importer if no live share covers them (the supplier's admins)."
    )
    async def fulfil_footprint_request(
        self, info: strawberry.Info[Context, None], input: FulfilFootprintRequestInput
    ) -> FootprintRequestPayload:
        principal = info.context.require_principal()

        async def body() -> FootprintRequestPayload:
            request_id = node_uuid(input.id, "FootprintRequest")
            publications = [
                node_uuid(p, "PublishedFootprint", field=f"publicationIds.{i}")
                for i, p in enumerate(input.publication_ids)
            ]
            row = await requests.fulfil_request(info.context.services, principal, request_id, publications)
            return await _payload(info, row)

        return await mutations.run(body, _error)

    @strawberry.mutation(description="Refuse a footprint request, saying why (the supplier's admins).")
    async def reject_footprint_request(
        self, info: strawberry.Info[Context, None], input: RejectFootprintRequestInput
    ) -> FootprintRequestPayload:
        principal = info.context.require_principal()

        async def body() -> FootprintRequestPayload:
            request_id = node_uuid(input.id, "FootprintRequest")
            row = await requests.reject_request(info.context.services, principal, request_id, input.reason)
            return await _payload(info, row)

        return await mutations.run(body, _error)
