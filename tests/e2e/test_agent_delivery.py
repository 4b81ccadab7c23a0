"""The on-site agent delivers every reading exactly once, across a server outage and a killed agent.

Real components only: the API runs as its own uvicorn process (stopped and started again to make
the outage), the agent runs as its own process (`cbamx-agent run`, killed with SIGKILL), and it
polls the plant simulator's Modbus gateway.

Ground truth is the agent's buffer: its AUTOINCREMENT counter is the number of readings the agent
ever buffered. When the buffer is empty (nothing pending, nothing rejected) the tenant must hold
exactly that many counter readings, and the ingest batches must have accepted exactly that many:
a batch sent again after a crash is counted as duplicates, never stored twice.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from sqlalchemy import func, select

from backend.ingest.models import CounterReading, IngestBatch
from backend.installations.schemas import InstallationData
from backend.installations.service import create_installation
from backend.metering.models import Medium, MeterRole, Quantity
from backend.metering.schemas import DataPointData, MeterData
from backend.metering.service import create_meter
from backend.services import Services
from connectors.profiles.loader import load_builtin
from connectors.simulator import MODBUS_LAYOUT, PlantSimulator, free_port
from tests.factories.tenants import TenantWithOwner, make_client, make_tenant

pytestmark = pytest.mark.timeout(150)

ROOT = Path(__file__).resolve().parents[2]
# Four meters of the simulated gateway, three points each: 12 readings per poll.
METERS = ("GRID-MAIN", "PRESS1", "PRESS2", "COMPRESSORS")
POINTS = ("active_energy_import", "active_power", "frequency")
READINGS_PER_POLL = len(METERS) * len(POINTS)
BATCH = 25
RETRY_CAP_S = 2.0


# --- processes -------------------------------------------------------------------------------


def _tail(path: Path, lines: int = 30) -> str:
    if not path.exists():
        return f"({path.name} does not exist)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


async def _until(
    condition: Callable[[], Awaitable[bool] | bool],
    within_s: float,
    what: str,
    *,
    interval: float = 0.05,
    log: Path | None = None,
) -> None:
    """Poll `condition` until true; fail naming `what` (and showing the end of `log`) after `within_s` seconds."""
    deadline = time.monotonic() + within_s
    while True:
        result = condition()
        if isinstance(result, Awaitable):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {within_s:.0f} s waiting for {what}" + (f"\n{_tail(log)}" if log else ""))
        await asyncio.sleep(interval)


async def _exited(process: subprocess.Popen[bytes], within_s: float) -> bool:
    deadline = time.monotonic() + within_s
    while process.poll() is None:
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


# `python -m uvicorn backend.app:create_app --factory`, except that the process imports the app first and
# binds only when told to (a line on stdin): importing takes seconds, so the next server is made
# ready while the current one is down and the outage ends when the test says so.
SERVE = """
import sys
import uvicorn
import backend.app
if sys.stdin.readline().strip() != "serve":
    sys.exit(0)
uvicorn.run("backend.app:create_app", factory=True, host="127.0.0.1", port=int(sys.argv[1]),
            log_level="warning", access_log=False)
"""


class ApiServer:
    """The API as a uvicorn process on a fixed port, so it can be stopped and started again."""

    def __init__(self, port: int, log_path: Path) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None
        self._spare: subprocess.Popen[bytes] | None = None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def _prepare(self) -> None:
        if self._spare is None or self._spare.poll() is not None:
            env = {**os.environ, "CBAMX_PUBLIC_URL": self.url}
            with self.log_path.open("ab") as log:
                self._spare = subprocess.Popen(
                    [sys.executable, "-c", SERVE, str(self.port)],
                    cwd=ROOT,
                    env=env,
                    stdin=subprocess.PIPE,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )

    async def start(self) -> None:
        assert not self.running
        self._prepare()
        self.process, self._spare = self._spare, None
        assert self.process is not None and self.process.stdin is not None
        self.process.stdin.write(b"serve\n")
        self.process.stdin.close()

        async def live() -> bool:
            if self.process is not None and self.process.poll() is not None:
                pytest.fail(f"the API exited with {self.process.returncode}:\n{_tail(self.log_path)}")
            try:
                async with httpx.AsyncClient(timeout=1) as client:
                    return (await client.get(f"{self.url}/health/live")).status_code == 200
            except httpx.TransportError:
                return False

        await _until(live, 60, "the API to answer /health/live", interval=0.1, log=self.log_path)

    async def stop(self, *, restart_later: bool = True) -> None:
        """SIGTERM (uvicorn finishes requests in flight, then exits); the next process starts importing."""
        if self.process is not None:
            if self.process.poll() is None:
                self.process.send_signal(signal.SIGTERM)
                if not await _exited(self.process, 10):
                    self.process.kill()
                    await _exited(self.process, 5)
            self.process = None
        if restart_later:
            self._prepare()

    async def close(self) -> None:
        await self.stop(restart_later=False)
        if self._spare is not None:
            self._spare.kill()
            await _exited(self._spare, 5)
            self._spare = None


class AgentProcess:
    """`cbamx-agent run CONFIG` as a child process; its log accumulates across restarts."""

    def __init__(self, config: Path, secret: str) -> None:
        self.config = config
        self.log_path = config.parent / "agent.log"
        executable = Path(sys.executable).parent / "cbamx-agent"
        self.command = [str(executable if executable.exists() else shutil.which("cbamx-agent")), "run", str(config)]
        self.env = {**os.environ, "CBAMX_AGENT_CLIENT_SECRET": secret}
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        assert self.process is None or self.process.poll() is not None
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.command, cwd=self.config.parent, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        self.starts += 1

    def assert_alive(self) -> None:
        assert self.process is not None
        if self.process.poll() is not None:
            pytest.fail(f"the agent exited with {self.process.returncode}:\n{_tail(self.log_path)}")

    async def kill(self) -> None:
        """SIGKILL: no clean-up of any kind, as in a crash or power loss of the agent's process."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        assert await _exited(self.process, 5)

    async def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        if not await _exited(self.process, 15):
            self.process.kill()
            await _exited(self.process, 5)


# --- observations ----------------------------------------------------------------------------


@dataclass(frozen=True)
class BufferState:
    seq: int  # readings ever buffered (the AUTOINCREMENT counter)
    pending: int
    rejected: int


def buffer_state(path: Path) -> BufferState:
    """One consistent read of the agent's buffer (read-only: never checkpoints or recovers it)."""
    if not path.exists():
        return BufferState(0, 0, 0)
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    try:
        tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "sqlite_sequence" not in tables:
            return BufferState(0, 0, 0)
        row = db.execute(
            "SELECT (SELECT seq FROM sqlite_sequence WHERE name = 'readings'), "
            "(SELECT count(*) FROM readings WHERE state = 'pending'), "
            "(SELECT count(*) FROM readings WHERE state = 'rejected')"
        ).fetchone()
    finally:
        db.close()
    return BufferState(int(row[0] or 0), int(row[1]), int(row[2]))


@dataclass(frozen=True)
class ServerCounts:
    rows: int  # counter readings stored
    batches: int
    accepted: int  # sum over batches
    duplicates: int
    sent: int  # readings received, duplicates included


async def server_counts(services: Services, owner: TenantWithOwner) -> ServerCounts:
    """The tenant's readings and batches, counted in one statement (one snapshot)."""
    async with services.db.tenant(owner.tenant.scope()) as db:
        row = (
            await db.execute(
                select(
                    select(func.count()).select_from(CounterReading).scalar_subquery(),
                    select(func.count()).select_from(IngestBatch).scalar_subquery(),
                    select(func.coalesce(func.sum(IngestBatch.accepted), 0)).scalar_subquery(),
                    select(func.coalesce(func.sum(IngestBatch.duplicates), 0)).scalar_subquery(),
                    select(func.coalesce(func.sum(IngestBatch.readings), 0)).scalar_subquery(),
                )
            )
        ).one()
    return ServerCounts(*(int(v) for v in row))


async def drained(
    services: Services, owner: TenantWithOwner, buffer: Path, agent: AgentProcess, within_s: float
) -> tuple[BufferState, ServerCounts]:
    """Wait for an empty buffer and count the server's rows while the agent buffers nothing new.

    The agent keeps polling, so the count is taken between two identical buffer reads with nothing
    pending: every reading buffered so far has then been acknowledged, and none buffered since.
    """
    deadline = time.monotonic() + within_s
    last: BufferState | None = None
    while time.monotonic() < deadline:
        agent.assert_alive()
        before = buffer_state(buffer)
        last = before
        if before.seq > 0 and before.pending == 0 and before.rejected == 0:
            counts = await server_counts(services, owner)
            if buffer_state(buffer) == before:
                return before, counts
        await asyncio.sleep(0.02)
    pytest.fail(f"the buffer did not drain within {within_s:.0f} s: {last}\n{_tail(agent.log_path)}")


def assert_exactly_once(state: BufferState, counts: ServerCounts) -> None:
    assert state.pending == 0 and state.rejected == 0, state
    assert counts.rows == state.seq, (
        f"the agent buffered {state.seq} readings, the server holds {counts.rows} ({state.seq - counts.rows} lost)"
    )
    assert counts.accepted == counts.rows, f"batches accepted {counts.accepted} readings, {counts.rows} rows stored"
    assert counts.sent == counts.accepted + counts.duplicates, counts


# --- set-up ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
async def simulator() -> AsyncIterator[PlantSimulator]:
    async with PlantSimulator(modbus_port=0, opcua_port=None, speed=60, step_s=1.0) as sim:
        yield sim


@pytest.fixture(scope="module")
async def api(services: Services, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[ApiServer]:
    server = ApiServer(free_port(), tmp_path_factory.mktemp("api") / "api.log")
    await server.start()
    yield server
    await server.close()


@pytest.fixture
async def running_api(api: ApiServer) -> ApiServer:
    """The module's API, started again if an earlier test left it stopped."""
    if not api.running:
        await api.start()
    return api


@dataclass
class Site:
    owner: TenantWithOwner
    client_id: str
    secret: str


@pytest.fixture
async def site(services: Services) -> Site:
    """A tenant whose installation has a data point for every (meter, quantity, unit) the agent sends."""
    owner = await make_tenant(services)
    actor = owner.principal
    profiles = {m.code: m.profile for m in MODBUS_LAYOUT}
    async with services.db.tenant(owner.tenant.scope()) as db:
        plant = await create_installation(
            db, actor, InstallationData(name=f"Plant {uuid.uuid4().hex[:8]}", country="RS")
        )
        main_id = None
        for code in METERS:
            registers = load_builtin(profiles[code]).registers
            meter = await create_meter(
                db,
                actor,
                MeterData(
                    installation_id=plant.id,
                    code=code,
                    name=code,
                    medium=Medium.ELECTRICITY,
                    role=MeterRole.MAIN if main_id is None else MeterRole.SUB,
                    parent_id=main_id,
                    data_points=[DataPointData(Quantity(registers[p].quantity), registers[p].unit) for p in POINTS],
                ),
            )
            main_id = main_id or meter.id
    client_id, secret = await make_client(services, owner, ["ingest"], installation_id=plant.id)
    return Site(owner, client_id, secret)


def write_config(directory: Path, api: ApiServer, client_id: str, modbus_port: int) -> Path:
    units = {m.code: m.unit_id for m in MODBUS_LAYOUT}
    profiles = {m.code: m.profile for m in MODBUS_LAYOUT}
    config: dict[str, Any] = {
        "server": {
            "url": api.url,
            "client_id": client_id,
            "timeout_s": 10,
            "retry_base_s": 0.5,
            "retry_cap_s": RETRY_CAP_S,
        },
        "agent": {
            "id": "e2e-agent",
            "poll_interval_s": 1,
            "buffer_path": "buffer.sqlite3",
            "upload_batch_size": BATCH,
            "upload_interval_s": 1,
            "status_interval_s": 2,
        },
        "devices": [
            {
                "kind": "modbus_tcp",
                "name": code.lower(),
                "host": "127.0.0.1",
                "port": modbus_port,
                "unit_id": units[code],
                "profile": profiles[code],
                "meter": code,
                "include_points": list(POINTS),
            }
            for code in METERS
        ],
    }
    path = directory / "agent.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


@pytest.fixture
async def agent(
    site: Site, running_api: ApiServer, simulator: PlantSimulator, tmp_path: Path
) -> AsyncIterator[AgentProcess]:
    process = AgentProcess(write_config(tmp_path, running_api, site.client_id, simulator.modbus_port), site.secret)
    yield process
    await process.stop()


# --- tests -----------------------------------------------------------------------------------


async def test_every_reading_arrives_once_after_a_long_server_outage(
    services: Services, site: Site, running_api: ApiServer, agent: AgentProcess
) -> None:
    buffer = agent.config.parent / "buffer.sqlite3"
    # given: an agent delivering to a live server
    agent.start()

    async def delivering() -> bool:
        agent.assert_alive()
        return (await server_counts(services, site.owner)).batches >= 2

    await _until(delivering, 20, "the agent's first uploads", log=agent.log_path)

    # when: the server is unreachable for a long while (many retry periods, several batches of readings)
    await running_api.stop()
    outage_s = 12.0
    outage_ends = time.monotonic() + outage_s
    at_start = buffer_state(buffer)
    batches_before = (await server_counts(services, site.owner)).batches
    while time.monotonic() < outage_ends:
        agent.assert_alive()
        await asyncio.sleep(0.25)
    during = buffer_state(buffer)
    backlog = during.pending
    await running_api.start()

    # then: the readings piled up in the buffer while the server was away ...
    assert during.seq - at_start.seq >= 8 * READINGS_PER_POLL, (at_start, during)
    assert backlog >= 4 * BATCH, f"only {backlog} readings pending after a {outage_s:.0f} s outage"
    # ... and once it is back, all of them, and everything since, is stored exactly once
    state, counts = await drained(services, site.owner, buffer, agent, within_s=30)
    assert counts.batches - batches_before >= backlog // BATCH
    assert_exactly_once(state, counts)
    print(
        f"\noutage: {state.seq} readings buffered, {backlog} pending at the end of a {outage_s:.0f} s outage; "
        f"{counts.rows} stored in {counts.batches} batches, {counts.duplicates} duplicates"
    )


async def test_every_reading_arrives_once_after_the_agent_is_killed_mid_upload(
    services: Services, site: Site, running_api: ApiServer, agent: AgentProcess
) -> None:
    buffer = agent.config.parent / "buffer.sqlite3"
    # given: a backlog of several batches (the agent buffered while the server was down) ...
    await running_api.stop()
    agent.start()
    await _until(
        lambda: buffer_state(buffer).pending >= 4 * BATCH, 30, "a backlog in the agent's buffer", log=agent.log_path
    )
    await running_api.start()

    # when: the agent is killed right after a batch reached the server, again and again while it drains
    kills, pending_at_kill = 4, []
    for _ in range(kills):
        base = (await server_counts(services, site.owner)).batches

        async def posted(base: int = base) -> bool:
            agent.assert_alive()
            return (await server_counts(services, site.owner)).batches > base

        await _until(posted, 20, "an upload", interval=0.005, log=agent.log_path)
        await agent.kill()
        pending_at_kill.append(buffer_state(buffer).pending)
        agent.start()

    # then: after the last restart the buffer drains, and every reading is stored exactly once
    state, counts = await drained(services, site.owner, buffer, agent, within_s=30)
    assert agent.starts == kills + 1
    assert sum(1 for p in pending_at_kill if p > 0) >= 2, f"the kills hit an idle agent: {pending_at_kill}"
    assert_exactly_once(state, counts)
    print(
        f"\nSIGKILL x{kills}: pending at each kill {pending_at_kill}; {state.seq} readings buffered, "
        f"{counts.rows} stored in {counts.batches} batches, {counts.duplicates} duplicates resent and ignored"
    )


async def test_readings_cbamx_refuses_are_set_aside_named_in_the_log_and_the_rest_arrives(
    services: Services, site: Site, running_api: ApiServer, simulator: PlantSimulator, tmp_path: Path
) -> None:
    # given: an agent that also reads a quantity the site does not declare (grid-main's voltage)
    config = write_config(tmp_path, running_api, site.client_id, simulator.modbus_port)
    data = yaml.safe_load(config.read_text())
    data["devices"][0]["include_points"] = [*POINTS, "voltage_l1n"]
    config.write_text(yaml.safe_dump(data, sort_keys=False))
    agent = AgentProcess(config, site.secret)
    buffer = tmp_path / "buffer.sqlite3"
    agent.start()
    try:
        # when: it delivers for a few polls
        async def refused_and_delivered() -> bool:
            agent.assert_alive()
            state = buffer_state(buffer)
            return state.rejected >= 2 and (await server_counts(services, site.owner)).rows >= 2 * READINGS_PER_POLL

        await _until(refused_and_delivered, 30, "refused voltages and stored readings", log=agent.log_path)
    finally:
        await agent.stop()
    # then: the log names each refused reading with the server's reason, and the rest was stored
    log = agent.log_path.read_text()
    assert "refused: GRID-MAIN voltage_l1n " in log, _tail(agent.log_path)
    refusal = next(line for line in log.splitlines() if "refused: GRID-MAIN voltage_l1n " in line)
    assert "UNKNOWN_DATA_POINT (quantity): " in refusal and "voltage_l1n" in refusal.split("(quantity): ")[1]
    state = buffer_state(buffer)
    counts = await server_counts(services, site.owner)
    # nothing is lost: every buffered reading is stored, set aside or still pending. Stopping the
    # agent during an upload may leave a batch the server has already stored counted as pending
    # too (delivery is at least once; the next upload's duplicates are ignored), so pending can
    # overlap the stored rows but never fall short of them.
    assert counts.rows + state.rejected <= state.seq <= counts.rows + state.rejected + state.pending, (state, counts)
    # and the set-aside readings are listed with the answer by the agent's command
    listing = await asyncio.create_subprocess_exec(
        agent.command[0], "set-aside", "list", str(config), stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    out, _ = await asyncio.wait_for(listing.communicate(), timeout=60)
    assert listing.returncode == 0 and "HTTP 422" in out.decode(), out.decode()
