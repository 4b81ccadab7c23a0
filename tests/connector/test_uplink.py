"""Uplink against a real local HTTP server: tokens, gzip, retries, 401/422/5xx handling."""

from __future__ import annotations

import asyncio
import json
import logging
import random
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

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


async def test_422_without_usable_errors_sets_the_whole_batch_aside(ingest, tmp_path):
    agent = make_agent(ingest.url, tmp_path)
    agent.buffer.append(readings("PRESS1"))
    ingest.then("/ingest/v1/readings", (422, {"errors": [{"index": 7, "code": "X"}]}))
    assert await agent.upload_once() == 1
    assert agent.buffer.stats().rejected_count == 1 and agent.buffer.stats().depth == 0
    await agent.close()


async def run_upload_loop_until(agent: Agent, condition: Callable[[], bool], within_s: float = 10.0) -> None:
    stop = asyncio.Event()
    loop_task = asyncio.create_task(agent._upload_loop(stop))
    try:
        for _ in range(int(within_s / 0.02)):
            if condition():
                break
            await asyncio.sleep(0.02)
    finally:
        stop.set()
        await loop_task


async def test_a_batch_refused_with_4xx_is_set_aside_with_the_answer_and_the_rest_goes_on(ingest, tmp_path):
    agent = make_agent(ingest.url, tmp_path)
    agent._batch_size = 2
    agent.buffer.append(readings("PRESS1", "PRESS2"))
    agent.buffer.append(readings("PRESS1", "PRESS2", second=10))
    # given a server that refuses the first batch as a whole (an error that names no reading)
    problem = {
        "title": "Bad request",
        "status": 400,
        "code": "INVALID",
        "detail": "the batch is not valid",
        "errors": [{"field": "agent_id", "code": "TOO_LONG", "message": "at most 200 characters"}],
    }
    ingest.then("/ingest/v1/readings", (400, problem))
    # when the upload loop runs
    await run_upload_loop_until(agent, lambda: agent.buffer.stats().depth == 0)
    # then the refused batch was sent once, set aside with the server's answer, and the next one stored
    assert [(c.status, len(c.body["readings"])) for c in ingest.uploads()] == [(400, 2), (200, 2)]
    assert {key[2] for key in ingest.stored} == {"2026-11-22T09:59:10.000Z"}
    [record] = agent.buffer.set_aside_batches()
    assert (record.status, record.readings, record.waiting) == (400, 2, 2)
    assert record.summary == "INVALID: the batch is not valid [TOO_LONG (agent_id): at most 200 characters]"
    assert json.loads(record.answer) == problem
    assert {r.payload["meter"] for r in agent.buffer.rejected(set_aside_id=record.id)} == {"PRESS1", "PRESS2"}
    await agent.close()


async def test_a_reading_the_server_keeps_failing_on_is_isolated_and_the_others_flow(ingest, tmp_path, caplog):
    agent = make_agent(ingest.url, tmp_path)
    meters = [f"M{i}" for i in range(8)]
    meters[5] = "POISON"
    agent.buffer.append(readings(*meters))

    def fail_on_poison(body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if any(r["meter"] == "POISON" for r in body["readings"]):
            return 500, {"title": "Internal server error", "request_id": "r-1"}
        return ingest._store(body)

    ingest.then("/ingest/v1/readings", *[fail_on_poison] * 100)
    caplog.set_level(logging.WARNING, logger="connectors.agent")
    # when the upload loop runs against a server that fails (500) on every batch holding one reading
    await run_upload_loop_until(agent, lambda: len(ingest.stored) == 7)
    # then every other reading was stored, in a bounded number of failed requests (2 per size: 8, 4, 2, 1)
    assert {key[0] for key in ingest.stored} == set(meters) - {"POISON"}
    failed = [len(c.body["readings"]) for c in ingest.uploads() if c.status == 500]
    assert failed == [8, 8, 4, 4, 2, 2, 1, 1]
    # and the culprit stays in the buffer, deferred (not set aside: a 5xx is the server's fault)
    stats = agent.buffer.stats()
    assert (stats.depth, stats.deferred_count, stats.rejected_count) == (1, 1, 0)
    assert agent.buffer.pending(10) == []  # not before its pause is over
    assert "POISON active_energy_import 2026-11-22T09:59:00.000Z" in caplog.text
    # when its pause is over and the server has been fixed, it goes alone and is stored
    later = datetime.now(UTC) + timedelta(hours=2)
    [again] = agent.buffer.pending(10, now=later)
    assert again.deferrals == 1
    ingest.scripts["/ingest/v1/readings"].clear()
    agent.buffer._db.execute("UPDATE readings SET retry_at = NULL")
    assert await agent.upload_once() == 1
    assert len(ingest.stored) == 8 and agent.buffer.stats().depth == 0
    await agent.close()


async def test_a_server_that_asks_to_come_back_later_gets_the_same_batch_again(ingest, tmp_path):
    agent = make_agent(ingest.url, tmp_path)
    agent.buffer.append(readings("M1", "M2", "M3", "M4"))
    # given a server answering 503 and 429 many times: it is unavailable, the readings are not at fault
    ingest.then("/ingest/v1/readings", *[(503, {}), (429, {})] * 4)
    await run_upload_loop_until(agent, lambda: agent.buffer.stats().depth == 0)
    # then the batch was never split nor any reading deferred
    assert [len(c.body["readings"]) for c in ingest.uploads()] == [4] * 9
    assert agent.buffer.stats().deferred_count == 0 and len(ingest.stored) == 4
    await agent.close()


async def test_the_log_names_each_refused_reading_and_why(ingest, tmp_path, caplog):
    ingest.known_meters = {"PRESS1"}
    agent = make_agent(ingest.url, tmp_path)
    agent.buffer.append(readings("PRESS1", "PRES2"))
    caplog.set_level(logging.WARNING, logger="connectors.agent")
    await agent.upload_once()
    assert "cbamx refused 1 of 2 reading(s) with HTTP 422" in caplog.text
    assert (
        "refused: PRES2 active_energy_import 2026-11-22T09:59:00.000Z = 12345.678 kWh: "
        "UNKNOWN_METER (meter): no meter PRES2" in caplog.text
    )
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


async def test_the_log_names_each_conflicting_reading_the_server_kept_apart(ingest, tmp_path, caplog):
    agent = make_agent(ingest.url, tmp_path)
    agent.buffer.append(readings("PRESS1", "PRESS2"))
    # given a server that stored one reading and holds another value already for the second
    conflict = {
        "index": 1,
        "meter": "PRESS2",
        "quantity": "active_energy_import",
        "ts": "2026-11-22T09:59:00+00:00",
        "stored_value": 12000.0,
        "value": 12345.678,
    }
    ingest.then("/ingest/v1/readings", (200, {"accepted": 1, "duplicates": 0, "conflicts": [conflict]}))
    caplog.set_level(logging.WARNING, logger="connectors.agent")
    # when
    await agent.upload_once()
    # then the batch is done, and the log names the conflict instead of a count that does not add up
    assert agent.buffer.stats().depth == 0
    assert (
        "conflicting value: PRESS2 active_energy_import 2026-11-22T09:59:00+00:00 = 12345.678, "
        "cbamx holds 12000.0; the exporter decides in cbamx" in caplog.text
    )
    assert "server counted" not in caplog.text
    await agent.close()
