"""The PACT host answers data requests at the requester's own PACT host, a real HTTP server in the test:
automatic answers, the supplier's answers through GraphQL, retries, credentials, and who sees what."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from sqlalchemy import select

from backend.audit.models import AuditEntry
from backend.feeds.signing import unseal
from backend.identity.models import MembershipRole
from backend.pact.callbacks import deliver_answer
from backend.pact.models import AnswerState, PactAnswer, PactHostCredential
from backend.services import Services
from backend.tenants.models import TenantKind
from tests.factories.exchange import gid
from tests.factories.jobs import work_off_queue
from tests.factories.pact_host import CLIENT_ID, CLIENT_SECRET, PactHost
from tests.factories.receiver import free_port
from tests.factories.tenants import add_person, login, make_tenant
from tests.integration.feeds.conftest import with_settings
from tests.integration.pact.world import CLOUDEVENTS, exporter_with_footprints, pact_reader, product_gid, share_with
from tests.operations import operation

SCHEMA = json.loads((Path(__file__).parents[3] / "backend/pact/schema/product-footprint-3.0.3.schema.json").read_text())
FULFILLED = "org.wbcsd.pact.ProductFootprint.RequestFulfilledEvent.3"
REJECTED = "org.wbcsd.pact.ProductFootprint.RequestRejectedEvent.3"
PRODUCT = "urn:pact:testserver:product-id:PRF-2990"
AUTOMATIC = "fulfilled automatically from published footprints"


@pytest.fixture(autouse=True)
def fast_answers(services: Services) -> Iterator[None]:
    original = services.settings
    with_settings(
        services,
        feed_settle_s=0.0,
        pact_answer_retry_delays_s=[0.3, 0.6],
        pact_answer_retry_window_s=3600.0,
        pact_answer_retry_jitter=0.0,
        pact_answer_timeout_s=5.0,
    )
    try:
        yield
    finally:
        services.settings = original


@pytest.fixture
async def host() -> Any:
    pact_host = PactHost(free_port())
    yield pact_host
    await pact_host.stop()


@pytest.fixture
async def world(services, http):
    exporter = await exporter_with_footprints(services, http)
    reader = await pact_reader(services, http)
    importer = await login(http, reader.tenant.email)
    return exporter, reader, importer


async def register(session: Any, host_url: str, client_id: str = CLIENT_ID, secret: str = CLIENT_SECRET) -> dict:
    body = await session.gql(
        operation("RegisterPactHostCredential"),
        {"input": {"hostUrl": host_url, "clientId": client_id, "clientSecret": secret}},
    )
    assert "errors" not in body, body
    return body["data"]["registerPactHostCredential"]


async def send_request(http, reader, host: PactHost, event_id: str, **data: Any) -> None:
    event = {
        "type": "org.wbcsd.pact.ProductFootprint.RequestCreatedEvent.3",
        "specversion": "1.0",
        "id": event_id,
        "source": host.url,
        "time": "2026-12-03T08:00:00Z",
        "data": data,
    }
    response = await http.post("/3/events", content=json.dumps(event), headers={**reader.auth, **CLOUDEVENTS})
    assert response.status_code == 200, response.text


async def incoming(session: Any) -> list[dict[str, Any]]:
    body = await session.gql(operation("IncomingPactRequests"), {})
    assert "errors" not in body, body
    return [r for r in body["data"]["incomingFootprintRequests"] if r["origin"] == "PACT"]


async def one_request(session: Any, request_id: str) -> dict[str, Any]:
    body = await session.gql(operation("PactFootprintRequest"), {"id": request_id})
    assert "errors" not in body, body
    return body["data"]["footprintRequest"]


def run_id() -> str:
    return uuid.uuid4().hex[:12]


async def test_a_request_for_a_shared_published_product_is_fulfilled_at_once(services, http, world, host):
    # given: the importer's PACT host is up and its credentials registered; the product is shared
    exporter, reader, importer = world
    await share_with(http, exporter, reader.tenant)
    registered = await register(importer, host.url + "/")
    assert registered["errors"] == [] and registered["credential"]["hostUrl"] == host.url
    assert "clientSecret" not in registered["credential"]
    await host.start()
    # when: the conformance suite's TC12, and the worker runs
    event_id = f"{run_id()}-12"
    await send_request(http, reader, host, event_id, productId=[PRODUCT])
    await work_off_queue(services, horizon_s=0)
    # then: one RequestFulfilledEvent at {source}/3/events, a valid v3 CloudEvent with the product's footprints
    (message,) = host.events
    assert message.path == "/3/events"
    assert message.headers["content-type"] == "application/cloudevents+json; charset=UTF-8"
    assert message.headers["authorization"] == "Bearer token-of-the-requesters-host"
    (token_request,) = host.token_requests
    assert token_request.headers["content-type"] == "application/x-www-form-urlencoded"
    body = json.loads(message.body)
    assert body["type"] == FULFILLED and body["specversion"] == "1.0" and body["source"] == "http://testserver"
    assert uuid.UUID(body["id"]) and body["time"].endswith("Z")
    assert body["data"]["requestEventId"] == event_id
    pfs = body["data"]["pfs"]
    assert pfs and all(PRODUCT in pf["productIds"] for pf in pfs)
    assert {pf["id"] for pf in pfs} == {exporter.publications["PRF-2990"][0]}  # the active one
    validator = Draft202012Validator(SCHEMA)
    assert [e.message for pf in pfs for e in validator.iter_errors(pf)] == []
    # and the supplier sees it in its inbox, fulfilled automatically, delivered
    (request,) = await incoming(exporter.session)
    assert request["status"] == "FULFILLED" and request["importer"]["id"] == gid("Organization", reader.tenant.id)
    assert request["pact"]["source"] == host.url and request["pact"]["eventId"] == event_id
    assert request["pact"]["clientId"] == reader.client_id
    assert request["pact"]["criteria"] == {"productId": [PRODUCT]}
    assert [h["action"] for h in request["history"]] == ["requested", "fulfilled"]
    assert request["history"][1]["note"] == AUTOMATIC
    assert request["productIds"] == [product_gid(exporter.shown)]
    answer = request["pactAnswer"]
    assert answer["state"] == "DELIVERED" and answer["eventId"] == body["id"] and answer["eventType"] == FULFILLED
    assert [(a["attempt"], a["stage"], a["statusCode"], a["error"]) for a in answer["attempts"]] == [
        (1, "event", 200, None)
    ]
    # and the importer reads the same request and log
    mine = await one_request(importer, request["id"])
    assert mine["pactAnswer"]["state"] == "DELIVERED" and mine["origin"] == "PACT"
    # and the same event again (a retry of the requester) is stored and answered once
    await send_request(http, reader, host, event_id, productId=[PRODUCT])
    await work_off_queue(services, horizon_s=0)
    assert len(host.events) == 1 and len(await incoming(exporter.session)) == 1


async def test_a_request_for_a_product_the_supplier_does_not_have_is_rejected_at_once(services, http, world, host):
    exporter, reader, importer = world
    await share_with(http, exporter, reader.tenant)
    await register(importer, host.url)
    await host.start()
    bogus = f"urn:bogus:product:{uuid.uuid4()}"
    # when: the conformance suite's TC14.A
    event_id = f"{run_id()}-14.A"
    await send_request(http, reader, host, event_id, productId=[bogus])
    await work_off_queue(services, horizon_s=0)
    # then
    (body,) = host.bodies()
    assert body["type"] == REJECTED and body["data"]["requestEventId"] == event_id
    assert body["data"]["error"]["code"] == "NotFound" and bogus in body["data"]["error"]["message"]
    assert "pfs" not in body["data"]
    (request,) = await incoming(exporter.session)
    assert request["status"] == "REJECTED" and bogus in request["reason"]
    assert request["pactAnswer"]["state"] == "DELIVERED"


async def test_a_request_waits_until_the_supplier_fulfils_it_through_graphql(services, http, world, host):
    # given: only the other product is shared, so the one asked for is not answered at once
    exporter, reader, importer = world
    await share_with(http, exporter, reader.tenant, productIds=[product_gid(exporter.other)])
    await register(importer, host.url)
    await host.start()
    event_id = f"{run_id()}-wait"
    await send_request(http, reader, host, event_id, productId=[PRODUCT], comment="Q4 please")
    await work_off_queue(services, horizon_s=0)
    (request,) = await incoming(exporter.session)
    assert request["status"] == "REQUESTED" and request["pactAnswer"] is None and request["message"] == "Q4 please"
    assert host.events == []
    # when: the supplier answers with its publication
    newest = exporter.publications["PRF-2990"][0]
    answered = await exporter.session.gql(
        operation("FulfilFootprintRequest"),
        {"input": {"id": request["id"], "publicationIds": [gid("PublishedFootprint", newest)]}},
    )
    assert answered["data"]["fulfilFootprintRequest"]["errors"] == [], answered
    await work_off_queue(services, horizon_s=0)
    # then
    (body,) = host.bodies()
    assert body["type"] == FULFILLED and body["data"]["requestEventId"] == event_id
    assert [pf["id"] for pf in body["data"]["pfs"]] == [newest]
    validator = Draft202012Validator(SCHEMA)
    assert [e.message for e in validator.iter_errors(body["data"]["pfs"][0])] == []
    # and the requester can now read it through PACT (the answer shared it)
    got = await http.get(f"/3/footprints/{newest}", headers=reader.auth)
    assert got.status_code == 200, got.text


async def test_the_supplier_rejects_a_waiting_request_and_the_requester_hears_why(services, http, world, host):
    exporter, reader, importer = world
    await share_with(http, exporter, reader.tenant, productIds=[product_gid(exporter.other)])
    await register(importer, host.url)
    await host.start()
    event_id = f"{run_id()}-reject"
    await send_request(http, reader, host, event_id, productId=[PRODUCT])
    (request,) = await incoming(exporter.session)
    rejected = await exporter.session.gql(
        operation("RejectFootprintRequest"), {"input": {"id": request["id"], "reason": "not for this product"}}
    )
    assert rejected["data"]["rejectFootprintRequest"]["errors"] == [], rejected
    await work_off_queue(services, horizon_s=0)
    (body,) = host.bodies()
    assert body["type"] == REJECTED and body["data"]["requestEventId"] == event_id
    assert body["data"]["error"] == {"code": "AccessDenied", "message": "not for this product"}


async def test_a_host_that_is_down_gets_the_answer_later_once_with_the_same_event_id(services, http, world, host):
    exporter, reader, importer = world
    await share_with(http, exporter, reader.tenant)
    await register(importer, host.url)
    # when: the host is down at first
    await send_request(http, reader, host, f"{run_id()}-down", productId=[PRODUCT])
    await work_off_queue(services, horizon_s=0)
    (request,) = await incoming(exporter.session)
    first = request["pactAnswer"]
    assert first["state"] == "PENDING"
    ((attempt, stage, status, error),) = [
        (a["attempt"], a["stage"], a["statusCode"], a["error"]) for a in first["attempts"]
    ]
    assert (attempt, stage, status) == (1, "token", None) and "ConnectError" in error
    # and comes up
    await host.start()
    await work_off_queue(services, horizon_s=5)
    # then it arrives once, with the event id the log names
    (body,) = host.bodies()
    assert body["id"] == first["eventId"]
    answer = (await one_request(importer, request["id"]))["pactAnswer"]
    assert answer["state"] == "DELIVERED" and answer["deliveredAt"] is not None
    assert [(a["attempt"], a["stage"], a["statusCode"]) for a in answer["attempts"]] == [
        (1, "token", None),
        (2, "event", 200),
    ]


async def test_wrong_credentials_are_logged_with_the_token_endpoints_refusal_and_nothing_posted(
    services, http, world, host
):
    exporter, reader, importer = world
    await share_with(http, exporter, reader.tenant)
    await register(importer, host.url, secret="not-the-secret")
    await host.start()
    await send_request(http, reader, host, f"{run_id()}-creds", productId=[PRODUCT])
    await work_off_queue(services, horizon_s=0)
    assert host.events == [] and len(host.token_requests) == 1
    (request,) = await incoming(exporter.session)
    (attempt,) = request["pactAnswer"]["attempts"]
    assert attempt["stage"] == "token" and attempt["statusCode"] == 401
    assert f"{host.url}/auth/token refused the credentials: HTTP 401" in attempt["error"]
    assert "invalid_client" in attempt["error"]


async def test_without_credentials_the_answer_waits_and_goes_once_they_are_registered(services, http, world, host):
    exporter, reader, importer = world
    await share_with(http, exporter, reader.tenant)
    await host.start()
    await send_request(http, reader, host, f"{run_id()}-nocreds", productId=[PRODUCT])
    await work_off_queue(services, horizon_s=0)
    (request,) = await incoming(exporter.session)
    (attempt,) = request["pactAnswer"]["attempts"]
    assert attempt["stage"] == "credentials" and attempt["error"] == f"no credentials for {host.url}"
    mine = await one_request(importer, request["id"])
    assert mine["pactAnswer"]["lastError"] == f"no credentials for {host.url}"
    assert host.received == []
    # when the requester registers them
    await register(importer, host.url)
    await work_off_queue(services, horizon_s=0)
    # then the answer goes at once, once
    (body,) = host.bodies()
    assert body["type"] == FULFILLED
    assert (await one_request(importer, request["id"]))["pactAnswer"]["state"] == "DELIVERED"


async def test_two_runs_of_one_answer_at_the_same_moment_post_it_once(services, http, world, host):
    # given: an answer waiting for credentials, its scheduled retry due, and the credentials registered
    exporter, reader, importer = world
    await share_with(http, exporter, reader.tenant)
    await host.start()
    await send_request(http, reader, host, f"{run_id()}-race", productId=[PRODUCT])
    await work_off_queue(services, horizon_s=0)
    async with services.db.platform_session() as db:
        waiting = select(PactAnswer.id).where(
            PactAnswer.importer_tenant_id == reader.tenant.id, PactAnswer.state == AnswerState.PENDING
        )
        (answer_id,) = (await db.scalars(waiting)).all()
    await register(importer, host.url)
    await asyncio.sleep(0.7)  # past both retry delays
    # when: the run started by the registration and the scheduled retry go at once
    await asyncio.gather(
        deliver_answer(services, answer_id, now_=True), deliver_answer(services, answer_id, now_=False)
    )
    # then: the requester's host got the answer once, and one attempt is recorded as delivered
    assert len(host.bodies()) == 1
    async with services.db.platform_session() as db:
        answer = await db.get(PactAnswer, answer_id)
        assert answer.state == AnswerState.DELIVERED and answer.attempts == 2


async def test_another_importer_neither_sees_nor_changes_credentials_nor_reads_the_delivery_log(
    services, http, world, host
):
    exporter, reader, importer = world
    await share_with(http, exporter, reader.tenant)
    credential = (await register(importer, host.url))["credential"]
    await send_request(http, reader, host, f"{run_id()}-x", productId=[PRODUCT])
    (request,) = await incoming(exporter.session)
    stranger_tenant = await make_tenant(services, TenantKind.IMPORTER)
    stranger = await login(http, stranger_tenant.email)
    # its credentials list is its own
    listed = await stranger.gql(operation("PactHostCredentials"), {})
    assert listed["data"]["pactHostCredentials"] == []
    mine = await importer.gql(operation("PactHostCredentials"), {})
    assert [c["hostUrl"] for c in mine["data"]["pactHostCredentials"]] == [host.url]
    assert set(mine["data"]["pactHostCredentials"][0]) == {"id", "hostUrl", "clientId", "createdBy", "createdAt"}
    # it cannot remove the requester's
    removed = await stranger.gql(operation("RemovePactHostCredential"), {"input": {"id": credential["id"]}})
    payload = removed["data"]["removePactHostCredential"]
    assert payload["removed"] is False and payload["errors"][0]["field"] == "id"
    # registering for the same host sets only its own
    await register(stranger, host.url, secret="strangers-secret")
    await host.start()
    await work_off_queue(services, horizon_s=0)
    assert len(host.events) == 1  # the requester's credentials were used
    # nor read the request and its delivery log
    seen = await stranger.gql(operation("PactFootprintRequest"), {"id": request["id"]})
    assert seen.get("data") is None or seen["data"]["footprintRequest"] is None
    assert "errors" in seen
    assert (await stranger.gql(operation("IncomingPactRequests"), {}))["data"]["incomingFootprintRequests"] == []


async def test_registering_credentials_refuses_bad_input_naming_the_field_and_stores_nothing(http, world):
    _, _, importer = world
    for fields, field in (
        ({"hostUrl": "ftp://host.example"}, "hostUrl"),
        ({"hostUrl": "http://user:pw@host.example"}, "hostUrl"),
        ({"clientId": ""}, "clientId"),
        ({"clientSecret": ""}, "clientSecret"),
    ):
        body = await importer.gql(
            operation("RegisterPactHostCredential"),
            {"input": {"hostUrl": "http://host.example", "clientId": "a", "clientSecret": "b", **fields}},
        )
        errors = body["data"]["registerPactHostCredential"]["errors"]
        assert [e["field"] for e in errors] == [field], body
    assert (await importer.gql(operation("PactHostCredentials"), {}))["data"]["pactHostCredentials"] == []


async def test_only_an_organisations_admins_register_credentials_and_the_secret_is_sealed(services, http, world):
    _, reader, importer = world
    email, _ = await add_person(services, reader.tenant, MembershipRole.MEMBER)
    member = await login(http, email)
    refused = await register(member, "http://host.example")
    assert refused["credential"] is None and refused["errors"], refused
    assert (await member.gql(operation("PactHostCredentials"), {}))["data"]["pactHostCredentials"] == []
    # an admin registers; the secret is stored sealed, and replaced on registering again
    await register(importer, "http://host.example", secret="first-secret")
    again = await register(importer, "HTTP://Host.Example:80/", client_id="other", secret="second-secret")
    assert again["credential"]["hostUrl"] == "http://host.example" and again["credential"]["clientId"] == "other"
    async with services.db.tenant(reader.tenant.tenant.scope()) as db:
        (row,) = (await db.execute(select(PactHostCredential))).scalars()
        audited = [
            a.action
            for a in (await db.execute(select(AuditEntry).where(AuditEntry.entity_type == "pact_host_credential")))
            .scalars()
            .all()
        ]
    assert "second-secret" not in row.sealed_secret and "first-secret" not in row.sealed_secret
    assert unseal(row.sealed_secret, services.settings.resolved_secret_key()) == "second-secret"
    assert sorted(audited) == ["pact_credentials.registered", "pact_credentials.replaced"]


async def test_the_token_endpoint_is_found_through_the_hosts_discovery_document(services, http, world):
    exporter, reader, importer = world
    await share_with(http, exporter, reader.tenant)
    host = PactHost(free_port(), discovery=True)
    await register(importer, host.url)
    await host.start()
    try:
        await send_request(http, reader, host, f"{run_id()}-discovery", productId=[PRODUCT])
        await work_off_queue(services, horizon_s=0)
    finally:
        await host.stop()
    assert [m.path for m in host.received] == ["/.well-known/openid-configuration", "/oauth2/token", "/3/events"]
    (body,) = host.bodies()
    assert body["type"] == FULFILLED
