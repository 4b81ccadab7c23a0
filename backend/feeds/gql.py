"""GraphQL types and fields of feeds: thin resolvers over ``service``."""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator
from datetime import datetime
from typing import Any

import strawberry
from graphql import GraphQLError
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import relay
from strawberry.scalars import JSON

from backend.api import mutations
from backend.api.context import Context
from backend.api.errors import UserError, error_extensions
from backend.api.relay import Connection, NodeRef, Page, decode_cursor, gid, node_uuid, page_size, to_connection
from backend.errors import DomainError, FieldError, ValidationFailed
from backend.feeds import models, service
from backend.feeds.live import LiveEvent
from backend.feeds.loaders import attempts_by_delivery_id
from backend.feeds.schemas import EndpointChanges, EndpointData, FeedFilter
from backend.identity.principal import Principal

WebhookEndpointState = strawberry.enum(
    models.EndpointState,
    name="WebhookEndpointState",
    description="ENABLED: receives events; DISABLED: switched off by your organisation; FAILED: switched off by "
    "the platform after a delivery failed for the whole retry window (see stateReason).",
)
WebhookDeliveryState = strawberry.enum(
    models.DeliveryState,
    name="WebhookDeliveryState",
    description="PENDING: an attempt is due; DELIVERED: the endpoint answered 2xx; FAILED: the retry window "
    "ended, or the endpoint was switched off first.",
)


@strawberry.type(description="An event of the exchange addressed to your organisation.")
class FeedEvent(relay.Node):
    id: relay.NodeID[str]
    event_id: uuid.UUID = strawberry.field(
        description="The event's id: the CloudEvents `id` and the `webhook-id` header of its webhook deliveries."
    )
    type: str = strawberry.field(description="Event type, e.g. cbamx.footprint.published.")
    subject: str = strawberry.field(description="What the event is about, e.g. footprint/<id>.")
    source_organization_id: relay.GlobalID = strawberry.field(description="The organisation that caused it.")
    occurred_at: datetime = strawberry.field(description="When it was emitted.")
    data: JSON = strawberry.field(description="The event's payload (the CloudEvents `data`).")

    @classmethod
    def of(cls, row: models.FeedEvent | LiveEvent) -> FeedEvent:
        return cls(
            id=str(row.id),
            event_id=row.id,
            type=row.type,
            subject=row.subject,
            source_organization_id=gid("Organization", row.source_tenant_id),
            occurred_at=row.occurred_at,
            data=dict(row.data),
        )


@strawberry.type(description="One HTTP attempt of a webhook delivery.")
class WebhookAttempt:
    attempt: int = strawberry.field(description="1 for the first attempt.")
    attempted_at: datetime = strawberry.field(description="When the request was sent.")
    status_code: int | None = strawberry.field(description="The HTTP status answered; none if no answer came.")
    error: str | None = strawberry.field(description="Why it failed (status and body start, or the network error).")
    duration_milliseconds: int = strawberry.field(description="Time until the answer or the failure [ms].")
    next_attempt_at: datetime | None = strawberry.field(description="When the next attempt was planned; none if last.")

    @classmethod
    def of(cls, row: models.WebhookAttempt) -> WebhookAttempt:
        return cls(
            attempt=row.attempt,
            attempted_at=row.attempted_at,
            status_code=row.status_code,
            error=row.error,
            duration_milliseconds=row.duration_ms,
            next_attempt_at=row.next_attempt_at,
        )


@strawberry.type(description="One event sent to one endpoint (the first delivery, or a replay), with its log.")
class WebhookDelivery(relay.Node):
    id: relay.NodeID[str]
    endpoint_id: relay.GlobalID = strawberry.field(description="The endpoint.")
    event_id: uuid.UUID = strawberry.field(description="The event (the `webhook-id` header).")
    event_type: str = strawberry.field(description="The event's type.")
    replay_of: relay.GlobalID | None = strawberry.field(description="The earlier delivery this one replays.")
    state: WebhookDeliveryState = strawberry.field(description="PENDING, DELIVERED or FAILED.")
    attempt_count: int = strawberry.field(description="Attempts made so far.")
    next_attempt_at: datetime | None = strawberry.field(description="When the next attempt is due.")
    last_status_code: int | None = strawberry.field(description="HTTP status of the last attempt.")
    last_error: str | None = strawberry.field(description="Why the last attempt failed.")
    delivered_at: datetime | None = strawberry.field(description="When the endpoint accepted it.")
    created_at: datetime = strawberry.field(description="When the delivery began (its retry window starts here).")

    @strawberry.field(description="The delivery log: every attempt, first to last.")
    async def attempts(self, info: strawberry.Info[Context, None]) -> list[WebhookAttempt]:
        rows = await info.context.loader("attempts_by_delivery_id", attempts_by_delivery_id).load(uuid.UUID(self.id))
        return [WebhookAttempt.of(r) for r in rows]

    @classmethod
    def of(cls, row: models.WebhookDelivery) -> WebhookDelivery:
        return cls(
            id=str(row.id),
            endpoint_id=gid("WebhookEndpoint", row.endpoint_id),
            event_id=row.event_id,
            event_type=row.event_type,
            replay_of=gid("WebhookDelivery", row.replay_of) if row.replay_of else None,
            state=row.state,
            attempt_count=row.attempts,
            next_attempt_at=row.next_attempt_at,
            last_status_code=row.last_status_code,
            last_error=row.last_error,
            delivered_at=row.delivered_at,
            created_at=row.created_at,
        )


@strawberry.type(description="A URL of your organisation that receives its feed events as signed CloudEvents.")
class WebhookEndpoint(relay.Node):
    id: relay.NodeID[str]
    url: str = strawberry.field(description="Where events are POSTed.")
    description: str = strawberry.field(description="What it is for.")
    event_types: list[str] = strawberry.field(description="Types it receives; empty means every type.")
    state: WebhookEndpointState = strawberry.field(description="ENABLED, DISABLED or FAILED.")
    state_reason: str = strawberry.field(description="Why it is in its state, when not enabled.")
    state_changed_at: datetime = strawberry.field(description="When it entered its state.")
    last_success_at: datetime | None = strawberry.field(description="When a delivery last reached it.")
    previous_secret_expires_at: datetime | None = strawberry.field(
        description="After a rotation: until when the previous secret also signs."
    )
    bound_to_client: bool = strawberry.field(
        description="Registered by a machine client: it receives your organisation's events and those addressed "
        "to that client, and only that client manages it."
    )
    created_at: datetime = strawberry.field(description="When it was registered.")

    @classmethod
    def of(cls, row: models.WebhookEndpoint) -> WebhookEndpoint:
        return cls(
            id=str(row.id),
            url=row.url,
            description=row.description,
            event_types=list(row.event_types),
            state=row.state,
            state_reason=row.state_reason,
            state_changed_at=row.state_changed_at,
            last_success_at=row.last_success_at,
            previous_secret_expires_at=row.previous_secret_expires_at,
            bound_to_client=row.client_id is not None,
            created_at=row.created_at,
        )


@strawberry.input(description="Which events; every filter is optional and they combine.")
class FeedEventFilterInput:
    types: list[str] | None = strawberry.field(default=None, description="Only these event types.")
    since: datetime | None = strawberry.field(default=None, description="Emitted at or after this time.")
    until: datetime | None = strawberry.field(default=None, description="Emitted before this time.")

    def to_filter(self) -> FeedFilter:
        return FeedFilter(types=tuple(self.types or ()), since=self.since, until=self.until)


@strawberry.input(description="A webhook endpoint to register.")
class CreateWebhookEndpointInput:
    url: str = strawberry.field(description="https:// URL (http:// only for localhost).")
    event_types: list[str] = strawberry.field(
        default_factory=list, description="Event types it receives; empty for every type."
    )
    description: str = strawberry.field(default="", description="What it is for.")

    def to_data(self) -> EndpointData:
        return EndpointData(url=self.url, event_types=tuple(self.event_types), description=self.description)


@strawberry.input(description="Changes to a webhook endpoint; fields left out stay as they are.")
class UpdateWebhookEndpointInput:
    id: NodeRef = strawberry.field(description="The endpoint.")
    url: str | None = strawberry.field(default=None, description="New URL.")
    event_types: list[str] | None = strawberry.field(default=None, description="New event types; empty for every.")
    description: str | None = strawberry.field(default=None, description="New description.")
    enabled: bool | None = strawberry.field(
        default=None, description="true switches it on (also after it FAILED), false switches it off."
    )

    def to_changes(self) -> EndpointChanges:
        return EndpointChanges(
            url=self.url,
            event_types=tuple(self.event_types) if self.event_types is not None else None,
            description=self.description,
            enabled=self.enabled,
        )


@strawberry.input(description="The endpoint whose signing secret to replace.")
class RotateWebhookEndpointSecretInput:
    id: NodeRef = strawberry.field(description="The endpoint.")


@strawberry.input(description="Send one event to an endpoint again.")
class ReplayFeedEventInput:
    endpoint_id: NodeRef = strawberry.field(description="The endpoint (it must be enabled).")
    event_id: NodeRef = strawberry.field(description="The event: its eventId, or its global id.")


@strawberry.input(description="Send again every event whose latest delivery to an endpoint failed.")
class ReplayFailedDeliveriesInput:
    endpoint_id: NodeRef = strawberry.field(description="The endpoint (it must be enabled).")
    since: datetime = strawberry.field(description="Deliveries that began at or after this time.")


@strawberry.type(description="The endpoint and its signing secret, shown this once; or why nothing changed.")
class WebhookEndpointSecretPayload:
    endpoint: WebhookEndpoint | None = strawberry.field(description="The endpoint.")
    secret: str | None = strawberry.field(
        description="The signing secret (whsec_...): store it now, it is never shown again."
    )
    errors: list[UserError] = strawberry.field(description="Why nothing changed.")


@strawberry.type(description="The endpoint as it is now, or why nothing changed.")
class WebhookEndpointPayload:
    endpoint: WebhookEndpoint | None = strawberry.field(description="The endpoint.")
    errors: list[UserError] = strawberry.field(description="Why nothing changed.")


@strawberry.type(description="The deliveries queued, or why none was.")
class WebhookDeliveriesPayload:
    deliveries: list[WebhookDelivery] = strawberry.field(description="The new deliveries, one per event.")
    errors: list[UserError] = strawberry.field(description="Why nothing was queued.")


def _event_cursor(values: list[str] | None) -> tuple[int, datetime, uuid.UUID] | None:
    if values is None:
        return None
    try:
        tx_id, occurred_at, event_id = values
        return int(tx_id), datetime.fromisoformat(occurred_at), uuid.UUID(event_id)
    except ValueError:
        raise ValidationFailed([FieldError("not a cursor of this connection", field="after")])


def _delivery_cursor(values: list[str] | None) -> tuple[datetime, uuid.UUID] | None:
    if values is None:
        return None
    try:
        created_at, delivery_id = values
        return datetime.fromisoformat(created_at), uuid.UUID(delivery_id)
    except ValueError:
        raise ValidationFailed([FieldError("not a cursor of this connection", field="after")])


def _secret_payload(found: service.EndpointWithSecret) -> WebhookEndpointSecretPayload:
    return WebhookEndpointSecretPayload(endpoint=WebhookEndpoint.of(found.endpoint), secret=found.secret, errors=[])


def _secret_errors(errors: list[UserError]) -> WebhookEndpointSecretPayload:
    return WebhookEndpointSecretPayload(endpoint=None, secret=None, errors=errors)


def _deliveries_errors(errors: list[UserError]) -> WebhookDeliveriesPayload:
    return WebhookDeliveriesPayload(deliveries=[], errors=errors)


@strawberry.type
class FeedQuery:
    @strawberry.field(description="Events addressed to your organisation, oldest first; page on with `after`.")
    async def feed_events(
        self,
        info: strawberry.Info[Context, None],
        filter: FeedEventFilterInput | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[FeedEvent]:
        principal = info.context.require_principal()
        filters = filter.to_filter() if filter else FeedFilter()
        limit = page_size(first)
        cursor = decode_cursor(after)
        position = _event_cursor(cursor)
        async with info.context.platform_uow() as db:
            rows = await service.list_events(
                db,
                principal,
                filters,
                after=position,
                limit=limit + 1,
                settle_s=info.context.services.settings.feed_settle_s,
            )
        return to_connection(
            Page(rows, limit, cursor is not None),
            FeedEvent.of,
            lambda r: [r.tx_id, r.occurred_at.isoformat(), r.id],
        )

    @strawberry.field(description="Your organisation's webhook endpoints.")
    async def webhook_endpoints(self, info: strawberry.Info[Context, None]) -> list[WebhookEndpoint]:
        rows = await info.context.in_tenant(service.list_endpoints)
        return [WebhookEndpoint.of(r) for r in rows]

    @strawberry.field(description="One of your organisation's webhook endpoints.")
    async def webhook_endpoint(self, info: strawberry.Info[Context, None], id: NodeRef) -> WebhookEndpoint:
        return WebhookEndpoint.of(
            await info.context.in_tenant(
                lambda db, p: service.get_endpoint(db, p, node_uuid(id, "WebhookEndpoint"), field="id")
            )
        )

    @strawberry.field(description="The delivery log of an endpoint, newest first.")
    async def webhook_deliveries(
        self,
        info: strawberry.Info[Context, None],
        endpoint_id: NodeRef,
        state: WebhookDeliveryState | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[WebhookDelivery]:
        limit = page_size(first)
        cursor = decode_cursor(after)
        position = _delivery_cursor(cursor)

        async def action(db: AsyncSession, principal: Principal) -> list[models.WebhookDelivery]:
            endpoint = node_uuid(endpoint_id, "WebhookEndpoint", field="endpointId")
            return await service.list_deliveries(db, principal, endpoint, state, after=position, limit=limit + 1)

        rows = await info.context.in_tenant(action)
        return to_connection(
            Page(rows, limit, cursor is not None), WebhookDelivery.of, lambda r: [r.created_at.isoformat(), r.id]
        )


@strawberry.type
class FeedMutation:
    @strawberry.mutation(description="Register a webhook endpoint; its signing secret is shown once.")
    async def create_webhook_endpoint(
        self, info: strawberry.Info[Context, None], input: CreateWebhookEndpointInput
    ) -> WebhookEndpointSecretPayload:
        app_secret = info.context.services.settings.resolved_secret_key()

        async def action(db: AsyncSession, principal: Principal) -> WebhookEndpointSecretPayload:
            return _secret_payload(await service.create_endpoint(db, principal, input.to_data(), app_secret=app_secret))

        return await mutations.in_tenant(info, action, _secret_errors)

    @strawberry.mutation(description="Change a webhook endpoint, or switch it on or off.")
    async def update_webhook_endpoint(
        self, info: strawberry.Info[Context, None], input: UpdateWebhookEndpointInput
    ) -> WebhookEndpointPayload:
        async def action(db: AsyncSession, principal: Principal) -> WebhookEndpointPayload:
            row = await service.update_endpoint(
                db, principal, node_uuid(input.id, "WebhookEndpoint"), input.to_changes()
            )
            return WebhookEndpointPayload(endpoint=WebhookEndpoint.of(row), errors=[])

        return await mutations.in_tenant(info, action, lambda e: WebhookEndpointPayload(endpoint=None, errors=e))

    @strawberry.mutation(
        description="Replace an endpoint's signing secret (shown once); the previous one also signs for 24 hours."
    )
    async def rotate_webhook_endpoint_secret(
        self, info: strawberry.Info[Context, None], input: RotateWebhookEndpointSecretInput
    ) -> WebhookEndpointSecretPayload:
        app_secret = info.context.services.settings.resolved_secret_key()

        async def action(db: AsyncSession, principal: Principal) -> WebhookEndpointSecretPayload:
            endpoint_id = node_uuid(input.id, "WebhookEndpoint")
            return _secret_payload(
                await service.rotate_endpoint_secret(db, principal, endpoint_id, app_secret=app_secret)
            )

        return await mutations.in_tenant(info, action, _secret_errors)

    @strawberry.mutation(description="Send one of your events to an endpoint again, with the same webhook-id.")
    async def replay_feed_event(
        self, info: strawberry.Info[Context, None], input: ReplayFeedEventInput
    ) -> WebhookDeliveriesPayload:
        services = info.context.services

        async def action(db: AsyncSession, principal: Principal) -> WebhookDeliveriesPayload:
            endpoint_id = node_uuid(input.endpoint_id, "WebhookEndpoint", field="endpointId")
            event_id = node_uuid(input.event_id, "FeedEvent", field="eventId")
            async with services.db.platform_session() as events_db:
                row = await service.replay_event(db, principal, events_db, endpoint_id, event_id)
            return WebhookDeliveriesPayload(deliveries=[WebhookDelivery.of(row)], errors=[])

        return await mutations.in_tenant(info, action, _deliveries_errors)

    @strawberry.mutation(description="Send again every event whose latest delivery to an endpoint failed since a time.")
    async def replay_failed_deliveries(
        self, info: strawberry.Info[Context, None], input: ReplayFailedDeliveriesInput
    ) -> WebhookDeliveriesPayload:
        async def action(db: AsyncSession, principal: Principal) -> WebhookDeliveriesPayload:
            endpoint_id = node_uuid(input.endpoint_id, "WebhookEndpoint", field="endpointId")
            rows = await service.replay_failed(db, principal, endpoint_id, input.since)
            return WebhookDeliveriesPayload(deliveries=[WebhookDelivery.of(r) for r in rows], errors=[])

        return await mutations.in_tenant(info, action, _deliveries_errors)


@strawberry.type
class FeedSubscription:
    @strawberry.subscription(
        description="Your organisation's new events as they are committed (graphql-transport-ws). A client that "
        "reconnects reads what it missed from feedEvents."
    )
    async def feed_events(
        self, info: strawberry.Info[Context, None], types: list[str] | None = None
    ) -> AsyncGenerator[FeedEvent, None]:
        principal = info.context.require_principal()
        services = info.context.services
        filters = FeedFilter(types=tuple(types or ()))
        stream: Any = service.stream_events(services.redis, services.tenants, principal, filters)
        try:
            async for event in stream:
                yield FeedEvent.of(event)
        except DomainError as error:
            # a subscription's errors bypass the query error table: give them its code and field
            raise GraphQLError(error.message, extensions=error_extensions(error))
        finally:
            await stream.aclose()
