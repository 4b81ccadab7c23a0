"""SunSpec discovery and the int+SF / float meter models against an in-process server."""

from __future__ import annotations

from typing import Any

import pytest
from pymodbus.client import AsyncModbusTcpClient

from connectors.agent import build_pollers
from connectors.drivers.base import ReadFailure
from connectors.drivers.modbus import ModbusLink, ModbusPoller
from connectors.drivers.sunspec import discover
from connectors.simulator.registers import common_model, empty_model, sunspec_chain

from .conftest import agent_config, by_point, modbus_server, sim_device, tcp_device

FLOAT32 = AsyncModbusTcpClient.DATATYPE.FLOAT32


def _float_words(value: float) -> list[int]:
    return AsyncModbusTcpClient.convert_to_registers(value, FLOAT32)


def model_213() -> list[int]:
    """Model 213 with W, Hz, TotWhImp set; everything else 'not implemented' (NaN)."""
    model = empty_model(213, 124, float_model=True)
    for offset, value in ((28, -1234.5), (26, 50.02), (68, 98765.5), (12, 231.25)):
        model[offset : offset + 2] = _float_words(value)
    return model


def model_203() -> list[int]:
    """Model 203: integers with scale factors; VAR and the voltage SF left unimplemented."""
    model = empty_model(203, 105, float_model=False)
    model[18], model[22] = 12345, (-1) & 0xFFFF  # W = 12345 x 10^-1
    model[16], model[17] = 5001, (-2) & 0xFFFF  # Hz = 5001 x 10^-2
    model[33], model[37] = (-95) & 0xFFFF, 0  # PF = -95 % -> -0.95
    model[46:48], model[54] = [0x0012, 0xD687], 1  # TotWhImp = 1234567 x 10^1 Wh
    model[38:40] = [0, 0]  # TotWhExp: acc32 0 means not implemented
    model[8] = 2304  # PhVphA present, but V_SF (offset 15) stays 0x8000
    return model


def image(base: int, models: list[list[int]]) -> dict[int, int]:
    chain = sunspec_chain([common_model("Acme", "Meter", "SN1"), *models])
    return {base + i: word for i, word in enumerate(chain)}


def sunspec_device(port: int, profile: str, **fields: Any) -> dict[str, Any]:
    return tcp_device(port, name="pv", meter="PV-ROOF", profile=profile, **fields)


async def _read(device_image: dict[int, int], profile: str, **fields: Any) -> tuple[dict[str, Any], ModbusPoller]:
    async with modbus_server(sim_device(1, device_image)) as port:
        [poller] = build_pollers(agent_config([sunspec_device(port, profile, **fields)]))
        readings = await poller.read()
        await poller.close()
    assert isinstance(poller, ModbusPoller)
    return by_point(readings), poller


@pytest.mark.parametrize("base", [40000, 0])
async def test_discovery_walks_the_model_chain(base):
    # given a device with the common model, 203 and 213 at `base`
    async with modbus_server(sim_device(1, image(base, [model_203(), model_213()]))) as port:
        [poller] = build_pollers(agent_config([sunspec_device(port, "sunspec_213")]))
        assert isinstance(poller, ModbusPoller)
        link: ModbusLink = poller.link

        async def read(address: int, count: int) -> list[int]:
            return await link.read(3, address, count, 1)

        # when discovering
        found_base, models = await discover(read)
        await poller.close()
    # then the base and every model's ID register address are found
    assert found_base == base
    assert [(m.model_id, m.address, m.length) for m in models] == [
        (1, base + 2, 66),
        (203, base + 70, 105),
        (213, base + 177, 124),
    ]


@pytest.mark.parametrize("base", [40000, 0])
async def test_float_model_213_is_found_and_decoded(base):
    readings, poller = await _read(image(base, [model_213()]), "sunspec_213")
    assert readings["active_power"].value == -1234.5
    assert readings["frequency"].value == 50.02
    assert readings["voltage_l1n"].value == 231.25
    assert (readings["active_energy_import"].value, readings["active_energy_import"].unit) == (98765.5, "Wh")
    # unimplemented float points carry the NaN pattern and are missing, not 0
    assert (readings["reactive_power"].value, readings["reactive_power"].reason) == (None, "sentinel")
    # the model and its scale factors are read in one request
    assert [(r.address, r.count) for r in poller.requests] == [(base + 72, 68)]


@pytest.mark.parametrize("base", [40000, 0])
async def test_integer_model_203_applies_scale_factors(base):
    readings, _ = await _read(image(base, [model_203()]), "sunspec_203")
    assert readings["active_power"].value == 1234.5
    assert readings["active_power"].raw == [12345, 0xFFFF]  # value word, then its scale factor
    assert readings["frequency"].value == 50.01
    assert readings["power_factor"].value == -0.95
    assert readings["active_energy_import"].value == 12345670
    assert (readings["active_energy_export"].value, readings["active_energy_export"].reason) == (
        None,
        "sentinel",
    )
    assert (readings["reactive_power"].value, readings["reactive_power"].reason) == (None, "sentinel")
    # a value whose scale factor is not implemented is missing, not the unscaled integer
    assert (readings["voltage_l1n"].value, readings["voltage_l1n"].reason) == (None, "sentinel")


async def test_auto_profile_uses_the_meter_model_the_device_has():
    readings, _ = await _read(image(0, [model_203()]), "sunspec")
    assert readings["active_power"].value == 1234.5


async def test_known_model_address_skips_discovery():
    readings, _ = await _read(image(0, [model_213()]), "sunspec_213", sunspec={"discover": False, "model_address": 70})
    assert readings["active_power"].value == -1234.5


async def test_missing_marker_makes_every_point_missing():
    readings, _ = await _read({i: 0 for i in range(10)}, "sunspec_213")
    assert {(r.value, r.reason) for r in readings.values()} == {(None, "sunspec_not_found")}


async def test_wrong_model_is_not_read_as_another():
    # given a device with only model 203 while the profile expects 213
    readings, _ = await _read(image(40000, [model_203()]), "sunspec_213")
    assert {(r.value, r.reason) for r in readings.values()} == {(None, "sunspec_not_found")}


async def test_discovery_reports_transport_failures_as_such():
    async def dead(address: int, count: int) -> list[int]:
        raise ReadFailure("timeout")

    with pytest.raises(ReadFailure, match="timeout"):
        await discover(dead)
