"""The plant's Modbus TCP gateway: one port, one unit id per meter."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Literal

from pymodbus.constants import ExcCodes
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from connectors.profiles.loader import load_builtin
from connectors.profiles.model import Profile
from connectors.simulator.plant import MeterState
from connectors.simulator.registers import common_model, empty_model, sunspec_chain, write_profile

Fault = Literal["exception", "timeout"] | None
SUNSPEC_BASE = 40000
# The PV meter's model starts after the marker (2) and the common model (2 + 66).
PV_MODEL_ADDRESS = SUNSPEC_BASE + 2 + 68


@dataclass(frozen=True, slots=True)
class MeterLayout:
    code: str
    profile: str
    unit_id: int
    description: str


MODBUS_LAYOUT: tuple[MeterLayout, ...] = (
    MeterLayout("GRID-MAIN", "janitza_umg604", 1, "main grid connection (Janitza UMG 604)"),
    MeterLayout("PRESS1", "eastron_sdm630", 2, "extrusion press 1, 2500 t (Eastron SDM630)"),
    MeterLayout("PRESS2", "janitza_umg96rm", 3, "extrusion press 2, 3500 t (Janitza UMG 96RM)"),
    MeterLayout("FURNACE1", "janitza_umg96rm", 4, "induction melting furnace (Janitza UMG 96RM)"),
    MeterLayout("BILLET-HEATER", "eastron_sdm630", 5, "gas-fired billet heater, electrical (Eastron SDM630)"),
    MeterLayout("AGEING-OVEN", "eastron_sdm630", 6, "ageing oven (Eastron SDM630)"),
    MeterLayout("COMPRESSORS", "janitza_umg96rm", 7, "compressed-air station (Janitza UMG 96RM)"),
    MeterLayout("PV-ROOF", "sunspec_213", 10, "rooftop PV, SunSpec model 213 at base 40000"),
)


def _clusters(addresses: list[int], max_gap: int = 125) -> list[tuple[int, int]]:
    """Address ranges a real meter implements around the mapped points (reserved words read as 0).

    Registers between clusters stay undefined and answer with exception 2, as on real devices.
    """
    ranges: list[tuple[int, int]] = []
    for address in sorted(addresses):
        if ranges and address - ranges[-1][1] <= max_gap:
            ranges[-1] = (ranges[-1][0], max(ranges[-1][1], address + 1))
        else:
            ranges.append((address, address + 1))
    return ranges


def _meter_image(profile: Profile, state: MeterState) -> dict[int, int]:
    image: dict[int, int] = {}
    if profile.sunspec_model is None:
        write_profile(image, profile, state)
        return image
    model = empty_model(profile.sunspec_model, 124, float_model=True)
    chain = sunspec_chain([common_model("cbamx", "PV-METER-SIM", "SIM-0001"), model])
    image.update({SUNSPEC_BASE + i: word for i, word in enumerate(chain)})
    write_profile(image, profile, state, offset=PV_MODEL_ADDRESS)
    return image


class ModbusGateway:
    def __init__(
        self,
        snapshot: Callable[[str], MeterState],
        host: str,
        port: int,
        faults: dict[str, Fault],
    ) -> None:
        self._snapshot = snapshot
        self._faults = faults
        devices = [self._device(layout) for layout in MODBUS_LAYOUT]
        self.server = ModbusTcpServer(devices, address=(host, port))

    def _device(self, layout: MeterLayout) -> SimDevice:
        profile = load_builtin(layout.profile)
        image = _meter_image(profile, self._snapshot(layout.code))
        blocks = [
            SimData(address=start, count=end - start, values=0, datatype=DataType.REGISTERS)
            for start, end in _clusters(list(image))
        ]
        action = partial(self._on_access, layout, profile)
        return SimDevice(id=layout.unit_id, simdata=blocks, action=action)

    async def _on_access(
        self,
        layout: MeterLayout,
        profile: Profile,
        function_code: int,
        start_address: int,
        address: int,
        count: int,
        registers: list[int],
        set_values: list[int] | list[bool] | None,
    ) -> ExcCodes | None:
        fault = self._faults.get(layout.code)
        if fault == "exception":
            return ExcCodes.DEVICE_FAILURE
        if fault == "timeout":
            # Stay silent until the fault is cleared (bounded so shutdown never hangs on us).
            for _ in range(300):
                await asyncio.sleep(0.1)
                if self._faults.get(layout.code) != "timeout":
                    break
            return ExcCodes.DEVICE_BUSY
        if set_values is not None:
            return ExcCodes.ILLEGAL_FUNCTION  # meters here are read-only
        for register, word in _meter_image(profile, self._snapshot(layout.code)).items():
            registers[register - start_address] = word
        return None

    async def start(self) -> None:
        await self.server.serve_forever(background=True)

    async def stop(self) -> None:
        await self.server.shutdown()
