"""Bad input is refused with a reason: malformed or oversized GraphQL, bad log-ins, CSRF, invalid fields."""

from __future__ import annotations

import dataclasses
from typing import Any

import httpx
from sqlalchemy import func, select

from backend.audit.models import AuditEntry
from tests.factories.orgs import make_org
from tests.factories.tenants import PASSWORD, Bearer, client_token, login, make_client, make_tenant

DEEP_BUT_VALID = "{ installations { edges { node { processes { lines { id } } } } } }"  # depth 5
CREATE_INSTALLATION = """
mutation($input: InstallationInput!) {
  createInstallation(input: $input) { installation { id } errors { code field message } }
}
"""
INSTALLATIONS = "{ installations { edges { node { id name } } } }"


async def _post(http: httpx.AsyncClient, query: str, **kwargs: Any) -> httpx.Response:
    return await http.post("/graphql", json={"query": query}, **kwargs)


def _messages(response: httpx.Response) -> list[str]:
    body = response.json()
    assert body.get("data") is None, body
    return [e["message"] for e in body["errors"]]


def _app_with(services: Any, **changes: Any) -> httpx.AsyncClient:
    from backend.app import create_app

    settings = services.settings.model_copy(update=changes)
    changed = dataclasses.replace(services, settings=settings)
    app = create_app(settings, services=changed)
    app.state.services = changed
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


async def _audit_count(services, owner) -> int:
    async with services.db.tenant(owner.tenant.scope()) as db:
        return int((await db.execute(select(func.count()).select_from(AuditEntry))).scalar_one())


# --- malformed and oversized GraphQL --------------------------------------------------------------------


async def test_syntax_error_names_the_problem_and_where(http):
    # when
    response = await _post(http, "{ viewer { label ")
    # then
    assert response.status_code in (200, 400)
    body = response.json()
    assert body["data"] is None
    error = body["errors"][0]
    assert error["message"] == "Syntax Error: Expected Name, found <EOF>."
    assert error["locations"] == [{"line": 1, "column": 18}]


async def test_body_that_is_not_json_is_400(http):
    # when
    response = await http.post(
        "/graphql", content=b"{ viewer { label } }", headers={"Content-Type": "application/json"}
    )
    # then
    assert response.status_code == 400
    assert "JSON" in response.text


async def test_unknown_field_is_named(http):
    # when
    response = await _post(http, "{ viewer { password } }")
    # then
    assert any("Cannot query field 'password' on type 'Viewer'" in m for m in _messages(response))


async def test_depth_over_the_limit_is_refused(services, http):
    # given: the same valid query against an app allowing depth 3 and the default one (10)
    owner = await make_org(services)
    client_id, secret = await make_client(services, owner, ["site:read"])
    token = await client_token(http, client_id, secret)
    headers = {"Authorization": f"Bearer {token}"}
    # when
    async with _app_with(services, graphql_max_depth=3) as shallow:
        refused = await _post(shallow, DEEP_BUT_VALID, headers=headers)
    allowed = await _post(http, DEEP_BUT_VALID, headers=headers)
    too_deep = await _post(http, "{ viewer " + "{ organization " * 11 + "{ id" + " }" * 12 + " }", headers=headers)
    # then
    assert _messages(refused) == ["'anonymous' exceeds maximum operation depth of 3"]
    assert allowed.json() == {"data": {"installations": {"edges": []}}}
    assert "'anonymous' exceeds maximum operation depth of 10" in _messages(too_deep)


async def test_more_aliases_than_allowed_are_refused(http):
    # given
    at_limit = "{ " + " ".join(f"a{i}: __typename" for i in range(15)) + " }"
    over = "{ " + " ".join(f"a{i}: __typename" for i in range(16)) + " }"
    # when
    accepted = await _post(http, at_limit)
    refused = await _post(http, over)
    # then
    assert accepted.json()["data"] == {f"a{i}": "Query" for i in range(15)}
    assert _messages(refused) == ["16 aliases found. Allowed: 15"]


async def test_more_tokens_than_allowed_are_refused_before_parsing_finishes(http):
    # given: 5001+ tokens
    query = "{ " + "__typename " * 5000 + "}"
    # when
    response = await _post(http, query)
    # then
    messages = _messages(response)
    assert len(messages) == 1
    assert "more than 5000 tokens" in messages[0]


async def test_introspection_is_refused_without_credentials(http):
    # when
    response = await _post(http, "{ __schema { types { name } } }")
    # then
    messages = _messages(response)
    assert "GraphQL introspection has been disabled, but the requested query contained the field '__schema'." in (
        messages
    )


async def test_introspection_is_allowed_when_logged_in_or_with_a_token(services, http):
    # given
    owner = await make_tenant(services)
    client_id, secret = await make_client(services, owner, ["site:read"])
    bearer = Bearer(http, await client_token(http, client_id, secret))
    session = await login(http, owner.email)
    # when
    by_person = await session.gql("{ __schema { types { name } } }")
    by_client = await bearer.gql("{ __schema { queryType { name } } }")
    # then
    names = {t["name"] for t in by_person["data"]["__schema"]["types"]}
    assert {"Query", "Mutation", "Installation", "AuditVerification"} <= names
    assert by_client["data"]["__schema"]["queryType"]["name"] == "Query"


async def test_graphql_over_get_is_refused(services, http):
    # given: even with valid credentials
    owner = await make_org(services)
    client_id, secret = await make_client(services, owner, ["site:read"])
    token = await client_token(http, client_id, secret)
    # when
    response = await http.get(
        "/graphql", params={"query": "{ viewer { label } }"}, headers={"Authorization": f"Bearer {token}"}
    )
    # then
    assert response.status_code in (400, 405)
    assert "not allowed when using GET" in response.text


# --- log-in ----------------------------------------------------------------------------------------------


async def test_login_for_an_unknown_tenant_slug_is_refused(services, http):
    # given
    owner = await make_tenant(services)
    # when
    response = await http.post(
        "/auth/login", json={"email": owner.email, "password": PASSWORD, "tenant": "no-such-organisation"}
    )
    # then
    assert response.status_code in (404, 422)
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == "UNKNOWN_TENANT"
    assert body["errors"][0]["field"] == "tenant"
    assert "cbamx_session" not in response.cookies


async def test_login_for_a_tenant_one_is_not_a_member_of_is_refused(services, http):
    # given
    owner = await make_tenant(services)
    other = await make_tenant(services)
    # when
    response = await http.post(
        "/auth/login", json={"email": owner.email, "password": PASSWORD, "tenant": other.tenant.slug}
    )
    # then
    assert response.status_code == 401
    assert response.json()["code"] == "NOT_A_MEMBER"
    assert "cbamx_session" not in response.cookies


async def test_wrong_password_and_unknown_email_get_the_same_answer(services, http):
    # given
    owner = await make_tenant(services)
    # when
    wrong_password = await http.post("/auth/login", json={"email": owner.email, "password": "wrong password 1"})
    unknown_email = await http.post(
        "/auth/login", json={"email": "nobody-at-all@example.com", "password": "wrong password 1"}
    )
    # then
    for response in (wrong_password, unknown_email):
        assert response.status_code == 401
        assert response.json()["code"] == "INVALID_CREDENTIALS"
        assert "cbamx_session" not in response.cookies
    assert wrong_password.json() == unknown_email.json()
    assert wrong_password.json()["detail"] == "email or password is wrong"


async def test_login_body_missing_the_password_is_400(http):
    # when
    response = await http.post("/auth/login", json={"email": "someone@example.com"})
    # then
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "BAD_REQUEST"
    assert "password" in [e["field"] for e in body["errors"]]


async def test_login_with_a_cross_site_origin_is_refused(services, http):
    # given
    owner = await make_tenant(services)
    # when
    cross = await http.post(
        "/auth/login",
        json={"email": owner.email, "password": PASSWORD},
        headers={"Origin": "https://evil.example"},
    )
    same = await http.post(
        "/auth/login", json={"email": owner.email, "password": PASSWORD}, headers={"Origin": "http://testserver"}
    )
    # then
    assert cross.status_code == 403
    assert cross.json()["errors"][0]["field"] == "origin"
    assert "cbamx_session" not in cross.cookies
    assert same.status_code == 200


async def test_cookie_post_to_graphql_without_or_with_a_wrong_csrf_header_is_refused(services, http):
    # given
    owner = await make_tenant(services)
    session = await login(http, owner.email)
    query = {"query": "{ viewer { label } }"}
    # when
    missing = await http.post("/graphql", json=query, cookies=session.cookies)
    wrong = await http.post("/graphql", json=query, cookies=session.cookies, headers={"X-CSRF-Token": "guess"})
    right = await http.post("/graphql", json=query, cookies=session.cookies, headers={"X-CSRF-Token": session.csrf})
    # then
    for refused in (missing, wrong):
        assert refused.status_code == 403
        assert refused.json()["code"] == "PERMISSION_DENIED"
        assert refused.json()["errors"][0]["field"] == "x-csrf-token"
    assert right.status_code == 200
    assert right.json()["data"]["viewer"]["label"] == owner.email


async def test_cookie_mutation_without_csrf_changes_nothing(services, http):
    # given
    owner = await make_tenant(services)
    session = await login(http, owner.email)
    before = await _audit_count(services, owner)
    # when
    response = await http.post(
        "/graphql",
        json={"query": CREATE_INSTALLATION, "variables": {"input": {"name": "Forged", "country": "RS"}}},
        cookies=session.cookies,
    )
    # then
    assert response.status_code == 403
    assert (await session.gql(INSTALLATIONS))["data"]["installations"]["edges"] == []
    assert await _audit_count(services, owner) == before


# --- invalid fields -------------------------------------------------------------------------------------


async def test_invalid_installation_names_every_field_and_stores_nothing(services, http):
    # given
    owner = await make_tenant(services)
    session = await login(http, owner.email)
    before = await _audit_count(services, owner)
    # when
    result = await session.gql(
        CREATE_INSTALLATION,
        {"input": {"name": "Press hall", "country": "Serbia", "intervalResolutionSeconds": 420, "unlocode": "DEHAM"}},
    )
    # then
    payload = result["data"]["createInstallation"]
    assert payload["installation"] is None
    by_field = {e["field"]: e for e in payload["errors"]}
    assert set(by_field) == {"country", "intervalResolutionSeconds", "unlocode"}
    assert all(e["code"] == "INVALID" for e in payload["errors"])
    assert "alpha-2" in by_field["country"]["message"]
    assert "5 to 60 minutes" in by_field["intervalResolutionSeconds"]["message"]
    assert (await session.gql(INSTALLATIONS))["data"]["installations"]["edges"] == []
    assert await _audit_count(services, owner) == before


async def test_unlocode_of_another_country_is_refused_alone(services, http):
    # given
    owner = await make_tenant(services)
    session = await login(http, owner.email)
    before = await _audit_count(services, owner)
    # when
    result = await session.gql(
        CREATE_INSTALLATION, {"input": {"name": "Press hall", "country": "RS", "unlocode": "DEHAM"}}
    )
    # then
    errors = result["data"]["createInstallation"]["errors"]
    assert [(e["field"], e["message"]) for e in errors] == [
        ("unlocode", "must start with the installation's country code")
    ]
    assert (await session.gql(INSTALLATIONS))["data"]["installations"]["edges"] == []
    assert await _audit_count(services, owner) == before
    # the same input with a matching code is saved
    ok = await session.gql(CREATE_INSTALLATION, {"input": {"name": "Press hall", "country": "RS", "unlocode": "RSBEG"}})
    assert ok["data"]["createInstallation"]["errors"] == []
    assert await _audit_count(services, owner) == before + 1


async def test_variables_of_the_wrong_type_are_refused_before_any_resolver(services, http):
    # given
    owner = await make_tenant(services)
    session = await login(http, owner.email)
    before = await _audit_count(services, owner)
    # when
    result = await session.gql(
        CREATE_INSTALLATION, {"input": {"name": "Press hall", "country": "RS", "intervalResolutionSeconds": "7 min"}}
    )
    # then
    assert result["data"] is None
    message = result["errors"][0]["message"]
    assert "$input" in message and "intervalResolutionSeconds" in message
    assert await _audit_count(services, owner) == before
