"""Plant simulator: physics of the counters, load shapes, and what it serves on the wire."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import pytest_asyncio
import yaml

from connectors.agent import build_pollers, poll_all
from connectors.check import run_check
from connectors.config import parse_config
from connectors.simulator import PlantModel, PlantSimulator
from connectors.simulator.plant import GRID_METER, PV_METER, SUB_METERS

from .conftest import agent_config, tcp_device

MONDAY = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)  # 01:00 plant time (UTC+1)
EXAMPLE = Path(__file__).resolve().parents[2] / "connectors" / "examples" / "plant-agent.yaml"


def test_same_seed_same_plant_other_seed_other_plant():
    # given two models with the same seed and one with another
    a, b, c = (PlantModel(seed=s, start=MONDAY, step_s=5) for s in (7, 7, 8))
    moment = MONDAY + timedelta(hours=9, minutes=17, seconds=3)
    # when advanced to the same moment, in different increments
    for hour in range(1, 9):
        a.snapshot(MONDAY + timedelta(hours=hour))
    sa, sb, sc = a.snapshot(moment), b.snapshot(moment), c.snapshot(moment)
    # then same seed gives identical meters, another seed differs
    assert sa == sb
    assert sa != sc


def test_counters_never_decrease_and_grow_by_power_times_time():
    model = PlantModel(seed=3, start=MONDAY, step_s=10)
    previous = model.snapshot(MONDAY)
    for minutes in range(10, 2 * 24 * 60, 10):
        current = model.snapshot(MONDAY + timedelta(minutes=minutes))
        for code, state in current.items():
            assert state.import_kwh >= previous[code].import_kwh, code
            assert state.export_kwh >= previous[code].export_kwh, code
            assert state.gas_nm3 >= previous[code].gas_nm3, code
        previous = current
    # within a step, power is constant and energy is its integral
    for hours in (50.5, 55.25, 60.0, 70.1):
        t0 = MONDAY + timedelta(hours=hours)
        before = model.snapshot(t0)
        after = model.snapshot(t0 + timedelta(seconds=4))  # inside one 10 s step
        for code in SUB_METERS:
            expected = before[code].power_kw * 4 / 3600
            assert after[code].import_kwh - before[code].import_kwh == pytest.approx(expected, abs=1e-6)


def test_main_meter_is_sub_meters_plus_unmetered_minus_pv():
    model = PlantModel(seed=11, start=MONDAY, step_s=10)
    start = model.snapshot(MONDAY + timedelta(hours=5))  # Monday 06:00 plant time
    unmetered_start = model.unmetered_kwh
    end = model.snapshot(MONDAY + timedelta(hours=21))  # Monday 22:00 plant time
    unmetered = model.unmetered_kwh - unmetered_start

    def delta(code: str, attr: str) -> float:
        return getattr(end[code], attr) - getattr(start[code], attr)

    grid_net = delta(GRID_METER, "import_kwh") - delta(GRID_METER, "export_kwh")
    subs = sum(delta(code, "import_kwh") for code in SUB_METERS)
    pv = delta(PV_METER, "export_kwh") - delta(PV_METER, "import_kwh")
    # the balance closes exactly
    assert grid_net == pytest.approx(subs + unmetered - pv, rel=1e-9)
    # and the unmetered share (lighting, offices, losses) is a few percent of the metered load
    assert 0.03 <= unmetered / subs <= 0.05


def test_plant_time_does_not_run_backwards():
    model = PlantModel(seed=1, start=MONDAY)
    model.snapshot(MONDAY + timedelta(minutes=5))
    with pytest.raises(ValueError, match="only moves forward"):
        model.snapshot(MONDAY)


def test_two_shift_weekdays_lower_saturday_idle_sunday():
    model = PlantModel(seed=5, start=MONDAY, step_s=30)

    def day_energy(day: int) -> float:
        a = model.snapshot(MONDAY + timedelta(days=day))[GRID_METER].import_kwh
        return model.snapshot(MONDAY + timedelta(days=day + 1))[GRID_METER].import_kwh - a

    monday, saturday, sunday = day_energy(0), day_energy(5), day_energy(6)
    assert monday > 1.3 * saturday
    assert saturday > 2.5 * sunday
    # presses cycle: within a shift the press power swings between push and dead cycle
    powers = [model.snapshot(MONDAY + timedelta(days=7, hours=8, seconds=30 * i))["PRESS2"].power_kw for i in range(60)]
    assert max(powers) > 3 * min(powers)


def test_pv_follows_daylight():
    model = PlantModel(seed=5, start=MONDAY, step_s=60)
    midnight = model.snapshot(MONDAY + timedelta(hours=23))[PV_METER]
    noon = model.snapshot(MONDAY + timedelta(days=1, hours=11))[PV_METER]
    assert midnight.power_kw > 0  # standby draw, nothing generated
    assert noon.power_kw < -20  # generating: the meter exports


@pytest_asyncio.fixture(scope="module")
async def plant() -> AsyncIterator[PlantSimulator]:
    async with PlantSimulator(
        seed=21, speed=1.0, start=MONDAY + timedelta(hours=8), modbus_port=0, opcua_port=0
    ) as sim:
        yield sim


@pytest_asyncio.fixture(scope="module")
async def still_plant() -> AsyncIterator[PlantSimulator]:
    # plant time barely moves (a second of wall clock is a microsecond of plant time), so what was
    # served and the model's state afterwards agree however long a busy machine takes to answer
    async with PlantSimulator(
        seed=21, speed=1e-6, start=MONDAY + timedelta(hours=8), modbus_port=0, opcua_port=None
    ) as sim:
        yield sim


async def test_served_registers_match_the_model(still_plant):
    plant = still_plant
    devices = [
        tcp_device(plant.modbus_port, name=m.code, unit_id=m.unit_id, profile=m.profile, meter=m.code, timeout_s=10)
        for m in plant.layout
    ]
    pollers = build_pollers(agent_config(devices))
    readings = await poll_all(pollers)
    truth = plant.true_counters()
    for poller in pollers:
        await poller.close()
    assert all(r.quality == "good" for r in readings), [r for r in readings if r.quality != "good"]
    energy = {r.meter: r for r in readings if r.quantity == "active_energy_import"}
    for code, reading in energy.items():
        expected_kwh = truth[code].import_kwh
        value_kwh = reading.value / 1000 if reading.unit == "Wh" else reading.value
        assert value_kwh == pytest.approx(expected_kwh, rel=1e-6, abs=0.01), code


async def test_meter_faults_can_be_injected(plant):
    device = tcp_device(plant.modbus_port, unit_id=3, profile="janitza_umg96rm", meter="PRESS2", timeout_s=0.3)
    [poller] = build_pollers(agent_config([device]))
    plant.set_fault("PRESS2", "exception")
    try:
        failing = await poller.read()
    finally:
        plant.set_fault("PRESS2", None)
    recovered = await poller.read()
    await poller.close()
    assert {r.reason for r in failing} == {"modbus_exception_4"}
    assert {r.quality for r in recovered} == {"good"}


async def test_shipped_example_config_reads_everything_from_the_simulator(plant):
    # given the example config pointed at this simulator's ports
    text = EXAMPLE.read_text()
    text = text.replace("port: 5020", f"port: {plant.modbus_port}")
    text = text.replace("opc.tcp://127.0.0.1:4840/", f"opc.tcp://127.0.0.1:{plant.opcua_port}/")
    config = parse_config(yaml.safe_load(text), require_secret=False)
    # when checked
    result = await run_check(config)
    # then every point reads good, over Modbus and OPC UA
    assert result.ok
    assert [r for r in result.readings if r.quality != "good"] == []
    furnace = {r.quantity: r for r in result.readings if r.meter == "FURNACE1"}
    assert furnace["active_energy_import"].value == pytest.approx(plant.meter("FURNACE1").import_kwh, abs=5)
