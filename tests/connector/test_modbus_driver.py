"""Modbus driver against real in-process pymodbus servers (TCP and RTU framing)."""

from __future__ import annotations

import asyncio
import itertools
import socket
import time
from typing import Any

import pytest
from pymodbus import FramerType
from pymodbus.client import AsyncModbusTcpClient
from pymodbus.constants import ExcCodes

from connectors.agent import build_pollers, poll_all
from connectors.drivers.modbus import ModbusPoint, ModbusPoller, plan_requests
from connectors.profiles.loader import load_builtin
from connectors.profiles.model import RegisterPoint
from connectors.simulator import free_port

from .conftest import agent_config, by_point, modbus_server, sim_device, tcp_device

FLOAT32 = AsyncModbusTcpClient.DATATYPE.FLOAT32
INT32 = AsyncModbusTcpClient.DATATYPE.INT32


def words(value: float, datatype: Any = FLOAT32, word_order: str = "big") -> list[int]:
    return AsyncModbusTcpClient.convert_to_registers(value, datatype, word_order=word_order)  # type: ignore[arg-type]


def filled(image: dict[int, int], max_gap: int = 124) -> dict[int, int]:
    """Like a real meter: reserved registers between mapped ones read as 0."""
    result = dict(image)
    addresses = sorted(image)
    for low, high in itertools.pairwise(addresses):
        if high - low <= max_gap:
            result.update({a: 0 for a in range(low + 1, high) if a not in image})
    return result


class RequestLog:
    """Server-side action recording every read request (address, count)."""

    def __init__(self) -> None:
        self.requests: list[tuple[int, int]] = []
        self.fail_with: ExcCodes | None = None
        self.delay_s = 0.0

    async def on_read(self, function_code, start_address, address, count, registers, set_values):
        self.requests.append((address, count))
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        return self.fail_with


def point(address: int, type_: str = "float32", **fields: Any) -> dict[str, Any]:
    return {
        "quantity": fields.pop("quantity", "active_power"),
        "function_code": 3,
        "address": address,
        "type": type_,
        "unit": "W",
        "kind": "instantaneous",
        **fields,
    }


async def read_once(config_devices: list[dict[str, Any]]) -> tuple[list[Any], list[Any]]:
    pollers = build_pollers(agent_config(config_devices))
    try:
        return await poll_all(pollers), pollers
    finally:
        for poller in pollers:
            await poller.close()


@pytest.mark.parametrize(
    ("profile_name", "expected_requests"),
    [
        ("eastron_sdm630", [(0, 78)]),
        ("janitza_umg96rm", [(5352, 2), (19000, 78)]),
        ("janitza_umg604", [(1317, 56), (1439, 2), (9851, 14)]),
    ],
)
async def test_builtin_profile_decodes_known_values_in_few_requests(profile_name, expected_requests):
    # given a meter whose registers hold known values at the profile's addresses (encoded by pymodbus)
    profile = load_builtin(profile_name)
    image: dict[int, int] = {}
    expected: dict[str, float] = {}
    for index, (name, spec) in enumerate(profile.registers.items()):
        expected[name] = 100.0 + 11.25 * index
        for offset, word in enumerate(words(expected[name], FLOAT32, spec.word_order)):
            image[spec.address + offset] = word
    log = RequestLog()
    async with modbus_server(sim_device(1, filled(image), action=log.on_read)) as port:
        # when the agent reads the device once
        readings, _ = await read_once([tcp_device(port, profile=profile_name, meter="PRESS1")])
    # then every point decodes to its value with the profile's unit, in grouped requests
    assert {r.point: r.value for r in readings} == expected
    assert all(r.quality == "good" and r.meter == "PRESS1" for r in readings)
    assert {r.point: r.unit for r in readings} == {n: s.unit for n, s in profile.registers.items()}
    assert sorted(log.requests) == expected_requests


async def test_raw_words_are_kept_with_the_value():
    image = dict(enumerate(words(12345.678)))
    async with modbus_server(sim_device(1, image)) as port:
        readings, _ = await read_once(
            [
                tcp_device(
                    port,
                    registers={"e": point(0, unit="kWh", kind="counter", quantity="active_energy_import")},
                )
            ]
        )
    [reading] = readings
    assert reading.raw == [17984, 59062]
    assert reading.value == 12345.678
    assert reading.payload() == {
        "meter": "M1",
        "quantity": "active_energy_import",
        "unit": "kWh",
        "ts": reading.ts,
        "value": 12345.678,
        "quality": "good",
        "reason": None,
        "raw": [17984, 59062],
    }


async def test_word_order_big_and_little_read_the_same_registers_differently():
    # given registers 0x0001 0x0002 and a float written low word first at 10
    image = {0: 0x0001, 1: 0x0002, **{10 + i: w for i, w in enumerate(words(1520.25, FLOAT32, "little"))}}
    registers = {
        "as_big": point(0, "int32", word_order="big", quantity="active_power"),
        "as_little": point(0, "int32", word_order="little", quantity="reactive_power"),
        "float_little": point(10, "float32", word_order="little", quantity="frequency"),
    }
    async with modbus_server(sim_device(1, filled(image))) as port:
        readings, _ = await read_once([tcp_device(port, registers=registers)])
    values = {r.point: r.value for r in readings}
    assert values == {"as_big": 0x00010002, "as_little": 0x00020001, "float_little": 1520.25}


async def test_nan_and_sentinel_registers_are_missing_never_zero():
    image = {0: 0x7FC0, 1: 0x0000, 2: 0xFFFF, 3: 0xFFFF, 4: 0x0000, 5: 0x0000}
    registers = {
        "nan": point(0, "float32", quantity="active_power"),
        "sentinel": point(2, "uint32", quantity="active_energy_import", kind="counter", sentinels=[0xFFFFFFFF]),
        "zero": point(4, "float32", quantity="reactive_power"),
    }
    async with modbus_server(sim_device(1, image)) as port:
        readings = by_point((await read_once([tcp_device(port, registers=registers)]))[0])
    assert (readings["nan"].value, readings["nan"].quality, readings["nan"].reason) == (
        None,
        "missing",
        "nan",
    )
    assert (readings["sentinel"].value, readings["sentinel"].reason) == (None, "sentinel")
    assert readings["sentinel"].raw == [0xFFFF, 0xFFFF]
    assert (readings["zero"].value, readings["zero"].quality) == (0.0, "good")


async def test_exception_response_marks_only_the_unimplemented_point_and_splits_the_block():
    # given a device that implements register 0 but not 10 (exception 2 for a block covering both)
    image = dict(enumerate(words(42.5)))
    registers = {"ok": point(0, quantity="active_power"), "gone": point(10, quantity="reactive_power")}
    log = RequestLog()
    async with modbus_server(sim_device(1, image, action=log.on_read)) as port:
        pollers = build_pollers(agent_config([tcp_device(port, registers=registers)]))
        [poller] = pollers
        # when read twice
        first = by_point(await poller.read())
        second = by_point(await poller.read())
        await poller.close()
    # then the good point still reads and the other names the exception
    for readings in (first, second):
        assert readings["ok"].value == 42.5
        assert (readings["gone"].value, readings["gone"].reason) == (None, "modbus_exception_2")
    # and after the first failure the block is no longer requested as one
    assert isinstance(poller, ModbusPoller)
    assert [(r.address, r.count) for r in poller.requests] == [(0, 2), (10, 2)]


async def test_device_failure_exception_is_reported_per_point():
    log = RequestLog()
    log.fail_with = ExcCodes.DEVICE_FAILURE
    async with modbus_server(sim_device(1, filled(dict(enumerate(words(1.0)))), action=log.on_read)) as port:
        readings, _ = await read_once([tcp_device(port, registers={"p": point(0)})])
    assert [(r.value, r.quality, r.reason) for r in readings] == [(None, "missing", "modbus_exception_4")]


async def test_unknown_unit_id_gives_an_error_not_a_value():
    async with modbus_server(sim_device(1, dict(enumerate(words(1.0))))) as port:
        readings, _ = await read_once([tcp_device(port, unit_id=9, registers={"p": point(0)})])
    [reading] = readings
    assert reading.value is None and reading.reason is not None
    assert reading.reason.startswith("modbus_exception_")


async def test_silent_device_times_out_and_recovers_without_reconnecting():
    # given a device that stops answering in time
    log = RequestLog()
    log.delay_s = 1.0
    registers = {"p": point(0), "q": point(20, quantity="reactive_power")}
    image = filled({**dict(enumerate(words(7.5))), 20: 0, 21: 0})
    async with modbus_server(sim_device(1, image, action=log.on_read)) as port:
        [poller] = build_pollers(agent_config([tcp_device(port, registers=registers, timeout_s=0.3)]))
        # when polled
        started = time.monotonic()
        slow = await poller.read()
        elapsed = time.monotonic() - started
        # then all points are missing with reason timeout, without waiting a timeout per request
        assert [(r.value, r.reason) for r in slow] == [(None, "timeout"), (None, "timeout")]
        assert elapsed < 0.9
        # when the device answers again
        log.delay_s = 0
        await asyncio.sleep(1.0)  # let the late answer arrive and be discarded
        recovered = by_point(await poller.read())
        await poller.close()
    # then values are read again
    assert recovered["p"].value == 7.5 and recovered["p"].quality == "good"


async def test_device_that_disappears_is_read_again_after_it_comes_back():
    port = free_port()
    device = sim_device(1, dict(enumerate(words(230.5))))
    [poller] = build_pollers(agent_config([tcp_device(port, registers={"v": point(0, quantity="voltage_l1n")})]))
    # given a working device
    async with modbus_server(device, port=port):
        assert (await poller.read())[0].value == 230.5
    # when the server is gone (the first request may still leave on the dying socket and time out)
    first_down = await poller.read()
    assert first_down[0].value is None and first_down[0].reason in {"timeout", "connection", "connection_refused"}
    down = await poller.read()
    # the closed port refuses at once; on a machine too busy to finish even that within the device's
    # connect timeout, the attempt times out instead: either way a failed connection, not a late answer
    assert [(r.value, r.quality) for r in down] == [(None, "missing")]
    assert down[0].reason in {"connection_refused", "connect_timeout"}
    # then, once it is back on the same address, the next poll reads again
    async with modbus_server(sim_device(1, dict(enumerate(words(231.0)))), port=port):
        back = await poller.read()
    await poller.close()
    assert [(r.value, r.quality) for r in back] == [(231.0, "good")]


async def test_unreachable_gateway_says_why_it_could_not_be_reached():
    readings, _ = await read_once([tcp_device(free_port(), profile="eastron_sdm630")])
    assert {(r.value, r.reason) for r in readings} == {(None, "connection_refused")}
    readings, _ = await read_once([tcp_device(502, host="gateway-9.invalid", profile="eastron_sdm630")])
    assert {(r.value, r.reason) for r in readings} == {(None, "dns_failure")}


async def test_a_gateway_that_does_not_take_the_connection_is_a_connect_timeout():
    # a listening socket whose backlog is full: the kernel drops further connection attempts
    with socket.socket() as full:
        full.bind(("127.0.0.1", 0))
        full.listen(0)
        port = full.getsockname()[1]
        queued = []
        for _ in range(8):
            attempt = socket.socket()
            attempt.setblocking(False)
            attempt.connect_ex(("127.0.0.1", port))
            queued.append(attempt)
        try:
            readings, _ = await read_once([tcp_device(port, profile="eastron_sdm630", timeout_s=0.3)])
        finally:
            for attempt in queued:
                attempt.close()
    assert {(r.value, r.reason) for r in readings} == {(None, "connect_timeout")}


async def test_rtu_over_serial_url_reads_and_decodes():
    # given an RTU-framed server reached through pyserial's socket:// URL
    image = filled({**dict(zip((72, 73), words(5432.25), strict=True)), **dict(enumerate(words(229.5)))})
    async with modbus_server(sim_device(7, image), framer=FramerType.RTU) as port:
        device = {
            "kind": "modbus_rtu",
            "name": "bus-meter",
            "serial_port": f"socket://127.0.0.1:{port}",
            "baudrate": 19200,
            "parity": "E",
            "unit_id": 7,
            "profile": "eastron_sdm630",
            "include_points": ["voltage_l1n", "active_energy_import"],
            "meter": "COMPRESSOR-2",
            "timeout_s": 0.5,
        }
        readings, _ = await read_once([device])
    values = {r.point: (r.value, r.quality) for r in readings}
    assert values == {"voltage_l1n": (229.5, "good"), "active_energy_import": (5432.25, "good")}


async def test_devices_behind_one_gateway_share_one_connection():
    config = agent_config(
        [
            tcp_device(1502, name="a", unit_id=1, profile="eastron_sdm630", meter="A"),
            tcp_device(1502, name="b", unit_id=2, profile="eastron_sdm630", meter="B"),
            tcp_device(1503, name="c", unit_id=1, profile="eastron_sdm630", meter="C"),
        ]
    )
    a, b, c = build_pollers(config)
    assert isinstance(a, ModbusPoller) and isinstance(b, ModbusPoller) and isinstance(c, ModbusPoller)
    assert a.link is b.link
    assert a.link is not c.link
    for poller in (a, b, c):
        await poller.close()


def _point(name: str, address: int, type_: str = "float32", sf: int | None = None) -> ModbusPoint:
    spec = RegisterPoint.model_validate(point(address, type_, scale_factor_address=sf))
    return ModbusPoint(name, "M", spec)


def test_planner_keeps_value_and_scale_factor_in_one_request():
    # given an int16 at 10 whose scale factor sits at 60, and a max request of 30 registers
    points = [_point("a", 10, "int16", sf=60), _point("b", 0)]
    # when planning with a request limit that cannot hold both
    with pytest.raises(ValueError, match=r"'a' needs registers 10\.\.60"):
        plan_requests(points, max_count=30)
    # then a limit that can hold them yields one request covering value and scale factor
    [request] = plan_requests(points, max_count=125)
    assert (request.address, request.count) == (0, 61)


def test_planner_respects_gap_and_size_limits():
    points = [_point("a", 0), _point("b", 4), _point("c", 100), _point("d", 300)]
    plan = plan_requests(points, max_count=125, max_gap=64)
    assert [(r.address, r.count) for r in plan] == [(0, 6), (100, 2), (300, 2)]
    plan = plan_requests(points, max_count=4, max_gap=64)
    assert [(r.address, r.count) for r in plan] == [(0, 2), (4, 2), (100, 2), (300, 2)]
