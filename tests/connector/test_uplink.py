"""Uplink against a real local HTTP server: tokens, gzip, retries, 401/422/5xx handling."""

from __future__ import annotations

import asyncio
import random
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.agent import Agent
from connectors.buffer import ReadingBuffer
from connectors.config import AgentConfig, parse_config
from connectors.readings import Reading
from connectors.uplink import AuthError, Backoff, TransientUplinkError, Uplink

from .conftest import tcp_device
from .fake_ingest import FakeIngest

ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


@pytest.fixture
def ingest() -> Iterator[FakeIngest]:
    fake = FakeIngest().start()
    yield fake
    fake.stop()


def config_for(url: str, tmp_path: Path, **server: object) -> AgentConfig:
    return parse_config(
        {
            "server": {
                "url": url,
                "client_id": "plant-1-agent",
                "client_secret": "s3cret",
                "timeout_s": 2,
                "retry_base_s": 0.02,
                "retry_cap_s": 0.1,
                **server,
            },
            "agent": {
                "id": "plant-1-agent",
                "buffer_path": str(tmp_path / "buffer.db"),
                "upload_interval_s": 0.05,
            },
            "devices": [tcp_device(502, profile="eastron_sdm630")],
        }
    )


def make_agent(url: str, tmp_path: Path, **server: object) -> Agent:
    config = config_for(url, tmp_path, **server)
    uplink = Uplink(config.server, config.server.resolve_secret(), config.agent.id)
    return Agent(config, [], ReadingBuffer(config.agent.buffer_path), uplink)


def readings(*meters: str, second: int = 0) -> list[Reading]:
    ts = f"2026-11-22T09:59:{second:02d}.000Z"
    return [Reading(m, "active_energy_import", "kWh", ts, 12345.678, "good", None, [17984, 59062]) for m in meters]


async def test_upload_uses_client_credentials_gzip_and_the_documented_body(ingest, tmp_path):
    agent = make_agent(ingest.url, tmp_path)
    agent.buffer.append(readings("PRESS1", "PRESS2"))
    # when one batch is uploaded
    assert await agent.upload_once() == 2
    # then a token was fetched with HTTP Basic client credentials and a form body
    token_call = ingest.calls[0]
    assert token_call.path == "/auth/token"
    assert token_call.headers["authorization"].startswith("Basic ")
    assert token_call.headers["content-type"] == "application/x-www-form-urlencoded"
    assert token_call.body == {"grant_type": ["client_credentials"], "scope": ["ingest"]}
    # and the upload carried the bearer token, gzip and JSON
    [upload] = ingest.uploads()
    assert upload.headers["authorization"] == "Bearer token-1"
    assert upload.headers["content-encoding"] == "gzip"
    assert upload.headers["content-type"] == "application/json"
    body = upload.body
    assert set(body) == {"agent_id", "agent_version", "sent_at", "readings"}
    assert (body["agent_id"], body["agent_version"]) == ("plant-1-agent", "0.1.0")
    assert ISO_MS.match(body["sent_at"])
    assert body["readings"][0] == {
        "meter": "PRESS1",
        "quantity": "active_energy_import",
        "unit": "kWh",
        "ts": "2026-11-22T09:59:00.000Z",
        "value": 12345.678,
        "quality": "good",
        "reason": None,
        "raw": [17984, 59062],
    }
    # and the acknowledged readings left the buffer
    assert agent.buffer.stats().depth == 0
    # when more readings follow, the cached token is reused
    agent.buffer.append(readings("PRESS1", second=10))
    await agent.upload_once()
    assert ingest.tokens_issued == 1
    await agent.close()


async def test_rejected_token_is_renewed_once(ingest, tmp_path):
    agent = make_agent(ingest.url, tmp_path)
    agent.buffer.append(readings("PRESS1"))
    await agent.upload_once()
    # given the server forgot all tokens (e.g. key rotation)
    ingest.revoke_tokens()
    agent.buffer.append(readings("PRESS1", second=10))
    # when uploading
    assert await agent.upload_once() == 1
    # then exactly one new token was fetched and the upload went through
    assert ingest.tokens_issued == 2
    assert [c.status for c in ingest.uploads()] == [200, 401, 200]
    await agent.close()


async def test_a_second_401_is_an_auth_error_and_nothing_is_acknowledged(ingest, tmp_path):
    agent = make_agent(ingest.url, tmp_path)
    agent.buffer.append(readings("PRESS1"))
    ingest.then("/ingest/v1/readings", (401, {}), (401, {}))
    with pytest.raises(AuthError, match="401"):
        await agent.upload_once()
    assert agent.buffer.stats().depth == 1
    await agent.close()


async def test_wrong_client_secret_is_an_auth_error(ingest, tmp_path):
    agent = make_agent(ingest.url, tmp_path, client_secret="wrong")
    agent.buffer.append(readings("PRESS1"))
    with pytest.raises(AuthError, match="token endpoint refused"):
        await agent.upload_once()
    assert agent.buffer.stats().depth == 1
    await agent.close()


async def test_forbidden_is_an_auth_error(ingest, tmp_path):
    agent = make_agent(ingest.url, tmp_path)
    agent.buffer.append(readings("PRESS1"))
    ingest.then("/ingest/v1/readings", (403, {"error": "agent disabled"}))
    with pytest.raises(AuthError, match="403"):
        await agent.upload_once()
    assert agent.buffer.stats().depth == 1
    await agent.close()


async def test_server_errors_are_retried_with_backoff_until_accepted(ingest, tmp_path):
    agent = make_agent(ingest.url, tmp_path)
    agent.buffer.append(readings("PRESS1", "PRESS2"))
    # given a server failing three times
    ingest.then("/ingest/v1/readings", (503, {}), (500, {}), (502, {}))
    stop = asyncio.Event()
    loop_task = asyncio.create_task(agent._upload_loop(stop))
    # when the upload loop runs
    for _ in range(100):
        if agent.buffer.stats().depth == 0:
            break
        await asyncio.sleep(0.05)
    stop.set()
    await loop_task
    # then the same batch was sent until it was accepted, and stored once
    statuses = [c.status for c in ingest.uploads()]
    assert statuses == [503, 500, 502, 200]
    assert all(c.body["readings"] == ingest.uploads()[0].body["readings"] for c in ingest.uploads())
    assert len(ingest.stored) == 2 and agent.buffer.stats().depth == 0
    assert agent.last_upload_at is not None
    await agent.close()


async def test_timeouts_and_unreachable_servers_are_transient(ingest, tmp_path):
    agent = make_agent(ingest.url, tmp_path, timeout_s=0.2)
    agent.buffer.append(readings("PRESS1"))
    ingest.delay_s = 0.5
    with pytest.raises(TransientUplinkError, match="timeout"):
        await agent.upload_once()
    await agent.close()
    unreachable = make_agent("http://127.0.0.1:9", tmp_path / "other")
    unreachable.buffer.append(readings("PRESS1"))
    with pytest.raises(TransientUplinkError, match="unreachable"):
        await unreachable.upload_once()
    assert unreachable.buffer.stats().depth == 1
    await unreachable.close()


async def test_422_sets_named_readings_aside_and_resends_the_others(ingest, tmp_path):
    ingest.known_meters = {"PRESS1", "PRESS2"}
    agent = make_agent(ingest.url, tmp_path)
    agent.buffer.append(readings("PRESS1", "PRES2", "PRESS2"))
    # when the batch is refused because of one unknown meter
    await agent.upload_once()
    # then nothing was stored, the named reading is rejected locally with the server's reason
    assert ingest.stored == {}
    stats = agent.buffer.stats()
    assert (stats.depth, stats.rejected_count) == (2, 1)
    [rejected] = agent.buffer.rejected()
    assert rejected.payload["meter"] == "PRES2"
    assert rejected.reason == "UNKNOWN_METER (meter): no meter PRES2"
    # when the upload continues
    assert await agent.upload_once() == 2
    assert await agent.upload_once() == 0
    # then the others are stored and the rejected one is never sent again
    assert {key[0] for key in ingest.stored} == {"PRESS1", "PRESS2"}
    assert [len(c.body["readings"]) for c in ingest.uploads()] == [3, 2]
    assert agent.status()["rejected_count"] == 1
    await agent.close()


async def test_422_without_usable_errors_is_retried_not_rejected(ingest, tmp_path):
    agent = make_agent(ingest.url, tmp_path)
    agent.buffer.append(readings("PRESS1"))
    ingest.then("/ingest/v1/readings", (422, {"errors": [{"index": 7, "code": "X"}]}))
    with pytest.raises(TransientUplinkError, match="422"):
        await agent.upload_once()
    assert agent.buffer.stats().rejected_count == 0 and agent.buffer.stats().depth == 1
    await agent.close()


async def test_payload_too_large_halves_the_batch(ingest, tmp_path):
    agent = make_agent(ingest.url, tmp_path)
    agent.buffer.append(readings(*(f"M{i}" for i in range(8))))
    ingest.then("/ingest/v1/readings", (413, {}))
    assert await agent.upload_once() == 0
    assert await agent.upload_once() == 4
    assert [len(c.body["readings"]) for c in ingest.uploads()] == [8, 4]
    await agent.close()


async def test_status_report_has_the_documented_fields(ingest, tmp_path):
    agent = make_agent(ingest.url, tmp_path)
    agent.buffer.append(readings("PRESS1"))
    await agent.uplink.report_status(agent.status())
    [status] = ingest.statuses
    assert set(status) == {
        "agent_id",
        "agent_version",
        "reported_at",
        "started_at",
        "last_upload_at",
        "buffer_depth",
        "oldest_pending_ts",
        "rejected_count",
        "devices",
    }
    assert ISO_MS.match(status["reported_at"]) and ISO_MS.match(status["started_at"])
    assert (status["buffer_depth"], status["oldest_pending_ts"]) == (1, "2026-11-22T09:59:00.000Z")
    await agent.close()


def test_backoff_is_exponential_with_full_jitter_and_a_cap():
    backoff = Backoff(base_s=1.0, cap_s=300.0, rng=random.Random(7))
    delays = [backoff.next_delay() for _ in range(15)]
    for attempt, delay in enumerate(delays):
        assert 0 <= delay <= min(300.0, 2.0**attempt)
    assert max(delays[9:]) > 16  # the ceiling really grows
    assert len(set(delays)) == len(delays)  # jittered, not a fixed schedule
    backoff.reset()
    assert backoff.next_delay() <= 1.0
