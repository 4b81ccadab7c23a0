"""The agent as a plant PC gets it: its own wheel in a fresh virtual environment, without the server."""

from __future__ import annotations

import asyncio
import configparser
import os
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from importlib import metadata
from pathlib import Path

import pytest
import pytest_asyncio
import yaml

from connectors.simulator import PlantSimulator

from .conftest import SERVER, tcp_device

REPO = Path(__file__).resolve().parents[2]
SERVER_ONLY = ("litestar", "sqlalchemy", "asyncpg", "alembic", "arq", "redis", "boto3", "strawberry-graphql")


def _uv() -> list[str]:
    found = shutil.which("uv")
    return [found] if found else [sys.executable, "-m", "uv"]


def _run(*args: str | Path, cwd: Path) -> str:
    done = subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{args}\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def agent_venv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Build the agent's wheel from connectors/ and install it, and only it, into a new venv."""
    work = tmp_path_factory.mktemp("agent-package")
    _run(*_uv(), "build", "--wheel", "--out-dir", work / "dist", REPO / "connectors", cwd=work)
    [wheel] = (work / "dist").glob("cbamx_agent-*.whl")
    # Pin what this environment was tested with, so the install comes from the local cache.
    constraints = work / "constraints.txt"
    constraints.write_text(
        "\n".join(sorted({f"{d.metadata['Name']}=={d.version}" for d in metadata.distributions()})) + "\n"
    )
    venv = work / "venv"
    _run(*_uv(), "venv", "--quiet", "--python", sys.executable, venv, cwd=work)
    python = venv / "bin" / "python"
    _run(*_uv(), "pip", "install", "--quiet", "--python", python, "--constraint", constraints, wheel, cwd=work)
    yield venv


@pytest_asyncio.fixture(scope="module")
async def plant() -> AsyncIterator[PlantSimulator]:
    async with PlantSimulator(seed=5, modbus_port=0, opcua_port=None) as sim:
        yield sim


def test_the_agent_package_carries_none_of_the_server(agent_venv):
    python = agent_venv / "bin" / "python"
    installed = _run(
        python,
        "-c",
        "import importlib.metadata as m; print(*{d.metadata['Name'].lower() for d in m.distributions()})",
        cwd=agent_venv,
    )
    names = set(installed.split())
    assert "cbamx-agent" in names and {"pymodbus", "asyncua", "httpx"} <= names
    assert not names & set(SERVER_ONLY), names & set(SERVER_ONLY)
    # every module of the agent imports here, so none of them reaches for the server
    modules = _run(
        python,
        "-c",
        "import connectors, pkgutil, importlib\n"
        "names = [m.name for m in pkgutil.walk_packages(connectors.__path__, 'connectors.')]\n"
        "[importlib.import_module(n) for n in names]\n"
        "print(connectors.__file__); print(len(names))",
        cwd=agent_venv,
    ).split()
    assert modules[0].startswith(str(agent_venv)) and int(modules[1]) > 15


async def test_the_installed_agent_checks_the_simulated_plant(agent_venv, plant, tmp_path):
    config = tmp_path / "agent.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "server": SERVER,
                "agent": {"id": "plant-pc", "buffer_path": str(tmp_path / "buffer.sqlite3")},
                "devices": [
                    tcp_device(plant.modbus_port, name="press-1", unit_id=2, profile="eastron_sdm630", meter="PRESS1")
                ],
            }
        )
    )
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    process = await asyncio.create_subprocess_exec(
        str(agent_venv / "bin" / "cbamx-agent"),
        "check",
        str(config),
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, out.decode() + err.decode()
    energy = next(line for line in out.decode().splitlines() if "active_energy_import" in line)
    assert "PRESS1" in energy and " good" in energy


def test_dev_runs_the_agent_command():
    out = _run(REPO / "dev", "agent", "profiles", cwd=REPO)
    assert "eastron_sdm630" in out and "sunspec" in out


def test_the_service_unit_runs_as_its_own_user_keeps_state_and_restarts():
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read(REPO / "connectors" / "packaging" / "cbamx-agent.service")
    service = unit["Service"]
    assert service["User"] == "cbamx-agent"
    assert service["StateDirectory"] == "cbamx-agent"  # /var/lib/cbamx-agent holds the buffer
    assert service["Restart"] == "always"
    assert service["ExecStart"].split()[:3] == [
        "/opt/cbamx-agent/bin/cbamx-agent",
        "run",
        "/etc/cbamx-agent/agent.yaml",
    ]
    # the install guide shows the same unit and the same places
    guide = (REPO / "docs" / "agent-install.md").read_text()
    for text in ("/opt/cbamx-agent", "/etc/cbamx-agent/agent.yaml", "/var/lib/cbamx-agent/buffer.sqlite3"):
        assert text in guide
