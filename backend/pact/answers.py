"""A PACT request becomes an exchange data request, answered at once where the answer is already known.

``receive_request`` turns one received RequestCreatedEvent into a data request of one supplier (the
exchange's ``FootprintRequest`` with ``origin`` PACT: the one record of it, in the same inbox and GraphQL
as requests made on the exchange), once per (supplier, source, event id). Then:

- when the request names productIds and none of them is a product of the supplier, it is rejected at
  once (``NotFound``, the ids named in the message);
- when published footprints of the supplier that are already shared with the requester meet its
  criteria, it is fulfilled at once with them (history: "fulfilled automatically from published
  footprints");
- otherwise it waits in the supplier's inbox; the supplier's fulfil / reject send the PACT answer
  (``backend.exchange.requests`` calls :func:`answer_fulfilled` / :func:`answer_rejected`).
"""

from __future__ import annotations

import dataclasses
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db import utcnow
from backend.errors import DomainError, FieldError, ValidationFailed
from backend.exchange.models import (
    FootprintRequest,
    PublicationStatus,
    RequestOrigin,
    RequestStatus,
    VerificationStatus,
)
from backend.exchange.models import PublishedFootprint as PublicationRow
from backend.feeds import REQUEST_CREATED, REQUEST_FULFILLED, REQUEST_REJECTED
from backend.identity.principal import Principal
from backend.logging import get_logger
from backend.pact.callbacks import REQUEST_FULFILLED as PACT_FULFILLED
from backend.pact.callbacks import REQUEST_REJECTED as PACT_REJECTED
from backend.pact.callbacks import fulfilled_data, queue_answer, rejected_data
from backend.pact.documents import PublishedFootprint, Status, Verification
from backend.pact.filters import FootprintCriteria, ListQuery, normal_urn
from backend.pact.model import NotRepresentable, company_urn, product_footprint, urn_part
from backend.production.models import Product
from backend.services import Services

# a PACT request names no period nor due date: it asks for what is valid, and is due in 30 days
OPEN_PERIOD = (datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))
DUE_IN = timedelta(days=30)
log = get_logger("cbamx.pact")
AUTOMATIC = "fulfilled automatically from published footprints"
_CN = re.compile(r"^urn:cbamx:cn:(\d{8})$")
_OURS = "urn:cbamx:product:"


@dataclasses.dataclass(frozen=True, slots=True)
class Received:
    """What ``backend.pact.service.receive_event`` parsed: the event and its criteria."""

    event_id: str
    source: str
    raw: dict[str, Any]
    criteria: FootprintCriteria
    comment: str | None


def _host(services: Services) -> Any:
    from backend.pact.service import Host  # the host's actions import this module

    return Host.of(services.settings.public_url)


async def _products_named(
    db: AsyncSession, criteria: FootprintCriteria, issuer_domain: str
) -> tuple[list[uuid.UUID], list[str]]:
    """The supplier's products the criteria's productIds name, and the productIds that name none."""
    if not criteria.product_ids:
        return [], []
    pact_prefix = normal_urn(f"urn:pact:{urn_part(issuer_domain)}:product-id:")
    rows = (await db.execute(select(Product.id, Product.code))).all()
    by_id = {str(r.id): r.id for r in rows}
    by_code = {r.code: r.id for r in rows}
    found: list[uuid.UUID] = []
    unknown: list[str] = []
    for urn in sorted(criteria.product_ids):
        product = None
        if urn.startswith(_OURS):
            product = by_id.get(unquote(urn.removeprefix(_OURS)).lower())
        elif urn.startswith(pact_prefix):
            product = by_code.get(unquote(urn.removeprefix(pact_prefix)))
        if product is None:
            unknown.append(urn)
        elif product not in found:
            found.append(product)
    return found, unknown


async def _shared_matches(
    services: Services, reader: Principal, supplier_id: uuid.UUID, criteria: FootprintCriteria
) -> list[dict[str, Any]]:
    """The supplier's active footprints already shared with the requester that meet the criteria."""
    from backend.pact.service import list_footprints
    from backend.pact.source import PublishedFootprintSource

    own = dataclasses.replace(
        criteria, company_ids=frozenset({company_urn(str(supplier_id))}), statuses=frozenset({"Active"})
    )
    try:
        page = await list_footprints(PublishedFootprintSource(services), reader, ListQuery(own), _host(services))
    except DomainError as exc:
        # whatever keeps the footprints from being listed, the request is still received: it waits
        log.info("pact.no_automatic_answer", supplier=str(supplier_id), reason=f"{type(exc).__name__}: {exc}")
        return []
    return page.footprints


async def receive_request(
    services: Services, reader: Principal, supplier_id: uuid.UUID, received: Received
) -> uuid.UUID | None:
    """Store the request for one supplier and answer it at once where the answer is known; its id, or None
    when this (source, event id) was received before."""
    from backend.exchange import repository
    from backend.exchange.requests import audit_both, emit_step, history_entry, source_unit

    importer_id = reader.require_tenant()
    supplier = await services.tenants.get(supplier_id)
    async with services.db.tenant(supplier.scope) as db:
        products, unknown = await _products_named(db, received.criteria, _host(services).issuer_domain)
    rejection = None
    if received.criteria.product_ids and not products:
        rejection = f"no product of this supplier has the productId {', '.join(unknown)}"
    matches = [] if rejection else await _shared_matches(services, reader, supplier_id, received.criteria)
    cn_codes = sorted({m.group(1) for u in received.criteria.classifications if (m := _CN.match(u))})
    automatic = Principal.system("PACT automatic answer", supplier_id)
    now = utcnow()
    async with source_unit(services, importer_id) as importer_db, source_unit(services, supplier_id) as supplier_db:
        async with services.db.platform() as db:
            connection = await repository.connection_between(db, importer_id, supplier_id)
            new_id = await db.scalar(
                insert(FootprintRequest)
                .values(
                    id=uuid.uuid4(),
                    importer_tenant_id=importer_id,
                    supplier_tenant_id=supplier_id,
                    subscription_id=connection.id if connection is not None else None,
                    product_ids=products,
                    cn_codes=cn_codes,
                    period_start=OPEN_PERIOD[0],
                    period_end=OPEN_PERIOD[1],
                    shipment_refs=[],
                    due_date=(now + DUE_IN).date(),
                    message=received.comment or "",
                    status=RequestStatus.REQUESTED.value,
                    publication_ids=[],
                    created_at=now,
                    created_by=reader.label[:320],
                    origin=RequestOrigin.PACT.value,
                    pact_event_id=received.event_id,
                    pact_source=received.source,
                    pact_criteria=received.criteria.as_json(),
                    pact_event=received.raw,
                    pact_client_id=reader.id,
                )
                .on_conflict_do_nothing(
                    index_elements=["supplier_tenant_id", "pact_source", "pact_event_id"],
                    index_where=text("origin = 'pact'"),
                )
                .returning(FootprintRequest.id)
            )
            if new_id is None:
                return None
            request = await db.get(FootprintRequest, new_id)
            assert request is not None
            db.add(history_entry(request, reader, "requested", request.message))
            await db.flush()
            await audit_both(
                db,
                reader,
                request,
                "footprint_request.received",
                event_id=received.event_id,
                source=received.source,
                origin="pact",
            )
            decided = None
            if rejection is not None:
                request.status, request.reason, request.decided_at = RequestStatus.REJECTED, rejection, utcnow()
                db.add(history_entry(request, automatic, "rejected", rejection))
                queue_answer(db, services, request, PACT_REJECTED, rejected_data(request, "NotFound", rejection))
                decided = REQUEST_REJECTED
            elif matches:
                request.status, request.decided_at = RequestStatus.FULFILLED, utcnow()
                request.publication_ids = [uuid.UUID(pf["id"]) for pf in matches]
                db.add(history_entry(request, automatic, "fulfilled", AUTOMATIC))
                queue_answer(db, services, request, PACT_FULFILLED, fulfilled_data(request, matches))
                decided = REQUEST_FULFILLED
            await db.flush()
            if decided is not None:
                await audit_both(
                    db,
                    automatic,
                    request,
                    "footprint_request.fulfilled" if decided == REQUEST_FULFILLED else "footprint_request.rejected",
                    automatic=True,
                    publications=[str(p) for p in request.publication_ids],
                    reason=request.reason,
                )
        await emit_step(importer_db, request, REQUEST_CREATED, to_supplier=True, message=request.message, origin="pact")
        if decided == REQUEST_FULFILLED:
            publications = [str(p) for p in request.publication_ids]
            await emit_step(
                supplier_db, request, decided, to_supplier=False, publicationIds=publications, automatic=True
            )
        elif decided == REQUEST_REJECTED:
            await emit_step(supplier_db, request, decided, to_supplier=False, reason=request.reason, automatic=True)
    return request.id


# --- the supplier's own answers (called by backend.exchange.requests in its platform transaction) ---------


def answer_fulfilled(
    db: AsyncSession, services: Services, request: FootprintRequest, publications: list[PublicationRow]
) -> None:
    """The RequestFulfilledEvent of the supplier's answer: the publications as PACT ProductFootprints."""
    host = _host(services)
    pfs: list[dict[str, Any]] = []
    errors: list[FieldError] = []
    for i, row in enumerate(publications):
        state: Status = "ACTIVE" if row.status == PublicationStatus.ACTIVE else "DEPRECATED"
        verified = Verification() if row.verification_status == VerificationStatus.VERIFIED else None
        try:
            pfs.append(
                product_footprint(
                    PublishedFootprint(row.document, state, verified),
                    issuer_domain=host.issuer_domain,
                    base_url=host.base_url,
                )
            )
        except NotRepresentable:
            errors.append(
                FieldError("has no total specific emissions, so PACT cannot carry it", field=f"publicationIds.{i}")
            )
    if errors:
        raise ValidationFailed(errors)
    queue_answer(db, services, request, PACT_FULFILLED, fulfilled_data(request, pfs))


def answer_rejected(db: AsyncSession, services: Services, request: FootprintRequest, reason: str) -> None:
    """The RequestRejectedEvent of the supplier's refusal (PACT code ``AccessDenied``, the reason as message)."""
    queue_answer(db, services, request, PACT_REJECTED, rejected_data(request, "AccessDenied", reason))
