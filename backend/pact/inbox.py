"""The organisation's inbox of PACT events other hosts send it through ``/3/events``.

A data owner's host answers a request of the organisation (``RequestFulfilledEvent`` with v3
ProductFootprints, ``RequestRejectedEvent`` with an error) or tells it of footprints published or changed
(``PublishedEvent`` with their ids), posting with a client of the organisation. Each is checked, kept once
per (source, event id) in the organisation's schema with who posted it, and recorded in its audit trail;
its people (members and above) list them. An answer to a request this host does not know of is kept too:
the data owner decides what it answers, the organisation reads it.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jsonschema import Draft202012Validator
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit.service import record
from backend.identity.models import MembershipRole
from backend.identity.principal import Principal
from backend.pact import inbox_repository
from backend.pact.errors import InvalidEvent
from backend.pact.inbox_models import ReceivedEventType, ReceivedPactEvent
from backend.services import Services

if TYPE_CHECKING:
    from backend.pact.service import Event

EVENT_TYPES = frozenset(t.value for t in ReceivedEventType)
PRODUCT_FOOTPRINT_SCHEMA = Path(__file__).parent / "schema" / "product-footprint-3.0.3.schema.json"
MAX_LISTED = 500


@lru_cache(maxsize=1)
def _validator() -> Draft202012Validator:
    return Draft202012Validator(json.loads(PRODUCT_FOOTPRINT_SCHEMA.read_text()))


def _path(parts: Sequence[object]) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts)


def _request_event_id(data: Mapping[str, Any]) -> str:
    value = data.get("requestEventId")
    if not isinstance(value, str) or not value.strip():
        raise InvalidEvent("data.requestEventId must name the request answered (a string)", field="data.requestEventId")
    if len(value) > 200:
        raise InvalidEvent("data.requestEventId is longer than 200 characters", field="data.requestEventId")
    return value


def _product_footprints(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    pfs = data.get("pfs")
    if not isinstance(pfs, list) or not pfs:
        raise InvalidEvent("data.pfs must be a non-empty list of v3 ProductFootprints", field="data.pfs")
    for i, pf in enumerate(pfs):
        errors = sorted(_validator().iter_errors(pf), key=lambda e: list(map(str, e.absolute_path)))
        if errors:
            first = errors[0]
            where = f"data.pfs[{i}]{_path(list(first.absolute_path))}"
            raise InvalidEvent(f"{where} is not a valid PACT v3 ProductFootprint: {first.message}", field=where)
    return [dict(pf) for pf in pfs]


def _error(data: Mapping[str, Any]) -> dict[str, str]:
    error = data.get("error")
    if not isinstance(error, Mapping):
        raise InvalidEvent("data.error must be an object with code and message", field="data.error")
    for name in ("code", "message"):
        if not isinstance(error.get(name), str) or not str(error[name]).strip():
            raise InvalidEvent(f"data.error.{name} must be a non-empty string", field=f"data.error.{name}")
    return {"code": error["code"], "message": error["message"]}


def _pf_ids(data: Mapping[str, Any]) -> list[str]:
    pf_ids = data.get("pfIds")
    if not isinstance(pf_ids, list) or not pf_ids:
        raise InvalidEvent("data.pfIds must be a non-empty list of footprint ids", field="data.pfIds")
    for i, pf_id in enumerate(pf_ids):
        try:
            uuid.UUID(pf_id)
        except (TypeError, ValueError, AttributeError):
            raise InvalidEvent(
                f"data.pfIds[{i}] must be a ProductFootprint id (a UUID), got {pf_id!r}", field=f"data.pfIds[{i}]"
            )
    return list(pf_ids)


def contents(event: Event) -> dict[str, Any]:
    """What an event carries, checked as its type demands; ``InvalidEvent`` names the member at fault."""
    kind = ReceivedEventType(event.type)
    if kind == ReceivedEventType.PUBLISHED:
        return {"pf_ids": _pf_ids(event.data), "request_event_id": None, "pfs": None, "error": None}
    request_event_id = _request_event_id(event.data)
    if kind == ReceivedEventType.REQUEST_FULFILLED:
        pfs = _product_footprints(event.data)
        return {"pf_ids": [pf["id"] for pf in pfs], "request_event_id": request_event_id, "pfs": pfs, "error": None}
    return {"pf_ids": None, "request_event_id": request_event_id, "pfs": None, "error": _error(event.data)}


async def receive(services: Services, reader: Principal, event: Event) -> list[uuid.UUID]:
    """Keep an event in the inbox of the organisation whose client posted it; the id when it is new."""
    values = contents(event)
    async with services.db.tenant(await _scope_of(services, reader)) as db:
        new = await inbox_repository.add_event(
            db,
            {
                "id": uuid.uuid4(),
                "type": event.type,
                "source": event.source,
                "event_id": event.id,
                "event_time": event.time,
                "event": event.raw,
                "client_id": reader.id,
                "client_name": reader.label[:200],
                **values,
            },
        )
        if new is None:
            return []
        await record(
            db,
            reader,
            "pact_event.received",
            "pact_received_event",
            new,
            details={"type": event.type, "event_id": event.id, "source": event.source},
        )
        return [new]


async def _scope_of(services: Services, reader: Principal) -> Any:
    return (await services.tenants.get(reader.require_tenant())).scope


async def list_received(
    db: AsyncSession, principal: Principal, type_: ReceivedEventType | None = None
) -> list[ReceivedPactEvent]:
    """The organisation's received PACT events (of one type, or all), newest first; its members and above."""
    principal.require("footprints:read")
    if principal.kind == "user":
        principal.require_role(MembershipRole.MEMBER)
    return await inbox_repository.events(db, type_, MAX_LISTED)
