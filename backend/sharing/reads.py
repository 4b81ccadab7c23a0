"""Reading another organisation's data through a live grant: one function per kind of read.

Every read has the same shape (``_through_grant``): open the grantor's tenant under the caller's live
grants of the kind, check the request against the grants' limits (or keep a list inside them), run
the grantor's own service read as the grant's reader, and record the use in the grantor's audit
trail. Each returns its result with where it was read from (grantor id, kind), which the edge hands
on so that the result's nested records are read through the same grant.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import TypeVar

from backend.audit.anchors import verify_anchored
from backend.audit.models import AuditEntry
from backend.audit.service import ChainVerification, list_entries
from backend.evidence.models import EvidenceDocument
from backend.evidence.service import document_check, get_document, list_documents
from backend.identity.principal import Principal
from backend.installations.models import Installation
from backend.installations.service import list_installations
from backend.metering import reports
from backend.metering.models import Meter
from backend.metering.service import get_meter, list_meters
from backend.services import Services
from backend.sharing.access import Check, GrantedRead, granted_read, within
from backend.sharing.models import ResourceKind

T = TypeVar("T")

# (grantor id, resource kind) a result was read through
SharedFrom = tuple[uuid.UUID, str]

# a list read through a grant returns at most this many installations or documents
MAX_LISTED = 200


async def _through_grant(
    opening: AbstractAsyncContextManager[GrantedRead],
    *,
    run: Callable[[GrantedRead], Awaitable[T]],
    check: Check | None = None,
    check_of: Callable[[GrantedRead], Awaitable[Check]] | None = None,
) -> tuple[T, SharedFrom]:
    """``run`` in the grantor's tenant ``opening`` opens (``granted_read``), once the grants allow it.

    A request about given installations or a period states them in ``check`` (or ``check_of``, where
    they follow from one of the grantor's records, such as a meter's installation), and is refused
    before anything is read. Without either it is a list read: ``run`` keeps its rows inside
    ``read.limits`` and the use is recorded after the rows are read, so the listing never shows it.
    """
    async with opening as read:
        if check_of is not None:
            check = await check_of(read)
        if check is None:
            result = await run(read)
            await read.allow_listing()
        else:
            await read.allow(check)
            result = await run(read)
    return result, read.shared_from


async def read_installations(
    services: Services, actor: Principal, grantor_id: uuid.UUID
) -> tuple[list[Installation], SharedFrom]:
    """The grantor's installations that one of the grants includes."""

    async def run(read: GrantedRead) -> list[Installation]:
        rows = await list_installations(read.db, read.reader, limit=MAX_LISTED)
        return [r for r in rows if any(limit.allows_installation(r.id) for limit in read.limits)]

    opening = granted_read(services, actor, grantor_id, ResourceKind.INSTALLATION, what="installations")
    return await _through_grant(opening, run=run)


async def read_meters(
    services: Services, actor: Principal, grantor_id: uuid.UUID, installation_id: uuid.UUID
) -> tuple[list[Meter], SharedFrom]:
    """The meters of one of the grantor's installations."""
    return await _through_grant(
        granted_read(services, actor, grantor_id, ResourceKind.INSTALLATION, what="meters", entity_id=installation_id),
        check=within(installation_ids=[installation_id]),
        run=lambda read: list_meters(read.db, read.reader, installation_id),
    )


async def read_evidence(
    services: Services, actor: Principal, grantor_id: uuid.UUID, first: int
) -> tuple[list[EvidenceDocument], SharedFrom]:
    """The grantor's newest evidence documents (``first``, between 1 and ``MAX_LISTED``) inside the grants."""
    limit = max(1, min(first, MAX_LISTED))
    opening = granted_read(services, actor, grantor_id, ResourceKind.EVIDENCE, what="evidence_documents")
    return await _through_grant(
        opening, run=lambda read: list_documents(read.db, read.reader, limit=limit, limits=read.limits)
    )


async def read_evidence_document(
    services: Services, actor: Principal, grantor_id: uuid.UUID, document_id: uuid.UUID
) -> tuple[EvidenceDocument, SharedFrom]:
    """One of the grantor's evidence documents, if its installations and period lie inside a grant."""
    found: EvidenceDocument | None = None

    async def check_of(read: GrantedRead) -> Check:
        # the document itself states what it is about: read first, refused if no grant includes it
        nonlocal found
        found = await get_document(read.db, read.reader, document_id)
        return document_check(found)

    async def run(read: GrantedRead) -> EvidenceDocument:
        assert found is not None
        return found

    return await _through_grant(
        granted_read(
            services, actor, grantor_id, ResourceKind.EVIDENCE, what="evidence_document", entity_id=document_id
        ),
        check_of=check_of,
        run=run,
    )


async def read_interval_series(
    services: Services, actor: Principal, grantor_id: uuid.UUID, meter_id: uuid.UUID, start: datetime, end: datetime
) -> tuple[reports.Series, SharedFrom]:
    """A grantor's meter's intervals in [start, end): its installation and the period inside a grant."""
    reports.period_days(start, end)  # a valid period before it is compared with the grant's

    async def check_of(read: GrantedRead) -> Check:
        meter = await get_meter(read.db, read.reader, meter_id)
        return within(installation_ids=[meter.installation_id], period=(start, end))

    return await _through_grant(
        granted_read(
            services, actor, grantor_id, ResourceKind.INTERVAL_DATA, what="interval_series", entity_id=meter_id
        ),
        check_of=check_of,
        run=lambda read: reports.interval_series(read.db, read.reader, meter_id, start=start, end=end),
    )


async def _installation_report(
    services: Services,
    actor: Principal,
    grantor_id: uuid.UUID,
    installation_id: uuid.UUID,
    period: tuple[datetime, datetime],
    *,
    what: str,
    run: Callable[[GrantedRead], Awaitable[T]],
) -> tuple[T, SharedFrom]:
    """A report over one of the grantor's installations and a period: both inside one grant of interval data."""
    reports.period_days(*period)  # a valid period before it is compared with the grant's
    return await _through_grant(
        granted_read(services, actor, grantor_id, ResourceKind.INTERVAL_DATA, what=what, entity_id=installation_id),
        check=within(installation_ids=[installation_id], period=period),
        run=run,
    )


async def read_balance_report(
    services: Services,
    actor: Principal,
    grantor_id: uuid.UUID,
    installation_id: uuid.UUID,
    start: datetime,
    end: datetime,
    tolerance: float | None = None,
) -> tuple[reports.BalanceReport, SharedFrom]:
    """The meter balance of a grantor's installation over [start, end)."""

    def run(read: GrantedRead) -> Awaitable[reports.BalanceReport]:
        return reports.balance_report(read.db, read.reader, installation_id, start=start, end=end, tolerance=tolerance)

    return await _installation_report(
        services, actor, grantor_id, installation_id, (start, end), what="balance_report", run=run
    )


async def read_gaps_report(
    services: Services,
    actor: Principal,
    grantor_id: uuid.UUID,
    installation_id: uuid.UUID,
    start: datetime,
    end: datetime,
) -> tuple[reports.GapsReport, SharedFrom]:
    """The metering gaps of a grantor's installation over [start, end)."""

    def run(read: GrantedRead) -> Awaitable[reports.GapsReport]:
        return reports.gaps_report(read.db, read.reader, installation_id, start=start, end=end)

    return await _installation_report(
        services, actor, grantor_id, installation_id, (start, end), what="gaps_report", run=run
    )


async def read_audit_trail(
    services: Services, actor: Principal, grantor_id: uuid.UUID, *, before_seq: int | None, limit: int
) -> tuple[list[AuditEntry], SharedFrom]:
    """The grantor's audit entries, newest first, about the grants' installations and inside their periods."""
    opening = granted_read(services, actor, grantor_id, ResourceKind.AUDIT, what="audit_trail")
    return await _through_grant(
        opening,
        run=lambda read: list_entries(read.db, read.reader, before_seq=before_seq, limit=limit, limits=read.limits),
    )


async def read_audit_verification(
    services: Services, actor: Principal, grantor_id: uuid.UUID, anchor: str | None = None
) -> tuple[ChainVerification, SharedFrom]:
    """The grantor's whole chain verified against its anchors, as the grantor's own verification is.

    A chain verifies only as a whole, so this covers every entry; the result holds counts and hashes,
    no entry's content.
    """

    async def run(read: GrantedRead) -> ChainVerification:
        grantor = await services.tenants.get(grantor_id)
        return await verify_anchored(services.db, services.store, read.reader, grantor.id, grantor.scope, anchor=anchor)

    opening = granted_read(services, actor, grantor_id, ResourceKind.AUDIT, what="audit_verification")
    return await _through_grant(opening, run=run)
