"""Signing key rotation: new tokens use the new key, old tokens verify until their key is retired."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from cryptography.exceptions import InvalidTag
from sqlalchemy import select, update

from backend.identity import keys
from backend.identity.keycache import KeyCache
from backend.identity.models import SigningKey, SigningKeyStatus
from tests.factories.jwts import access_claims, sign, token_header
from tests.factories.orgs import make_org
from tests.factories.tenants import client_token, make_client

VIEWER = "{ viewer { label } }"


async def _ask(http: httpx.AsyncClient, token: str) -> httpx.Response:
    return await http.post("/graphql", json={"query": VIEWER}, headers={"Authorization": f"Bearer {token}"})


async def _published_kids(http: httpx.AsyncClient) -> set[str]:
    response = await http.get("/.well-known/jwks.json")
    assert response.status_code == 200
    return {key["kid"] for key in response.json()["keys"]}


async def _rotate(services, grace: timedelta) -> str:
    async with services.db.platform() as session:
        new = await keys.rotate(session, secret=services.settings.resolved_secret_key(), grace=grace)
    await services.keys.refresh()
    return new.kid


async def _status(services, kid: str) -> SigningKeyStatus:
    async with services.db.platform_session() as session:
        return (await session.execute(select(SigningKey.status).where(SigningKey.kid == kid))).scalar_one()


@pytest.fixture
async def client(services):
    owner = await make_org(services)
    client_id, secret = await make_client(services, owner, ["site:read"])
    return owner, client_id, secret


async def test_after_rotation_jwks_lists_both_keys_and_new_tokens_carry_the_new_kid(services, http, client):
    # given: a token signed by the key active now
    _, client_id, secret = client
    old_token = await client_token(http, client_id, secret)
    old_kid = token_header(old_token)["kid"]
    # when
    new_kid = await _rotate(services, timedelta(hours=1))
    # then
    assert new_kid != old_kid
    assert {old_kid, new_kid} <= await _published_kids(http)
    assert await _status(services, old_kid) == SigningKeyStatus.RETIRING
    assert await _status(services, new_kid) == SigningKeyStatus.ACTIVE
    new_token = await client_token(http, client_id, secret)
    assert token_header(new_token)["kid"] == new_kid
    # both verify
    for token in (old_token, new_token):
        response = await _ask(http, token)
        assert response.status_code == 200, response.text
        assert response.json()["data"]["viewer"]["label"] == "test client"


async def test_only_one_key_is_active_after_several_rotations(services, client):
    # given
    await _rotate(services, timedelta(hours=1))
    # when
    await _rotate(services, timedelta(hours=1))
    # then
    async with services.db.platform_session() as session:
        active = (
            await session.execute(select(SigningKey.kid).where(SigningKey.status == SigningKeyStatus.ACTIVE))
        ).all()
    assert len(active) == 1
    assert (await services.keys.signing_keys()).keys[0].kid == active[0].kid


async def test_retired_key_leaves_the_jwks_and_its_tokens_are_refused(services, http, client):
    # given: rotated with a grace period, old token still good
    _, client_id, secret = client
    old_token = await client_token(http, client_id, secret)
    old_kid = token_header(old_token)["kid"]
    await _rotate(services, timedelta(hours=1))
    assert (await _ask(http, old_token)).status_code == 200
    # when: the grace period is over and the key is retired
    async with services.db.platform() as session:
        await session.execute(update(SigningKey).where(SigningKey.kid == old_kid).values(retire_after=keys.utcnow()))
        retired = await keys.retire_expired(session)
    await services.keys.refresh()
    # then
    assert retired >= 1
    assert await _status(services, old_kid) == SigningKeyStatus.RETIRED
    assert old_kid not in await _published_kids(http)
    refused = await _ask(http, old_token)
    assert refused.status_code == 401
    assert refused.json()["code"] == "INVALID_TOKEN"
    assert "not in our key set" in refused.json()["detail"]
    # a fresh token from the same client works
    assert (await _ask(http, await client_token(http, client_id, secret))).status_code == 200


async def test_rotation_without_grace_retires_the_old_key_at_the_next_refresh(services, http, client):
    # given
    _, client_id, secret = client
    old_token = await client_token(http, client_id, secret)
    old_kid = token_header(old_token)["kid"]
    # when: grace 0, and the cache refreshes (which retires expired keys)
    new_kid = await _rotate(services, timedelta(0))
    # then
    assert await _published_kids(http) >= {new_kid}
    assert old_kid not in await _published_kids(http)
    assert (await _ask(http, old_token)).status_code == 401
    assert token_header(await client_token(http, client_id, secret))["kid"] == new_kid


async def test_a_retired_key_cannot_sign_accepted_tokens_even_with_valid_claims(services, http, client):
    # given: the private half of a retired key, still in the database
    owner, client_id, _ = client
    current = (await services.keys.signing_keys()).keys[0].kid
    await _rotate(services, timedelta(0))
    async with services.db.platform_session() as session:
        row = await session.get(SigningKey, current)
    assert row is not None and row.status == SigningKeyStatus.RETIRED
    retired_key = keys.signing_keyset(row, secret=services.settings.resolved_secret_key()).keys[0]
    claims = access_claims(services, client_id=client_id, tenant_id=owner.id, scope="site:read")
    # when
    response = await _ask(http, sign(claims, retired_key))
    # then
    assert response.status_code == 401


async def test_a_key_rotated_in_by_another_process_is_picked_up_for_verification(services, http, client):
    # given: this process's cache, loaded a while ago, then another process rotates and signs
    owner, client_id, _ = client
    await services.keys.refresh()
    other_process = KeyCache(services.db, secret=services.settings.resolved_secret_key())
    async with services.db.platform() as session:
        await keys.rotate(session, secret=services.settings.resolved_secret_key(), grace=timedelta(hours=1))
    foreign_key = (await other_process.signing_keys()).keys[0]
    assert foreign_key.kid not in {k.kid for k in (await services.keys.verification_keys()).keys}
    token = sign(access_claims(services, client_id=client_id, tenant_id=owner.id, scope="site:read"), foreign_key)
    # the cache reloads for an unknown kid at most every five seconds: let it have loaded six ago
    services.keys._loaded_at -= 6
    # when
    response = await _ask(http, token)
    # then
    assert response.status_code == 200, response.text


async def test_sealed_private_keys_need_the_secret(services):
    # given
    async with services.db.platform_session() as session:
        row = await keys.ensure_active_key(session, secret=services.settings.resolved_secret_key())
    # when / then
    assert "d" not in row.public_jwk
    assert '"d"' not in row.sealed_private_jwk
    assert keys.unseal(row.sealed_private_jwk, services.settings.resolved_secret_key())["d"]
    with pytest.raises(InvalidTag):
        keys.unseal(row.sealed_private_jwk, "another-secret")
