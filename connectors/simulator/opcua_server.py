"""OPC UA view of the thermal equipment, as a furnace/oven PLC would publish it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from connectors.simulator.plant import GAS_METER, MeterState

if TYPE_CHECKING:
    from asyncua import Node, Server

NAMESPACE_URI = "urn:cbamx:simulator:extrusion-plant"
ENDPOINT_PATH = "/cbamx/plant/"
# OPC UA object name -> meter code in the plant model.
OPCUA_MACHINES: dict[str, str] = {
    "MeltingFurnace": "FURNACE1",
    "BilletHeater": "BILLET-HEATER",
    "AgeingOven": "AGEING-OVEN",
}


class OpcUaPlantServer:
    def __init__(
        self,
        snapshot: Callable[[], dict[str, MeterState]],
        host: str,
        port: int,
        update_interval_s: float = 0.5,
    ) -> None:
        self._snapshot = snapshot
        self.endpoint = f"opc.tcp://{host}:{port}{ENDPOINT_PATH}"
        self._interval = update_interval_s
        self._server: Server | None = None
        self._variables: list[tuple[Node, Callable[[dict[str, MeterState]], float]]] = []
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        from asyncua import Server, ua

        logging.getLogger("asyncua").setLevel(logging.ERROR)
        server = Server()
        await server.init()
        server.set_endpoint(self.endpoint)
        server.set_server_name("cbamx plant simulator")
        # Simulator only: plaintext on loopback. Production servers must offer signed/encrypted endpoints.
        server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
        ns = await server.register_namespace(NAMESPACE_URI)
        states = self._snapshot()
        for name, code in OPCUA_MACHINES.items():
            machine = await server.nodes.objects.add_object(ns, name)
            await self._add(machine, ns, "ActiveEnergyImport_kWh", lambda s, c=code: s[c].import_kwh, states)
            await self._add(machine, ns, "ActivePower_kW", lambda s, c=code: s[c].power_kw, states)
            if code == "BILLET-HEATER":
                await self._add(machine, ns, "GasVolume_Nm3", lambda s: s[GAS_METER].gas_nm3, states)
                await self._add(machine, ns, "GasFlow_Nm3h", lambda s: s[GAS_METER].gas_flow_nm3h, states)
        await server.start()
        self._server = server
        self._task = asyncio.create_task(self._update_loop(), name="opcua-sim-update")

    async def _add(
        self,
        parent: Node,
        ns: int,
        name: str,
        getter: Callable[[dict[str, MeterState]], float],
        states: dict[str, MeterState],
    ) -> None:
        from asyncua import ua

        variable = await parent.add_variable(ns, name, ua.Variant(float(getter(states)), ua.VariantType.Double))
        self._variables.append((variable, getter))

    async def _update_loop(self) -> None:
        from asyncua import ua

        while True:
            await asyncio.sleep(self._interval)
            states = self._snapshot()
            for variable, getter in self._variables:
                await variable.write_value(ua.Variant(float(getter(states)), ua.VariantType.Double))

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._server is not None:
            await self._server.stop()
