"""Webhooks: endpoints, signed CloudEvents to a real HTTP receiver, retries, the delivery log, replays."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

import pytest

from backend.feeds import FOOTPRINT_PUBLISHED, REQUEST_CREATED, REQUEST_REJECTED
from backend.feeds.signing import verify_signature
from backend.identity.models import MembershipRole
from tests.factories.feeds import client_pk, emit_event
from tests.factories.jobs import work_off_queue
from tests.factories.receiver import Receiver, free_port
from tests.factories.tenants import Bearer, add_person, client_token, login, make_client, make_tenant
from tests.integration.feeds.conftest import with_settings
from tests.operations import operation


def gid(type_name: str, value: object) -> str:
    return base64.b64encode(f"{type_name}:{value}".encode()).decode()


async def register(session: Any, url: str, **fields: Any) -> tuple[dict[str, Any], str]:
    body = await session.gql(operation("CreateWebhookEndpoint"), {"input": {"url": url, **fields}})
    payload = body["data"]["createWebhookEndpoint"]
    assert payload["errors"] == [], payload
    return payload["endpoint"], payload["secret"]


async def deliveries(session: Any, endpoint_id: str, **variables: Any) -> list[dict[str, Any]]:
    body = await session.gql(operation("WebhookDeliveries"), {"endpointId": endpoint_id, **variables})
    assert not body.get("errors"), body
    return [edge["node"] for edge in body["data"]["webhookDeliveries"]["edges"]]


async def endpoint_state(session: Any, endpoint_id: str) -> dict[str, Any]:
    body = await session.gql(operation("WebhookEndpoint"), {"id": endpoint_id})
    assert not body.get("errors"), body
    return body["data"]["webhookEndpoint"]


def unique_by_webhook_id(receiver: Receiver) -> dict[str, dict[str, Any]]:
    return {r.headers["webhook-id"]: json.loads(r.body) for r in receiver.received}


async def test_events_reach_a_receiver_that_was_down_at_first_each_once_signed_as_cloudevents(services, http):
    # given: B registers an endpoint whose receiver is not listening yet; retries after 1.5 s
    with_settings(services, webhook_retry_delays_s=[1.5])
    a, b = await make_tenant(services), await make_tenant(services)
    session = await login(http, b.email)
    receiver = Receiver(free_port())
    endpoint, secret = await register(session, receiver.url, description="ERP inbox")
    assert endpoint["state"] == "ENABLED" and secret.startswith("whsec_")
    events = [
        await emit_event(services, a, b, subject="footprint/1", data={"footprintId": "1"}),
        await emit_event(services, a, b, type=REQUEST_CREATED, subject="request/2"),
        await emit_event(services, a, b, type=REQUEST_REJECTED, subject="request/3"),
    ]
    try:
        # when: the first attempts find nobody listening
        await work_off_queue(services, horizon_s=0)
        first_log = await deliveries(session, endpoint["id"])
        # and then the receiver comes up, and the retries are due
        await receiver.start()
        await work_off_queue(services, horizon_s=5)
    finally:
        await receiver.stop()
    # then: the first attempt of each delivery failed and is logged with its error and the next attempt
    assert len(first_log) == 3
    for delivery in first_log:
        assert delivery["state"] == "PENDING"
        assert [a["attempt"] for a in delivery["attempts"]] == [1]
        assert delivery["attempts"][0]["statusCode"] is None
        assert "ConnectError" in delivery["attempts"][0]["error"]
        assert delivery["attempts"][0]["nextAttemptAt"] is not None
    # and every event arrived, once by webhook-id, signed, as a CloudEvents 1.0 envelope
    arrived = unique_by_webhook_id(receiver)
    assert sorted(arrived) == sorted(str(e) for e in events)
    assert len(receiver.received) == 3
    for message in receiver.received:
        verify_signature(secret, message.headers, message.body)
        assert message.headers["content-type"] == "application/cloudevents+json; charset=utf-8"
        assert message.path == "/hooks/cbamx"
    first = arrived[str(events[0])]
    assert first == {
        "specversion": "1.0",
        "id": str(events[0]),
        "source": f"http://testserver/organizations/{a.id}",
        "type": FOOTPRINT_PUBLISHED,
        "subject": "footprint/1",
        "time": first["time"],
        "datacontenttype": "application/json",
        "data": {"footprintId": "1"},
    }
    assert first["time"].endswith("Z")
    # and the delivery log shows both attempts
    log = await deliveries(session, endpoint["id"])
    assert {d["state"] for d in log} == {"DELIVERED"}
    for delivery in log:
        assert [(a["attempt"], a["statusCode"]) for a in delivery["attempts"]] == [(1, None), (2, 200)]
        assert delivery["attempts"][1]["error"] is None
        assert delivery["attempts"][1]["nextAttemptAt"] is None
        assert delivery["attempts"][1]["durationMilliseconds"] >= 0
        assert delivery["deliveredAt"] is not None
    assert (await endpoint_state(session, endpoint["id"]))["lastSuccessAt"] is not None


async def test_a_replayed_event_arrives_again_with_the_same_webhook_id(services, http):
    # given: one event delivered
    a, b = await make_tenant(services), await make_tenant(services)
    session = await login(http, b.email)
    receiver = Receiver(free_port())
    await receiver.start()
    try:
        endpoint, secret = await register(session, receiver.url)
        event = await emit_event(services, a, b)
        await work_off_queue(services)
        # when: it is replayed by its id
        body = await session.gql(
            operation("ReplayFeedEvent"), {"input": {"endpointId": endpoint["id"], "eventId": str(event)}}
        )
        await work_off_queue(services)
    finally:
        await receiver.stop()
    # then: a second delivery, marked as a replay of the first, carries the same webhook-id
    payload = body["data"]["replayFeedEvent"]
    assert payload["errors"] == []
    assert [r.headers["webhook-id"] for r in receiver.received] == [str(event), str(event)]
    assert receiver.received[0].body == receiver.received[1].body
    for message in receiver.received:
        verify_signature(secret, message.headers, message.body)
    log = await deliveries(session, endpoint["id"])
    assert [d["state"] for d in log] == ["DELIVERED", "DELIVERED"]
    assert log[0]["replayOf"] == log[1]["id"]
    # and the global id of the event works as well as its bare id
    again = await session.gql(
        operation("ReplayFeedEvent"), {"input": {"endpointId": endpoint["id"], "eventId": gid("FeedEvent", event)}}
    )
    assert again["data"]["replayFeedEvent"]["errors"] == []


async def test_a_failing_receiver_is_retried_by_the_schedule_then_the_endpoint_fails_and_failed_events_replay(
    services, http
):
    # given: a retry window of one and a half seconds
    with_settings(services, webhook_retry_delays_s=[0.1, 0.2], webhook_retry_window_s=1.5)
    a, b = await make_tenant(services), await make_tenant(services)
    session = await login(http, b.email)
    receiver = Receiver(free_port(), status=503)
    await receiver.start()
    started = datetime.now(UTC)
    try:
        endpoint, secret = await register(session, receiver.url)
        events = [await emit_event(services, a, b) for _ in range(2)]
        # when: the receiver answers 503 for the whole window
        await work_off_queue(services, horizon_s=5)
        failed_log = await deliveries(session, endpoint["id"])
        failed_endpoint = await endpoint_state(session, endpoint["id"])
        refused = await session.gql(
            operation("ReplayFailedDeliveries"),
            {"input": {"endpointId": endpoint["id"], "since": started.isoformat()}},
        )
        # and then it recovers, the endpoint is enabled again and the failed events are replayed
        receiver.status = 200
        enabled = await session.gql(
            operation("UpdateWebhookEndpoint"), {"input": {"id": endpoint["id"], "enabled": True}}
        )
        replay = await session.gql(
            operation("ReplayFailedDeliveries"),
            {"input": {"endpointId": endpoint["id"], "since": started.isoformat()}},
        )
        await work_off_queue(services)
    finally:
        await receiver.stop()
    # then: each delivery was tried on the schedule, with the status in its log, until the window ended
    assert {d["state"] for d in failed_log} == {"FAILED"}
    for delivery in failed_log:
        attempts = delivery["attempts"]
        assert len(attempts) >= 2
        assert {a["statusCode"] for a in attempts} == {503}
        assert attempts[0]["error"] == "HTTP 503: receiver is failing"
        assert all(a["nextAttemptAt"] for a in attempts[:-1])
        # the last attempt ended the window, or the endpoint failed (by the other delivery) before the next
        if attempts[-1]["nextAttemptAt"] is not None:
            assert delivery["lastError"] == "the endpoint was switched off before this delivery succeeded"
        gaps = [
            (datetime.fromisoformat(y["attemptedAt"]) - datetime.fromisoformat(x["attemptedAt"])).total_seconds()
            for x, y in pairwise(attempts)
        ]
        assert gaps[0] >= 0.1 and all(g >= 0.2 for g in gaps[1:])
    assert any(d["attempts"][-1]["nextAttemptAt"] is None for d in failed_log)
    # and the endpoint was switched off with a clear reason
    assert failed_endpoint["state"] == "FAILED"
    assert "retry window" in failed_endpoint["stateReason"] and "replay" in failed_endpoint["stateReason"]
    # and replaying to a failed endpoint is refused, naming it
    assert refused["data"]["replayFailedDeliveries"]["errors"][0]["code"] == "WEBHOOK_ENDPOINT_NOT_ENABLED"
    assert refused["data"]["replayFailedDeliveries"]["errors"][0]["field"] == "endpointId"
    # and after enabling, both failed events were delivered, signed
    assert enabled["data"]["updateWebhookEndpoint"]["endpoint"]["state"] == "ENABLED"
    assert len(replay["data"]["replayFailedDeliveries"]["deliveries"]) == 2
    ok = [r for r in receiver.received if r.headers["webhook-id"] in {str(e) for e in events}]
    delivered_ids = {r.headers["webhook-id"] for r in ok if r is not None}
    assert delivered_ids == {str(e) for e in events}
    for message in receiver.received:
        verify_signature(secret, message.headers, message.body)
    states = [d["state"] for d in await deliveries(session, endpoint["id"])]
    assert sorted(states) == ["DELIVERED", "DELIVERED", "FAILED", "FAILED"]
    only_failed = await deliveries(session, endpoint["id"], state="FAILED")
    assert len(only_failed) == 2


async def test_an_endpoint_receives_only_the_types_it_names_and_a_disabled_one_nothing(services, http):
    a, b = await make_tenant(services), await make_tenant(services)
    session = await login(http, b.email)
    receiver = Receiver(free_port())
    await receiver.start()
    try:
        requests, _ = await register(session, receiver.url, eventTypes=[REQUEST_CREATED])
        off, _ = await register(session, receiver.url + "/off")
        update = await session.gql(operation("UpdateWebhookEndpoint"), {"input": {"id": off["id"], "enabled": False}})
        await emit_event(services, a, b)
        wanted = await emit_event(services, a, b, type=REQUEST_CREATED)
        await work_off_queue(services)
    finally:
        await receiver.stop()
    assert update["data"]["updateWebhookEndpoint"]["endpoint"]["state"] == "DISABLED"
    assert "disabled by" in update["data"]["updateWebhookEndpoint"]["endpoint"]["stateReason"]
    assert [(r.path, r.headers["webhook-id"]) for r in receiver.received] == [("/hooks/cbamx", str(wanted))]
    assert await deliveries(session, off["id"]) == []
    assert len(await deliveries(session, requests["id"])) == 1


async def test_the_secret_is_shown_once_and_after_a_rotation_both_secrets_sign_for_a_while(services, http):
    a, b = await make_tenant(services), await make_tenant(services)
    session = await login(http, b.email)
    receiver = Receiver(free_port())
    await receiver.start()
    try:
        endpoint, old = await register(session, receiver.url)
        listed = await session.gql(operation("WebhookEndpoints"))
        rotated = await session.gql(operation("RotateWebhookEndpointSecret"), {"input": {"id": endpoint["id"]}})
        await emit_event(services, a, b)
        await work_off_queue(services)
    finally:
        await receiver.stop()
    assert old not in json.dumps(listed)
    new = rotated["data"]["rotateWebhookEndpointSecret"]["secret"]
    assert new.startswith("whsec_") and new != old
    until = rotated["data"]["rotateWebhookEndpointSecret"]["endpoint"]["previousSecretExpiresAt"]
    assert datetime.fromisoformat(until) > datetime.now(UTC) + timedelta(hours=23)
    (message,) = receiver.received
    assert len(message.headers["webhook-signature"].split(" ")) == 2
    verify_signature(old, message.headers, message.body)
    verify_signature(new, message.headers, message.body)


@pytest.mark.parametrize(
    ("fields", "field", "reason"),
    [
        ({"url": "ftp://example.com/hook"}, "url", "https://"),
        ({"url": "http://example.com/hook"}, "url", "localhost only"),
        ({"url": "not a url"}, "url", "https://"),
        ({"url": "https://user:pw@example.com/hook"}, "url", "user name"),
        ({"url": "https://169.254.169.254/latest"}, "url", "link-local"),
        ({"url": "https://example.com/" + "x" * 2000}, "url", "2000"),
        ({"url": "https://example.com/hook", "eventTypes": ["cbamx.footprint.eaten"]}, "eventTypes.0", "unknown"),
        ({"url": "https://example.com/hook", "description": "d" * 301}, "description", "300"),
    ],
)
async def test_registering_refuses_bad_input_naming_the_field_and_stores_nothing(services, http, fields, field, reason):
    b = await make_tenant(services)
    session = await login(http, b.email)
    body = await session.gql(operation("CreateWebhookEndpoint"), {"input": fields})
    payload = body["data"]["createWebhookEndpoint"]
    assert payload["endpoint"] is None and payload["secret"] is None
    assert payload["errors"][0]["field"] == field and reason in payload["errors"][0]["message"], payload
    assert (await session.gql(operation("WebhookEndpoints")))["data"]["webhookEndpoints"] == []


async def test_unknown_endpoints_and_events_are_refused_naming_the_field(services, http):
    b = await make_tenant(services)
    session = await login(http, b.email)
    endpoint, _ = await register(session, "https://example.com/hook")
    unknown = gid("WebhookEndpoint", uuid.uuid4())
    cases = [
        ("UpdateWebhookEndpoint", {"input": {"id": unknown, "description": "x"}}, "id", "WEBHOOK_ENDPOINT_NOT_FOUND"),
        ("RotateWebhookEndpointSecret", {"input": {"id": unknown}}, "id", "WEBHOOK_ENDPOINT_NOT_FOUND"),
        (
            "ReplayFeedEvent",
            {"input": {"endpointId": unknown, "eventId": str(uuid.uuid4())}},
            "endpointId",
            "WEBHOOK_ENDPOINT_NOT_FOUND",
        ),
        (
            "ReplayFeedEvent",
            {"input": {"endpointId": endpoint["id"], "eventId": str(uuid.uuid4())}},
            "eventId",
            "FEED_EVENT_NOT_FOUND",
        ),
        (
            "ReplayFeedEvent",
            {"input": {"endpointId": endpoint["id"], "eventId": "nonsense"}},
            "eventId",
            "INVALID",
        ),
        (
            "ReplayFailedDeliveries",
            {"input": {"endpointId": unknown, "since": "2026-01-01T00:00:00Z"}},
            "endpointId",
            "WEBHOOK_ENDPOINT_NOT_FOUND",
        ),
        (
            "UpdateWebhookEndpoint",
            {"input": {"id": endpoint["id"], "eventTypes": ["cbamx.x"]}},
            "eventTypes.0",
            "INVALID",
        ),
        ("UpdateWebhookEndpoint", {"input": {"id": endpoint["id"], "url": "http://a.example"}}, "url", "INVALID"),
    ]
    for name, variables, field, code in cases:
        body = await session.gql(operation(name), variables)
        errors = next(iter(body["data"].values()))["errors"]
        assert (errors[0]["field"], errors[0]["code"]) == (field, code), (name, body)
    for name, variables, field in [
        ("WebhookEndpoint", {"id": unknown}, "id"),
        ("WebhookDeliveries", {"endpointId": unknown}, "endpointId"),
        ("WebhookDeliveries", {"endpointId": endpoint["id"], "after": "bm9wZQ=="}, "after"),
    ]:
        body = await session.gql(operation(name), variables)
        assert body["errors"][0]["extensions"]["field"] == field, (name, body)
    # and the endpoint is unchanged
    assert (await endpoint_state(session, endpoint["id"]))["url"] == "https://example.com/hook"


async def test_another_organisation_never_receives_nor_replays_an_organisations_events(services, http):
    # given: C has an endpoint of its own, B's event was delivered to B's endpoint
    a, b, c = [await make_tenant(services) for _ in range(3)]
    b_session, c_session = await login(http, b.email), await login(http, c.email)
    receiver = Receiver(free_port())
    await receiver.start()
    try:
        b_endpoint, _ = await register(b_session, receiver.url + "/b")
        c_endpoint, _ = await register(c_session, receiver.url + "/c")
        event_b = await emit_event(services, a, b)
        await work_off_queue(services)
        # when: C replays B's event to its own endpoint, and reaches for B's endpoint and log
        replay = await c_session.gql(
            operation("ReplayFeedEvent"), {"input": {"endpointId": c_endpoint["id"], "eventId": str(event_b)}}
        )
        b_log_for_c = await c_session.gql(operation("WebhookDeliveries"), {"endpointId": b_endpoint["id"]})
        replay_to_b = await c_session.gql(
            operation("ReplayFailedDeliveries"),
            {"input": {"endpointId": b_endpoint["id"], "since": "2026-01-01T00:00:00Z"}},
        )
        await work_off_queue(services)
    finally:
        await receiver.stop()
    # then: only B's receiver path got B's event, once
    assert [(r.path, r.headers["webhook-id"]) for r in receiver.received] == [("/hooks/cbamx/b", str(event_b))]
    assert replay["data"]["replayFeedEvent"]["errors"][0]["code"] == "FEED_EVENT_NOT_FOUND"
    assert b_log_for_c["errors"][0]["extensions"]["code"] == "WEBHOOK_ENDPOINT_NOT_FOUND"
    assert replay_to_b["data"]["replayFailedDeliveries"]["errors"][0]["code"] == "WEBHOOK_ENDPOINT_NOT_FOUND"
    assert await deliveries(c_session, c_endpoint["id"]) == []
    assert [e["id"] for e in (await c_session.gql(operation("WebhookEndpoints")))["data"]["webhookEndpoints"]] == [
        c_endpoint["id"]
    ]


async def test_an_endpoint_of_a_machine_client_receives_its_events_and_is_that_clients_alone(services, http):
    # given: two machine clients of B; "one" registers an endpoint
    a, b = await make_tenant(services), await make_tenant(services)
    one = await make_client(services, b, ["feeds:read", "feeds:write"])
    other = await make_client(services, b, ["feeds:read", "feeds:write"])
    one_session = Bearer(http, await client_token(http, *one))
    other_session = Bearer(http, await client_token(http, *other))
    receiver = Receiver(free_port())
    await receiver.start()
    try:
        endpoint, _ = await register(one_session, receiver.url)
        for_one = await emit_event(services, a, b, client_pk=await client_pk(services, one[0]))
        await emit_event(services, a, b, client_pk=await client_pk(services, other[0]))
        for_all = await emit_event(services, a, b)
        await work_off_queue(services)
        # when: the other client reaches for it
        listed_by_other = await other_session.gql(operation("WebhookEndpoints"))
        changed_by_other = await other_session.gql(
            operation("UpdateWebhookEndpoint"), {"input": {"id": endpoint["id"], "enabled": False}}
        )
        listed_by_owner = await (await login(http, b.email)).gql(operation("WebhookEndpoints"))
    finally:
        await receiver.stop()
    # then: it received the organisation's event and its own, not the other client's
    assert sorted(r.headers["webhook-id"] for r in receiver.received) == sorted([str(for_one), str(for_all)])
    assert endpoint["boundToClient"] is True
    assert listed_by_other["data"]["webhookEndpoints"] == []
    assert changed_by_other["data"]["updateWebhookEndpoint"]["errors"][0]["code"] == "WEBHOOK_ENDPOINT_NOT_FOUND"
    assert [e["id"] for e in listed_by_owner["data"]["webhookEndpoints"]] == [endpoint["id"]]


async def test_a_viewer_reads_endpoints_but_cannot_register_one(services, http):
    b = await make_tenant(services)
    email, _ = await add_person(services, b, MembershipRole.VIEWER)
    viewer = await login(http, email)
    body = await viewer.gql(operation("CreateWebhookEndpoint"), {"input": {"url": "https://example.com/hook"}})
    assert body["data"]["createWebhookEndpoint"]["errors"][0]["code"] == "PERMISSION_DENIED"
    assert (await viewer.gql(operation("WebhookEndpoints")))["data"]["webhookEndpoints"] == []
