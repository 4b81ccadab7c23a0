"""Reading another tenant's data through a grant: checked, then audited in the grantor's trail."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from backend.identity.principal import READ_SCOPES, Principal
from backend.services import Services
from backend.sharing.grants import find_live_grant, record_grant_use
from backend.sharing.models import Grant, ResourceKind


@asynccontextmanager
async def granted_read(
    services: Services,
    actor: Principal,
    *,
    grantor_id: uuid.UUID,
    kind: ResourceKind,
    what: str,
    entity_id: object,
    installation_id: uuid.UUID | None = None,
    period: tuple[datetime, datetime] | None = None,
    any_installation: bool = False,
) -> AsyncIterator[tuple[AsyncSession, Principal, Grant]]:
    """A read-only unit of work in the grantor's tenant, opened only under a live grant.

    Yields the grantor session, a read-only principal standing for the grantee, and the grant;
    the use is written to the grantor's audit trail in the same transaction.
    """
    async with services.db.platform_session() as platform:
        grant = await find_live_grant(
            platform,
            actor,
            grantor_id=grantor_id,
            kind=kind,
            installation_id=installation_id,
            period=period,
            any_installation=any_installation,
        )
    grantor = await services.tenants.get(grantor_id)
    reader = Principal(
        kind=actor.kind,
        id=actor.id,
        label=f"{actor.label} (via grant)",
        tenant_id=actor.tenant_id,
        scopes=READ_SCOPES,
        installation_id=None,
        client_pk=actor.client_pk,
    )
    async with services.db.tenant(grantor.scope) as db:
        await record_grant_use(db, actor, grant, what=what, entity_id=entity_id)
        yield db, reader, grant
