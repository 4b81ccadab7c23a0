"""Published footprints read by other organisations (importers, their machine clients, the PACT host).

A reader sees a supplier's publications through its live ``footprint`` grants from that supplier (a share,
``backend.exchange.connections.share_footprints``, is such a grant narrowed by products, CN codes and a
period). Grants are looked up on every call, so a revoked or narrowed share stops access at the next
request; every read is written to the supplier's audit trail (``backend.sharing.access``).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from backend.exchange import service
from backend.exchange.errors import PublicationNotFound
from backend.exchange.models import PublicationStatus, PublishedFootprint, VerificationStatus
from backend.exchange.repository import PublicationFilter
from backend.identity.principal import Principal
from backend.services import Services
from backend.sharing.access import granted_read, within
from backend.sharing.errors import NoLiveGrant
from backend.sharing.grants import grants_received
from backend.sharing.models import Grant, ResourceKind
from backend.verification.repository import verified_versions

DEFAULT_LIMIT = 50


@dataclass(frozen=True, slots=True)
class SharedPublication:
    """A publication as a reader of another organisation sees it: the document and the state beside it."""

    supplier_id: uuid.UUID
    id: uuid.UUID
    document: dict[str, Any]
    content_hash: str
    status: PublicationStatus
    deprecated_at: datetime | None
    verification_status: VerificationStatus
    published_at: datetime

    @classmethod
    def of(cls, supplier_id: uuid.UUID, row: PublishedFootprint, *, verified: bool = False) -> SharedPublication:
        return cls(
            supplier_id=supplier_id,
            id=row.id,
            document=row.document,
            content_hash=row.content_hash,
            status=row.status,
            deprecated_at=row.deprecated_at,
            verification_status=VerificationStatus.VERIFIED if verified else row.verification_status,
            published_at=row.published_at,
        )


async def with_verification(
    services: Services, rows: Sequence[tuple[uuid.UUID, PublishedFootprint]]
) -> list[SharedPublication]:
    """Publications (supplier id, row) as readers see them: VERIFIED when a signed statement with a positive
    or qualified opinion names the footprint version they publish (statements are the verifier's, kept in
    the platform, so they attach to every publication of the version, earlier or later)."""
    async with services.db.platform_session() as platform:
        verified = await verified_versions(platform, [row.footprint_version_id for _, row in rows])
    return [SharedPublication.of(s, row, verified=row.footprint_version_id in verified) for s, row in rows]


async def _suppliers(
    services: Services, actor: Principal, only: uuid.UUID | None
) -> tuple[list[uuid.UUID], list[Grant]]:
    """Organisations that gave the actor a live footprint grant, oldest grant first; and the actor's live
    grants (each supplier's read is opened under them: one lookup per call, not one per supplier)."""
    async with services.db.platform_session() as platform:
        grants = await grants_received(platform, actor)
    seen: dict[uuid.UUID, None] = {}
    for grant in grants:
        if ResourceKind.FOOTPRINT.value in grant.resource_kinds and only in (None, grant.grantor_tenant_id):
            seen.setdefault(grant.grantor_tenant_id)
    return list(seen), grants


async def list_shared_publications(
    services: Services,
    actor: Principal,
    filters: PublicationFilter,
    *,
    after: tuple[datetime, uuid.UUID] | None = None,
    limit: int = DEFAULT_LIMIT,
) -> list[SharedPublication]:
    """Publications of every supplier that shares with the actor (``filters.supplier_id``: one), newest first.

    At most ``limit`` rows (1..``service.MAX_LISTED + 1``: ask for one more to learn whether a next page
    exists); ``after`` is the (published_at, id) of the last row of the previous page.
    """
    service.check_filter(filters)
    limit = max(1, min(limit, service.MAX_LISTED + 1))
    found: list[tuple[uuid.UUID, PublishedFootprint]] = []
    suppliers, received = await _suppliers(services, actor, filters.supplier_id)
    for supplier_id in suppliers:
        try:
            async with granted_read(
                services, actor, supplier_id, ResourceKind.FOOTPRINT, what="published_footprints", received=received
            ) as read:
                rows = await service.list_publications(
                    read.db, read.reader, filters, after=after, limit=limit, limits=read.limits
                )
                await read.allow_listing()
        except NoLiveGrant:
            continue  # revoked since the grants were looked up: nothing of it is read
        found.extend((supplier_id, r) for r in rows)
    found.sort(key=lambda p: (p[1].published_at, p[1].id), reverse=True)
    return await with_verification(services, found[:limit])


async def get_shared_publication(services: Services, actor: Principal, publication_id: uuid.UUID) -> SharedPublication:
    """One publication a supplier shares with the actor, found among the suppliers that share with it.

    ``PUBLISHED_FOOTPRINT_NOT_FOUND`` when no sharing supplier holds it; a supplier's grants that do not
    include it refuse naming the limit (``GRANT_PRODUCT_EXCLUDES``, ``GRANT_INSTALLATION_EXCLUDES``,
    ``GRANT_PERIOD_EXCLUDES``).
    """
    suppliers, received = await _suppliers(services, actor, None)
    for supplier_id in suppliers:
        try:
            async with granted_read(
                services,
                actor,
                supplier_id,
                ResourceKind.FOOTPRINT,
                what="published_footprint",
                entity_id=publication_id,
                received=received,
            ) as read:
                try:
                    row = await service.get_publication(read.db, read.reader, publication_id)
                except PublicationNotFound:
                    continue
                read.narrow_to_product(row.product_id, row.cn_code)
                await read.allow(
                    within(installation_ids=[row.installation_id], period=(row.period_start, row.period_end))
                )
                found = row
        except NoLiveGrant:
            continue
        (shared,) = await with_verification(services, [(supplier_id, found)])
        return shared
    raise PublicationNotFound("no such published footprint shared with you", field="id")
