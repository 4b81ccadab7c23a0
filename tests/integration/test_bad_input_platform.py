"""Bad input at the platform's edge: log-in, tokens, invitations, evidence and GraphQL mutations.

Every case is refused with a 4xx (or a mutation error) that names the field at fault, and a row
count before and after shows that nothing was stored.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from backend.api.relay import gid
from tests.factories.site import Plant, make_plant
from tests.factories.superuser import superuser_fetch
from tests.factories.tenants import PASSWORD, TenantWithOwner, basic, make_client, make_tenant

LONG = 100_000  # far beyond every column; short enough to send


@dataclass
class Edge:
    http: httpx.AsyncClient
    owner: TenantWithOwner
    plant: Plant
    csrf: str
    cookie: str
    bearer: str
    client_id: str
    secret: str

    def session_headers(self) -> dict[str, str]:
        return {"X-CSRF-Token": self.csrf, "Cookie": f"cbamx_session={self.cookie}"}

    def bearer_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.bearer}"}


@pytest.fixture(scope="module")
async def edge(services: Any, app: Any) -> AsyncIterator[Edge]:
    owner = await make_tenant(services)
    plant = await make_plant(services, owner, meters=("MAIN",))
    client_id, secret = await make_client(
        services, owner, ["site:read", "site:write", "evidence:write", "evidence:read", "grants:read"]
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
        logged_in = await http.post("/auth/login", json={"email": owner.email, "password": PASSWORD})
        assert logged_in.status_code == 200, logged_in.text
        cookie = logged_in.cookies["cbamx_session"]
        http.cookies.clear()
        token = await http.post(
            "/auth/token", data={"grant_type": "client_credentials"}, headers=basic(client_id, secret)
        )
        assert token.status_code == 200, token.text
        yield Edge(
            http, owner, plant, logged_in.json()["csrfToken"], cookie, token.json()["access_token"], client_id, secret
        )


async def _count(edge: Edge, table: str) -> int:
    """Rows of a tenant table (``tenant.x``) or a platform table (``platform.x``)."""
    where, _, name = table.partition(".")
    schema = edge.owner.tenant.schema if where == "tenant" else "platform"
    rows = await superuser_fetch(f'SELECT count(*) AS n FROM "{schema}"."{name}"')
    return int(rows[0]["n"])


def _problem_names(response: httpx.Response, field: str) -> None:
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    body = response.json()
    named = [e.get("field") for e in body.get("errors") or []]
    described = " ".join(str(body.get(k, "")) for k in ("detail", "error_description"))
    assert field in named or field in described, body


# --- REST: log-in ------------------------------------------------------------------------------------

LOGIN_CASES = [
    pytest.param({"email": "a" * 330 + "@example.com", "password": "x"}, "email", id="email-too-long"),
    pytest.param({"email": "a\x00b@example.com", "password": "x"}, "email", id="email-nul"),
    pytest.param({"email": "a@example.com", "password": "x\x00y"}, "password", id="password-nul"),
    pytest.param({"email": "a@example.com", "password": "p" * 5000}, "password", id="password-too-long"),
    pytest.param({"email": "a@example.com", "password": "x", "tenant": "t" * 70}, "tenant", id="tenant-too-long"),
    pytest.param({"email": "a@example.com", "password": "x", "tenant": "t\x00"}, "tenant", id="tenant-nul"),
    pytest.param({"email": 12345, "password": "x"}, "email", id="email-wrong-type"),
    pytest.param({"email": "a@example.com", "password": ["x"]}, "password", id="password-wrong-type"),
    pytest.param({"password": "x"}, "email", id="email-missing"),
    pytest.param({"email": "a@example.com", "password": "x", "tenant": 7}, "tenant", id="tenant-wrong-type"),
]


@pytest.mark.parametrize(("body", "field"), LOGIN_CASES)
async def test_login_refuses_bad_fields(edge, body, field):
    # given
    before = await _count(edge, "platform.portal_sessions")
    # when
    response = await edge.http.post("/auth/login", json=body)
    # then
    _problem_names(response, field)
    assert await _count(edge, "platform.portal_sessions") == before


@pytest.mark.parametrize(
    ("content", "field"),
    [
        pytest.param(b'{"email": "a\xff\xfe@example.com", "password": "x"}', "body", id="not-utf8"),
        pytest.param(b'{"email": "a@example.com", "password": ', "body", id="truncated-json"),
        pytest.param(b'{"email": "a@example.com", "password": "' + b"x" * 200_000 + b'"}', "body", id="oversize"),
    ],
)
async def test_login_refuses_bodies_that_are_not_json_text(edge, content, field):
    # given
    before = await _count(edge, "platform.portal_sessions")
    # when
    response = await edge.http.post("/auth/login", content=content, headers={"Content-Type": "application/json"})
    # then
    assert 400 <= response.status_code < 500, response.text
    assert field in response.text
    assert await _count(edge, "platform.portal_sessions") == before


# --- REST: token endpoint --------------------------------------------------------------------------------

TOKEN_CASES = [
    pytest.param("grant_type=client_credentials&grant_type=client_credentials", "grant_type", id="grant-type-twice"),
    pytest.param("grant_type=client_credentials&scope=site:read&scope=site:write", "scope", id="scope-twice"),
    pytest.param("grant_type=client_credentials&scope=" + "s" * 5000, "scope", id="scope-too-long"),
    pytest.param("grant_type=client_credentials&scope=site%3Aread%00", "scope", id="scope-nul"),
    pytest.param("grant_type=client%00credentials", "grant_type", id="grant-type-nul"),
    pytest.param("grant_type=" + "g" * 5000, "grant_type", id="grant-type-too-long"),
]


@pytest.mark.parametrize(("form", "field"), TOKEN_CASES)
async def test_token_endpoint_refuses_bad_parameters(edge, form, field):
    # given
    before = await _count(edge, "platform.oauth_clients")
    # when
    response = await edge.http.post(
        "/auth/token",
        content=form.encode(),
        headers={**basic(edge.client_id, edge.secret), "Content-Type": "application/x-www-form-urlencoded"},
    )
    # then
    assert response.status_code == 400, response.text
    assert response.json()["error"] in ("invalid_request", "invalid_scope")
    _problem_names(response, field)
    assert response.headers["cache-control"] == "no-store"
    assert await _count(edge, "platform.oauth_clients") == before


@pytest.mark.parametrize(
    "authorization",
    [
        pytest.param("Basic " + base64.b64encode(b"c" * 5000 + b":secret").decode(), id="client-id-too-long"),
        pytest.param("Basic " + base64.b64encode(b"cbx_\x00:secret").decode(), id="client-id-nul"),
        pytest.param("Basic " + base64.b64encode(b"\xff\xfe:secret").decode(), id="client-id-not-utf8"),
        pytest.param("Basic not-base64!!", id="not-base64"),
    ],
)
async def test_token_endpoint_answers_invalid_client_for_broken_client_authentication(edge, authorization):
    # when
    response = await edge.http.post(
        "/auth/token", data={"grant_type": "client_credentials"}, headers={"Authorization": authorization}
    )
    # then
    assert response.status_code == 401, response.text
    assert response.json()["error"] == "invalid_client"
    assert "client" in response.json()["error_description"]


async def test_token_endpoint_refuses_a_body_that_is_not_utf8(edge):
    # when
    response = await edge.http.post(
        "/auth/token",
        content=b"grant_type=client_credentials&scope=\xff\xfe",
        headers={**basic(edge.client_id, edge.secret), "Content-Type": "application/x-www-form-urlencoded"},
    )
    # then
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_request"
    assert "UTF-8" in response.json()["error_description"]


async def test_token_endpoint_refuses_an_oversize_body(edge):
    # when
    response = await edge.http.post(
        "/auth/token",
        content=b"grant_type=client_credentials&scope=" + b"s" * 200_000,
        headers={**basic(edge.client_id, edge.secret), "Content-Type": "application/x-www-form-urlencoded"},
    )
    # then
    assert response.status_code == 413, response.text


# --- REST: invitations ---------------------------------------------------------------------------------

INVITATION_CASES = [
    pytest.param({"token": "t" * 5000, "name": "N", "password": PASSWORD}, "token", id="token-too-long"),
    pytest.param({"token": "t\x00", "name": "N", "password": PASSWORD}, "token", id="token-nul"),
    pytest.param({"token": "t", "name": "n" * 201, "password": PASSWORD}, "name", id="name-too-long"),
    pytest.param({"token": "t", "name": "N\x00", "password": PASSWORD}, "name", id="name-nul"),
    pytest.param({"token": "t", "name": "N", "password": "p" * 5000}, "password", id="password-too-long"),
    pytest.param({"token": "t", "name": 5, "password": PASSWORD}, "name", id="name-wrong-type"),
]


@pytest.mark.parametrize(("body", "field"), INVITATION_CASES)
async def test_accepting_an_invitation_refuses_bad_fields(edge, body, field):
    # given
    before = await _count(edge, "platform.users")
    # when
    response = await edge.http.post("/auth/invitations/accept", json=body)
    # then
    _problem_names(response, field)
    assert await _count(edge, "platform.users") == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({"tenant": "t" * 70}, "tenant", id="switch-tenant-too-long"),
        pytest.param({"tenant": "t\x00"}, "tenant", id="switch-tenant-nul"),
    ],
)
async def test_switching_organisation_refuses_bad_fields(edge, body, field):
    # given
    query = "SELECT count(*) AS n FROM platform.portal_sessions WHERE tenant_id = $1"
    before = (await superuser_fetch(query, edge.owner.id))[0]["n"]
    # when
    response = await edge.http.post("/auth/switch-tenant", json=body, headers=edge.session_headers())
    # then: the session still acts for its organisation
    _problem_names(response, field)
    assert (await superuser_fetch(query, edge.owner.id))[0]["n"] == before


# --- REST: evidence upload -------------------------------------------------------------------------------

EVIDENCE_CASES = [
    pytest.param({"title": "t" * 301}, ("a.pdf", "application/pdf"), "title", id="title-too-long"),
    pytest.param({"title": "t\x00"}, ("a.pdf", "application/pdf"), "title", id="title-nul"),
    pytest.param({"title": "T", "description": "d\x00"}, ("a.pdf", "application/pdf"), "description", id="desc-nul"),
    pytest.param({"title": "T"}, ("f" * 300 + ".pdf", "application/pdf"), "filename", id="filename-too-long"),
    pytest.param({"title": "T", "kind": "ppa\x00"}, ("a.pdf", "application/pdf"), "kind", id="kind-nul"),
    pytest.param({"title": "T"}, ("a.pdf", "application/" + "x" * 200), "contentType", id="content-type-long"),
    pytest.param({"title": "T", "kind": "k" * 500}, ("a.pdf", "application/pdf"), "kind", id="kind-unknown"),
    pytest.param({"title": "T", "subjects": "[1, 2]"}, ("a.pdf", "application/pdf"), "subjects", id="subjects-list"),
    pytest.param({"title": "T", "subjects": "{"}, ("a.pdf", "application/pdf"), "subjects", id="subjects-not-json"),
    pytest.param(
        {"title": "T", "subjects": '{"installation_id": "a\\u0000"}'},
        ("a.pdf", "application/pdf"),
        "subjects",
        id="subjects-nul",
    ),
]


@pytest.mark.parametrize(("form", "file", "field"), EVIDENCE_CASES)
async def test_evidence_upload_refuses_bad_fields(edge, form, file, field):
    # given
    before = await _count(edge, "tenant.evidence_documents")
    filename, content_type = file
    # when
    response = await edge.http.post(
        "/evidence/",
        data={"kind": "other", **form},
        files={"file": (filename, b"%PDF-1.7\n" + uuid.uuid4().bytes * 8, content_type)},
        headers=edge.bearer_headers(),
    )
    # then
    _problem_names(response, field)
    assert await _count(edge, "tenant.evidence_documents") == before


# --- GraphQL mutations ---------------------------------------------------------------------------------

CREATE_INSTALLATION = """
mutation($input: InstallationInput!) {
  createInstallation(input: $input) { installation { id } errors { code field message } }
}
"""
CREATE_PROCESS = """
mutation($input: CreateProductionProcessInput!) {
  createProductionProcess(input: $input) { process { id } errors { code field message } }
}
"""
CREATE_GRID_POINT = """
mutation($input: CreateGridConnectionPointInput!) {
  createGridConnectionPoint(input: $input) { gridConnectionPoint { id } errors { code field message } }
}
"""
CREATE_METER = """
mutation($input: CreateMeterInput!) {
  createMeter(input: $input) { meter { id } errors { code field message } }
}
"""
CREATE_CLIENT = """
mutation($input: CreateClientInput!) {
  createClient(input: $input) { clientSecret errors { code field message } }
}
"""
INVITE = """
mutation($input: InviteMemberInput!) {
  inviteMember(input: $input) { token errors { code field message } }
}
"""

INSTALLATION = {"name": "Plant", "country": "RS"}


def _installation(**changes: Any) -> dict[str, Any]:
    return {"input": {**INSTALLATION, **changes}}


def _site_part(plant: Plant, defaults: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """A mutation input for a part of the plant's installation, with ``changes`` over its defaults."""
    return {"input": {"installationId": str(gid("Installation", plant.installation_id)), **defaults, **changes}}


def _process(plant: Plant, **changes: Any) -> dict[str, Any]:
    return _site_part(plant, {"code": "P9", "name": "P"}, changes)


def _grid_point(plant: Plant, **changes: Any) -> dict[str, Any]:
    return _site_part(plant, {"code": "G9", "name": "G"}, changes)


def _meter(plant: Plant, **changes: Any) -> dict[str, Any]:
    return _site_part(plant, {"code": "M9", "name": "M", "medium": "ELECTRICITY", "role": "MAIN"}, changes)


def _device(**changes: Any) -> dict[str, Any]:
    return {"serialNumber": "SN1", "installedAt": "2026-01-01T00:00:00Z", **changes}


MUTATION_CASES = [
    # (mutation, variables builder, table, field named, who)
    pytest.param(
        CREATE_INSTALLATION, lambda p: _installation(name="n" * 201), "installations", "name", id="inst-name-long"
    ),
    pytest.param(
        CREATE_INSTALLATION, lambda p: _installation(name="n\x00"), "installations", "name", id="inst-name-nul"
    ),
    pytest.param(
        CREATE_INSTALLATION, lambda p: _installation(city="c" * 121), "installations", "city", id="inst-city-long"
    ),
    pytest.param(
        CREATE_INSTALLATION,
        lambda p: _installation(postalCode="1" * 21),
        "installations",
        "postal",
        id="inst-postal-long",
    ),
    pytest.param(
        CREATE_INSTALLATION, lambda p: _installation(address="a\x00"), "installations", "address", id="inst-address-nul"
    ),
    pytest.param(
        CREATE_INSTALLATION,
        lambda p: _installation(economicActivity="e" * 201),
        "installations",
        "economic",
        id="inst-activity-long",
    ),
    pytest.param(
        CREATE_INSTALLATION,
        lambda p: _installation(cbamInstallationId="c" * 65),
        "installations",
        "cbam",
        id="inst-cbam-id-long",
    ),
    pytest.param(
        CREATE_INSTALLATION, lambda p: _installation(timezone="z" * 65), "installations", "timezone", id="inst-tz-long"
    ),
    pytest.param(
        CREATE_INSTALLATION,
        lambda p: _installation(intervalResolutionSeconds=2**31),
        "installations",
        "intervalResolutionSeconds",
        id="inst-resolution-int-overflow",
    ),
    pytest.param(
        CREATE_INSTALLATION,
        lambda p: _installation(intervalResolutionSeconds="900"),
        "installations",
        "intervalResolutionSeconds",
        id="inst-resolution-wrong-type",
    ),
    pytest.param(
        CREATE_INSTALLATION, lambda p: _installation(latitude="north"), "installations", "latitude", id="inst-lat-type"
    ),
    pytest.param(
        CREATE_PROCESS, lambda p: _process(p, code="c" * 65), "production_processes", "code", id="proc-code-long"
    ),
    pytest.param(
        CREATE_PROCESS, lambda p: _process(p, name="n\x00"), "production_processes", "name", id="proc-name-nul"
    ),
    pytest.param(
        CREATE_PROCESS,
        lambda p: _process(p, boundary="b\x00"),
        "production_processes",
        "boundary",
        id="proc-boundary-nul",
    ),
    pytest.param(
        CREATE_PROCESS,
        lambda p: _process(p, goodsCategory="g" * 121),
        "production_processes",
        "goods",
        id="proc-goods-long",
    ),
    pytest.param(
        CREATE_GRID_POINT, lambda p: _grid_point(p, code="c" * 65), "grid_connection_points", "code", id="gcp-code-long"
    ),
    pytest.param(
        CREATE_GRID_POINT,
        lambda p: _grid_point(p, gridOperator="o" * 201),
        "grid_connection_points",
        "operator",
        id="gcp-operator-long",
    ),
    pytest.param(CREATE_METER, lambda p: _meter(p, code="c" * 65), "meters", "code", id="meter-code-long"),
    pytest.param(CREATE_METER, lambda p: _meter(p, name="n" * 201), "meters", "name", id="meter-name-long"),
    pytest.param(CREATE_METER, lambda p: _meter(p, description="d\x00"), "meters", "description", id="meter-desc-nul"),
    pytest.param(
        CREATE_METER,
        lambda p: _meter(p, device=_device(serialNumber="s" * 65)),
        "meters",
        "serial",
        id="meter-serial-long",
    ),
    pytest.param(
        CREATE_METER,
        lambda p: _meter(p, device=_device(manufacturer="m" * 121)),
        "meters",
        "manufacturer",
        id="meter-manufacturer-long",
    ),
    pytest.param(CREATE_METER, lambda p: _meter(p, role="BOSS"), "meters", "role", id="meter-role-unknown"),
]


@pytest.mark.parametrize(("mutation", "variables", "table", "field"), MUTATION_CASES)
async def test_mutations_refuse_values_their_columns_cannot_hold(edge, mutation, variables, table, field):
    # given
    before = await _count(edge, f"tenant.{table}")
    # when
    response = await edge.http.post(
        "/graphql", json={"query": mutation, "variables": variables(edge.plant)}, headers=edge.bearer_headers()
    )
    # then: an error naming the field, as a payload error or an operation error
    assert response.status_code in (200, 400), response.text
    _graphql_names(response.json(), field)
    assert await _count(edge, f"tenant.{table}") == before


def _graphql_names(body: dict[str, Any], field: str) -> None:
    assert "INTERNAL_ERROR" not in str(body), body
    named: list[str] = []
    for payload in (body.get("data") or {}).values():
        if payload:
            named += [f"{e['field']} {e['message']}" for e in payload["errors"]]
    for error in body.get("errors") or []:
        named.append(f"{(error.get('extensions') or {}).get('field')} {error['message']}")
    assert named, body
    assert any(field.lower() in n.lower().replace("_", "") or field.lower() in n.lower() for n in named), body


PERSON_CASES = [
    pytest.param(
        CREATE_CLIENT, {"name": "n" * 201, "scopes": ["site:read"]}, "oauth_clients", "name", id="client-name-long"
    ),
    pytest.param(
        CREATE_CLIENT, {"name": "n\x00", "scopes": ["site:read"]}, "oauth_clients", "name", id="client-name-nul"
    ),
    pytest.param(CREATE_CLIENT, {"name": "n", "scopes": ["s" * 70]}, "oauth_clients", "scopes", id="client-scope-long"),
    pytest.param(CREATE_CLIENT, {"name": "n", "scopes": [1]}, "oauth_clients", "scopes", id="client-scopes-type"),
    pytest.param(
        INVITE, {"email": "a" * 330 + "@example.com", "role": "MEMBER"}, "invitations", "email", id="invite-long"
    ),
    pytest.param(INVITE, {"email": "a\x00@example.com", "role": "MEMBER"}, "invitations", "email", id="invite-nul"),
]


@pytest.mark.parametrize(("mutation", "data", "table", "field"), PERSON_CASES)
async def test_admin_mutations_refuse_values_their_columns_cannot_hold(edge, mutation, data, table, field):
    # given
    before = await _count(edge, f"platform.{table}")
    # when
    response = await edge.http.post(
        "/graphql", json={"query": mutation, "variables": {"input": data}}, headers=edge.session_headers()
    )
    # then
    assert response.status_code in (200, 400), response.text
    _graphql_names(response.json(), field)
    assert await _count(edge, f"platform.{table}") == before


async def test_graphql_body_that_is_not_utf8_is_refused(edge):
    # given
    before = await _count(edge, "tenant.installations")
    # when
    response = await edge.http.post(
        "/graphql",
        content=b'{"query": "mutation { createInstallation(input: {name: \\"\xff\xfe\\", country: \\"RS\\"}) '
        b'{ errors { field } } }"}',
        headers={**edge.bearer_headers(), "Content-Type": "application/json"},
    )
    # then
    assert response.status_code == 400, response.text
    assert await _count(edge, "tenant.installations") == before


async def test_graphql_literal_with_a_nul_escape_is_refused(edge):
    # given
    before = await _count(edge, "tenant.installations")
    query = 'mutation { createInstallation(input: {name: "a\\u0000b", country: "RS"}) { errors { field message } } }'
    # when
    response = await edge.http.post("/graphql", json={"query": query}, headers=edge.bearer_headers())
    # then
    _graphql_names(response.json(), "name")
    assert await _count(edge, "tenant.installations") == before
