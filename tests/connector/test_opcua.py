"""OPC UA driver against a real in-process asyncua server."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest_asyncio
from asyncua import Server, ua

from connectors.agent import build_pollers
from connectors.simulator import free_port

from .conftest import agent_config, by_point

NS_URI = "urn:test:furnace-plc"


@dataclass
class PlcServer:
    server: Server
    endpoint: str
    ns: int
    energy: Any


@pytest_asyncio.fixture(scope="module")
async def plc() -> AsyncIterator[PlcServer]:
    endpoint = f"opc.tcp://127.0.0.1:{free_port()}/plc/"
    server = Server()
    await server.init()
    server.set_endpoint(endpoint)
    server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
    ns = await server.register_namespace(NS_URI)
    furnace = await server.nodes.objects.add_object(ns, "Furnace")
    energy = await furnace.add_variable(ns, "ActiveEnergyImport_kWh", 1000.5)
    await furnace.add_variable(ns, "ActivePower_kW", ua.Variant(12.5, ua.VariantType.Float))
    await furnace.add_variable(ua.NodeId("Furnace.Gas", ns), ua.QualifiedName("Gas_m3", ns), 77.25)
    sensors = await server.nodes.objects.add_object(ns, "Sensors")
    broken = await sensors.add_variable(ns, "Broken", 0.0)
    stale = await sensors.add_variable(ns, "Stale", 0.0)
    await sensors.add_variable(ns, "Label", "running")
    await sensors.add_variable(ns, "NotANumber", math.nan)
    await broken.write_value(
        ua.DataValue(ua.Variant(5.0, ua.VariantType.Double), StatusCode=ua.StatusCode(ua.StatusCodes.BadSensorFailure))
    )
    await stale.write_value(
        ua.DataValue(
            ua.Variant(7.0, ua.VariantType.Double),
            StatusCode=ua.StatusCode(ua.StatusCodes.UncertainLastUsableValue),
        )
    )
    await server.start()
    yield PlcServer(server, endpoint, ns, energy)
    await server.stop()


def node(path: str, quantity: str = "active_energy_import", **fields: Any) -> dict[str, Any]:
    return {"browse_path": path, "namespace_uri": NS_URI, "quantity": quantity, "unit": "kWh", **fields}


def opcua_device(endpoint: str, nodes: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "kind": "opcua",
        "name": "plc",
        "endpoint": endpoint,
        "meter": "FURNACE1",
        "timeout_s": 1.0,
        "nodes": nodes,
    }


async def test_reads_values_by_browse_path_and_node_id(plc):
    # given nodes addressed by browse path (namespace URI) and by NodeId
    nodes = [
        node("Furnace/ActiveEnergyImport_kWh", kind="counter"),
        node("Furnace/ActivePower_kW", "active_power", unit="kW"),
        {
            "node_id": f"ns={plc.ns};s=Furnace.Gas",
            "quantity": "gas_volume",
            "unit": "m3",
            "meter": "GAS1",
            "name": "gas",
        },
    ]
    [poller] = build_pollers(agent_config([opcua_device(plc.endpoint, nodes)]))
    # when read
    readings = by_point(await poller.read())
    await poller.close()
    # then values arrive as good readings without raw words
    energy = readings["Furnace/ActiveEnergyImport_kWh"]
    assert (energy.meter, energy.value, energy.quality, energy.raw) == ("FURNACE1", 1000.5, "good", None)
    assert readings["Furnace/ActivePower_kW"].value == 12.5
    assert (readings["gas"].meter, readings["gas"].value) == ("GAS1", 77.25)


async def test_status_codes_and_odd_values_become_quality_flags(plc):
    nodes = [
        node("Sensors/Broken"),
        node("Sensors/Stale", "active_power"),
        node("Sensors/Label", "frequency"),
        node("Sensors/NotANumber", "voltage_l1n"),
        node("Sensors/DoesNotExist", "reactive_power"),
        {
            "browse_path": "Furnace/ActivePower_kW",
            "namespace_uri": "urn:unknown",
            "quantity": "flow",
            "unit": "m3/h",
        },
    ]
    [poller] = build_pollers(agent_config([opcua_device(plc.endpoint, nodes)]))
    readings = [(r.point, r.value, r.quality, r.reason) for r in await poller.read()]
    await poller.close()
    assert readings == [
        ("Sensors/Broken", None, "missing", "bad_status_BadSensorFailure"),
        ("Sensors/Stale", 7.0, "uncertain", "uncertain_status_UncertainLastUsableValue"),
        ("Sensors/Label", None, "missing", "not_numeric"),
        ("Sensors/NotANumber", None, "missing", "nan"),
        ("Sensors/DoesNotExist", None, "missing", "bad_status_BadNoMatch"),
        ("Furnace/ActivePower_kW", None, "missing", "node_not_found"),
    ]


async def test_reconnects_after_server_restart(plc):
    [poller] = build_pollers(agent_config([opcua_device(plc.endpoint, [node("Furnace/ActiveEnergyImport_kWh")])]))
    # given a working connection
    assert [r.value for r in await poller.read()] == [1000.5]
    # when the server goes away
    await plc.server.stop()
    try:
        down = await poller.read()
        assert [(r.value, r.quality, r.reason) for r in down] == [(None, "missing", "connection")]
    finally:
        await plc.server.start()
    # then the next poll after it is back reconnects and reads the current value
    await plc.energy.write_value(1001.0)
    back = await poller.read()
    await poller.close()
    assert [(r.value, r.quality) for r in back] == [(1001.0, "good")]


async def test_unreachable_endpoint_is_a_refused_connection():
    endpoint = f"opc.tcp://127.0.0.1:{free_port()}/nothing/"
    [poller] = build_pollers(agent_config([opcua_device(endpoint, [node("Furnace/ActiveEnergyImport_kWh")])]))
    readings = await poller.read()
    await poller.close()
    assert [(r.value, r.reason) for r in readings] == [(None, "connection_refused")]
