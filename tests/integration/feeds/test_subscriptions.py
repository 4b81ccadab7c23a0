"""GraphQL subscriptions: feedEvents over graphql-transport-ws, authenticated and scoped like HTTP."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from typing import Any

import pytest
import websockets

from backend.feeds import FOOTPRINT_PUBLISHED, REQUEST_CREATED
from backend.feeds.live import channel
from tests.factories.feeds import client_pk, emit_event
from tests.factories.jobs import work_off_queue
from tests.factories.live_server import GraphQLSocket, graphql_socket, live_server
from tests.factories.tenants import client_token, login, make_client, make_tenant
from tests.operations import operation

log = logging.getLogger(__name__)


async def subscribers(services: Any, tenant_id: uuid.UUID, count: int) -> None:
    """Wait until ``count`` subscriptions listen on the organisation's channel."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        ((_, listening),) = await services.redis.pubsub_numsub(channel(tenant_id))
        if listening >= count:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the subscription did not start listening")


async def token_for(services: Any, http: Any, tenant: Any, scopes: list[str]) -> tuple[str, str]:
    client_id, secret = await make_client(services, tenant, scopes)
    return client_id, await client_token(http, client_id, secret)


async def acked(socket: GraphQLSocket) -> GraphQLSocket:
    assert (await socket.receive())["type"] == "connection_ack"
    return socket


async def test_a_subscriber_receives_its_new_event_within_two_seconds(services, http, app):
    # given: a machine client of B subscribed to its feed
    a, b = await make_tenant(services), await make_tenant(services)
    _, token = await token_for(services, http, b, ["feeds:read"])
    async with live_server(app) as url, graphql_socket(url, {"authorization": f"Bearer {token}"}) as socket:
        await acked(socket)
        await socket.subscribe(operation("FeedEventsLive"))
        await subscribers(services, b.id, 1)
        # when: A emits an event to B and its fan-out runs
        event = await emit_event(services, a, b, subject="footprint/42", data={"footprintId": "42"})
        committed = time.perf_counter()
        arrival = asyncio.ensure_future(socket.receive())
        await work_off_queue(services)
        message = await arrival
        elapsed = time.perf_counter() - committed
    # then
    log.warning("feed subscription: event received %.3f s after its commit", elapsed)
    print(f"feed subscription: event received {elapsed:.3f} s after its commit")
    assert elapsed < 10  # the target is 2 s; the bound only catches a failure on a loaded machine
    assert message["type"] == "next" and message["id"] == "1"
    node = message["payload"]["data"]["feedEvents"]
    assert node["eventId"] == str(event)
    assert (node["type"], node["subject"], node["data"]) == (FOOTPRINT_PUBLISHED, "footprint/42", {"footprintId": "42"})


async def test_subscribers_get_their_own_events_only_by_organisation_client_and_type(services, http, app):
    # given: subscribers of B (two clients, one filtering by type) and of C
    a, b, c = [await make_tenant(services) for _ in range(3)]
    one_id, one = await token_for(services, http, b, ["feeds:read"])
    _, other = await token_for(services, http, b, ["feeds:read"])
    _, typed = await token_for(services, http, b, ["feeds:read"])
    _, c_token = await token_for(services, http, c, ["feeds:read"])
    async with (
        live_server(app) as url,
        graphql_socket(url, {"authorization": f"Bearer {one}"}) as s_one,
        graphql_socket(url, {"authorization": f"Bearer {other}"}) as s_other,
        graphql_socket(url, {"Authorization": f"Bearer {typed}"}) as s_typed,
        graphql_socket(url, {"authorization": f"Bearer {c_token}"}) as s_c,
    ):
        for socket in (s_one, s_other, s_c):
            await (await acked(socket)).subscribe(operation("FeedEventsLive"))
        await (await acked(s_typed)).subscribe(operation("FeedEventsLive"), {"types": [REQUEST_CREATED]})
        await subscribers(services, b.id, 3)
        await subscribers(services, c.id, 1)
        # when: an event for B's client "one" only, one for all of B, one request for B, then one for C
        for_one = await emit_event(services, a, b, client_pk=await client_pk(services, one_id))
        for_b = await emit_event(services, a, b)
        request = await emit_event(services, a, b, type=REQUEST_CREATED)
        for_c = await emit_event(services, a, c)
        await work_off_queue(services)

        async def ids(socket: GraphQLSocket, count: int) -> list[str]:
            return [(await socket.receive())["payload"]["data"]["feedEvents"]["eventId"] for _ in range(count)]

        # then: each hears what is addressed to it (fan-outs run in parallel: in any order), nothing else
        assert sorted(await ids(s_one, 3)) == sorted([str(for_one), str(for_b), str(request)])
        assert sorted(await ids(s_other, 2)) == sorted([str(for_b), str(request)])
        assert await ids(s_typed, 1) == [str(request)]
        assert await ids(s_c, 1) == [str(for_c)]
        for socket in (s_one, s_other, s_typed, s_c):
            with pytest.raises(TimeoutError):
                await socket.receive(timeout_s=0.3)


async def test_a_portal_session_subscribes_from_its_own_origin_only(services, http, app):
    a, b = await make_tenant(services), await make_tenant(services)
    session = await login(http, b.email)
    cookie = {"Cookie": f"cbamx_session={session.cookies.get('cbamx_session')}"}
    async with live_server(app) as url:
        # a page of another site opening a WebSocket with the person's cookie is refused
        with pytest.raises(websockets.InvalidStatus) as refused:
            async with graphql_socket(url, headers={**cookie, "Origin": "https://evil.example"}):
                pass
        assert refused.value.response.status_code == 403
        # the portal's own pages are not
        own_origin = url.replace("ws://", "http://").removesuffix("/graphql")
        async with graphql_socket(url, headers={**cookie, "Origin": own_origin}) as socket:
            await acked(socket)
            await socket.subscribe(operation("FeedEventsLive"))
            await subscribers(services, b.id, 1)
            event = await emit_event(services, a, b)
            await work_off_queue(services)
            assert (await socket.receive())["payload"]["data"]["feedEvents"]["eventId"] == str(event)


@pytest.mark.parametrize(
    "payload", [{}, {"authorization": "Bearer not-a-token"}, {"authorization": "Basic abc"}, {"authorization": ""}]
)
async def test_a_connection_without_valid_credentials_is_closed(services, app, payload):
    async with live_server(app) as url, graphql_socket(url, payload) as socket:
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await socket.receive()
    assert closed.value.rcvd.code == 4403


async def test_a_subscription_is_refused_without_the_feed_scope_or_with_an_unknown_type(services, http, app):
    b = await make_tenant(services)
    _, no_scope = await token_for(services, http, b, ["site:read"])
    _, token = await token_for(services, http, b, ["feeds:read"])
    async with live_server(app) as url:
        async with graphql_socket(url, {"authorization": f"Bearer {no_scope}"}) as socket:
            await (await acked(socket)).subscribe(operation("FeedEventsLive"))
            refused = await socket.receive()
        async with graphql_socket(url, {"authorization": f"Bearer {token}"}) as socket:
            await (await acked(socket)).subscribe(operation("FeedEventsLive"), {"types": ["cbamx.nothing"]})
            unknown = await socket.receive()
    # then: the subscription ends with an error that names its code and field, as query errors do
    expected = ((refused, "PERMISSION_DENIED", None), (unknown, "VALIDATION_FAILED", "types.0"))
    for message, code, field in expected:
        errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
        assert (errors[0]["extensions"]["code"], errors[0]["extensions"]["field"]) == (code, field), message
