"""The API refuses bearer tokens that are not ours, not for us, not valid now, or whose client is gone."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from tenancy.provisioning import drop_tenant
from tests.factories.jwts import (
    access_claims,
    active_signing_key,
    b64url_json,
    sign,
    stranger_key,
    tamper_signature,
    token_claims,
    token_header,
    unsigned,
)
from tests.factories.orgs import make_org
from tests.factories.owner import owner_db
from tests.factories.superuser import superuser_execute
from tests.factories.tenants import client_token, login, make_client, make_tenant

VIEWER = "{ viewer { label kind } }"


async def _ask(http: httpx.AsyncClient, authorization: str) -> httpx.Response:
    return await http.post("/graphql", json={"query": VIEWER}, headers={"Authorization": authorization})


def _assert_refused(response: httpx.Response, *, detail: str | None = None) -> dict[str, Any]:
    assert response.status_code == 401, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["www-authenticate"].startswith("Bearer")
    body = response.json()
    assert body["status"] == 401
    assert body["code"] in ("INVALID_TOKEN", "UNAUTHENTICATED")
    assert "data" not in body
    if detail is not None:
        assert detail in body["detail"], body
    return body


async def _client(services: Any, scopes: list[str] | None = None) -> tuple[Any, str, str]:
    owner = await make_org(services)
    client_id, secret = await make_client(services, owner, scopes or ["site:read"])
    return owner, client_id, secret


@pytest.fixture
async def forge(services):
    """The active signing key and the claims of a valid access token, ready to be altered."""
    owner, client_id, _ = await _client(services)
    key = await active_signing_key(services)
    return key, access_claims(services, client_id=client_id, tenant_id=owner.id, scope="site:read")


async def test_a_token_from_the_endpoint_is_accepted(services, http):
    # given
    _, client_id, secret = await _client(services)
    token = await client_token(http, client_id, secret)
    # when
    response = await _ask(http, f"Bearer {token}")
    # then
    assert response.status_code == 200, response.text
    assert response.json()["data"]["viewer"] == {"label": "test client", "kind": "client"}


async def test_a_token_built_here_with_the_active_key_is_accepted(services, http):
    # given: the builder the refusals below start from makes tokens the API accepts
    owner, client_id, _ = await _client(services)
    key = await active_signing_key(services)
    token = sign(access_claims(services, client_id=client_id, tenant_id=owner.id, scope="site:read"), key)
    # when
    response = await _ask(http, f"Bearer {token}")
    # then
    assert response.status_code == 200, response.text
    assert response.json()["data"]["viewer"]["kind"] == "client"


async def test_wrong_audience_is_refused(services, http):
    # given
    owner, client_id, _ = await _client(services)
    key = await active_signing_key(services)
    claims = access_claims(services, client_id=client_id, tenant_id=owner.id, scope="site:read", aud="another-api")
    # when
    response = await _ask(http, f"Bearer {sign(claims, key)}")
    # then
    _assert_refused(response, detail="aud")


async def test_wrong_issuer_is_refused(services, http):
    # given
    owner, client_id, _ = await _client(services)
    key = await active_signing_key(services)
    claims = access_claims(
        services, client_id=client_id, tenant_id=owner.id, scope="site:read", iss="https://evil.example"
    )
    # when
    response = await _ask(http, f"Bearer {sign(claims, key)}")
    # then
    _assert_refused(response, detail="iss")


async def test_expired_token_is_refused(services, http):
    # given: signed with the real active key, expired a minute ago
    owner, client_id, _ = await _client(services)
    key = await active_signing_key(services)
    now = int(time.time())
    claims = access_claims(
        services, client_id=client_id, tenant_id=owner.id, scope="site:read", iat=now - 3660, exp=now - 60
    )
    # when
    response = await _ask(http, f"Bearer {sign(claims, key)}")
    # then
    _assert_refused(response, detail="exp")


async def test_token_without_exp_is_refused(http, forge):
    # given
    key, claims = forge
    del claims["exp"]
    # when
    response = await _ask(http, f"Bearer {sign(claims, key)}")
    # then
    _assert_refused(response, detail="exp")


async def test_id_token_type_is_refused(http, forge):
    # given: right key and claims, but not typed as an access token (RFC 9068 §4)
    key, claims = forge
    # when
    response = await _ask(http, f"Bearer {sign(claims, key, typ='JWT')}")
    # then
    _assert_refused(response, detail="at+jwt")


async def test_alg_none_is_refused(http, forge):
    # given: otherwise valid claims, unsigned, naming the real key
    key, claims = forge
    # when
    response = await _ask(http, f"Bearer {unsigned(claims, kid=key.kid)}")
    # then
    _assert_refused(response, detail="'none'")


async def test_hs256_with_the_public_key_as_secret_is_refused(http, forge):
    # given: the classic algorithm-confusion forgery, HMAC keyed with the published public key
    import hashlib
    import hmac
    import json

    key, claims = forge
    signing_input = f"{b64url_json({'alg': 'HS256', 'typ': 'at+jwt', 'kid': key.kid})}.{b64url_json(claims)}"
    public = json.dumps(key.as_dict(private=False)).encode()
    from tests.factories.jwts import b64url

    mac = b64url(hmac.new(public, signing_input.encode(), hashlib.sha256).digest())
    # when
    response = await _ask(http, f"Bearer {signing_input}.{mac}")
    # then
    _assert_refused(response, detail="HS256")


async def test_token_signed_by_a_key_not_in_the_jwks_is_refused(services, http):
    # given: a fresh key under a kid of its own
    owner, client_id, _ = await _client(services)
    stranger = stranger_key("not-ours")
    claims = access_claims(services, client_id=client_id, tenant_id=owner.id, scope="site:read")
    # when
    response = await _ask(http, f"Bearer {sign(claims, stranger)}")
    # then
    _assert_refused(response, detail="not in our key set")


async def test_token_signed_by_a_stranger_key_claiming_our_kid_is_refused(services, http):
    # given: a fresh key that names the active key's kid in its header
    owner, client_id, _ = await _client(services)
    ours = await active_signing_key(services)
    stranger = stranger_key(ours.kid)
    claims = access_claims(services, client_id=client_id, tenant_id=owner.id, scope="site:read")
    # when
    response = await _ask(http, f"Bearer {sign(claims, stranger)}")
    # then
    _assert_refused(response, detail="signature")


async def test_tampered_signature_is_refused(services, http):
    # given
    _, client_id, secret = await _client(services)
    token = await client_token(http, client_id, secret)
    # when
    response = await _ask(http, f"Bearer {tamper_signature(token)}")
    # then
    _assert_refused(response, detail="signature")


async def test_tampered_claims_are_refused(services, http):
    # given: a real token whose payload is swapped for one with more scopes
    _owner, client_id, secret = await _client(services, ["site:read"])
    token = await client_token(http, client_id, secret)
    header, _, signature = token.split(".")
    claims = token_claims(token)
    claims["scope"] = "site:read tenant:admin"
    forged = f"{header}.{b64url_json(claims)}.{signature}"
    assert token_header(forged) == token_header(token)
    # when
    response = await _ask(http, f"Bearer {forged}")
    # then
    _assert_refused(response, detail="signature")


async def test_token_of_a_client_revoked_after_issuance_is_refused_at_once(services, http):
    # given: a working token
    owner = await make_tenant(services)
    client_id, secret = await make_client(services, owner, ["site:read"])
    token = await client_token(http, client_id, secret)
    assert (await _ask(http, f"Bearer {token}")).status_code == 200
    session = await login(http, owner.email)
    result = await session.gql(
        "mutation($id: String!) { revokeClient(input: {clientId: $id}) { client { revokedAt } errors { code } } }",
        {"id": client_id},
    )
    assert result["data"]["revokeClient"]["errors"] == []
    http.cookies.clear()
    # when: the very next request
    response = await _ask(http, f"Bearer {token}")
    # then
    _assert_refused(response, detail="revoked")


async def test_token_whose_tenant_claim_names_another_organisation_is_refused(services, http):
    # given: a validly signed token of A's client claiming to act for B
    _owner, client_id, _ = await _client(services)
    other = await make_org(services)
    key = await active_signing_key(services)
    claims = access_claims(services, client_id=client_id, tenant_id=other.id, scope="site:read")
    # when
    response = await _ask(http, f"Bearer {sign(claims, key)}")
    # then
    _assert_refused(response, detail="organisation")


async def test_token_of_a_tenant_that_no_longer_exists_is_refused(services, http):
    # given: a working token, then its organisation is removed
    owner, client_id, secret = await _client(services)
    token = await client_token(http, client_id, secret)
    assert (await _ask(http, f"Bearer {token}")).status_code == 200
    await drop_tenant(owner_db(), owner.id)
    services.tenants.invalidate(owner.id)
    # when
    response = await _ask(http, f"Bearer {token}")
    # then
    _assert_refused(response, detail="revoked")


async def test_malformed_authorization_headers_are_refused(services, http):
    # given
    _, client_id, secret = await _client(services)
    token = await client_token(http, client_id, secret)
    malformed = [
        f"Token {token}",
        "Bearer",
        "Bearer    ",
        "Bearer not-a-jwt",
        "Bearer a.b.c",
        f"Basic {token}",
        f"Bearer {token.split('.', 1)[1]}",
    ]
    for authorization in malformed:
        # when
        response = await _ask(http, authorization)
        # then
        _assert_refused(response)
    # and the well-formed header still works
    assert (await _ask(http, f"Bearer {token}")).status_code == 200


async def test_no_credentials_at_all_gets_an_error_not_data(http):
    # when
    response = await http.post("/graphql", json={"query": VIEWER})
    # then: anonymous requests reach GraphQL but every field needs a principal
    assert response.status_code == 200
    body = response.json()
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_token_of_a_suspended_tenant_is_refused(services, http):
    # given: a working token, then its organisation is suspended (its client still exists)
    owner, client_id, secret = await _client(services)
    token = await client_token(http, client_id, secret)
    assert (await _ask(http, f"Bearer {token}")).status_code == 200
    await superuser_execute("UPDATE platform.tenants SET status = 'suspended' WHERE id = $1", owner.id)
    services.tenants.invalidate(owner.id)
    # when
    response = await _ask(http, f"Bearer {token}")
    # then
    _assert_refused(response, detail="not active")
