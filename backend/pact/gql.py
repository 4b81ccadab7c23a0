"""GraphQL of the PACT host's answers: the credentials an organisation gives for its own PACT host, and the
delivery of an answer (read on a data request). Resolvers parse and convert only; the rules are in
``backend.pact.callbacks``."""

from __future__ import annotations

import uuid
from datetime import datetime

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import relay

from backend.api import mutations
from backend.api.context import Context
from backend.api.errors import UserError
from backend.api.relay import NodeRef, node_uuid
from backend.identity.principal import Principal
from backend.pact import callbacks
from backend.pact.models import AnswerState as AnswerStateModel
from backend.pact.models import PactAnswer as PactAnswerModel
from backend.pact.models import PactAnswerAttempt as PactAnswerAttemptModel
from backend.pact.models import PactHostCredential as PactHostCredentialModel

PactAnswerState = strawberry.enum(
    AnswerStateModel,
    name="PactAnswerState",
    description="PENDING (an attempt is due), DELIVERED (the requester's host answered 2xx) or FAILED "
    "(still failing after three days).",
)


@strawberry.type(description="Credentials for one of your organisation's PACT hosts (the secret is never shown).")
class PactHostCredential(relay.Node):
    id: relay.NodeID[str]
    host_url: str = strawberry.field(description="The host's base URL, as requests name it in their source.")
    client_id: str = strawberry.field(description="The client id we authenticate with at that host.")
    created_by: str = strawberry.field(description="Who registered (or last replaced) them.")
    created_at: datetime = strawberry.field(description="When.")

    @classmethod
    def of(cls, row: PactHostCredentialModel) -> PactHostCredential:
        return cls(
            id=str(row.id),
            host_url=row.host_url,
            client_id=row.client_id,
            created_by=row.created_by,
            created_at=row.created_at,
        )


@strawberry.type(description="One attempt to deliver a PACT answer.")
class PactAnswerAttempt:
    attempt: int = strawberry.field(description="1 for the first attempt.")
    attempted_at: datetime = strawberry.field(description="When.")
    stage: str = strawberry.field(
        description="Where it ended: credentials (none registered), token (the token endpoint) or event."
    )
    status_code: int | None = strawberry.field(description="The HTTP status answered, if any.")
    error: str | None = strawberry.field(description="Why it failed; none when delivered.")
    duration_milliseconds: int = strawberry.field(description="How long it took.")
    next_attempt_at: datetime | None = strawberry.field(description="When the next attempt is due, if any.")

    @classmethod
    def of(cls, row: PactAnswerAttemptModel) -> PactAnswerAttempt:
        return cls(
            attempt=row.attempt,
            attempted_at=row.attempted_at,
            stage=row.stage,
            status_code=row.status_code,
            error=row.error,
            duration_milliseconds=row.duration_ms,
            next_attempt_at=row.next_attempt_at,
        )


@strawberry.type(description="The answer to a PACT request sent to the requester's host, and its delivery log.")
class PactAnswer:
    event_id: str = strawberry.field(description="The answer event's id, the same in every attempt.")
    event_type: str = strawberry.field(description="RequestFulfilledEvent.3 or RequestRejectedEvent.3.")
    target: str = strawberry.field(description="The requester's host; the event goes to <target>/3/events.")
    state: PactAnswerState = strawberry.field(description="Where the delivery stands.")
    attempts: list[PactAnswerAttempt] = strawberry.field(description="The delivery log, oldest first.")
    next_attempt_at: datetime | None = strawberry.field(description="When the next attempt is due.")
    last_error: str | None = strawberry.field(description="Why the last attempt failed.")
    delivered_at: datetime | None = strawberry.field(description="When it was delivered.")

    @classmethod
    def of(cls, row: PactAnswerModel, attempts: list[PactAnswerAttemptModel]) -> PactAnswer:
        return cls(
            event_id=str(row.event_id),
            event_type=row.event_type,
            target=row.target,
            state=row.state,
            attempts=[PactAnswerAttempt.of(a) for a in attempts],
            next_attempt_at=row.next_attempt_at,
            last_error=row.last_error,
            delivered_at=row.delivered_at,
        )


@strawberry.input(description="Credentials for your PACT host, where answers to your PACT requests are sent.")
class RegisterPactHostCredentialInput:
    host_url: str = strawberry.field(description="The host's base URL: the source of your RequestCreatedEvents.")
    client_id: str = strawberry.field(description="The client id we get a token with (client credentials).")
    client_secret: str = strawberry.field(description="Its secret; stored sealed, never shown again.")


@strawberry.input(description="Remove credentials for a PACT host.")
class RemovePactHostCredentialInput:
    id: NodeRef = strawberry.field(description="The credentials.")


@strawberry.type(description="The credentials, or why nothing changed.")
class PactHostCredentialPayload:
    credential: PactHostCredential | None = strawberry.field(description="The credentials.")
    errors: list[UserError] = strawberry.field(description="Why nothing changed.")


@strawberry.type(description="Whether the credentials were removed, or why not.")
class RemovePactHostCredentialPayload:
    removed: bool = strawberry.field(description="True when removed.")
    errors: list[UserError] = strawberry.field(description="Why nothing changed.")


@strawberry.type
class PactQuery:
    @strawberry.field(description="Your organisation's credentials for its PACT hosts (without secrets).")
    async def pact_host_credentials(self, info: strawberry.Info[Context, None]) -> list[PactHostCredential]:
        rows = await info.context.in_tenant(callbacks.list_credentials)
        return [PactHostCredential.of(r) for r in rows]


@strawberry.type
class PactMutation:
    @strawberry.mutation(
        description="Register (or replace) the credentials for one of your PACT hosts; answers waiting for it are "
        "sent again at once (your admins)."
    )
    async def register_pact_host_credential(
        self, info: strawberry.Info[Context, None], input: RegisterPactHostCredentialInput
    ) -> PactHostCredentialPayload:
        services = info.context.services

        async def action(db: AsyncSession, principal: Principal) -> PactHostCredentialPayload:
            data = callbacks.CredentialData(input.host_url, input.client_id, input.client_secret)
            row = await callbacks.register_credentials(services, db, principal, data)
            return PactHostCredentialPayload(credential=PactHostCredential.of(row), errors=[])

        return await mutations.in_tenant(info, action, lambda e: PactHostCredentialPayload(credential=None, errors=e))

    @strawberry.mutation(description="Remove the credentials for one of your PACT hosts (your admins).")
    async def remove_pact_host_credential(
        self, info: strawberry.Info[Context, None], input: RemovePactHostCredentialInput
    ) -> RemovePactHostCredentialPayload:
        async def action(db: AsyncSession, principal: Principal) -> RemovePactHostCredentialPayload:
            credential_id: uuid.UUID = node_uuid(input.id, "PactHostCredential")
            await callbacks.remove_credentials(db, principal, credential_id)
            return RemovePactHostCredentialPayload(removed=True, errors=[])

        return await mutations.in_tenant(
            info, action, lambda e: RemovePactHostCredentialPayload(removed=False, errors=e)
        )
