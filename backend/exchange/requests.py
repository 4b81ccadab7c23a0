"""Data requests: an importer asks a connected supplier for footprints, and the supplier answers.

An importer with an active connection asks for footprints of some of the supplier's products or CN codes
(prefixes) in a period, optionally naming shipments, by a due date (REQUESTED). The supplier answers with
published footprints that match (FULFILLED): the importer's live shares must cover them, and when they do
not, a share narrowed to those products and the requested period is made under the connection. Or the
supplier refuses, with a reason (REJECTED); or the importer withdraws it (CANCELLED). Reminders are sent
to the supplier three days before the due date and on it.

A request concerns two organisations, so it is a platform row beside the connection (like the connection
itself), read only here and always by naming the caller's organisation. Each step is a history entry both
sides see, an entry in both organisations' audit trails (in the platform transaction), and a feed event
to the other side, written in the source organisation's unit of work after the platform change commits:
an event never announces a step that did not happen.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit.service import record_in_platform_transaction
from backend.db import new_id, utcnow
from backend.errors import FieldError, PermissionDenied, ValidationFailed
from backend.exchange import connections, repository
from backend.exchange.directory import is_cn_prefix
from backend.exchange.errors import NotAnImporter, NotConnected, RequestNotFound, RequestStateConflict
from backend.exchange.models import (
    FootprintRequest,
    FootprintRequestEntry,
    PublicationStatus,
    PublishedFootprint,
    RequestOrigin,
    RequestStatus,
)
from backend.feeds import (
    REQUEST_CANCELLED,
    REQUEST_CREATED,
    REQUEST_FULFILLED,
    REQUEST_REJECTED,
    REQUEST_REMINDER,
    emit,
)
from backend.identity.models import MembershipRole
from backend.identity.principal import Principal
from backend.logging import get_logger
from backend.pact import answers as pact_answers
from backend.services import Services
from backend.sharing.grants import limit_of
from backend.sharing.models import SubscriptionStatus
from backend.tenants.models import Tenant, TenantKind

MAX_MESSAGE = 2000
MAX_SHIPMENT_REFS = 100
MAX_SHIPMENT_REF = 64
MAX_PUBLICATIONS = 50
# reminders: one while the due date is this close, one on the day itself
DUE_SOON = timedelta(days=3)
REMINDER_DUE_SOON = "due_soon"
REMINDER_DUE_TODAY = "due_today"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class RequestData:
    supplier_id: uuid.UUID
    period_start: datetime
    period_end: datetime
    due_date: date
    product_ids: list[uuid.UUID] = field(default_factory=list)  # the supplier's product ids
    cn_codes: list[str] = field(default_factory=list)  # prefixes of 2 to 8 digits
    shipment_refs: list[str] = field(default_factory=list)  # MRNs or invoice numbers, free text
    message: str = ""


@dataclass(frozen=True, slots=True)
class RequestWithHistory:
    request: FootprintRequest
    history: list[FootprintRequestEntry]


def _require_admin(principal: Principal) -> uuid.UUID:
    """Requests are made and answered by an organisation's admins, as its connections and shares are."""
    tenant_id = principal.require_tenant()
    if principal.kind == "client":
        raise PermissionDenied("an organisation's people make and answer data requests, not its clients")
    principal.require_role(MembershipRole.ADMIN)
    return tenant_id


def _require_reader(principal: Principal) -> uuid.UUID:
    if principal.kind == "client" and principal.installation_id is not None:
        raise PermissionDenied("a client bound to one installation sees only that installation, not requests")
    return principal.require_tenant()


def _check(data: RequestData, today: date) -> None:
    errors: list[FieldError] = []
    if not data.product_ids and not data.cn_codes:
        errors.append(FieldError("name at least one product or CN code", field="productIds"))
    if len(data.product_ids) > connections.MAX_PRODUCTS:
        errors.append(FieldError(f"at most {connections.MAX_PRODUCTS} products", field="productIds"))
    if len(data.cn_codes) > connections.MAX_CN_CODES:
        errors.append(FieldError(f"at most {connections.MAX_CN_CODES} CN codes", field="cnCodes"))
    else:
        errors += [
            FieldError("2 to 8 digits, the start of a CN code", field=f"cnCodes.{i}")
            for i, code in enumerate(data.cn_codes)
            if not is_cn_prefix(code)
        ]
    if data.period_start.tzinfo is None or data.period_end.tzinfo is None:
        errors.append(FieldError("a time with its offset from UTC", field="periodStart"))
    elif data.period_start >= data.period_end:
        errors.append(FieldError("must be after periodStart", field="periodEnd"))
    if data.due_date < today:
        errors.append(FieldError("today or later", field="dueDate"))
    if len(data.shipment_refs) > MAX_SHIPMENT_REFS:
        errors.append(FieldError(f"at most {MAX_SHIPMENT_REFS} references", field="shipmentRefs"))
    else:
        errors += [
            FieldError(f"1 to {MAX_SHIPMENT_REF} characters, no control characters", field=f"shipmentRefs.{i}")
            for i, ref in enumerate(data.shipment_refs)
            if not ref.strip() or len(ref) > MAX_SHIPMENT_REF or _CONTROL.search(ref)
        ]
    if len(data.message) > MAX_MESSAGE or "\x00" in data.message:
        errors.append(FieldError(f"at most {MAX_MESSAGE} characters, no NUL", field="message"))
    if errors:
        raise ValidationFailed(errors)


async def _tenant(db: AsyncSession, tenant_id: uuid.UUID) -> Tenant:
    row = await db.get(Tenant, tenant_id)
    assert row is not None  # a request's organisations are removed with it (CASCADE)
    return row


def history_entry(
    request: FootprintRequest, principal: Principal, action: str, note: str = ""
) -> FootprintRequestEntry:
    return FootprintRequestEntry(
        request_id=request.id,
        at=utcnow(),
        actor_tenant_id=principal.tenant_id,
        actor=principal.label,
        action=action,
        note=note,
    )


async def audit_both(
    db: AsyncSession, principal: Principal, request: FootprintRequest, action: str, **details: object
) -> None:
    """A request concerns both organisations: each keeps the step in its own trail."""
    for tenant_id in (request.supplier_tenant_id, request.importer_tenant_id):
        tenant = await _tenant(db, tenant_id)
        await record_in_platform_transaction(
            db,
            tenant.scope(),
            principal,
            action,
            "footprint_request",
            request.id,
            details={
                "supplier": str(request.supplier_tenant_id),
                "importer": str(request.importer_tenant_id),
                "status": request.status.value,
                **details,
            },
        )


def _event_data(request: FootprintRequest, **more: Any) -> dict[str, Any]:
    return {
        "requestId": str(request.id),
        "status": request.status.value,
        "importerId": str(request.importer_tenant_id),
        "supplierId": str(request.supplier_tenant_id),
        "productIds": [str(p) for p in request.product_ids],
        "cnCodes": list(request.cn_codes),
        "periodStart": request.period_start.isoformat(),
        "periodEnd": request.period_end.isoformat(),
        "dueDate": request.due_date.isoformat(),
        **more,
    }


@asynccontextmanager
async def source_unit(services: Services, source_id: uuid.UUID) -> AsyncIterator[AsyncSession]:
    """The source organisation's unit of work, for its event; each step opens its platform unit of work
    inside it and emits after that commits, so a failed platform change rolls the event back with it."""
    scope = (await services.tenants.get(source_id)).scope
    async with services.db.tenant(scope) as source_db:
        yield source_db


async def emit_step(
    source_db: AsyncSession, request: FootprintRequest, type: str, *, to_supplier: bool, **more: Any
) -> None:
    source, recipient = (
        (request.importer_tenant_id, request.supplier_tenant_id)
        if to_supplier
        else (request.supplier_tenant_id, request.importer_tenant_id)
    )
    await emit(
        source_db,
        type=type,
        source_tenant_id=source,
        recipient_tenant_id=recipient,
        subject=f"request/{request.id}",
        data=_event_data(request, **more),
    )


# --- the importer ----------------------------------------------------------------------------------------


async def request_footprints(services: Services, principal: Principal, data: RequestData) -> FootprintRequest:
    """An importer asks a supplier it is actively connected to for footprints (the importer's admins)."""
    me = _require_admin(principal)
    _check(data, utcnow().date())
    async with source_unit(services, me) as source_db:
        async with services.db.platform() as db:
            importer = await _tenant(db, me)
            if importer.kind != TenantKind.IMPORTER:
                raise NotAnImporter("only an importer requests footprints from a supplier")
            connection = await repository.connection_between(db, me, data.supplier_id, for_update=True)
            if connection is None or connection.status != SubscriptionStatus.ACTIVE:
                raise NotConnected(
                    "footprints are requested only from a supplier whose connection is active", field="supplierId"
                )
            request = FootprintRequest(
                importer_tenant_id=me,
                supplier_tenant_id=data.supplier_id,
                subscription_id=connection.id,
                product_ids=list(dict.fromkeys(data.product_ids)),
                cn_codes=sorted(set(data.cn_codes)),
                period_start=data.period_start,
                period_end=data.period_end,
                shipment_refs=[ref.strip() for ref in data.shipment_refs],
                due_date=data.due_date,
                message=data.message,
                status=RequestStatus.REQUESTED,
                publication_ids=[],
                created_at=utcnow(),
                created_by=principal.label,
            )
            db.add(request)
            await db.flush()
            db.add(history_entry(request, principal, "requested", data.message))
            await db.flush()
            await audit_both(db, principal, request, "footprint_request.created")
        await emit_step(
            source_db,
            request,
            REQUEST_CREATED,
            to_supplier=True,
            message=request.message,
            shipmentRefs=list(request.shipment_refs),
        )
    return request


async def _party_request(
    db: AsyncSession, principal: Principal, request_id: uuid.UUID, *, for_update: bool = False
) -> FootprintRequest:
    me = principal.require_tenant()
    request = await repository.footprint_request(db, request_id, for_update=for_update)
    if request is None or me not in (request.importer_tenant_id, request.supplier_tenant_id):
        raise RequestNotFound("no such footprint request", field="id")
    return request


def _require_open(request: FootprintRequest) -> None:
    if request.status != RequestStatus.REQUESTED:
        raise RequestStateConflict(f"the request is {request.status.value}, not requested", field="id")


async def cancel_request(
    services: Services, principal: Principal, request_id: uuid.UUID, note: str = ""
) -> FootprintRequest:
    """The importer withdraws an open request."""
    me = _require_admin(principal)
    if len(note) > MAX_MESSAGE or "\x00" in note:
        raise ValidationFailed([FieldError(f"at most {MAX_MESSAGE} characters, no NUL", field="note")])
    async with source_unit(services, me) as source_db:
        async with services.db.platform() as db:
            request = await _party_request(db, principal, request_id, for_update=True)
            if request.importer_tenant_id != me:
                raise PermissionDenied("only the importer that asked cancels a request")
            _require_open(request)
            request.status = RequestStatus.CANCELLED
            request.decided_at = utcnow()
            db.add(history_entry(request, principal, "cancelled", note))
            await db.flush()
            await audit_both(db, principal, request, "footprint_request.cancelled")
        await emit_step(source_db, request, REQUEST_CANCELLED, to_supplier=True, note=note)
    return request


# --- the supplier ----------------------------------------------------------------------------------------


def _matches(request: FootprintRequest, publication: PublishedFootprint) -> str | None:
    """Why the publication does not answer the request, or None when it does."""
    if publication.status != PublicationStatus.ACTIVE:
        return "superseded by a later publication: answer with the current one"
    named = publication.product_id in request.product_ids or any(
        publication.cn_code.startswith(code) for code in request.cn_codes
    )
    # a PACT request may name neither (only a geography, say): the supplier judges what answers it
    open_pact = request.origin == RequestOrigin.PACT and not request.product_ids and not request.cn_codes
    if not named and not open_pact:
        return "not a footprint of a product or CN code the request names"
    if publication.period_start < request.period_start or publication.period_end > request.period_end:
        return "its period lies outside the requested period"
    return None


async def fulfil_request(
    services: Services, principal: Principal, request_id: uuid.UUID, publication_ids: list[uuid.UUID]
) -> FootprintRequest:
    """The supplier answers with its published footprints that match; the importer can read them after.

    When no live share of the supplier's covers every one of them, a share narrowed to their products and
    the requested period is made under the connection.
    """
    me = _require_admin(principal)
    if not publication_ids or len(publication_ids) > MAX_PUBLICATIONS:
        raise ValidationFailed([FieldError(f"1 to {MAX_PUBLICATIONS} published footprints", field="publicationIds")])
    unique = list(dict.fromkeys(publication_ids))
    async with source_unit(services, me) as source_db:
        async with services.db.platform() as db:
            request = await _party_request(db, principal, request_id, for_update=True)
            if request.supplier_tenant_id != me:
                raise PermissionDenied("only the supplier asked fulfils a request")
            _require_open(request)
            # the supplier's own publications, read in its own unit of work
            found: list[PublishedFootprint] = []
            errors: list[FieldError] = []
            for publication_id in unique:
                publication = await repository.publication(source_db, publication_id)
                why = "no such published footprint of yours" if publication is None else _matches(request, publication)
                if why is not None:
                    errors.append(FieldError(why, field=f"publicationIds.{publication_ids.index(publication_id)}"))
                elif publication is not None:
                    found.append(publication)
            if errors:
                raise ValidationFailed(errors)
            # a PACT request from a requester shared with outside a connection has none
            connection = (
                await repository.connection(db, request.subscription_id, for_update=True)
                if request.subscription_id is not None
                else None
            )
            if request.subscription_id is not None and (
                connection is None or connection.status != SubscriptionStatus.ACTIVE
            ):
                raise NotConnected("the connection with this customer is no longer active", field="id")
            shares = await repository.live_shares_between(db, me, request.importer_tenant_id, utcnow())
            limits = [limit_of(g) for g in shares]
            uncovered = [
                p
                for p in found
                if not any(
                    lim.allows_installation(p.installation_id)
                    and lim.allows_product(p.product_id, p.cn_code)
                    and lim.allows_period(p.period_start, p.period_end)
                    for lim in limits
                )
            ]
            if uncovered:
                if connection is None:
                    raise NotConnected("footprints are shared only under a connection with this customer", field="id")
                products = list(dict.fromkeys(p.product_id for p in found))
                share = await connections.share_footprints(
                    db,
                    principal,
                    grantor=await _tenant(db, me),
                    data=connections.ShareData(
                        customer_id=request.importer_tenant_id,
                        product_ids=products,
                        period_start=request.period_start,
                        period_end=request.period_end,
                        purpose=f"footprint request {request.id}",
                    ),
                    known_products=set(products),
                )
                request.share_id = share.id
            request.status = RequestStatus.FULFILLED
            request.publication_ids = [p.id for p in found]
            request.decided_at = utcnow()
            db.add(history_entry(request, principal, "fulfilled", f"{len(found)} published footprint(s)"))
            await db.flush()
            await audit_both(
                db,
                principal,
                request,
                "footprint_request.fulfilled",
                publications=[str(p.id) for p in found],
                share=str(request.share_id) if uncovered else None,
            )
            if request.origin == RequestOrigin.PACT:
                pact_answers.answer_fulfilled(db, services, request, found)
        await emit_step(
            source_db, request, REQUEST_FULFILLED, to_supplier=False, publicationIds=[str(p.id) for p in found]
        )
    return request


async def reject_request(
    services: Services, principal: Principal, request_id: uuid.UUID, reason: str
) -> FootprintRequest:
    """The supplier refuses a request, saying why."""
    me = _require_admin(principal)
    if not reason.strip() or len(reason) > MAX_MESSAGE or "\x00" in reason:
        raise ValidationFailed([FieldError(f"1 to {MAX_MESSAGE} characters, no NUL: say why", field="reason")])
    async with source_unit(services, me) as source_db:
        async with services.db.platform() as db:
            request = await _party_request(db, principal, request_id, for_update=True)
            if request.supplier_tenant_id != me:
                raise PermissionDenied("only the supplier asked rejects a request")
            _require_open(request)
            request.status = RequestStatus.REJECTED
            request.reason = reason.strip()
            request.decided_at = utcnow()
            db.add(history_entry(request, principal, "rejected", request.reason))
            await db.flush()
            await audit_both(db, principal, request, "footprint_request.rejected", reason=request.reason)
            if request.origin == RequestOrigin.PACT:
                pact_answers.answer_rejected(db, services, request, request.reason)
        await emit_step(source_db, request, REQUEST_REJECTED, to_supplier=False, reason=request.reason)
    return request


# --- reads -----------------------------------------------------------------------------------------------


async def list_requests(
    db: AsyncSession,
    principal: Principal,
    *,
    incoming: bool,
    status: RequestStatus | None = None,
    supplier_id: uuid.UUID | None = None,
) -> list[FootprintRequest]:
    """Requests the organisation made (``incoming`` False; one supplier's with ``supplier_id``) or
    received (``incoming`` True), newest first."""
    me = _require_reader(principal)
    if incoming:
        return await repository.footprint_requests(db, supplier_id=me, status=status)
    return await repository.footprint_requests(db, importer_id=me, supplier_id=supplier_id, status=status)


async def get_request(db: AsyncSession, principal: Principal, request_id: uuid.UUID) -> RequestWithHistory:
    """One request the organisation made or received, with its history."""
    _require_reader(principal)
    request = await _party_request(db, principal, request_id)
    return RequestWithHistory(request, await repository.request_entries(db, [request.id]))


async def histories(db: AsyncSession, requests: list[FootprintRequest]) -> dict[uuid.UUID, list[FootprintRequestEntry]]:
    """The history of requests the caller was given by ``list_requests``, by request."""
    found: dict[uuid.UUID, list[FootprintRequestEntry]] = {r.id: [] for r in requests}
    for entry in await repository.request_entries(db, list(found)):
        found[entry.request_id].append(entry)
    return found


# --- reminders -------------------------------------------------------------------------------------------


def reminder_kind(due: date, today: date) -> str | None:
    if due == today:
        return REMINDER_DUE_TODAY
    if today < due <= today + DUE_SOON:
        return REMINDER_DUE_SOON
    return None


async def send_reminders(services: Services, now: datetime) -> dict[str, int]:
    """Remind suppliers of open requests due within three days, and on the due date: one reminder per
    request and kind, however often this runs. One unit of work per request: a failure stays its own."""
    today = now.date()
    async with services.db.platform_session() as session:
        due = await repository.open_requests_due_by(session, today, today + DUE_SOON)
    sent = failed = 0
    for candidate in due:
        kind = reminder_kind(candidate.due_date, today)
        if kind is None:
            continue
        try:
            if await _remind(services, candidate.id, candidate.importer_tenant_id, kind):
                sent += 1
        except Exception as exc:  # one request's failure must not stop the others
            failed += 1
            get_logger(__name__).error("requests.reminder_failed", request=str(candidate.id), reason=repr(exc))
    return {"sent": sent, "failed": failed}


async def _remind(services: Services, request_id: uuid.UUID, importer_id: uuid.UUID, kind: str) -> bool:
    actor = Principal.system("requests.remind", importer_id)
    async with source_unit(services, importer_id) as source_db:
        async with services.db.platform() as db:
            request = await repository.footprint_request(db, request_id, for_update=True)
            if request is None or request.status != RequestStatus.REQUESTED:
                return False
            entry = history_entry(request, actor, "reminded", f"due {request.due_date.isoformat()}")
            entry.actor_tenant_id = None  # the platform reminds, not the importer's people
            entry.reminder = kind
            entry.id = new_id()
            if not await repository.add_reminder_entry(db, entry):
                return False
            await audit_both(db, actor, request, "footprint_request.reminded", reminder=kind)
        await emit_step(source_db, request, REQUEST_REMINDER, to_supplier=True, reminder=kind)
    return True
