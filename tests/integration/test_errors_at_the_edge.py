"""Errors never leak and never hide: unexpected errors are masked for callers and logged in full
with the request id; the caller's own mistakes are answered and logged quietly."""

from __future__ import annotations

import base64
import logging
from typing import Any

import pytest

from tests.factories.orgs import make_org
from tests.factories.superuser import superuser_execute, superuser_fetch
from tests.factories.tenants import Bearer, client_token, make_client, make_tenant

INSTALLATIONS = "{ installations { edges { node { id name } } } }"


def _events(caplog: pytest.LogCaptureFixture, event: str) -> list[dict[str, Any]]:
    return [r.msg for r in caplog.records if isinstance(r.msg, dict) and r.msg.get("event") == event]


async def _reader(services: Any, http: Any) -> tuple[Any, Bearer]:
    owner = await make_org(services)
    client_id, secret = await make_client(services, owner, ["site:read", "site:write", "evidence:read"])
    return owner, Bearer(http, await client_token(http, client_id, secret))


async def test_every_response_carries_a_request_id_and_a_sane_incoming_one_is_kept(http):
    # when
    fresh = await http.get("/health/live")
    kept = await http.get("/health/live", headers={"X-Request-ID": "proxy-1234abcd"})
    replaced = await http.get("/health/live", headers={"X-Request-ID": "bad id\nwith newline"})
    # then
    assert len(fresh.headers["x-request-id"]) == 32
    assert kept.headers["x-request-id"] == "proxy-1234abcd"
    assert replaced.headers["x-request-id"] != "bad id\nwith newline"


async def test_unexpected_database_error_in_a_resolver_is_masked_and_logged_with_the_request_id(services, http, caplog):
    # given: the tenant's role lost its read permission behind the application's back
    owner, bearer = await _reader(services, http)
    tenant = owner.tenant
    await superuser_execute(f'REVOKE SELECT ON "{tenant.schema}".installations FROM "{tenant.role}"')
    caplog.set_level(logging.INFO)
    try:
        # when
        response = await http.post(
            "/graphql", json={"query": INSTALLATIONS}, headers={"Authorization": f"Bearer {bearer.token}"}
        )
    finally:
        await superuser_execute(f'GRANT SELECT ON "{tenant.schema}".installations TO "{tenant.role}"')
    # then: the caller learns nothing about the statement, the schema or the parameters
    request_id = response.headers["x-request-id"]
    text = response.text
    assert "SELECT" not in text and tenant.schema not in text and "permission denied" not in text
    error = response.json()["errors"][0]
    assert error["extensions"] == {"code": "INTERNAL_ERROR", "requestId": request_id}
    assert request_id in error["message"]
    # and the log has the whole story under the same id
    logged = _events(caplog, "graphql.unexpected_error")
    assert len(logged) == 1
    assert logged[0]["request_id"] == request_id
    assert "permission denied" in str(logged[0]["exc_info"])
    assert [r.levelno for r in caplog.records if r.msg is logged[0]] == [logging.ERROR]


async def test_rest_500_is_logged_with_the_request_id_and_answers_only_the_id(services, http, caplog):
    # given: a document table the tenant's role can no longer read
    owner, bearer = await _reader(services, http)
    tenant = owner.tenant
    await superuser_execute(f'REVOKE SELECT ON "{tenant.schema}".evidence_documents FROM "{tenant.role}"')
    caplog.set_level(logging.INFO)
    try:
        # when
        response = await http.get(
            "/evidence/00000000-0000-4000-8000-000000000000/download",
            headers={"Authorization": f"Bearer {bearer.token}"},
        )
    finally:
        await superuser_execute(f'GRANT SELECT ON "{tenant.schema}".evidence_documents TO "{tenant.role}"')
    # then
    assert response.status_code == 500
    request_id = response.headers["x-request-id"]
    body = response.json()
    assert body["code"] == "INTERNAL_ERROR"
    assert body["requestId"] == request_id
    assert tenant.schema not in response.text and "SELECT" not in response.text
    logged = _events(caplog, "http.unexpected_error")
    assert [e["request_id"] for e in logged] == [request_id]
    assert "permission denied" in str(logged[0]["exc_info"])


async def test_domain_errors_keep_their_codes(services, http):
    # given
    _, bearer = await _reader(services, http)
    # when
    missing = base64.b64encode(b"Installation:00000000-0000-4000-8000-000000000000").decode()
    body = await bearer.gql("query($id: ID!) { installation(id: $id) { id } }", {"id": missing})
    # then
    assert body["errors"][0]["extensions"]["code"] not in (None, "INTERNAL_ERROR")


@pytest.mark.parametrize(
    "query",
    [
        "{ viewer { password } }",
        "{ viewer { label ",
        '{ installations(first: "many") { edges { node { id } } } }',
        "query($id: ID!) { installation(id: $id) { id } }",
    ],
)
async def test_mistakes_in_queries_are_logged_at_info_without_tracebacks(services, http, caplog, query):
    # given
    owner = await make_tenant(services)
    client_id, secret = await make_client(services, owner, ["site:read"])
    token = await client_token(http, client_id, secret)
    caplog.set_level(logging.DEBUG)
    # when
    response = await http.post("/graphql", json={"query": query}, headers={"Authorization": f"Bearer {token}"})
    # then
    assert response.json()["errors"]
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], [r.msg for r in caplog.records]
    assert not [r for r in caplog.records if r.exc_info or (isinstance(r.msg, dict) and r.msg.get("exc_info"))]
    assert _events(caplog, "graphql.refused")


@pytest.mark.parametrize(
    ("query", "variables", "field"),
    [
        (
            "mutation($input: InstallationInput!) { createInstallation(input: $input) { errors { field } } }",
            {"input": {"name": "a\x00b", "country": "RS"}},
            "input.name",
        ),
        (
            'mutation { createInstallation(input: {name: "a\\u0000b", country: "RS"}) { errors { field } } }',
            {},
            "input.name",
        ),
        ("query($id: ID!) { installation(id: $id) { id } }", {"id": "x\x00"}, "id"),
    ],
)
async def test_nul_characters_are_refused_before_any_resolver_runs(services, http, query, variables, field):
    # given
    owner, bearer = await _reader(services, http)
    # when
    body = await bearer.gql(query, variables)
    # then
    assert body["data"] is None
    assert body["errors"][0]["extensions"] == {"code": "INVALID_CHARACTER", "field": field}
    rows = await superuser_fetch(f'SELECT count(*) AS n FROM "{owner.tenant.schema}".installations')
    assert rows[0]["n"] == 0
