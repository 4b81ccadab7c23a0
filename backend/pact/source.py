"""Where the PACT host finds the published footprints a reader may see.

``FootprintSource`` is the one seam: the host lists and gets published documents for a reader (a
principal of one tenant, usually a client) and knows nothing else of where they come from.
``PublishedFootprintSource`` serves the exchange's publications (``backend.exchange.reads``): what an
exporter published and shares with the reader's organisation, or with the reader alone, through a live
share. Grants are looked up on every call, so a revoked or narrowed share shows at the next request, and
every read lands in the exporter's audit trail.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from backend.exchange.errors import PublicationNotFound
from backend.exchange.models import PublicationStatus, VerificationStatus
from backend.exchange.reads import SharedPublication, get_shared_publication, list_shared_publications
from backend.exchange.repository import PublicationFilter
from backend.identity.principal import Principal
from backend.pact.documents import PublishedFootprint, Status, Verification
from backend.pact.filters import FootprintCriteria
from backend.pact.model import company_urn
from backend.services import Services

STATUS_OF = {"Active": PublicationStatus.ACTIVE, "Deprecated": PublicationStatus.DEPRECATED}
STATE_OF: dict[PublicationStatus, Status] = {
    PublicationStatus.ACTIVE: "ACTIVE",
    PublicationStatus.DEPRECATED: "DEPRECATED",
}
_PRODUCT_URN = "urn:cbamx:product:"
_PACT_PRODUCT_URN = "urn:pact:"
_CN_URN = re.compile(r"^urn:cbamx:cn:(\d{8})$")


class FootprintSource(Protocol):
    async def list_published(
        self,
        reader: Principal,
        criteria: FootprintCriteria,
        *,
        after: tuple[datetime, uuid.UUID] | None,
        limit: int,
    ) -> Sequence[PublishedFootprint]:
        """Up to ``limit`` footprints the reader may see (active and deprecated), newest first by
        (``publishedAt``, ``id``), after ``after``; fewer only when there are no more.

        The source may leave out what ``criteria`` rule out, never what they keep: the caller matches
        every criterion itself.
        """
        ...

    async def get_published(self, reader: Principal, footprint_id: uuid.UUID) -> PublishedFootprint | None:
        """One published footprint, None when the reader has none of that id; refuses one it may not see."""
        ...


def _only(values: set[str]) -> str | None:
    return next(iter(values)) if len(values) == 1 else None


def _common_prefix(codes: set[str]) -> str | None:
    prefix = ""
    for chars in zip(*codes, strict=False):
        if len(set(chars)) > 1:
            break
        prefix += chars[0]
    return prefix if len(prefix) >= 2 else None


def publication_filter(criteria: FootprintCriteria) -> PublicationFilter | None:
    """What of the criteria the exchange's query applies; None when no publication can meet them.

    Only necessary conditions go into the query, so it never drops a footprint the criteria keep:
    one company, one product by our own id, the CN codes' common start, one status, and the reference
    period's end (a footprint is valid from it, so ``validOn`` and ``validBefore`` bound it).
    """
    supplier_id = product_id = None
    if criteria.company_ids:
        companies = set()
        for urn in criteria.company_ids:
            tail = urn.removeprefix("urn:cbamx:company:")
            try:
                tenant_id = uuid.UUID(tail)
            except ValueError:
                continue  # names no organisation of this host
            if company_urn(str(tenant_id)) == urn:
                companies.add(str(tenant_id))
        if not companies:
            return None
        supplier_id = uuid.UUID(only) if (only := _only(companies)) else None
    if criteria.product_ids:
        ours = {u for u in criteria.product_ids if u.startswith(_PRODUCT_URN)}
        pact = {u for u in criteria.product_ids if u.startswith(_PACT_PRODUCT_URN)}
        if not ours and not pact:
            return None
        if not pact and (only := _only(ours)):
            try:
                product_id = uuid.UUID(only.removeprefix(_PRODUCT_URN))
            except ValueError:
                return None
    cn_code = None
    if criteria.classifications:
        codes = {m.group(1) for u in criteria.classifications if (m := _CN_URN.match(u))}
        if not codes:
            return None
        cn_code = _common_prefix(codes)
    ends = [m for m in (criteria.valid_on, criteria.valid_before) if m is not None]
    if criteria.statuses and not criteria.statuses & STATUS_OF.keys():
        return None  # a status no footprint has
    status = STATUS_OF[only] if (only := _only(set(criteria.statuses) & STATUS_OF.keys())) else None
    return PublicationFilter(
        supplier_id=supplier_id,
        product_id=product_id,
        cn_code=cn_code,
        end=min(ends) if ends else None,
        status=status,
    )


def published(row: SharedPublication) -> PublishedFootprint:
    """A shared publication as the host reads it: the document, its status and whether it is verified.

    A verified publication carries no statement details yet beyond being verified at product level.
    """
    verified = row.verification_status == VerificationStatus.VERIFIED
    return PublishedFootprint(row.document, STATE_OF[row.status], Verification() if verified else None)


class PublishedFootprintSource:
    """The exchange's publications shared with the reader through live footprint shares."""

    def __init__(self, services: Services) -> None:
        self.services = services

    async def list_published(
        self,
        reader: Principal,
        criteria: FootprintCriteria,
        *,
        after: tuple[datetime, uuid.UUID] | None,
        limit: int,
    ) -> list[PublishedFootprint]:
        narrowed = publication_filter(criteria)
        if narrowed is None:
            return []
        rows = await list_shared_publications(self.services, reader, narrowed, after=after, limit=limit)
        return [published(r) for r in rows]

    async def get_published(self, reader: Principal, footprint_id: uuid.UUID) -> PublishedFootprint | None:
        try:
            row = await get_shared_publication(self.services, reader, footprint_id)
        except PublicationNotFound:
            return None
        return published(row)
