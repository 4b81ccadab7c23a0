"""The whole agent against the plant simulator and a local ingest endpoint, including SIGKILL."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import threading
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import yaml

from connectors.agent import Agent
from connectors.config import parse_config
from connectors.simulator import PlantSimulator

from .fake_ingest import FakeIngest

REPO = Path(__file__).resolve().parents[2]
READINGS = "/ingest/v1/readings"
METERS = ("GRID-MAIN", "PRESS1", "PV-ROOF")


@pytest_asyncio.fixture(scope="module")
async def plant() -> AsyncIterator[PlantSimulator]:
    start = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    async with PlantSimulator(seed=3, speed=10.0, start=start, modbus_port=0, opcua_port=None) as sim:
        yield sim


@pytest.fixture
def ingest() -> Iterator[FakeIngest]:
    fake = FakeIngest().start()
    yield fake
    fake.stop()


def config_data(plant: PlantSimulator, url: str, buffer_path: Path, **agent: Any) -> dict[str, Any]:
    devices = [
        {
            "kind": "modbus_tcp",
            "name": m.code.lower(),
            "host": "127.0.0.1",
            "port": plant.modbus_port,
            "unit_id": m.unit_id,
            "profile": m.profile,
            "meter": m.code,
            "timeout_s": 0.5,
            "retries": 0,
        }
        for m in plant.layout
        if m.code in METERS
    ]
    return {
        "server": {"url": url, "client_id": "plant-1-agent", "retry_base_s": 0.05, "retry_cap_s": 0.2},
        "agent": {
            "id": "plant-1-agent",
            "poll_interval_s": 0.5,
            "buffer_path": str(buffer_path),
            "upload_interval_s": 0.1,
            "status_interval_s": 0.3,
            **agent,
        },
        "devices": devices,
    }


async def wait_for(condition: Any, within_s: float = 15.0) -> None:
    for _ in range(int(within_s / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")


async def test_agent_polls_buffers_uploads_and_reports(plant, ingest, tmp_path, monkeypatch):
    monkeypatch.setenv("CBAMX_AGENT_CLIENT_SECRET", "s3cret")
    agent = Agent.from_config(parse_config(config_data(plant, ingest.url, tmp_path / "b.db")))
    stop = asyncio.Event()
    run = asyncio.create_task(agent.run(stop))

    def energy_readings(meter: str) -> list[dict[str, Any]]:
        found = [r for (m, q, _), r in ingest.stored.items() if m == meter and q == "active_energy_import"]
        return sorted(found, key=lambda r: r["ts"])

    # when the agent runs for a few polls
    await wait_for(lambda: all(len(energy_readings(m)) >= 3 for m in ("GRID-MAIN", "PRESS1")) and ingest.statuses)
    stop.set()
    await run
    # then every configured meter delivered good readings
    assert {key[0] for key in ingest.stored} == set(METERS)
    assert {r["quality"] for r in ingest.stored.values()} == {"good"}
    # and counters increase from poll to poll
    values = [r["value"] for r in energy_readings("PRESS1")]
    assert values == sorted(values) and values[-1] > values[0]
    # and polls sit on the wall-clock grid of the poll interval
    stamps = sorted({r["ts"] for r in energy_readings("PRESS1")})
    millis = [datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp() % 0.5 for ts in stamps]
    assert all(m < 0.25 for m in millis), stamps
    # and status reports describe the devices
    devices = {d["name"]: d for d in ingest.statuses[-1]["devices"]}
    assert set(devices) == {m.lower() for m in METERS}
    assert all(d["ok"] and d["points"] > 0 for d in devices.values())


async def test_polling_goes_on_while_the_uplink_is_down_and_nothing_is_lost(plant, ingest, tmp_path, monkeypatch):
    monkeypatch.setenv("CBAMX_AGENT_CLIENT_SECRET", "s3cret")
    agent = Agent.from_config(parse_config(config_data(plant, ingest.url, tmp_path / "b.db")))
    # given an ingest endpoint that fails
    ingest.then(READINGS, *[(503, {})] * 1000)
    stop = asyncio.Event()
    run = asyncio.create_task(agent.run(stop))
    # when several polls happen meanwhile
    await wait_for(lambda: agent.buffer.stats().depth >= 3 * 20)
    assert ingest.stored == {}
    assert agent.status()["oldest_pending_ts"] is not None
    # and the endpoint recovers
    ingest.scripts[READINGS].clear()
    await wait_for(lambda: agent.buffer.stats().depth == 0 and len(ingest.stored) >= 60)
    stop.set()
    await run
    # then every reading taken during the outage arrived, each once
    sent = Counter(
        (r["meter"], r["quantity"], r["ts"]) for c in ingest.uploads() if c.status == 200 for r in c.body["readings"]
    )
    assert max(sent.values()) == 1
    assert ingest.duplicates == 0


async def test_unreachable_meter_is_missing_and_shows_in_status(plant, ingest, tmp_path, monkeypatch):
    monkeypatch.setenv("CBAMX_AGENT_CLIENT_SECRET", "s3cret")
    agent = Agent.from_config(parse_config(config_data(plant, ingest.url, tmp_path / "b.db")))
    plant.set_fault("PRESS1", "timeout")
    try:
        readings = await agent.poll_once()
    finally:
        plant.set_fault("PRESS1", None)
    press = [r for r in readings if r.meter == "PRESS1"]
    assert {(r.value, r.quality, r.reason) for r in press} == {(None, "missing", "timeout")}
    status = {d["name"]: d for d in agent.status()["devices"]}
    assert status["press1"]["ok"] is False and status["press1"]["last_error"].endswith("timeout")
    assert status["grid-main"]["ok"] is True
    await asyncio.sleep(1.0)
    await agent.poll_once()
    assert {d["name"]: d["ok"] for d in agent.status()["devices"]}["press1"] is True
    await agent.close()


async def start_agent(config_path: Path, log: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "connectors.cli",
        "run",
        str(config_path),
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO), "CBAMX_AGENT_CLIENT_SECRET": "s3cret"},
        stdout=asyncio.subprocess.DEVNULL,
        stderr=log.open("ab"),
    )


async def test_sigkill_after_the_server_stored_a_batch_loses_nothing_and_duplicates_nothing(plant, ingest, tmp_path):
    config_path = tmp_path / "agent.yaml"
    config_path.write_text(yaml.safe_dump(config_data(plant, ingest.url, tmp_path / "b.db", status_interval_s=30)))
    log = tmp_path / "agent.log"
    # given a server that stores the first batch but never gets to answer
    release = threading.Event()
    first_batch: list[tuple[str, str, str]] = []

    def store_then_hang(body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        first_batch.extend((r["meter"], r["quantity"], r["ts"]) for r in body["readings"])
        answer = ingest._store(body)
        release.wait(20)
        return answer

    ingest.then(READINGS, store_then_hang)
    agent = await start_agent(config_path, log)
    try:
        await wait_for(lambda: bool(first_batch), within_s=20)
        # when the agent is killed before it could acknowledge that batch
        agent.kill()
        await agent.wait()
    finally:
        release.set()
    assert agent.returncode == -signal.SIGKILL
    # and started again on the same buffer
    agent = await start_agent(config_path, log)
    try:
        await wait_for(
            lambda: ingest.duplicates >= len(first_batch) and len(ingest.stored) > len(first_batch),
            within_s=20,
        )
    finally:
        agent.send_signal(signal.SIGTERM)
        await asyncio.wait_for(agent.wait(), timeout=10)
    # then the unacknowledged batch was sent again, the server kept one copy, and shutdown was clean
    assert agent.returncode == 0, log.read_text()
    assert set(first_batch) <= set(ingest.stored)
    sent = Counter((r["meter"], r["quantity"], r["ts"]) for c in ingest.uploads() for r in c.body["readings"])
    assert all(sent[key] >= 2 for key in first_batch)
    assert len(ingest.stored) == len(sent)
