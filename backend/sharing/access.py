"""Reading another tenant's data through a grant: checked, then audited in the grantor's trail.

Every limit a grant states is checked on every read of a kind it names, and a refusal names the
limit: ``NO_LIVE_GRANT`` (no live grant from that organisation at all), ``GRANT_KIND_EXCLUDES``,
``GRANT_SCOPE_MISSING`` (the caller itself lacks the permission for that kind),
``GRANT_INSTALLATION_EXCLUDES`` and ``GRANT_PERIOD_EXCLUDES``.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Collection, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit.service import NewEntry
from backend.identity.principal import Principal
from backend.references import ReadLimit
from backend.services import Services
from backend.sharing.errors import (
    GrantContractExcludes,
    GrantInstallationExcludes,
    GrantPeriodExcludes,
    GrantProductExcludes,
    GrantScopeMissing,
)
from backend.sharing.grants import KIND_SCOPES, grant_use_entry, grants_naming, limit_of, live_grants_for
from backend.sharing.models import Grant, ResourceKind

# (installation allowed, period allowed) of one record or request under one grant's limit
Check = Callable[[ReadLimit], tuple[bool, bool]]


def within(
    *, installation_ids: Collection[uuid.UUID] | None = None, period: tuple[datetime, datetime] | None = None
) -> Check:
    """A request about these installations (any of them) over this period, which must lie inside the grant's."""

    def check(limit: ReadLimit) -> tuple[bool, bool]:
        installation_ok = (
            limit.installation_ids is None
            or installation_ids is None
            or bool(limit.installation_ids & set(installation_ids))
        )
        return installation_ok, period is None or limit.allows_period(*period)

    return check


@dataclass
class GrantedRead:
    """A read-only unit of work in the grantor's tenant under the caller's live grants of one kind."""

    db: AsyncSession
    reader: Principal
    grants: list[Grant]
    grantor_id: uuid.UUID
    kind: ResourceKind
    _actor: Principal
    _what: str
    _entity_id: object
    # the grant whose use the read records (in the grantor's trail, once the read's transaction is over)
    used: Grant | None = field(default=None)

    @property
    def shared_from(self) -> tuple[uuid.UUID, str]:
        """Where what is read comes from (grantor id, kind): nested reads open the same grants with it."""
        return self.grantor_id, self.kind.value

    @property
    def limits(self) -> list[ReadLimit]:
        """What the grants allow together: list reads keep only rows inside one of these."""
        return [limit_of(g) for g in self.grants]

    async def allow(self, check: Check) -> Grant:
        """The grant that allows this read, recorded as used; or the error naming the limit that refuses it."""
        results = [(grant, *check(limit_of(grant))) for grant in self.grants]
        by_installation = [(g, period_ok) for g, installation_ok, period_ok in results if installation_ok]
        if not by_installation:
            raise GrantInstallationExcludes("your grant does not include this installation", field="installationId")
        allowed = [g for g, period_ok in by_installation if period_ok]
        if not allowed:
            raise GrantPeriodExcludes("your grant's period does not include this", field="period")
        await self._use(allowed[0])
        return allowed[0]

    def narrow_to_product(self, product_id: uuid.UUID, cn_code: str) -> None:
        """Keep only the grants that include this product (by id and CN code); refused naming the limit."""
        kept = [g for g in self.grants if limit_of(g).allows_product(product_id, cn_code)]
        if not kept:
            raise GrantProductExcludes("your grant does not include this product", field="productId")
        self.grants = kept

    async def allow_contract(self, contract_id: uuid.UUID) -> Grant:
        """The grant scoped to this contract, recorded as used; or ``GRANT_CONTRACT_EXCLUDES``."""
        naming = [g for g in self.grants if contract_id in (g.contract_ids or [])]
        if not naming:
            raise GrantContractExcludes("your grant does not include this contract", field="contractId")
        await self._use(naming[0])
        return naming[0]

    async def allow_listing(self) -> None:
        """A list read: rows are kept inside ``limits`` by the reader; the use is recorded."""
        await self._use(self.grants[0])

    async def _use(self, grant: Grant) -> None:
        if self.used is None:
            self.used = grant

    def use_entry(self) -> NewEntry | None:
        """The audit entry of this read (``grant.used``), None when nothing was allowed."""
        if self.used is None:
            return None
        return grant_use_entry(self._actor, self.used, what=self._what, entity_id=self._entity_id)


def reader_for(actor: Principal, kind: ResourceKind) -> Principal:
    """The grantee as a reader of the grantor: only the scope of the kind, and only if the caller holds it."""
    scope = KIND_SCOPES[kind]
    if not actor.has(scope):
        raise GrantScopeMissing(
            f"reading {kind.value} through a grant needs your own '{scope}' permission", scope=scope
        )
    # interval data is read by meter, so its reader sees the meters (the data's own names) too
    scopes = {scope, "site:read"} if kind == ResourceKind.INTERVAL_DATA else {scope}
    if kind == ResourceKind.PPA_CONTRACT:
        # one contract's plant, interval generation, statements and their documents (checked by the reads)
        scopes = {scope, "site:read", "evidence:read"}
    return Principal(
        kind=actor.kind,
        id=actor.id,
        label=f"{actor.label} (via grant)",
        tenant_id=actor.tenant_id,
        scopes=frozenset(scopes),
        installation_id=None,
        client_pk=actor.client_pk,
    )


@asynccontextmanager
async def granted_read(
    services: Services,
    actor: Principal,
    grantor_id: uuid.UUID,
    kind: ResourceKind,
    *,
    what: str,
    entity_id: object = "*",
    received: Sequence[Grant] | None = None,
) -> AsyncIterator[GrantedRead]:
    """A read-only unit of work in the grantor's tenant, opened only under a live grant of the kind.

    The caller checks each record or request with ``allow`` (or keeps a list inside ``limits`` and
    calls ``allow_listing``); when the read's block is over, its use is written to the grantor's audit
    trail and committed before this returns (``Services.audit``: one transaction for all the reads of
    that organisation waiting at that moment), so nothing read leaves here unrecorded. A refused or
    failed read leaves no trace there. ``received``: the actor's live grants as this same call
    already read them (``grants_received``), so that a call over several grantors reads them once.
    """
    if received is None:
        async with services.db.platform_session() as platform:
            grants = await live_grants_for(platform, actor, grantor_id=grantor_id, kind=kind)
    else:
        grants = grants_naming(received, grantor_id=grantor_id, kind=kind)
    reader = reader_for(actor, kind)
    grantor = await services.tenants.get(grantor_id)
    async with services.db.tenant(grantor.scope) as db:
        read = GrantedRead(db, reader, grants, grantor_id, kind, actor, what, entity_id)
        yield read
    if (entry := read.use_entry()) is not None:
        await services.audit.append(grantor.scope, entry)


@asynccontextmanager
async def granted_listing(
    services: Services, actor: Principal, grantor_id: uuid.UUID, kind: ResourceKind, *, what: str
) -> AsyncIterator[AsyncSession]:
    """The grantor's tenant for records keyed by ones a grant's read already allowed (nested fields).

    The keys were checked by that read, so this one is a listing: its use is recorded, nothing more.
    """
    async with granted_read(services, actor, grantor_id, kind, what=what) as read:
        await read.allow_listing()
        yield read.db
