"""The PACT v3 actions: ListFootprints, GetFootprint and Events, for a reader of one tenant.

Readers need ``footprints:read``; what they see is what the ``FootprintSource`` gives them. A
RequestCreatedEvent goes to each organisation it names (``companyId``) that shares footprints with the
requester through a live grant, or to every such organisation when it names none; each gets it once as
an exchange data request (``backend.pact.answers``), recorded in both audit trails.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from backend.exchange.service import MAX_LISTED
from backend.identity.principal import Principal
from backend.pact import answers, inbox
from backend.pact.callbacks import peer_url_allowed
from backend.pact.documents import PublishedFootprint
from backend.pact.errors import FootprintNotFound, InvalidEvent, NoDataOwner, UnsupportedEvent
from backend.pact.filters import Cursor, FootprintCriteria, ListQuery, parse_event_criteria
from backend.pact.model import NotRepresentable, company_urn, product_footprint
from backend.pact.source import FootprintSource
from backend.services import Services
from backend.settings import Settings
from backend.sharing.grants import grants_received
from backend.sharing.models import ResourceKind

REQUEST_CREATED = "org.wbcsd.pact.ProductFootprint.RequestCreatedEvent.3"
V2_PREFIX = "org.wbcsd.pathfinder."
# publications read at once when criteria may leave some out (what one exchange listing returns at most)
MAX_BATCH = MAX_LISTED


@dataclass(frozen=True, slots=True)
class Host:
    """What the ProductFootprints name of this host: the product ids' issuer domain and the public URL."""

    issuer_domain: str
    base_url: str

    @classmethod
    def of(cls, public_url: str) -> Host:
        return cls(urlsplit(public_url).hostname or "localhost", public_url.rstrip("/"))


@dataclass(frozen=True, slots=True)
class FootprintPage:
    footprints: list[dict[str, Any]]
    next_cursor: Cursor | None


def require_reader(reader: Principal) -> None:
    reader.require("footprints:read")
    reader.require_tenant()


def _footprints(published: Iterable[PublishedFootprint], host: Host) -> list[dict[str, Any]]:
    out = []
    for p in published:
        try:
            out.append(product_footprint(p, issuer_domain=host.issuer_domain, base_url=host.base_url))
        except NotRepresentable:
            # a publication without the figures PACT requires (no metered production) is not exchanged
            continue
    return out


async def list_footprints(source: FootprintSource, reader: Principal, query: ListQuery, host: Host) -> FootprintPage:
    """One page of the reader's footprints meeting the criteria, newest first; footprints:read.

    The source applies what it can of the criteria and the cursor in its query; what it cannot (and a
    publication PACT cannot represent) is left out here, reading on until the page is full.
    """
    require_reader(reader)
    wanted = query.page_size + 1  # one more tells whether a next page exists
    # unfiltered, a batch of one page fills it; criteria the source cannot apply may need more rows
    batch = wanted if query.criteria == FootprintCriteria() else max(wanted, MAX_BATCH)
    after = query.cursor.position if query.cursor is not None else None
    found: list[dict[str, Any]] = []
    while len(found) < wanted:
        published = await source.list_published(reader, query.criteria, after=after, limit=batch)
        found += [f for f in _footprints(published, host) if query.criteria.matches(f)]
        if len(published) < batch:
            break
        last = published[-1]
        after = (_moment(str(last.document["publishedAt"])), uuid.UUID(str(last.document["id"])))
    page = found[: query.page_size]
    more = len(found) > len(page)
    return FootprintPage(page, Cursor(page[-1]["created"], page[-1]["id"]) if more else None)


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


async def get_footprint(
    source: FootprintSource, reader: Principal, footprint_id: uuid.UUID, host: Host
) -> dict[str, Any]:
    """One of the reader's footprints (deprecated ones too); footprints:read."""
    require_reader(reader)
    published = await source.get_published(reader, footprint_id)
    found = _footprints([published], host) if published is not None else []
    if not found:
        raise FootprintNotFound("no footprint of this id", field="id")
    return found[0]


# --- events ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Event:
    type: str
    id: str
    source: str
    time: datetime
    data: Mapping[str, Any]
    raw: dict[str, Any]  # the event as received, kept with the request


def _text(event: Mapping[str, Any], name: str) -> str:
    value = event.get(name)
    if not isinstance(value, str) or not value.strip():
        raise InvalidEvent(f"the event's {name} must be a non-empty string", field=name)
    return value


def _source(value: str, settings: Settings) -> str:
    """The requester's host, where the answer goes: an absolute URL (HTTPS where the platform runs HTTPS,
    but for a host on this machine outside production)."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.password:
        raise InvalidEvent("the event's source must be the absolute URL of your host", field="source")
    if not peer_url_allowed(value, settings):
        raise InvalidEvent("the event's source must be the absolute https URL of your host", field="source")
    return value


def parse_event(body: object, settings: Settings) -> Event:
    """A PACT v3 CloudEvent (structured mode), its envelope checked; ``InvalidEvent`` names what is wrong."""
    if not isinstance(body, Mapping):
        raise InvalidEvent("the body must be a CloudEvent: a JSON object")
    if body.get("specversion") != "1.0":
        raise InvalidEvent('the event\'s specversion must be "1.0"', field="specversion")
    kind, event_id, source = _text(body, "type"), _text(body, "id"), _text(body, "source")
    try:
        time = datetime.fromisoformat(_text(body, "time").replace("Z", "+00:00"))
    except ValueError:
        raise InvalidEvent("the event's time must be an ISO 8601 date-time", field="time")
    if time.tzinfo is None:
        raise InvalidEvent("the event's time must state its time zone", field="time")
    data = body.get("data")
    if not isinstance(data, Mapping):
        raise InvalidEvent("the event's data must be a JSON object", field="data")
    if len(event_id) > 200:
        raise InvalidEvent("the event's id is longer than 200 characters", field="id")
    if len(source) > 2000:
        raise InvalidEvent("the event's source is longer than 2000 characters", field="source")
    return Event(kind, event_id, _source(source, settings), time, data, dict(body))


async def _owners(services: Services, reader: Principal, criteria: FootprintCriteria) -> list[uuid.UUID]:
    async with services.db.platform_session() as platform:
        grants = await grants_received(platform, reader)
    sharing = sorted({g.grantor_tenant_id for g in grants if ResourceKind.FOOTPRINT.value in g.resource_kinds})
    if criteria.company_ids:
        sharing = [t for t in sharing if company_urn(str(t)) in criteria.company_ids]
    if not sharing:
        raise NoDataOwner(
            "no organisation you name shares footprints with you"
            if criteria.company_ids
            else "no organisation shares footprints with you",
            field="data.companyId" if criteria.company_ids else None,
        )
    return sharing


async def receive_event(services: Services, reader: Principal, body: object) -> list[uuid.UUID]:
    """Accept a RequestCreatedEvent: stored once in each data owner it addresses; the ids of new records.

    footprints:read (what a request asks for is footprints). Events this host does not process are
    refused with ``UnsupportedEvent``, malformed ones with ``InvalidEvent`` or ``InvalidQuery``.
    """
    require_reader(reader)
    event = parse_event(body, services.settings)
    if event.type in inbox.EVENT_TYPES:
        # an answer or a notification from a data owner: kept in the inbox of the client's organisation
        return await inbox.receive(services, reader, event)
    if event.type.startswith(V2_PREFIX):
        raise UnsupportedEvent(f"this host does not process {event.type} events", field="type")
    if event.type != REQUEST_CREATED:
        raise InvalidEvent(f"{event.type!r} is not a PACT v3 event type", field="type")
    criteria, comment = parse_event_criteria(event.data)
    received = answers.Received(event.id, event.source, event.raw, criteria, comment)
    stored: list[uuid.UUID] = []
    for owner_id in await _owners(services, reader, criteria):
        # an exchange data request of the owner, answered at once where the answer is known
        new = await answers.receive_request(services, reader, owner_id, received)
        if new is not None:
            stored.append(new)
    return stored
