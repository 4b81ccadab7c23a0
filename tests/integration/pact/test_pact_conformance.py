"""The cases of the PACT V3.0 conformance suite (wbcsd/pact-conformance-service) against the host, with the
suite's own values: events a data owner sends to a recipient (TC13, TC14, TC15, TC40), the filters' positive
and negative cases (TC20-TC39) and an unknown footprint (TC8); and the organisation's inbox of those events
through GraphQL, which no other organisation sees."""

from __future__ import annotations

import copy
import json
import uuid

import pytest
from sqlalchemy import func, select

from backend.audit.models import AuditEntry
from backend.identity.models import MembershipRole
from backend.pact.inbox_models import ReceivedPactEvent
from tests.factories.tenants import add_person, login
from tests.integration.pact.world import CLOUDEVENTS, exporter_with_footprints, pact_reader, share_with
from tests.operations import operation

PUBLISHED = "org.wbcsd.pact.ProductFootprint.PublishedEvent.3"
FULFILLED = "org.wbcsd.pact.ProductFootprint.RequestFulfilledEvent.3"
REJECTED = "org.wbcsd.pact.ProductFootprint.RequestRejectedEvent.3"
WEBHOOK = "https://webhook.example.com"


@pytest.fixture
async def shared(services, http):
    exporter = await exporter_with_footprints(services, http)
    reader = await pact_reader(services, http)
    await share_with(http, exporter, reader.tenant)
    return exporter, reader


def envelope(type_: str, data: dict, **more) -> dict:
    return {
        "type": type_,
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": WEBHOOK,
        "time": "2023-05-19T11:00:00Z",
        "data": data,
        **more,
    }


async def post_event(http, reader, event):
    return await http.post("/3/events", content=json.dumps(event), headers={**reader.auth, **CLOUDEVENTS})


async def inbox_of(services, tenant) -> list[ReceivedPactEvent]:
    async with services.db.tenant(tenant.tenant.scope()) as db:
        return list((await db.execute(select(ReceivedPactEvent).order_by(ReceivedPactEvent.received_at))).scalars())


async def audited(services, tenant, action: str) -> int:
    async with services.db.tenant(tenant.tenant.scope()) as db:
        return await db.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == action))


async def one_of_our_footprints(http, reader) -> dict:
    return (await http.get("/3/footprints", headers=reader.auth)).json()["data"][0]


# --- TC15, TC13, TC14: events a data owner sends to us ----------------------------------------------------


async def test_a_published_event_is_stored_once_in_the_receiving_organisations_inbox(services, http, shared):
    # given the suite's TC15 event (its pfIds are footprint ids: UUIDs)
    _, reader = shared
    event = envelope(PUBLISHED, {"pfIds": ["3a6c14a7-4deb-498a-b5ea-16ce2535b576"]})
    # when posted twice (a retry)
    for _ in range(2):
        response = await post_event(http, reader, event)
        # then accepted with an empty body
        assert response.status_code == 200 and response.content == b"", response.text
    (stored,) = await inbox_of(services, reader.tenant)
    assert (stored.type, stored.source, stored.event_id) == (PUBLISHED, WEBHOOK, event["id"])
    assert stored.pf_ids == ["3a6c14a7-4deb-498a-b5ea-16ce2535b576"] and stored.pfs is None and stored.error is None
    assert stored.client_id == reader.client_id and stored.event == event
    assert await audited(services, reader.tenant, "pact_event.received") == 1


async def test_a_fulfilled_event_with_v3_footprints_is_stored_with_them(services, http, shared):
    # given an answer to a request we do not know of, carrying valid v3 ProductFootprints
    _, reader = shared
    footprint = await one_of_our_footprints(http, reader)
    event = envelope(FULFILLED, {"requestEventId": "test-run-id-12345", "pfs": [footprint]})
    # when
    response = await post_event(http, reader, event)
    # then
    assert response.status_code == 200, response.text
    (stored,) = await inbox_of(services, reader.tenant)
    assert stored.type == FULFILLED and stored.request_event_id == "test-run-id-12345"
    assert stored.pfs == [footprint] and stored.pf_ids == [footprint["id"]]


async def test_a_rejected_event_is_stored_with_its_error(services, http, shared):
    # given the suite's TC14 event
    _, reader = shared
    error = {"code": "NotFound", "message": "The requested footprint could not be found."}
    event = envelope(REJECTED, {"requestEventId": "test-run-id-12345", "error": error})
    # when
    response = await post_event(http, reader, event)
    # then
    assert response.status_code == 200, response.text
    (stored,) = await inbox_of(services, reader.tenant)
    assert stored.type == REJECTED and stored.request_event_id == "test-run-id-12345" and stored.error == error


def _fulfilled_with(mutate):
    def build(footprint):
        pf = copy.deepcopy(footprint)
        mutate(pf)
        return envelope(FULFILLED, {"requestEventId": "r-1", "pfs": [pf]})

    return build


BAD_ANSWERS = [
    # TC40: a pfId is a footprint's UUID, not a product URN
    (lambda pf: envelope(PUBLISHED, {"pfIds": ["urn:gtin:4712345060507"]}), "data.pfIds[0]"),
    (lambda pf: envelope(PUBLISHED, {"pfIds": []}), "data.pfIds"),
    (lambda pf: envelope(PUBLISHED, {}), "data.pfIds"),
    (lambda pf: envelope(FULFILLED, {"pfs": [pf]}), "data.requestEventId"),
    (lambda pf: envelope(FULFILLED, {"requestEventId": "r-1", "pfs": []}), "data.pfs"),
    (lambda pf: envelope(FULFILLED, {"requestEventId": "r-1", "pfs": "x"}), "data.pfs"),
    (_fulfilled_with(lambda pf: pf.pop("companyName")), "data.pfs[0]"),
    (_fulfilled_with(lambda pf: pf["pcf"].update(pcfExcludingBiogenicUptake=2.56)), "data.pfs[0].pcf"),
    (lambda pf: envelope(REJECTED, {"requestEventId": "r-1"}), "data.error"),
    (lambda pf: envelope(REJECTED, {"requestEventId": "r-1", "error": {"code": "NotFound"}}), "data.error.message"),
    (lambda pf: envelope(REJECTED, {"error": {"code": "NotFound", "message": "m"}}), "data.requestEventId"),
    (lambda pf: {**envelope(PUBLISHED, {"pfIds": [str(uuid.uuid4())]}), "source": "not a url"}, "source"),
    (lambda pf: {**envelope(PUBLISHED, {"pfIds": [str(uuid.uuid4())]}), "specversion": "0.3"}, "specversion"),
]


async def test_a_malformed_answer_or_notification_is_refused_naming_the_field_and_nothing_stored(
    services, http, shared
):
    _, reader = shared
    footprint = await one_of_our_footprints(http, reader)
    for build, named in BAD_ANSWERS:
        response = await post_event(http, reader, build(footprint))
        assert (response.status_code, response.json()["code"]) == (400, "BadRequest"), (named, response.text)
        assert named in response.json()["message"], (named, response.text)
    assert await inbox_of(services, reader.tenant) == []
    assert await audited(services, reader.tenant, "pact_event.received") == 0


async def test_the_suites_sample_footprint_is_not_a_v3_footprint_and_is_refused(services, http, shared):
    # the expected-results document's TC13 sample (declaredUnit, carbonFootprint) is not v3: it is refused
    _, reader = shared
    sample = {
        "id": "b1f8c0d2-7c4e-4e67-9a9c-2e4c12345678",
        "specVersion": "3.0.0",
        "created": "2023-01-15T10:15:30Z",
        "status": "Active",
        "companyName": "Acme Corp",
        "companyIds": ["urn:uuid:abc12345-6789-4def-0123-456789abcdef"],
        "productDescription": "Renewable Diesel",
        "productIds": ["urn:gtin:1234567890123"],
        "productNameCompany": "Renewable Diesel",
        "pcf": {"declaredUnit": "liter", "carbonFootprint": {"value": 2.56, "uom": "kg CO2e"}},
    }
    response = await post_event(http, reader, envelope(FULFILLED, {"requestEventId": "x", "pfs": [sample]}))
    assert (response.status_code, response.json()["code"]) == (400, "BadRequest")
    assert "data.pfs[0]" in response.json()["message"]
    assert await inbox_of(services, reader.tenant) == []


async def test_an_answer_event_needs_a_valid_token_and_footprints_read(services, http, shared):
    _, reader = shared
    event = envelope(PUBLISHED, {"pfIds": [str(uuid.uuid4())]})
    garbage = await http.post(
        "/3/events", content=json.dumps(event), headers={"Authorization": "Bearer garbage", **CLOUDEVENTS}
    )
    assert (garbage.status_code, garbage.json()["code"]) == (400, "BadRequest")
    no_scope = await pact_reader(services, http, reader.tenant, scopes="site:read")
    refused = await post_event(http, no_scope, event)
    assert (refused.status_code, refused.json()["code"]) == (403, "AccessDenied")
    assert await inbox_of(services, reader.tenant) == []


# --- TC8, TC20-TC39: GetFootprint and the filters with the suite's values --------------------------------


async def test_a_footprint_id_that_does_not_exist_is_not_found(http, shared):
    _, reader = shared
    for pf_id in ("non-existent-id", "00000000-0000-0000-0000-000000000000"):
        response = await http.get(f"/3/footprints/{pf_id}", headers=reader.auth)
        assert (response.status_code, response.json()["code"]) == (404, "NotFound")


NOTHING_MATCHES = [
    {"productId": "urn:bogus:product:nonexistent123"},  # TC30
    {"companyId": "urn:bogus:company:nonexistent456"},  # TC31
    {"geography": "XX"},  # TC32
    {"classification": "urn:bogus:classification:nonexistent789"},  # TC33
    {"classification": "urn:eclass:0173-1#01-AAA123#005"},  # TC23's value, '#' percent-encoded
    {"validOn": "1900-01-01T00:00:00Z"},  # TC34
    {"validAfter": "2099-12-31T23:59:59Z"},  # TC35
    {"validBefore": "1900-01-01T00:00:00Z"},  # TC36
    {"status": "BogusStatusValue"},  # TC37
    {"status": "active"},
    {"companyId": "urn:bogus:company:5FIi8zS3", "productId": "urn:bogus:product:nonexistent123"},  # TC38
    {"companyId": ["urn:bogus:company:nonexistent1", "urn:bogus:company:nonexistent2"]},  # TC39
    {"companyId": ["urn:uuid:other-company", "urn:uuid:another-company"]},
    {"companyId": ["Xk3vQ9pL", "aB7dE2fG"]},  # the runner's TC29 adds random strings
]


async def test_filter_values_no_footprint_has_answer_an_empty_list(http, shared):
    _, reader = shared
    for params in NOTHING_MATCHES:
        response = await http.get("/3/footprints", params=params, headers=reader.auth)
        assert response.status_code == 200, (params, response.text)
        assert response.json() == {"data": []}, params


async def test_the_suites_positive_filters_keep_the_first_footprint(http, shared):
    # given the values the runner derives from the first footprint listed (TC20-TC29)
    _, reader = shared
    first = await one_of_our_footprints(http, reader)
    company = first["companyIds"][0]
    cases = [
        {"productId": first["productIds"][0]},
        {"companyId": company},
        {"geography": first["pcf"]["geographyCountry"]},
        {"classification": first["productClassifications"][0]},
        {"validOn": first["validityPeriodStart"]},
        {"validAfter": "2020-01-01T00:00:00.000Z"},  # JavaScript's toISOString, with milliseconds
        {"validBefore": "2099-01-01T00:00:00.000Z"},
        {"status": first["status"]},
        {"status": first["status"], "productId": first["productIds"][0]},
        {"companyId": [company, "urn:uuid:other-company", "urn:uuid:another-company"]},  # TC29
        {"companyId": [company, "Xk3vQ9pL", "aB7dE2fG"]},
    ]
    for params in cases:
        response = await http.get("/3/footprints", params=params, headers=reader.auth)
        assert response.status_code == 200, (params, response.text)
        assert first["id"] in [f["id"] for f in response.json()["data"]], params


async def test_values_that_are_not_what_a_filter_takes_are_still_refused(http, shared):
    _, reader = shared
    for params, named in (
        ({"validOn": "not-a-date"}, "validOn"),
        ({"validAfter": "2026-01-01T00:00:00"}, "validAfter"),  # no time zone
        ({"productId": "PRF-2990"}, "productId"),
        ({"geography": "Serbia"}, "geography"),
        ({"status": ""}, "status"),
    ):
        response = await http.get("/3/footprints", params=params, headers=reader.auth)
        assert (response.status_code, response.json()["code"]) == (400, "BadRequest"), params
        assert named in response.json()["message"], params


# --- the inbox through GraphQL ----------------------------------------------------------------------------


async def test_the_inbox_lists_the_organisations_received_events_to_its_people_only(services, http, shared):
    # given one event of each kind received by the importer
    exporter, reader = shared
    footprint = await one_of_our_footprints(http, reader)
    published = envelope(PUBLISHED, {"pfIds": [footprint["id"]]})
    fulfilled = envelope(FULFILLED, {"requestEventId": "req-1", "pfs": [footprint]})
    rejected = envelope(REJECTED, {"requestEventId": "req-2", "error": {"code": "NotFound", "message": "none"}})
    for event in (published, fulfilled, rejected):
        assert (await post_event(http, reader, event)).status_code == 200
    owner = await login(http, reader.tenant.email)
    # when its owner lists them
    body = await owner.gql(operation("ReceivedPactEvents"), {})
    # then all three, newest first, as received
    assert "errors" not in body, body
    listed = body["data"]["receivedPactEvents"]
    assert [e["eventId"] for e in listed] == [rejected["id"], fulfilled["id"], published["id"]]
    assert [e["type"] for e in listed] == ["REQUEST_REJECTED", "REQUEST_FULFILLED", "PUBLISHED"]
    assert listed[0]["error"] == {"code": "NotFound", "message": "none"} and listed[0]["requestEventId"] == "req-2"
    assert listed[1]["pfs"] == [footprint] and listed[1]["pfIds"] == [footprint["id"]]
    assert listed[2]["pfIds"] == [footprint["id"]] and listed[2]["source"] == WEBHOOK
    assert listed[2]["clientId"] == reader.client_id
    only = await owner.gql(operation("ReceivedPactEvents"), {"type": "PUBLISHED"})
    assert [e["eventId"] for e in only["data"]["receivedPactEvents"]] == [published["id"]]
    # a member reads them too
    member_email, _ = await add_person(services, reader.tenant, MembershipRole.MEMBER)
    member = await (await login(http, member_email)).gql(operation("ReceivedPactEvents"), {})
    assert len(member["data"]["receivedPactEvents"]) == 3
    # a viewer does not
    viewer_email, _ = await add_person(services, reader.tenant, MembershipRole.VIEWER)
    viewer = await (await login(http, viewer_email)).gql(operation("ReceivedPactEvents"), {})
    assert viewer["data"] is None or viewer["data"]["receivedPactEvents"] is None
    assert viewer["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED"
    # another organisation (the exporter, a partner) sees none of them
    other = await exporter.session.gql(operation("ReceivedPactEvents"), {})
    assert other["data"]["receivedPactEvents"] == []


async def test_an_event_is_kept_by_the_organisation_whose_client_posted_it(services, http, shared):
    # given two organisations with PACT clients, the same event id and source posted by both
    _, reader = shared
    stranger = await pact_reader(services, http)
    event = envelope(PUBLISHED, {"pfIds": [str(uuid.uuid4())]})
    # when
    assert (await post_event(http, reader, event)).status_code == 200
    assert (await post_event(http, stranger, event)).status_code == 200
    # then each keeps its own, and neither lists the other's through GraphQL
    assert [e.client_id for e in await inbox_of(services, reader.tenant)] == [reader.client_id]
    assert [e.client_id for e in await inbox_of(services, stranger.tenant)] == [stranger.client_id]
    mine = await (await login(http, stranger.tenant.email)).gql(operation("ReceivedPactEvents"), {})
    assert [e["clientId"] for e in mine["data"]["receivedPactEvents"]] == [stranger.client_id]
    anonymous = await http.post(
        "/graphql", json={"query": operation("ReceivedPactEvents"), "operationName": "ReceivedPactEvents"}
    )
    assert not (anonymous.json().get("data") or {}).get("receivedPactEvents")
