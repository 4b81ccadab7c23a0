"""Fixtures for the connector tests: real in-process Modbus servers and config builders."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Mapping
from typing import Any

import pytest
from pymodbus import FramerType
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from connectors.config import AgentConfig, parse_config
from connectors.simulator import free_port


@pytest.fixture(autouse=True, scope="session")
def _quiet_protocol_libraries() -> None:
    # Both libraries log full tracebacks for the failures these tests provoke on purpose.
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
    logging.getLogger("asyncua").setLevel(logging.CRITICAL)


def sim_device(unit_id: int, image: Mapping[int, int], action: Any = None) -> SimDevice:
    """A device serving exactly the addresses in `image` (anything else answers exception 2)."""
    blocks: list[SimData] = []
    run: list[int] = []
    start = None
    for address in sorted(image):
        if start is not None and address == start + len(run):
            run.append(image[address])
            continue
        if run:
            blocks.append(SimData(address=start, values=run, datatype=DataType.REGISTERS))
        start, run = address, [image[address]]
    if run:
        blocks.append(SimData(address=start, values=run, datatype=DataType.REGISTERS))
    return SimDevice(id=unit_id, simdata=blocks, action=action)


@contextlib.asynccontextmanager
async def modbus_server(
    devices: SimDevice | list[SimDevice], port: int | None = None, framer: FramerType = FramerType.SOCKET
) -> AsyncIterator[int]:
    port = port or free_port()
    server = ModbusTcpServer(devices, address=("127.0.0.1", port), framer=framer)
    await server.serve_forever(background=True)
    try:
        yield port
    finally:
        await server.shutdown()


SERVER = {"url": "http://127.0.0.1:9", "client_id": "plant-1-agent", "client_secret": "s3cret"}


def tcp_device(port: int, **fields: Any) -> dict[str, Any]:
    return {
        "kind": "modbus_tcp",
        "name": "meter-1",
        "host": "127.0.0.1",
        "port": port,
        "unit_id": 1,
        "meter": "M1",
        "timeout_s": 0.3,
        "retries": 0,
        **fields,
    }


def agent_config(devices: list[dict[str, Any]], **agent: Any) -> AgentConfig:
    return parse_config({"server": SERVER, "agent": {"id": "test-agent", **agent}, "devices": devices})


def by_point(readings: list[Any]) -> dict[str, Any]:
    return {r.point: r for r in readings}
