"""The demo's live plant: the meter simulator and the on-site agent, as child processes.

The agent's configuration is the shipped example with this run's ports, server URL and client;
its client secret is kept in the data directory (mode 0600) and handed to the agent through the
environment, never on a command line.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import yaml
from sqlalchemy import select

from backend.db import Database
from backend.identity.clients import create_client, revoke_client
from backend.identity.models import OAuthClient
from backend.identity.principal import Principal
from backend.tenants.models import Tenant

AGENT_NAME = "Šabac plant agent"
MES_NAME = "Šabac MES"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def agent_credentials(
    db: Database,
    tenant: Tenant,
    installation_id: object,
    folder: Path,
    *,
    name: str = AGENT_NAME,
    scopes: tuple[str, ...] = ("ingest",),
    file: str = "client.json",
) -> tuple[str, str]:
    """The demo agent's (or MES's) client id and secret: kept from an earlier run, or a fresh client."""
    path = folder / file
    async with db.platform() as session:
        if path.exists():
            saved = json.loads(path.read_text())
            row = await session.execute(select(OAuthClient).where(OAuthClient.client_id == saved["client_id"]))
            client = row.scalar_one_or_none()
            if client is not None and client.revoked_at is None:
                return saved["client_id"], saved["client_secret"]
        system = Principal.system("demo", tenant.id)
        for old in (
            await session.execute(
                select(OAuthClient).where(
                    OAuthClient.tenant_id == tenant.id, OAuthClient.name == name, OAuthClient.revoked_at.is_(None)
                )
            )
        ).scalars():
            await revoke_client(session, system, tenant=tenant, client_id=old.client_id)
        issued = await create_client(
            session, system, tenant=tenant, name=name, scopes=list(scopes), installation_id=installation_id
        )  # type: ignore[arg-type]
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"client_id": issued.client.client_id, "client_secret": issued.client_secret}))
    path.chmod(0o600)
    return issued.client.client_id, issued.client_secret


def write_agent_config(
    example: Path,
    folder: Path,
    *,
    server_url: str,
    client_id: str,
    modbus_port: int,
    opcua_port: int,
    ca_bundle: Path | None = None,
) -> Path:
    config = yaml.safe_load(example.read_text())
    config["server"]["url"] = server_url
    if ca_bundle is not None:
        config["server"]["ca_bundle"] = str(ca_bundle)
    config["server"]["client_id"] = client_id
    config["agent"]["buffer_path"] = str(folder / "buffer.sqlite3")
    for device in config["devices"]:
        if device["kind"] == "modbus_tcp":
            device["host"], device["port"] = "127.0.0.1", modbus_port
        elif device["kind"] == "opcua":
            device["endpoint"] = f"opc.tcp://127.0.0.1:{opcua_port}/cbamx/plant/"
    path = folder / "plant-agent.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def _wait_for_port(port: int, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            sock.settimeout(0.5)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return True
        time.sleep(0.25)
    return False


def start_plant(
    folder: Path,
    *,
    config: Path,
    secret: str,
    history_start: datetime,
    seed: int,
    step_s: float,
    modbus_port: int,
    opcua_port: int,
) -> list[subprocess.Popen[bytes]]:
    """Start the simulator (continuing the history's plant) and the agent polling it."""
    agent = Path(sys.executable).parent / "cbamx-agent"
    log = (folder / "plant.log").open("ab")
    simulator = subprocess.Popen(
        [
            str(agent),
            "simulate",
            "--modbus-port",
            str(modbus_port),
            "--opcua-port",
            str(opcua_port),
            "--seed",
            str(seed),
            "--history-start",
            history_start.isoformat(),
            "--step",
            str(step_s),
        ],
        stdout=log,
        stderr=log,
    )
    _wait_for_port(modbus_port, 60)
    _wait_for_port(opcua_port, 30)
    runner = subprocess.Popen(
        [str(agent), "run", str(config)],
        stdout=log,
        stderr=log,
        env={**os.environ, "CBAMX_AGENT_CLIENT_SECRET": secret},
    )
    return [simulator, runner]


def start_mes(
    folder: Path,
    *,
    server_url: str,
    client_id: str,
    secret: str,
    seed: int,
    since: datetime,
    ca_file: Path | None = None,
) -> subprocess.Popen[bytes]:
    """Start the live MES posting each scheduled batch as it closes (log in mes.log); ``ca_file`` is the
    certificate it trusts when the demo serves HTTPS."""
    log = (folder / "mes.log").open("ab")
    trust = {"SSL_CERT_FILE": str(ca_file)} if ca_file is not None else {}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "demo.mes",
            "--server",
            server_url,
            "--client-id",
            client_id,
            "--seed",
            str(seed),
            "--since",
            since.isoformat(),
        ],
        stdout=log,
        stderr=log,
        env={**os.environ, "CBAMX_MES_CLIENT_SECRET": secret, **trust},
    )
