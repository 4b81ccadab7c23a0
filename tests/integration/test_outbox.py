"""Work that follows a commit goes through a transactional outbox: with Redis down a commit still
answers success, and the relay delivers the job once Redis is back."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from arq.jobs import Job, JobStatus

from tests.factories.site import make_plant
from tests.factories.superuser import superuser_fetch
from tests.factories.tenants import PASSWORD, basic, client_token, make_client, make_tenant
from workers.jobs.outbox import relay_outbox


def _closed_port() -> int:
    """A local port nobody listens on: connections to it are refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
async def redis_down(services: Any) -> AsyncIterator[httpx.AsyncClient]:
    """The same database, but Redis pointed at a closed port: Redis is really unreachable."""
    from backend.app import create_app
    from backend.services import start_services

    settings = services.settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{_closed_port()}/0"})
    down = await start_services(settings)
    app = create_app(settings, services=down)
    app.state.services = down
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
        yield http
    await down.close()


def _batch() -> dict[str, Any]:
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    return {
        "agent_id": "plant-agent",
        "readings": [
            {
                "meter": "MAIN",
                "quantity": "active_energy_import",
                "unit": "kWh",
                "ts": (now - timedelta(minutes=10 - i)).isoformat(),
                "value": 1000.0 + i,
            }
            for i in range(5)
        ],
    }


async def _outbox(schema: str) -> list[Any]:
    return await superuser_fetch(f'SELECT function, args, job_id, delivered_at, attempts FROM "{schema}".job_outbox')


async def test_ingest_commits_and_answers_success_with_redis_down_and_the_relay_delivers_later(
    services, http, redis_down
):
    # given: an ingest client with a token got while Redis was up
    owner = await make_tenant(services)
    plant = await make_plant(services, owner, meters=("MAIN",))
    client_id, secret = await make_client(services, owner, ["ingest"], installation_id=plant.installation_id)
    token = await client_token(http, client_id, secret, "ingest")
    # when: readings arrive while Redis is unreachable
    response = await redis_down.post("/ingest/v1/readings", json=_batch(), headers={"Authorization": f"Bearer {token}"})
    # then: the commit answers success, and the job waits in the outbox
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == 5
    schema = owner.tenant.schema
    waiting = await _outbox(schema)
    assert len(waiting) == 1
    assert waiting[0]["function"] == "intervals.derive"
    assert waiting[0]["delivered_at"] is None
    assert waiting[0]["attempts"] == 1
    # the same batch again is a duplicate, not a second job lost or a second error
    again = await redis_down.post("/ingest/v1/readings", json=_batch(), headers={"Authorization": f"Bearer {token}"})
    assert again.status_code == 200 and again.json()["duplicates"] == 5
    # when: Redis is back and the periodic relay runs
    result = await relay_outbox({"services": services})
    # then: the job is on the queue and the row is marked delivered
    assert result["delivered"] >= 1
    delivered = await _outbox(schema)
    assert all(row["delivered_at"] is not None for row in delivered)
    job_id = waiting[0]["job_id"]
    assert await Job(job_id, services.queue).status() in (JobStatus.queued, JobStatus.deferred)


async def test_with_redis_up_the_job_is_delivered_right_after_the_commit(services, http):
    # given
    owner = await make_tenant(services)
    plant = await make_plant(services, owner, meters=("MAIN",))
    client_id, secret = await make_client(services, owner, ["ingest"], installation_id=plant.installation_id)
    token = await client_token(http, client_id, secret, "ingest")
    # when
    response = await http.post("/ingest/v1/readings", json=_batch(), headers={"Authorization": f"Bearer {token}"})
    # then: no sweep needed
    assert response.status_code == 200, response.text
    rows = await _outbox(owner.tenant.schema)
    assert len(rows) == 1 and rows[0]["delivered_at"] is not None
    assert await Job(rows[0]["job_id"], services.queue).status() in (JobStatus.queued, JobStatus.deferred)


async def test_a_rolled_back_change_leaves_no_job(services, http):
    # given: a batch the ingest refuses as a whole
    owner = await make_tenant(services)
    plant = await make_plant(services, owner, meters=("MAIN",))
    client_id, secret = await make_client(services, owner, ["ingest"], installation_id=plant.installation_id)
    token = await client_token(http, client_id, secret, "ingest")
    bad = _batch()
    bad["readings"][2]["meter"] = "NOPE"
    # when
    response = await http.post("/ingest/v1/readings", json=bad, headers={"Authorization": f"Bearer {token}"})
    # then
    assert response.status_code == 422
    assert await _outbox(owner.tenant.schema) == []


async def test_token_and_login_answer_503_with_retry_after_when_redis_is_down(services, redis_down):
    # given
    owner = await make_tenant(services)
    client_id, secret = await make_client(services, owner, ["site:read"])
    # when
    token = await redis_down.post(
        "/auth/token", data={"grant_type": "client_credentials"}, headers=basic(client_id, secret)
    )
    login = await redis_down.post("/auth/login", json={"email": owner.email, "password": PASSWORD})
    # then
    for response in (token, login):
        assert response.status_code == 503, response.text
        assert int(response.headers["retry-after"]) >= 1
        assert response.headers["cache-control"] == "no-store"
        assert response.json()["code"] == "SERVICE_UNAVAILABLE"


async def test_token_and_login_answer_503_when_the_database_is_down(services):
    # given: an app whose database is a closed port
    from backend.app import create_app
    from backend.services import start_services

    settings = services.settings.model_copy(
        update={"database_url": f"postgresql://postgres@127.0.0.1:{_closed_port()}/nothing"}
    )
    down = await start_services(settings)
    app = create_app(settings, services=down)
    app.state.services = down
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
            # when
            token = await http.post(
                "/auth/token", data={"grant_type": "client_credentials"}, headers=basic("cbx_x", "secret")
            )
            login = await http.post("/auth/login", json={"email": "a@example.com", "password": "x"})
    finally:
        await down.close()
    # then
    for response in (token, login):
        assert response.status_code == 503, response.text
        assert "retry-after" in response.headers
