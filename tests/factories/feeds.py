"""Builders for feed events: emitted the way other domains emit them, in the source's unit of work."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from backend.feeds import FOOTPRINT_PUBLISHED, emit
from backend.identity.models import OAuthClient
from backend.services import Services
from tests.factories.tenants import TenantWithOwner


async def emit_event(
    services: Services,
    source: TenantWithOwner,
    recipient: TenantWithOwner,
    *,
    type: str = FOOTPRINT_PUBLISHED,
    subject: str | None = None,
    data: dict[str, Any] | None = None,
    client_pk: uuid.UUID | None = None,
) -> uuid.UUID:
    async with services.db.tenant(source.tenant.scope()) as db:
        return await emit(
            db,
            type=type,
            source_tenant_id=source.id,
            recipient_tenant_id=recipient.id,
            recipient_client_id=client_pk,
            subject=subject or f"footprint/{uuid.uuid4()}",
            data=data if data is not None else {"footprintId": str(uuid.uuid4())},
        )


async def client_pk(services: Services, client_id: str) -> uuid.UUID:
    """A machine client's row id (what ``emit`` takes as ``recipient_client_id``)."""
    async with services.db.platform() as session:
        return (await session.execute(select(OAuthClient.id).where(OAuthClient.client_id == client_id))).scalar_one()
