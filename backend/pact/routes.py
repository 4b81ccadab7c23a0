"""The PACT v3 host's REST actions under ``/3``: ListFootprints, GetFootprint, Events.

Every action takes a Bearer access token of the OAuth2 client-credentials endpoint (``/auth/token``,
discoverable at ``/.well-known/openid-configuration``); errors have PACT's ``{code, message}`` shape.
The footprints come from ``source_of``: the exchange's publications shared with the caller.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from litestar import Controller, Request, Response, Router, get, post
from litestar.exceptions import HTTPException

from backend.api.auth import principal_from_bearer, services_of
from backend.api.problems import pact_domain_error_handler, pact_http_error_handler, pact_unexpected_error_handler
from backend.errors import DomainError, Unauthenticated
from backend.identity.principal import Principal
from backend.pact import service
from backend.pact.errors import FootprintNotFound, InvalidEvent
from backend.pact.filters import parse_list_query
from backend.pact.source import FootprintSource, PublishedFootprintSource
from backend.services import Services

EVENTS_MAX_BODY_BYTES = 256 * 1024
EVENT_MEDIA_TYPES = ("application/cloudevents+json", "application/json")
CBAM_EXTENSION_SCHEMA = Path(__file__).parent / "schema" / "cbam-extension-1.0.0.schema.json"


def source_of(services: Services) -> FootprintSource:
    """Where published footprints come from: the exchange's publications, shared through live shares."""
    return PublishedFootprintSource(services)


async def pact_principal(request: Request[Any, Any, Any]) -> Principal:
    """The client of the request's Bearer token; PACT hosts authenticate every call (no sessions)."""
    authorization = request.headers.get("authorization")
    if not authorization:
        raise Unauthenticated("send an access token: Authorization: Bearer <token> (from /auth/token)")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("use a Bearer access token")
    return await principal_from_bearer(services_of(request), token.strip())


def next_link(request: Request[Any, Any, Any], cursor: str) -> str:
    """RFC 8288 ``Link`` to the next page: absolute, on the request's own host, the query with the cursor."""
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "cursor"]
    params.append(("cursor", cursor))
    url = request.url
    return f'<{url.scheme}://{url.netloc}{url.path}?{urlencode(params)}>; rel="next"'


class FootprintsController(Controller):
    path = "/"
    tags = ["pact"]

    @get("/footprints", operation_id="PactListFootprints")
    async def list_footprints(self, request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
        """ListFootprints: the footprints shared with the caller meeting the filters, with a next-page Link."""
        principal = await pact_principal(request)
        services = services_of(request)
        query = parse_list_query(list(request.query_params.multi_items()))
        page = await service.list_footprints(
            source_of(services), principal, query, service.Host.of(services.settings.public_url)
        )
        headers = {"Link": next_link(request, page.next_cursor.encode())} if page.next_cursor else None
        return Response({"data": page.footprints}, headers=headers)

    @get("/footprints/{footprint_id:str}", operation_id="PactGetFootprint")
    async def get_footprint(self, request: Request[Any, Any, Any], footprint_id: str) -> dict[str, Any]:
        """GetFootprint: one footprint shared with the caller, deprecated ones too."""
        principal = await pact_principal(request)
        services = services_of(request)
        try:
            pf_id = uuid.UUID(footprint_id)
        except ValueError:
            # a footprint id is a UUID: anything else names no footprint
            raise FootprintNotFound("no footprint of this id", field="id")
        footprint = await service.get_footprint(
            source_of(services), principal, pf_id, service.Host.of(services.settings.public_url)
        )
        return {"data": footprint}

    @post("/events", operation_id="PactEvents", status_code=200, request_max_body_size=EVENTS_MAX_BODY_BYTES)
    async def events(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        """Events: a RequestCreatedEvent is stored for the data owners it addresses; a PublishedEvent,
        RequestFulfilledEvent or RequestRejectedEvent in the inbox of the client's organisation (200, empty body)."""
        principal = await pact_principal(request)
        media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media_type not in EVENT_MEDIA_TYPES:
            raise InvalidEvent("send the event as application/cloudevents+json (structured mode)", field="content-type")
        try:
            body = json.loads(await request.body())
        except (ValueError, UnicodeDecodeError):
            raise InvalidEvent("the body is not JSON")
        await service.receive_event(services_of(request), principal, body)
        return Response(b"", status_code=200, media_type="text/plain")

    @get("/extensions/cbam/1.0.0/schema.json", operation_id="PactCbamExtensionSchema")
    async def cbam_extension_schema(self) -> Response[bytes]:
        """The JSON schema of the CBAM data-model extension (public: the footprints name it as dataSchema)."""
        return Response(
            CBAM_EXTENSION_SCHEMA.read_bytes(),
            media_type="application/schema+json",
            headers={"Cache-Control": "public, max-age=3600"},
        )


pact_router = Router(
    path="/3",
    route_handlers=[FootprintsController],
    exception_handlers={
        DomainError: pact_domain_error_handler,
        HTTPException: pact_http_error_handler,
        Exception: pact_unexpected_error_handler,
    },
)
