"""PlantSimulator: the plant model served over Modbus TCP and OPC UA, usable in-process."""

from __future__ import annotations

import socket
import time
from datetime import UTC, datetime, timedelta
from types import TracebackType

from connectors.simulator.modbus_server import MODBUS_LAYOUT, Fault, MeterLayout, ModbusGateway
from connectors.simulator.opcua_server import OpcUaPlantServer
from connectors.simulator.plant import MeterState, PlantModel


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


class PlantSimulator:
    """Run with `async with PlantSimulator(...) as sim:`; plant time = start + elapsed x speed.

    Ports of 0 pick free ports; `opcua_port=None` skips the OPC UA server (it takes seconds to start).
    """

    def __init__(
        self,
        *,
        seed: int = 42,
        speed: float = 1.0,
        start: datetime | None = None,
        host: str = "127.0.0.1",
        modbus_port: int = 5020,
        opcua_port: int | None = 4840,
        step_s: float = 1.0,
        history_start: datetime | None = None,
    ) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.speed = speed
        self.host = host
        self.clock_start = start or datetime.now(UTC)
        # with a history start the plant has been running since then: its counters are what that
        # plant would show now, so live readings continue a history generated from the same model
        self.model = PlantModel(seed=seed, start=history_start or self.clock_start, step_s=step_s)
        self.modbus_port = modbus_port or free_port(host)
        self.opcua_port = None if opcua_port is None else (opcua_port or free_port(host))
        self.faults: dict[str, Fault] = {}
        self._t0 = time.monotonic()
        self._modbus: ModbusGateway | None = None
        self._opcua: OpcUaPlantServer | None = None

    @property
    def layout(self) -> tuple[MeterLayout, ...]:
        return MODBUS_LAYOUT

    @property
    def opcua_endpoint(self) -> str | None:
        return None if self._opcua is None else self._opcua.endpoint

    def now(self) -> datetime:
        return self.clock_start + timedelta(seconds=(time.monotonic() - self._t0) * self.speed)

    def true_counters(self) -> dict[str, MeterState]:
        """Exact (double precision) meter states at the current plant time."""
        return self.model.snapshot(self.now())

    def meter(self, code: str) -> MeterState:
        return self.true_counters()[code]

    def set_fault(self, code: str, fault: Fault) -> None:
        """Make a meter answer with an exception ("exception"), stay silent ("timeout") or recover (None)."""
        self.faults[code] = fault

    async def start(self) -> None:
        # bring a plant with history up to now before serving, so the first reads do not time out
        self.model.advance_to(self.now())
        self._modbus = ModbusGateway(self.meter, self.host, self.modbus_port, self.faults)
        await self._modbus.start()
        if self.opcua_port is not None:
            self._opcua = OpcUaPlantServer(self.true_counters, self.host, self.opcua_port)
            await self._opcua.start()

    async def stop(self) -> None:
        if self._opcua is not None:
            await self._opcua.stop()
            self._opcua = None
        if self._modbus is not None:
            await self._modbus.stop()
            self._modbus = None

    async def __aenter__(self) -> PlantSimulator:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()
