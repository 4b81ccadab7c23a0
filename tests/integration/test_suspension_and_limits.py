"""Suspension bites at once; log-in and token limits count per address, per account and per client;
tokens living longer than allowed are refused; client authentication failures all look alike."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from joserfc import jwt

from tests.factories.orgs import make_org
from tests.factories.superuser import superuser_fetch
from tests.factories.tenants import PASSWORD, basic, client_token, make_client, make_tenant

CBAMX = str(Path(sys.executable).parent / "cbamx")
VIEWER = "{ viewer { label } }"
FORM = {"grant_type": "client_credentials"}


def cbamx(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CBAMX, *args], capture_output=True, text=True, env=dict(os.environ), timeout=120)


async def _fresh_window(seconds_needed: float = 5.0) -> None:
    """Fixed one-minute windows: do not start a counted sequence just before a boundary."""
    into = time.time() % 60
    if into > 60 - seconds_needed:
        await asyncio.sleep(60 - into + 0.05)


def _client_at(services: Any, address: str, **settings: Any) -> httpx.AsyncClient:
    from backend.app import create_app

    changed = dataclasses.replace(services, settings=services.settings.model_copy(update=settings))
    app = create_app(changed.settings, services=changed)
    app.state.services = changed
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


# --- suspension ------------------------------------------------------------------------------------


async def test_suspending_an_organisation_stops_tokens_at_once_and_existing_ones_within_a_second(services, http):
    # given: a client with a working token
    owner = await make_org(services)
    client_id, secret = await make_client(services, owner, ["site:read"])
    token = await client_token(http, client_id, secret)
    bearer = {"Authorization": f"Bearer {token}"}
    assert (await http.post("/graphql", json={"query": VIEWER}, headers=bearer)).status_code == 200
    # when: an operator suspends the organisation
    suspended = await asyncio.to_thread(cbamx, "tenant", "suspend", "--tenant", owner.tenant.slug, "--reason", "unpaid")
    assert suspended.returncode == 0, suspended.stderr
    assert json.loads(suspended.stdout) == {"slug": owner.tenant.slug, "status": "suspended"}
    started = time.monotonic()
    # then: no new token, at once
    refused = await http.post("/auth/token", data=FORM, headers=basic(client_id, secret))
    assert refused.status_code == 401, refused.text
    assert refused.json()["error"] == "invalid_client"
    # and the existing token stops within a second
    while True:
        answer = await http.post("/graphql", json={"query": VIEWER}, headers=bearer)
        if answer.status_code == 401:
            break
        assert time.monotonic() - started < 1.5, "the token still works more than a second after suspension"
        await asyncio.sleep(0.1)
    assert "not active" in answer.json()["detail"]
    # when: resumed
    resumed = await asyncio.to_thread(cbamx, "tenant", "resume", "--tenant", owner.tenant.slug)
    assert resumed.returncode == 0, resumed.stderr
    # then: tokens are issued again, and both changes are in the organisation's audit trail
    assert (await http.post("/auth/token", data=FORM, headers=basic(client_id, secret))).status_code == 200
    actions = [
        r["action"]
        for r in await superuser_fetch(
            f'SELECT action FROM "{owner.tenant.schema}".audit_entries WHERE entity_type = $1 ORDER BY seq', "tenant"
        )
    ]
    assert actions[-2:] == ["tenant.suspended", "tenant.resumed"]


async def test_suspending_twice_says_so_and_an_unknown_organisation_is_named():
    # given
    unknown = await asyncio.to_thread(cbamx, "tenant", "suspend", "--tenant", f"nobody-{uuid.uuid4().hex[:6]}")
    # then
    assert unknown.returncode == 3
    assert "no organisation" in unknown.stderr


async def test_a_suspended_organisations_people_are_logged_out_within_a_second(services, http):
    # given
    owner = await make_tenant(services)
    response = await http.post("/auth/login", json={"email": owner.email, "password": PASSWORD})
    cookies = {"cbamx_session": response.cookies["cbamx_session"]}
    http.cookies.clear()
    # when
    assert (await asyncio.to_thread(cbamx, "tenant", "suspend", "--tenant", owner.tenant.slug)).returncode == 0
    await asyncio.sleep(1.1)
    answer = await http.post(
        "/graphql",
        json={"query": VIEWER},
        headers={"X-CSRF-Token": response.json()["csrfToken"]},
        cookies=cookies,
    )
    # then
    assert answer.status_code in (401, 404), answer.text
    assert "data" not in answer.json() or answer.json()["data"] is None


# --- rate limits ----------------------------------------------------------------------------------------


async def test_login_is_limited_per_address_across_accounts(services):
    # given: three attempts a minute from one address, whatever the account
    await _fresh_window()
    address = f"10.1.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
    async with _client_at(services, address, login_address_rate_per_minute=3) as http:
        for i in range(3):
            wrong = await http.post(
                "/auth/login", json={"email": f"x{i}-{uuid.uuid4().hex}@example.com", "password": "p"}
            )
            assert wrong.status_code == 401, wrong.text
        # when: a fourth account from the same address
        response = await http.post("/auth/login", json={"email": f"y-{uuid.uuid4().hex}@example.com", "password": "p"})
    # then
    assert response.status_code == 429
    assert response.headers["cache-control"] == "no-store"
    assert 1 <= int(response.headers["retry-after"]) <= 60


async def test_login_is_limited_per_account_across_addresses(services):
    # given: one account tried from three addresses
    await _fresh_window()
    email = f"target-{uuid.uuid4().hex}@example.com"
    for i in range(3):
        async with _client_at(services, f"10.2.0.{i + 1}", login_account_rate_per_minute=3) as http:
            assert (await http.post("/auth/login", json={"email": email, "password": "p"})).status_code == 401
    # when: a fourth address
    async with _client_at(services, "10.2.0.99", login_account_rate_per_minute=3) as http:
        response = await http.post("/auth/login", json={"email": email.upper(), "password": "p"})
    # then
    assert response.status_code == 429
    assert response.headers["cache-control"] == "no-store"


async def test_token_endpoint_is_limited_per_address_across_clients(services):
    # given: two token requests a minute from one address
    owner = await make_org(services)
    clients = [await make_client(services, owner, ["site:read"]) for _ in range(3)]
    await _fresh_window()
    address = f"10.3.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
    async with _client_at(services, address, token_address_rate_per_minute=2) as http:
        for client_id, secret in clients[:2]:
            assert (await http.post("/auth/token", data=FORM, headers=basic(client_id, secret))).status_code == 200
        # when: a third client from the same address
        response = await http.post("/auth/token", data=FORM, headers=basic(*clients[2]))
    # then
    assert response.status_code == 429
    assert response.headers["cache-control"] == "no-store"


# --- token endpoint answers ------------------------------------------------------------------------------


async def test_invalid_client_says_the_same_for_an_unknown_client_and_a_wrong_secret(services, http):
    # given
    owner = await make_org(services)
    client_id, _ = await make_client(services, owner, ["site:read"])
    # when
    unknown = await http.post("/auth/token", data=FORM, headers=basic("cbx_" + "0" * 20, "whatever"))
    wrong = await http.post("/auth/token", data=FORM, headers=basic(client_id, "whatever"))
    # then
    assert unknown.status_code == wrong.status_code == 401
    assert (
        unknown.json()
        == wrong.json()
        == {"error": "invalid_client", "error_description": "client authentication failed"}
    )


async def test_a_repeated_grant_type_is_invalid_request(services, http):
    # given
    owner = await make_org(services)
    client_id, secret = await make_client(services, owner, ["site:read"])
    # when
    response = await http.post(
        "/auth/token",
        content=b"grant_type=client_credentials&grant_type=client_credentials",
        headers={**basic(client_id, secret), "Content-Type": "application/x-www-form-urlencoded"},
    )
    # then
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_request",
        "error_description": "parameter grant_type was sent more than once",
    }


async def test_a_token_living_longer_than_the_configured_maximum_is_refused(services, http):
    # given: a token signed with our active key, valid in every other way, but living two days
    owner = await make_org(services)
    client_id, secret = await make_client(services, owner, ["site:read"])
    good = await client_token(http, client_id, secret)
    claims = jwt.decode(good, await services.keys.verification_keys()).claims
    now = int(datetime.now(UTC).timestamp())
    keyset = await services.keys.signing_keys()
    header = {"alg": "ES256", "typ": "at+jwt", "kid": keyset.keys[0].kid}
    long_lived = jwt.encode(header, {**claims, "iat": now, "exp": now + int(timedelta(days=2).total_seconds())}, keyset)
    within = jwt.encode(header, {**claims, "iat": now, "exp": now + 600}, keyset)
    # when
    refused = await http.post("/graphql", json={"query": VIEWER}, headers={"Authorization": f"Bearer {long_lived}"})
    accepted = await http.post("/graphql", json={"query": VIEWER}, headers={"Authorization": f"Bearer {within}"})
    # then
    assert refused.status_code == 401
    assert "lifetime" in refused.json()["detail"]
    assert accepted.status_code == 200, accepted.text


@pytest.mark.parametrize("missing", ["iat"])
async def test_a_token_without_issue_time_is_refused(services, http, missing):
    # given
    owner = await make_org(services)
    client_id, secret = await make_client(services, owner, ["site:read"])
    claims = jwt.decode(await client_token(http, client_id, secret), await services.keys.verification_keys()).claims
    keyset = await services.keys.signing_keys()
    header = {"alg": "ES256", "typ": "at+jwt", "kid": keyset.keys[0].kid}
    token = jwt.encode(header, {k: v for k, v in claims.items() if k != missing}, keyset)
    # when
    response = await http.post("/graphql", json={"query": VIEWER}, headers={"Authorization": f"Bearer {token}"})
    # then
    assert response.status_code == 401
