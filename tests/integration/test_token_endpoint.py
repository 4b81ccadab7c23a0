"""POST /auth/token: OAuth2 client credentials (RFC 6749 §4.4, errors per §5.2, tokens per RFC 9068)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
import uuid

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from backend.errors import RateLimited
from backend.ratelimit import hit
from tests.factories.jwts import token_header
from tests.factories.orgs import make_org
from tests.factories.superuser import superuser_execute
from tests.factories.tenants import basic, login, make_client, make_tenant

FORM = {"grant_type": "client_credentials"}


async def _token(http: httpx.AsyncClient, client_id: str, secret: str, **form: str) -> httpx.Response:
    return await http.post("/auth/token", data={**FORM, **form}, headers=basic(client_id, secret))


def _assert_oauth_error(response: httpx.Response, status: int, error: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == error, body
    assert response.headers["cache-control"] == "no-store"
    assert "access_token" not in body
    return body


# --- success ---------------------------------------------------------------------------------------


@pytest.fixture
async def read_client(services):
    """A machine client of a fresh organisation, allowed site:read: (client_id, secret)."""
    return await make_client(services, await make_org(services), ["site:read"])


async def test_issues_a_bearer_token_with_expiry_scope_and_no_store(services, http):
    # given
    owner = await make_org(services)
    client_id, secret = await make_client(services, owner, ["site:read", "evidence:read"])
    # when
    response = await _token(http, client_id, secret, scope="site:read")
    # then
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["scope"] == "site:read"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["pragma"] == "no-cache"
    assert response.headers["content-type"].startswith("application/json")


async def test_without_scope_the_token_carries_every_scope_of_the_client(services, http):
    # given
    owner = await make_org(services)
    client_id, secret = await make_client(services, owner, ["site:read", "evidence:read"])
    # when
    response = await _token(http, client_id, secret)
    # then
    assert response.status_code == 200, response.text
    assert set(response.json()["scope"].split()) == {"site:read", "evidence:read"}


async def test_token_header_names_a_published_es256_key(http, read_client):
    # given
    client_id, secret = read_client
    # when
    token = (await _token(http, client_id, secret)).json()["access_token"]
    jwks = (await http.get("/.well-known/jwks.json")).json()
    # then
    header = token_header(token)
    assert header["typ"] == "at+jwt"
    assert header["alg"] == "ES256"
    published = {key["kid"] for key in jwks["keys"]}
    assert header["kid"] in published
    # the published keys are public only
    assert all("d" not in key for key in jwks["keys"])


async def test_token_claims_follow_rfc_9068_and_verify_against_the_jwks(services, http):
    # given
    owner = await make_org(services)
    client_id, secret = await make_client(services, owner, ["site:read", "audit:read"])
    before = int(time.time())
    # when
    token = (await _token(http, client_id, secret, scope="audit:read")).json()["access_token"]
    jwks = (await http.get("/.well-known/jwks.json")).json()
    # then
    decoded = jwt.decode(token, KeySet.import_key_set(jwks), algorithms=["ES256"])
    claims = decoded.claims
    assert claims["iss"] == "http://testserver"
    assert claims["aud"] in ("cbamx-api", ["cbamx-api"])
    assert claims["sub"] == client_id
    assert claims["client_id"] == client_id
    assert claims["scope"] == "audit:read"
    assert claims["tenant"] == str(owner.id)
    assert before - 5 <= claims["iat"] <= int(time.time()) + 5
    assert claims["exp"] - claims["iat"] == 3600
    assert isinstance(claims["jti"], str) and claims["jti"]


async def test_every_token_has_its_own_jti(http, read_client):
    # given
    client_id, secret = read_client
    # when
    first = (await _token(http, client_id, secret)).json()["access_token"]
    second = (await _token(http, client_id, secret)).json()["access_token"]
    # then
    jwks = KeySet.import_key_set((await http.get("/.well-known/jwks.json")).json())
    jti = {jwt.decode(t, jwks).claims["jti"] for t in (first, second)}
    assert len(jti) == 2


async def test_discovery_document_names_the_token_endpoint_and_jwks(http):
    # when
    response = await http.get("/.well-known/openid-configuration")
    # then
    assert response.status_code == 200
    body = response.json()
    assert body["issuer"] == "http://testserver"
    assert body["token_endpoint"] == "http://testserver/auth/token"
    assert body["jwks_uri"] == "http://testserver/.well-known/jwks.json"
    assert body["grant_types_supported"] == ["client_credentials"]
    assert body["token_endpoint_auth_methods_supported"] == ["client_secret_basic"]
    # the named JWKS is served where the document says
    jwks = await http.get(body["jwks_uri"].removeprefix("http://testserver"))
    assert jwks.status_code == 200 and jwks.json()["keys"]


# --- client authentication (RFC 6749 §2.3.1, §5.2 invalid_client) ------------------------------------


async def test_wrong_secret_is_invalid_client_with_www_authenticate(services, http):
    # given
    owner = await make_org(services)
    client_id, _ = await make_client(services, owner, ["site:read"])
    # when
    response = await _token(http, client_id, "not-the-secret")
    # then
    _assert_oauth_error(response, 401, "invalid_client")
    assert response.headers["www-authenticate"].lower().startswith("basic")


async def test_unknown_client_is_invalid_client(http):
    # when
    response = await _token(http, f"cbx_{uuid.uuid4().hex[:20]}", "whatever")
    # then
    _assert_oauth_error(response, 401, "invalid_client")
    assert "www-authenticate" in response.headers


async def test_no_client_authentication_at_all_is_invalid_client(http):
    # when
    response = await http.post("/auth/token", data=FORM)
    # then
    _assert_oauth_error(response, 401, "invalid_client")


async def test_secret_in_the_form_body_is_refused_only_basic_is_allowed(http, read_client):
    # given: a real client and its real secret
    client_id, secret = read_client
    # when
    response = await http.post("/auth/token", data={**FORM, "client_id": client_id, "client_secret": secret})
    # then
    _assert_oauth_error(response, 401, "invalid_client")
    # the same credentials over Basic do work
    assert (await _token(http, client_id, secret)).status_code == 200


async def test_revoked_client_is_invalid_client(services, http):
    # given
    owner = await make_tenant(services)
    client_id, secret = await make_client(services, owner, ["site:read"])
    session = await login(http, owner.email)
    revoked = await session.gql(
        "mutation($id: String!) { revokeClient(input: {clientId: $id}) { client { revokedAt } errors { code } } }",
        {"id": client_id},
    )
    assert revoked["data"]["revokeClient"]["client"]["revokedAt"] is not None
    # when
    response = await _token(http, client_id, secret)
    # then
    _assert_oauth_error(response, 401, "invalid_client")


# --- request validation ---------------------------------------------------------------------------


async def test_password_grant_is_unsupported_grant_type(services, http):
    # given
    owner = await make_tenant(services)
    client_id, secret = await make_client(services, owner, ["site:read"])
    # when
    response = await http.post(
        "/auth/token",
        data={"grant_type": "password", "username": owner.email, "password": "x"},
        headers=basic(client_id, secret),
    )
    # then
    _assert_oauth_error(response, 400, "unsupported_grant_type")


async def test_missing_grant_type_is_invalid_request(http, read_client):
    # given
    client_id, secret = read_client
    # when
    response = await http.post("/auth/token", data={"scope": "site:read"}, headers=basic(client_id, secret))
    # then
    body = _assert_oauth_error(response, 400, "invalid_request")
    assert "grant_type" in body.get("error_description", "")


@pytest.mark.parametrize("scope", ["site:read tenant:admin", "root"], ids=["not-given", "unknown"])
async def test_a_scope_the_client_does_not_hold_is_invalid_scope(http, read_client, scope):
    # given
    client_id, secret = read_client
    # when
    response = await _token(http, client_id, secret, scope=scope)
    # then
    _assert_oauth_error(response, 400, "invalid_scope")


async def test_json_body_is_invalid_request(http, read_client):
    # given
    client_id, secret = read_client
    # when
    response = await http.post(
        "/auth/token",
        content=json.dumps({"grant_type": "client_credentials"}),
        headers={**basic(client_id, secret), "Content-Type": "application/json"},
    )
    # then
    body = _assert_oauth_error(response, 400, "invalid_request")
    assert "x-www-form-urlencoded" in body["error_description"]


# --- secret rotation --------------------------------------------------------------------------------

ROTATE = """
mutation($id: String!, $grace: Int!) {
  rotateClientSecret(input: {clientId: $id, graceSeconds: $grace}) { clientSecret errors { code message } }
}
"""


async def test_rotation_with_grace_keeps_the_old_secret_until_the_grace_ends(services, http):
    # given
    owner = await make_tenant(services)
    client_id, old_secret = await make_client(services, owner, ["site:read"])
    session = await login(http, owner.email)
    # when
    result = await session.gql(ROTATE, {"id": client_id, "grace": 3600})
    new_secret = result["data"]["rotateClientSecret"]["clientSecret"]
    # then: both secrets work during the grace period
    assert new_secret and new_secret != old_secret
    assert (await _token(http, client_id, old_secret)).status_code == 200
    assert (await _token(http, client_id, new_secret)).status_code == 200
    # when: the grace period ends
    await superuser_execute(
        "UPDATE platform.oauth_clients SET previous_secret_expires_at = now() - interval '1 second' "
        "WHERE client_id = $1",
        client_id,
    )
    # then: only the new secret works
    _assert_oauth_error(await _token(http, client_id, old_secret), 401, "invalid_client")
    assert (await _token(http, client_id, new_secret)).status_code == 200


async def test_rotation_without_grace_refuses_the_old_secret_at_once(services, http):
    # given
    owner = await make_tenant(services)
    client_id, old_secret = await make_client(services, owner, ["site:read"])
    session = await login(http, owner.email)
    # when
    result = await session.gql(ROTATE, {"id": client_id, "grace": 0})
    new_secret = result["data"]["rotateClientSecret"]["clientSecret"]
    # then
    _assert_oauth_error(await _token(http, client_id, old_secret), 401, "invalid_client")
    assert (await _token(http, client_id, new_secret)).status_code == 200


async def test_second_rotation_drops_the_first_secret_even_within_its_grace(services, http):
    # given: rotated once with grace, then again
    owner = await make_tenant(services)
    client_id, first = await make_client(services, owner, ["site:read"])
    session = await login(http, owner.email)
    second = (await session.gql(ROTATE, {"id": client_id, "grace": 3600}))["data"]["rotateClientSecret"]["clientSecret"]
    # when
    third = (await session.gql(ROTATE, {"id": client_id, "grace": 3600}))["data"]["rotateClientSecret"]["clientSecret"]
    # then: only the secret right before the newest one is in its grace period
    _assert_oauth_error(await _token(http, client_id, first), 401, "invalid_client")
    assert (await _token(http, client_id, second)).status_code == 200
    assert (await _token(http, client_id, third)).status_code == 200


# --- rate limiting -----------------------------------------------------------------------------------


async def _start_of_fresh_window(seconds_needed: float = 3.0) -> None:
    """Fixed one-minute windows: do not start a counted sequence just before a boundary."""
    into = time.time() % 60
    if into > 60 - seconds_needed:
        await asyncio.sleep(60 - into + 0.05)


async def test_ratelimit_hit_raises_rate_limited_with_retry_after(services):
    # given
    key = f"test:{uuid.uuid4().hex}"
    await _start_of_fresh_window()
    await hit(services.redis, key, limit=2)
    await hit(services.redis, key, limit=2)
    # when / then
    with pytest.raises(RateLimited, match="too many attempts") as caught:
        await hit(services.redis, key, limit=2)
    assert 1 <= caught.value.retry_after_s <= 60
    assert caught.value.code == "RATE_LIMITED"
    # other keys are counted apart
    await hit(services.redis, f"{key}:other", limit=2)


async def test_token_endpoint_answers_429_with_retry_after_once_the_limit_is_reached(services):
    # given: an app whose settings allow two token requests a minute
    from backend.app import create_app

    low = services.settings.model_copy(update={"token_rate_per_minute": 2})
    limited = dataclasses.replace(services, settings=low)
    app = create_app(low, services=limited)
    app.state.services = limited
    owner = await make_org(services)
    client_id, secret = await make_client(services, owner, ["site:read"])
    await _start_of_fresh_window()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
        assert (await _token(http, client_id, secret)).status_code == 200
        assert (await _token(http, client_id, secret)).status_code == 200
        # when
        response = await _token(http, client_id, secret)
        # then
        assert response.status_code == 429, response.text
        assert 1 <= int(response.headers["retry-after"]) <= 60
        assert response.json()["code"] == "RATE_LIMITED"
        # another client is counted apart
        other_id, other_secret = await make_client(services, owner, ["site:read"])
        assert (await _token(http, other_id, other_secret)).status_code == 200


async def test_wrong_secrets_count_towards_the_limit_too(services):
    # given
    from backend.app import create_app

    low = services.settings.model_copy(update={"token_rate_per_minute": 2})
    limited = dataclasses.replace(services, settings=low)
    app = create_app(low, services=limited)
    app.state.services = limited
    owner = await make_org(services)
    client_id, secret = await make_client(services, owner, ["site:read"])
    await _start_of_fresh_window()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
        assert (await _token(http, client_id, "guess-1")).status_code == 401
        assert (await _token(http, client_id, "guess-2")).status_code == 401
        # when: the right secret after the guesses used up the window
        response = await _token(http, client_id, secret)
    # then
    assert response.status_code == 429
    assert "retry-after" in response.headers
