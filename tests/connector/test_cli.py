"""The `cbamx-agent` command line, run as a real process."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest_asyncio
import yaml
from typer.testing import CliRunner

from connectors.buffer import ReadingBuffer
from connectors.cli import app
from connectors.readings import Reading
from connectors.simulator import PlantSimulator, free_port

from .conftest import SERVER, modbus_server, sim_device, tcp_device

REPO = Path(__file__).resolve().parents[2]
runner = CliRunner()


async def cli(*args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "connectors.cli",
        *args,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def write_config(path: Path, devices: list[dict[str, Any]], server: dict[str, Any] | None = None) -> Path:
    path.write_text(
        yaml.safe_dump(
            {
                "server": server or SERVER,
                "agent": {"id": "cli-test", "buffer_path": "buffer.db"},
                "devices": devices,
            }
        )
    )
    return path


@pytest_asyncio.fixture(scope="module")
async def plant() -> AsyncIterator[PlantSimulator]:
    async with PlantSimulator(seed=9, modbus_port=0, opcua_port=None) as sim:
        yield sim


def test_profiles_lists_the_builtin_meters():
    result = runner.invoke(app, ["profiles"])
    assert result.exit_code == 0
    for name in ("eastron_sdm630", "janitza_umg96rm", "janitza_umg604", "sunspec_203", "sunspec_213"):
        assert name in result.output
    result = runner.invoke(app, ["profiles", "janitza_umg604"])
    assert result.exit_code == 0 and "active_energy_import" in result.output and "9851" in result.output
    assert runner.invoke(app, ["profiles", "nope"]).exit_code == 2


async def test_check_prints_a_table_and_succeeds_when_all_devices_answer(plant, tmp_path):
    config = write_config(
        tmp_path / "agent.yaml",
        [
            tcp_device(plant.modbus_port, name="press-1", unit_id=2, profile="eastron_sdm630", meter="PRESS1"),
            tcp_device(plant.modbus_port, name="pv", unit_id=10, profile="sunspec_213", meter="PV-ROOF"),
        ],
    )
    code, out, err = await cli("check", str(config))
    assert code == 0, err
    header = out.splitlines()[0].split()
    assert header == ["DEVICE", "POINT", "METER", "QUANTITY", "VALUE", "UNIT", "QUALITY", "RAW"]
    energy = next(line for line in out.splitlines() if "PRESS1" in line and "active_energy_import" in line)
    assert " kWh " in energy and " good " in energy and "0x" in energy
    assert "unreachable" not in out


async def test_check_fails_when_a_device_is_unreachable(plant, tmp_path):
    config = write_config(
        tmp_path / "agent.yaml",
        [
            tcp_device(plant.modbus_port, name="press-1", unit_id=2, profile="eastron_sdm630", meter="PRESS1"),
            tcp_device(free_port(), name="gone", profile="eastron_sdm630", meter="GONE"),
        ],
    )
    code, out, _ = await cli("check", str(config))
    assert code == 1
    assert "missing: connection" in out
    assert "unreachable: gone" in out


def register(address: int, type_: str = "uint32", **fields: Any) -> dict[str, Any]:
    return {
        "quantity": "active_energy_import",
        "function_code": 3,
        "address": address,
        "type": type_,
        "unit": "kWh",
        "kind": "counter",
        **fields,
    }


async def test_check_fails_when_any_point_is_missing_and_names_it(tmp_path):
    image = {0: 0, 1: 100}  # the meter implements registers 0-1 only
    registers = {"energy": register(0), "power": register(40, quantity="active_power", unit="W")}
    async with modbus_server(sim_device(1, image)) as port:
        config = write_config(tmp_path / "agent.yaml", [tcp_device(port, name="press-2", registers=registers)])
        code, out, err = await cli("check", str(config))
    # the device answered, but one point could not be read: that is not a passed check
    assert code == 1, out + err
    assert "1 device(s), 2 point(s): 1 good, 1 not good" in out
    assert "missing: press-2.power (modbus_exception_2)" in out
    assert "unreachable" not in out


async def test_check_prints_values_with_full_precision(tmp_path):
    # 12345678 x 0.01 kWh and a float64 counter with more digits than a float32 holds
    image = {0: 0x00BC, 1: 0x614E, **{10 + i: w for i, w in enumerate([0x4132, 0xD687, 0x1F9A, 0xDBB9])}}
    registers = {
        "energy": register(0, scale=0.01),
        "export": register(10, "float64", quantity="active_energy_export"),
    }
    async with modbus_server(sim_device(1, image)) as port:
        config = write_config(tmp_path / "agent.yaml", [tcp_device(port, registers=registers)])
        code, out, err = await cli("check", str(config))
    assert code == 0, out + err
    assert " 123456.78 " in out and "123457 " not in out
    assert " 1234567.1234567 " in out


async def test_check_tells_dns_refusal_timeout_and_modbus_exception_apart(tmp_path):
    async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # accepts the connection, reads requests, answers nothing
        writer.close()

    silent = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    silent_port = silent.sockets[0].getsockname()[1]
    energy = {"energy": register(0)}
    try:
        async with modbus_server(sim_device(1, {5: 1})) as port:
            config = write_config(
                tmp_path / "agent.yaml",
                [
                    tcp_device(502, name="by-name", host="meter-7.invalid", registers=energy, meter="M7"),
                    tcp_device(free_port(), name="refusing", registers=energy, meter="M8"),
                    tcp_device(silent_port, name="silent", registers=energy, meter="M9"),
                    tcp_device(port, name="wrong-address", registers=energy, meter="M10"),
                ],
            )
            code, out, err = await cli("check", str(config))
    finally:
        silent.close()
        await silent.wait_closed()
    assert code == 1, out + err
    lines = {
        line.split()[0]: line
        for line in out.splitlines()
        if line and line.split()[0] in {"by-name", "refusing", "silent", "wrong-address"}
    }
    assert "missing: dns_failure" in lines["by-name"]
    assert "missing: connection_refused" in lines["refusing"]
    assert "missing: timeout" in lines["silent"]
    assert "missing: modbus_exception_2" in lines["wrong-address"]
    # and the summary says what to look at, per device
    assert "unreachable: by-name (dns_failure), refusing (connection_refused), silent (timeout)" in out


async def test_check_warns_about_a_sentinel_its_data_type_cannot_hold(tmp_path):
    registers = {"energy": register(0, "uint16", sentinels=[0xFFFFFFFF])}
    async with modbus_server(sim_device(1, {0: 7})) as port:
        config = write_config(tmp_path / "agent.yaml", [tcp_device(port, name="old-meter", registers=registers)])
        code, out, err = await cli("check", str(config))
    assert code == 0, out + err
    assert (
        "warning: device 'old-meter' point 'energy': sentinel 4294967295 (0xFFFFFFFF) cannot occur in a uint16" in err
    )


def test_points_lists_what_to_declare_in_cbamx(tmp_path):
    registers = {"energy": register(0), "power": register(40, quantity="active_power", unit="W", kind="instantaneous")}
    config = write_config(
        tmp_path / "agent.yaml",
        [
            tcp_device(
                502, name="grid-main", profile="janitza_umg604", meter="GRID-MAIN", include_points=["voltage_l1n"]
            ),
            tcp_device(502, name="press-2", unit_id=2, registers=registers, meter="PRESS2"),
        ],
    )
    result = runner.invoke(app, ["points", str(config)])
    assert result.exit_code == 0, result.output
    rows = [line.split() for line in result.output.splitlines()[2:]]
    assert rows == [
        ["GRID-MAIN", "voltage_l1n", "V", "instantaneous", "grid-main.voltage_l1n"],
        ["PRESS2", "active_energy_import", "kWh", "counter", "press-2.energy"],
        ["PRESS2", "active_power", "W", "instantaneous", "press-2.power"],
    ]


def test_invalid_config_exits_2_naming_the_field(tmp_path):
    device = tcp_device(502, profile="eastron_sdm630")
    device["unit_id"] = 300
    config = write_config(tmp_path / "agent.yaml", [device])
    result = runner.invoke(app, ["check", str(config)])
    assert result.exit_code == 2
    assert "device 'meter-1' (devices.0): unit_id: Input should be less than or equal to 255" in result.output


def test_run_refuses_to_start_without_a_client_secret(tmp_path, monkeypatch):
    monkeypatch.delenv("CBAMX_AGENT_CLIENT_SECRET", raising=False)
    server = {k: v for k, v in SERVER.items() if k != "client_secret"}
    config = write_config(tmp_path / "agent.yaml", [tcp_device(502, profile="eastron_sdm630")], server)
    result = runner.invoke(app, ["run", str(config)])
    assert result.exit_code == 2 and "server.client_secret" in result.output


def test_buffer_command_shows_depth_and_rejected(tmp_path):
    config = write_config(tmp_path / "agent.yaml", [tcp_device(502, profile="eastron_sdm630")])
    store = ReadingBuffer(tmp_path / "buffer.db")
    store.append(
        [Reading(m, "active_power", "W", "2026-11-22T10:00:00.000Z", 1.0, "good", None, [0, 1]) for m in ("A", "B")]
    )
    answer = '{"code":"BATCH_REJECTED","errors":[{"index":0,"field":"meter","code":"UNKNOWN_METER"}]}'
    record = store.set_aside(
        {store.pending(1)[0].seq: "UNKNOWN_METER (meter): no meter A"},
        status=422,
        summary="1 reading(s) refused",
        answer=answer,
    )
    store.close()
    result = runner.invoke(app, ["buffer", str(config)])
    assert result.exit_code == 0
    assert "pending: 1" in result.output and "rejected: 1" in result.output
    assert "UNKNOWN_METER" in result.output
    # the set-aside records list what cbamx answered, and each can be shown, requeued or discarded
    listed = runner.invoke(app, ["set-aside", "list", str(config)])
    assert listed.exit_code == 0
    assert f"#{record}" in listed.output and "HTTP 422" in listed.output and "1 of 1 waiting" in listed.output
    shown = runner.invoke(app, ["set-aside", "show", str(config), str(record)])
    assert shown.exit_code == 0 and answer in shown.output
    assert "A active_power 2026-11-22T10:00:00.000Z = 1.0 W: UNKNOWN_METER (meter): no meter A" in shown.output
    assert runner.invoke(app, ["set-aside", "show", str(config), "99"]).exit_code == 2
    requeued = runner.invoke(app, ["set-aside", "requeue", str(config), str(record)])
    assert requeued.exit_code == 0 and "requeued 1 reading(s)" in requeued.output
    assert "0 of 1 waiting" in runner.invoke(app, ["set-aside", "list", str(config)]).output
