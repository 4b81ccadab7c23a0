"""The PACT v3 host through the app with real tokens: ListFootprints, GetFootprint, filters, pagination,
authentication failures, events, and what each organisation's clients may see of the footprints an
exporter publishes and shares through the exchange."""

from __future__ import annotations

import json
import time
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
from jsonschema import Draft202012Validator
from sqlalchemy import func, select

from backend.audit.models import AuditEntry
from backend.exchange.models import FootprintRequest, PublishedFootprint, RequestOrigin
from tests.factories.exchange import gid
from tests.factories.jwts import access_claims, active_signing_key, sign, tamper_signature
from tests.integration.pact.world import (
    CLOUDEVENTS,
    exporter_with_footprints,
    grant,
    narrow_share,
    pact_reader,
    product_gid,
    request_event,
    revoke_share,
    share_with,
)

SCHEMA = json.loads((Path(__file__).parents[3] / "backend/pact/schema/product-footprint-3.0.3.schema.json").read_text())


@pytest.fixture
async def shared(services, http):
    exporter = await exporter_with_footprints(services, http)
    reader = await pact_reader(services, http)
    await share_with(http, exporter, reader.tenant)
    return exporter, reader


async def test_a_reader_lists_and_gets_the_footprints_a_share_shows(services, http, shared):
    # given
    exporter, reader = shared
    newest, oldest = exporter.publications["PRF-2990"]
    (other,) = exporter.publications["PRF-OTHER"]
    # when
    response = await http.get("/3/footprints", headers=reader.auth)
    # then every publication, the superseded one deprecated, each a valid v3 ProductFootprint
    assert response.status_code == 200, response.text
    assert "link" not in response.headers
    footprints = {f["id"]: f for f in response.json()["data"]}
    assert set(footprints) == {newest, oldest, other}
    validator = Draft202012Validator(SCHEMA)
    assert [e.message for f in footprints.values() for e in validator.iter_errors(f)] == []
    assert footprints[oldest]["status"] == "Deprecated"
    assert footprints[newest]["status"] == "Active" and footprints[newest]["precedingPfIds"] == [oldest]
    assert footprints[newest]["companyIds"] == [f"urn:cbamx:company:{exporter.owner.id}"]
    assert footprints[newest]["productClassifications"] == ["urn:cbamx:cn:76042990"]
    assert footprints[newest]["productIds"][0] == "urn:pact:testserver:product-id:PRF-2990"
    cbam = footprints[newest]["extensions"][0]
    assert cbam["dataSchema"] == "http://testserver/3/extensions/cbam/1.0.0/schema.json"
    assert cbam["data"]["installationId"] == str(exporter.shown.plant.installation_id)
    assert cbam["data"]["publication"]["version"] == 2 and cbam["data"]["verificationStatus"] == "UNVERIFIED"
    assert footprints[oldest]["extensions"][0]["data"]["publication"]["version"] == 1
    # GetFootprint answers the same document, deprecated ones too
    for pf_id in (newest, oldest):
        one = await http.get(f"/3/footprints/{pf_id}", headers=reader.auth)
        assert one.status_code == 200 and one.json() == {"data": footprints[pf_id]}
    # the exchange's document as published: its content hash is the one the exporter published
    async with services.db.tenant(exporter.owner.tenant.scope()) as db:
        hashes = dict((await db.execute(select(PublishedFootprint.id, PublishedFootprint.content_hash))).all())
    assert {str(k): v for k, v in hashes.items()} == {
        pf_id: f["extensions"][0]["data"]["publication"]["contentHash"] for pf_id, f in footprints.items()
    }
    # the extension's schema is served where dataSchema points
    schema = await http.get("/3/extensions/cbam/1.0.0/schema.json")
    assert schema.status_code == 200 and schema.json()["title"].startswith("cbamx CBAM data-model extension")
    # and each read is in the exporter's audit trail
    async with services.db.tenant(exporter.owner.tenant.scope()) as db:
        used = (await db.execute(select(AuditEntry.entity_type).where(AuditEntry.action == "grant.used"))).scalars()
        assert {"published_footprints", "published_footprint"} <= set(used)


async def test_unknown_ids_are_not_found(http, shared):
    _, reader = shared
    for pf_id in ("6f1c2d3e-4b5a-4c6d-8e7f-901234567890", "not-a-uuid"):
        response = await http.get(f"/3/footprints/{pf_id}", headers=reader.auth)
        assert response.status_code == 404
        assert response.json()["code"] == "NotFound" and response.json()["message"]


async def test_authentication_failures_have_the_specs_codes(services, http, shared):
    exporter, reader = shared
    (pf_id,) = exporter.publications["PRF-OTHER"]
    key = await active_signing_key(services)
    now = int(time.time())
    claims = access_claims(services, client_id=reader.client_id, tenant_id=reader.tenant.id, scope="footprints:read")
    expired = sign({**claims, "iat": now - 7200, "exp": now - 3600}, key)
    no_scope = await pact_reader(services, http, reader.tenant, scopes="site:read")
    cases = {
        "no token": ({}, 400, "BadRequest"),
        "not bearer": ({"Authorization": "Basic eDp5"}, 400, "BadRequest"),
        "garbage": ({"Authorization": "Bearer garbage"}, 400, "BadRequest"),
        "forged": ({"Authorization": f"Bearer {tamper_signature(reader.token)}"}, 400, "BadRequest"),
        "expired": ({"Authorization": f"Bearer {expired}"}, 401, "TokenExpired"),
        "without footprints:read": (no_scope.auth, 403, "AccessDenied"),
    }
    for name, (headers, status, code) in cases.items():
        for method, path, body in (
            ("GET", "/3/footprints", None),
            ("GET", f"/3/footprints/{pf_id}", None),
            ("POST", "/3/events", json.dumps(request_event())),
        ):
            response = await http.request(method, path, headers={**headers, **CLOUDEVENTS}, content=body)
            assert (response.status_code, response.json()["code"]) == (status, code), (name, path, response.text)
            assert response.headers["content-type"].startswith("application/json")


FILTER_CASES = [
        ({"productId": "urn:pact:testserver:product-id:PRF-2990"}, ["PRF-2990", "PRF-2990"]),
        (
            {"productId": ["urn:pact:testserver:product-id:PRF-2990", "urn:pact:testserver:product-id:PRF-OTHER"]},
            ["PRF-2990", "PRF-2990", "PRF-OTHER"],
        ),
        ({"status": "Active"}, ["PRF-2990", "PRF-OTHER"]),
        ({"status": "Deprecated"}, ["PRF-2990"]),
        ({"status": "Active", "productId": "urn:pact:testserver:product-id:PRF-OTHER"}, ["PRF-OTHER"]),
        ({"geography": "RS"}, ["PRF-2990", "PRF-2990", "PRF-OTHER"]),
        ({"geography": "DE"}, []),
        ({"classification": "urn:cbamx:cn:76042990"}, ["PRF-2990", "PRF-2990", "PRF-OTHER"]),
        ({"classification": "urn:cbamx:cn:76041010"}, []),
        ({"validOn": "2027-06-01T00:00:00Z"}, ["PRF-2990", "PRF-2990", "PRF-OTHER"]),
        ({"validOn": "2031-06-01T00:00:00Z"}, []),
        ({"validAfter": "2026-11-01T00:00:00Z"}, ["PRF-2990", "PRF-2990", "PRF-OTHER"]),
        ({"validBefore": "2027-01-01T00:00:00Z"}, []),
        ({"companyId": "urn:cbamx:company:00000000-0000-4000-8000-000000000000"}, []),
]  # fmt: skip


async def test_filters_keep_what_they_name(http, shared):
    # given
    _, reader = shared
    for params, expected in FILTER_CASES:
        # when
        response = await http.get("/3/footprints", params=params, headers=reader.auth)
        # then
        assert response.status_code == 200, response.text
        codes = sorted(f["productIds"][0].rsplit(":", 1)[1] for f in response.json()["data"])
        assert codes == expected, params


async def test_the_company_filter_names_the_exporter(http, shared):
    exporter, reader = shared
    urn = f"urn:cbamx:company:{exporter.owner.id}"
    response = await http.get("/3/footprints", params={"companyId": urn}, headers=reader.auth)
    assert len(response.json()["data"]) == 3


BAD_PARAMETERS = [
    ({"productId": "PRF-2990"}, 400, "BadRequest", "productId"),
    ({"geography": "Serbia"}, 400, "BadRequest", "geography"),
    ({"validOn": "tomorrow"}, 400, "BadRequest", "validOn"),
    ({"status": ""}, 400, "BadRequest", "status"),
    ({"limit": "0"}, 400, "BadRequest", "limit"),
    ({"cursor": "x"}, 400, "BadRequest", "cursor"),
    ({"color": "red"}, 400, "BadRequest", "color"),
    ({"$filter": "pcf/geographyCountry eq 'RS'"}, 400, "NotImplemented", "$filter"),
    ({"x-acme-invoice": "1"}, 400, "NotImplemented", "x-acme-invoice"),
]


async def test_bad_parameters_are_refused_naming_them(http, shared):
    _, reader = shared
    for params, status, code, named in BAD_PARAMETERS:
        response = await http.get("/3/footprints", params=params, headers=reader.auth)
        assert (response.status_code, response.json()["code"]) == (status, code), params
        assert named in response.json()["message"], params


async def test_pages_follow_the_link_header_to_the_end(http, shared):
    # given three footprints and pages of one
    exporter, reader = shared
    seen: list[str] = []
    url: str | None = "/3/footprints?limit=1&geography=RS"
    pages = 0
    # when the Link rel="next" is followed
    while url is not None:
        response = await http.get(url, headers=reader.auth)
        assert response.status_code == 200, response.text
        data = response.json()["data"]
        assert len(data) == 1
        seen += [f["id"] for f in data]
        pages += 1
        link = response.headers.get("link")
        if link is None:
            url = None
            continue
        target, rel = link.split(";", 1)
        assert rel.strip() == 'rel="next"'
        target = target.strip().removeprefix("<").removesuffix(">")
        parts = urlsplit(target)
        # absolute, on the request's host, with the filters kept
        assert (parts.scheme, parts.netloc, parts.path) == ("http", "testserver", "/3/footprints")
        query = dict(parse_qsl(parts.query))
        assert query["limit"] == "1" and query["geography"] == "RS" and query["cursor"]
        url = target
    # then every footprint once, newest first
    assert pages == 3 and len(set(seen)) == 3
    assert set(seen) == {*exporter.publications["PRF-2990"], *exporter.publications["PRF-OTHER"]}
    # a link may be used more than once
    again = await http.get("/3/footprints?limit=2", headers=reader.auth)
    link = again.headers["link"].split(";")[0].strip("<> ")
    first, second = await http.get(link, headers=reader.auth), await http.get(link, headers=reader.auth)
    assert first.json() == second.json() and len(first.json()["data"]) == 1 and "link" not in first.headers


async def test_a_page_is_filled_from_further_reads_when_criteria_leave_rows_out(http, shared, monkeypatch):
    # given reads of two publications at a time, and a criterion only the host applies (a PACT product id)
    from backend.pact import service

    monkeypatch.setattr(service, "MAX_BATCH", 2)
    exporter, reader = shared
    newest, oldest = exporter.publications["PRF-2990"]
    url: str | None = "/3/footprints?limit=1&productId=urn:pact:testserver:product-id:PRF-2990"
    pages = []
    # when the pages are followed (newest first: PRF-2990 twice with PRF-OTHER published between them)
    while url is not None:
        response = await http.get(url, headers=reader.auth)
        assert response.status_code == 200, response.text
        pages.append([f["id"] for f in response.json()["data"]])
        link = response.headers.get("link")
        url = link.split(";")[0].strip("<> ") if link else None
    # then each page holds one of the product's footprints, read on past the other product's
    assert pages == [[newest], [oldest]]


async def requests_of(services, tenant):
    """The PACT requests the tenant received: exchange data requests of PACT origin."""
    async with services.db.platform_session() as db:
        rows = await db.execute(
            select(FootprintRequest)
            .where(FootprintRequest.supplier_tenant_id == tenant.id, FootprintRequest.origin == RequestOrigin.PACT)
            .order_by(FootprintRequest.created_at)
        )
        return list(rows.scalars())


async def test_a_request_event_is_stored_once_for_the_data_owner(services, http, shared):
    # given
    exporter, reader = shared
    event = request_event(
        productId=["urn:pact:testserver:product-id:PRF-2990"], geography=["RS"], comment="Q4 2026, please"
    )
    # when sent twice (a retry)
    for _ in range(2):
        response = await http.post("/3/events", content=json.dumps(event), headers={**reader.auth, **CLOUDEVENTS})
        # then accepted with an empty body
        assert response.status_code == 200 and response.content == b""
    (stored,) = await requests_of(services, exporter.owner)
    assert stored.pact_event_id == event["id"] and stored.pact_source == "https://importer.example/pact"
    assert stored.importer_tenant_id == reader.tenant.id and stored.pact_client_id == reader.client_id
    assert stored.pact_criteria == {"productId": ["urn:pact:testserver:product-id:PRF-2990"], "geography": ["RS"]}
    assert stored.message == "Q4 2026, please" and stored.pact_event == event
    async with services.db.tenant(exporter.owner.tenant.scope()) as db:
        audited = await db.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "footprint_request.received")
        )
    assert audited == 1
    # and a request naming the exporter by its company id goes to it as well
    named = request_event(companyId=[f"urn:cbamx:company:{exporter.owner.id}"])
    response = await http.post("/3/events", content=json.dumps(named), headers={**reader.auth, **CLOUDEVENTS})
    assert response.status_code == 200
    assert len(await requests_of(services, exporter.owner)) == 2


def _without(event, name):
    return {k: v for k, v in event.items() if k != name}


BAD_EVENTS = [
        (lambda e: _without(e, "specversion"), CLOUDEVENTS, "BadRequest", "specversion"),
        (lambda e: {**e, "specversion": "0.3"}, CLOUDEVENTS, "BadRequest", "specversion"),
        (lambda e: _without(e, "id"), CLOUDEVENTS, "BadRequest", "id"),
        (lambda e: _without(e, "source"), CLOUDEVENTS, "BadRequest", "source"),
        (lambda e: {**e, "source": "not a url"}, CLOUDEVENTS, "BadRequest", "source"),
        (lambda e: {**e, "source": "ftp://importer.example/"}, CLOUDEVENTS, "BadRequest", "source"),
        (lambda e: _without(e, "time"), CLOUDEVENTS, "BadRequest", "time"),
        (lambda e: {**e, "time": "yesterday"}, CLOUDEVENTS, "BadRequest", "time"),
        (lambda e: _without(e, "data"), CLOUDEVENTS, "BadRequest", "data"),
        (lambda e: {**e, "data": []}, CLOUDEVENTS, "BadRequest", "data"),
        (lambda e: {**e, "data": {"productId": ["PRF-2990"]}}, CLOUDEVENTS, "BadRequest", "productId"),
        (lambda e: {**e, "data": {"pf": {}}}, CLOUDEVENTS, "BadRequest", "pf"),
        (lambda e: {**e, "type": "com.example.Unknown"}, CLOUDEVENTS, "BadRequest", "type"),
        (lambda e: [e], CLOUDEVENTS, "BadRequest", "CloudEvent"),
        (lambda e: e, {"Content-Type": "text/plain"}, "BadRequest", "content-type"),
        (lambda e: {**e, "type": "org.wbcsd.pact.ProductFootprint.PublishedEvent.3", "data": {"pfIds": []}},
         CLOUDEVENTS, "BadRequest", "data.pfIds"),
        (lambda e: {**e, "type": "org.wbcsd.pact.ProductFootprint.RequestFulfilledEvent.3"},
         CLOUDEVENTS, "BadRequest", "data.requestEventId"),
        (lambda e: {**e, "type": "org.wbcsd.pact.ProductFootprint.RequestRejectedEvent.3"},
         CLOUDEVENTS, "BadRequest", "data.requestEventId"),
        (lambda e: {**e, "type": "org.wbcsd.pathfinder.ProductFootprintRequest.Created.v1"},
         CLOUDEVENTS, "NotImplemented", "type"),
        (lambda e: {**e, "data": {"x-acme-po": ["1"]}}, CLOUDEVENTS, "NotImplemented", "x-acme-po"),
]  # fmt: skip


async def test_a_malformed_or_unsupported_event_is_refused_and_nothing_stored(services, http, shared):
    exporter, reader = shared
    for body, headers, code, named in BAD_EVENTS:
        content = json.dumps(body(request_event()))
        response = await http.post("/3/events", content=content, headers={**reader.auth, **headers})
        assert (response.status_code, response.json()["code"]) == (400, code), response.text
        assert named in response.json()["message"], response.text
    assert await requests_of(services, exporter.owner) == []


async def test_a_body_that_is_not_json_is_a_bad_request(services, http, shared):
    exporter, reader = shared
    response = await http.post("/3/events", content=b"{not json", headers={**reader.auth, **CLOUDEVENTS})
    assert (response.status_code, response.json()["code"]) == (400, "BadRequest")
    assert await requests_of(services, exporter.owner) == []


# --- across organisations ---------------------------------------------------------------------------------


async def test_a_reader_without_a_share_sees_nothing_and_asks_no_one(services, http, shared):
    # given an importer the exporter shares nothing with
    exporter, _ = shared
    stranger = await pact_reader(services, http)
    (pf_id,) = exporter.publications["PRF-OTHER"]
    # when / then
    listed = await http.get("/3/footprints", headers=stranger.auth)
    assert listed.status_code == 200 and listed.json() == {"data": []}
    one = await http.get(f"/3/footprints/{pf_id}", headers=stranger.auth)
    assert (one.status_code, one.json()["code"]) == (404, "NotFound")
    event = request_event(companyId=[f"urn:cbamx:company:{exporter.owner.id}"])
    asked = await http.post("/3/events", content=json.dumps(event), headers={**stranger.auth, **CLOUDEVENTS})
    assert (asked.status_code, asked.json()["code"]) == (403, "AccessDenied")
    unnamed = await http.post(
        "/3/events", content=json.dumps(request_event()), headers={**stranger.auth, **CLOUDEVENTS}
    )
    assert (unnamed.status_code, unnamed.json()["code"]) == (403, "AccessDenied")
    assert await requests_of(services, exporter.owner) == []
    # the exporter's own client reads its own footprints elsewhere: PACT serves what others share with it
    own = await pact_reader(services, http, exporter.owner)
    assert (await http.get("/3/footprints", headers=own.auth)).json() == {"data": []}
    assert (await http.get(f"/3/footprints/{pf_id}", headers=own.auth)).status_code == 404


async def test_a_share_limited_to_one_installation_shows_only_its_footprints(services, http):
    # given
    exporter = await exporter_with_footprints(services, http)
    reader = await pact_reader(services, http)
    installation = gid("Installation", exporter.shown.plant.installation_id)
    await share_with(http, exporter, reader.tenant, installationIds=[installation])
    (other_id,) = exporter.publications["PRF-OTHER"]
    # when
    listed = await http.get("/3/footprints", headers=reader.auth)
    # then
    assert {f["id"] for f in listed.json()["data"]} == set(exporter.publications["PRF-2990"])
    refused = await http.get(f"/3/footprints/{other_id}", headers=reader.auth)
    assert (refused.status_code, refused.json()["code"]) == (403, "AccessDenied")
    assert "installation" in refused.json()["message"]


async def test_narrowing_or_revoking_a_share_stops_pact_access_at_the_next_request(services, http):
    # given everything shared, then narrowed to the other product
    exporter = await exporter_with_footprints(services, http)
    reader = await pact_reader(services, http)
    given = await share_with(http, exporter, reader.tenant)
    newest, oldest = exporter.publications["PRF-2990"]
    (other_id,) = exporter.publications["PRF-OTHER"]
    assert len((await http.get("/3/footprints", headers=reader.auth)).json()["data"]) == 3
    # when
    narrowed = await narrow_share(exporter, given["id"], productIds=[product_gid(exporter.other)])
    # then the next request sees that product alone, and the others are refused naming the product
    listed = await http.get("/3/footprints", headers=reader.auth)
    assert [f["id"] for f in listed.json()["data"]] == [other_id]
    for pf_id in (newest, oldest):
        refused = await http.get(f"/3/footprints/{pf_id}", headers=reader.auth)
        assert (refused.status_code, refused.json()["code"]) == (403, "AccessDenied")
        assert "product" in refused.json()["message"]
    assert (await http.get(f"/3/footprints/{other_id}", headers=reader.auth)).status_code == 200
    # when narrowed to a period the footprints do not lie in
    dated = await narrow_share(
        exporter, narrowed["id"], periodStart="2030-01-01T00:00:00Z", periodEnd="2030-02-01T00:00:00Z"
    )
    # then nothing is listed, and the one footprint is refused naming the period
    assert (await http.get("/3/footprints", headers=reader.auth)).json() == {"data": []}
    refused = await http.get(f"/3/footprints/{other_id}", headers=reader.auth)
    assert (refused.status_code, refused.json()["code"]) == (403, "AccessDenied")
    assert "period" in refused.json()["message"]
    # when revoked
    await revoke_share(exporter, dated["id"])
    # then nothing is seen, nothing is found, and no request goes to the exporter any more
    assert (await http.get("/3/footprints", headers=reader.auth)).json() == {"data": []}
    gone = await http.get(f"/3/footprints/{other_id}", headers=reader.auth)
    assert (gone.status_code, gone.json()["code"]) == (404, "NotFound")
    asked = await http.post("/3/events", content=json.dumps(request_event()), headers={**reader.auth, **CLOUDEVENTS})
    assert (asked.status_code, asked.json()["code"]) == (403, "AccessDenied")
    assert await requests_of(services, exporter.owner) == []


async def test_a_share_to_one_client_is_that_clients_alone(services, http):
    # given a share naming one client of the importer
    exporter = await exporter_with_footprints(services, http)
    named = await pact_reader(services, http)
    colleague = await pact_reader(services, http, named.tenant)
    await share_with(http, exporter, named.tenant, customerClientId=named.client_id)
    (pf_id,) = exporter.publications["PRF-OTHER"]
    # when / then
    assert len((await http.get("/3/footprints", headers=named.auth)).json()["data"]) == 3
    assert (await http.get("/3/footprints", headers=colleague.auth)).json() == {"data": []}
    assert (await http.get(f"/3/footprints/{pf_id}", headers=colleague.auth)).status_code == 404


async def test_a_grant_of_other_kinds_shares_no_footprints(services, http):
    from backend.sharing.models import ResourceKind

    exporter = await exporter_with_footprints(services, http)
    reader = await pact_reader(services, http)
    await grant(services, exporter.owner, reader.tenant, kinds=(ResourceKind.INSTALLATION,))
    assert (await http.get("/3/footprints", headers=reader.auth)).json() == {"data": []}
