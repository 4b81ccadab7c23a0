"""The MES streaming endpoint: one batch posted as it closes, by a machine client; idempotent on the batch number."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from backend.production.models import ProductionBatch
from tests.factories.production import make_catalogue
from tests.factories.site import make_plant
from tests.factories.tenants import client_token, login, make_client, make_tenant

T0 = datetime(2026, 11, 5, 6, 0, tzinfo=UTC)


def body(**overrides):
    return {
        "batch_number": "S-1",
        "line": "L1",
        "product": "PRF-6060",
        "alloy": "6060",
        "started_at": T0.isoformat(),
        "ended_at": (T0 + timedelta(hours=3)).isoformat(),
        "net_mass_t": 7.25,
        "scrap_t": 0.4,
        "precursors": [{"mass_t": 8.0, "cn_code": "76012020", "supplier_installation": "Smelter X"}],
        **overrides,
    }


async def mes_client(services, http, owner, plant, scopes=("production:write",)):
    client_id, secret = await make_client(services, owner, list(scopes), installation_id=plant.installation_id)
    return await client_token(http, client_id, secret)


async def post(http, token, payload):
    return await http.post(
        "/production/v1/batches", json=payload, headers={"Authorization": f"Bearer {token}"} if token else {}
    )


async def count_batches(services, owner) -> int:
    async with services.db.tenant(owner.tenant.scope()) as db:
        return int(await db.scalar(select(func.count()).select_from(ProductionBatch)))


async def world(services, http):
    owner = await make_tenant(services)
    plant = await make_plant(services, owner)
    await make_catalogue(services, owner, plant)
    return owner, plant, await mes_client(services, http, owner, plant)


async def test_a_closed_batch_is_stored_once_and_the_same_post_again_answers_200(services, http):
    # given
    owner, _, token = await world(services, http)
    # when
    first = await post(http, token, body())
    again = await post(http, token, body())
    # then
    assert first.status_code == 201, first.text
    assert first.json()["created"] is True and first.json()["started_at"] == T0.isoformat()
    assert again.status_code == 200 and again.json()["created"] is False
    assert again.json()["batch_id"] == first.json()["batch_id"]
    assert await count_batches(services, owner) == 1
    async with services.db.tenant(owner.tenant.scope()) as db:
        batch = await db.scalar(select(ProductionBatch))
    assert batch is not None and batch.source.value == "stream"


async def test_the_same_batch_number_with_other_values_is_a_conflict(services, http):
    owner, _, token = await world(services, http)
    await post(http, token, body())
    response = await post(http, token, body(net_mass_t=9.0))
    assert response.status_code == 409
    assert response.json()["code"] == "BATCH_NUMBER_EXISTS" and response.json()["errors"][0]["field"] == "batchNumber"
    assert await count_batches(services, owner) == 1


@pytest.mark.parametrize(
    ("overrides", "field", "code"),
    [
        ({"ended_at": T0.isoformat()}, "endedAt", "END_BEFORE_START"),
        ({"net_mass_t": 0}, "netMassT", "MASS_NOT_POSITIVE"),
        ({"line": "EXT-9"}, "line", "UNKNOWN_LINE"),
        ({"product": "NOPE"}, "product", "UNKNOWN_PRODUCT"),
        ({"started_at": "2026-11-05T06:00:00"}, "started_at", "INVALID"),
        ({"net_mass_t": "heavy"}, "net_mass_t", "INVALID"),
        ({"precursors": [{"mass_t": -1}]}, "precursors.0.massT", "MASS_NOT_POSITIVE"),
        ({"colour": "red"}, "body", "INVALID"),
        (
            {
                "started_at": (datetime.now(UTC) + timedelta(hours=2)).isoformat(),
                "ended_at": (datetime.now(UTC) + timedelta(hours=4)).isoformat(),
            },
            "startedAt",
            "TIME_IN_FUTURE",
        ),
    ],
)
async def test_a_bad_batch_is_refused_with_422_naming_field_and_code(services, http, overrides, field, code):
    owner, _, token = await world(services, http)
    response = await post(http, token, body(**overrides))
    assert response.status_code == 422, response.text
    assert any(e["field"] == field and e["code"] == code for e in response.json()["errors"]), response.json()
    assert await count_batches(services, owner) == 0


async def test_an_overlapping_batch_on_the_line_is_refused(services, http):
    owner, _, token = await world(services, http)
    await post(http, token, body())
    response = await post(
        http, token, body(batch_number="S-2", started_at=(T0 + timedelta(hours=1)).isoformat(), precursors=[])
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["code"] == "OVERLAPS_STORED_BATCH"
    assert await count_batches(services, owner) == 1


async def test_concurrent_posts_of_overlapping_batches_store_exactly_one(services, http):
    owner, _, token = await world(services, http)
    responses = await asyncio.gather(
        *(
            post(http, token, body(batch_number=f"S-{i}", started_at=(T0 + timedelta(minutes=10 * i)).isoformat()))
            for i in range(4)
        )
    )
    codes = sorted(r.status_code for r in responses)
    assert codes.count(201) == 1 and all(c in (409, 422) for c in codes if c != 201), [r.text for r in responses]
    assert await count_batches(services, owner) == 1


async def test_no_token_a_person_or_a_client_without_the_scope_is_refused(services, http):
    owner, plant, _ = await world(services, http)
    assert (await post(http, None, body())).status_code == 401
    reader = await mes_client(services, http, owner, plant, scopes=("site:read",))
    response = await post(http, reader, body())
    assert response.status_code == 403
    session = await login(http, owner.email)
    response = await http.post(
        "/production/v1/batches", json=body(), cookies=session.cookies, headers={"X-CSRF-Token": session.csrf}
    )
    assert response.status_code == 403
    assert await count_batches(services, owner) == 0


async def test_an_unbound_client_must_name_its_installation(services, http):
    owner = await make_tenant(services)
    plant = await make_plant(services, owner)
    await make_catalogue(services, owner, plant)
    client_id, secret = await make_client(services, owner, ["production:write"])
    token = await client_token(http, client_id, secret)
    response = await post(http, token, body())
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "installation_id"
    response = await post(http, token, body(installation_id=str(plant.installation_id)))
    assert response.status_code == 201
