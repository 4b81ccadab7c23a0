"""Aluminium extrusion plant model: machine load shapes integrated into meter counters.

Time advances in fixed steps (default 1 s of plant time). Within a step every machine's power
is constant and each counter grows by power x step, so energy and power are consistent by
construction. Each machine draws from its own seeded random stream in step order, which makes
the whole plant a pure function of (seed, start, step).
"""

from __future__ import annotations

import math
import random
from abc import ABC, abstractmethod
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from connectors.simulator.schedule import PRESS_LINE, ProductionSchedule

LATITUDE_DEG = 47.3  # a central-European site
LONGITUDE_DEG = 13.0


@dataclass(frozen=True, slots=True)
class Clock:
    """Plant-local calendar facts for one step."""

    weekday: int  # Monday = 0
    hour: float  # local time of day, 0..24
    day_of_year: int
    utc_hour: float
    at: datetime | None = None  # the step's start (UTC)

    @property
    def shift(self) -> bool:
        """Two shifts Monday to Friday (06-22), one on Saturday (06-14), none on Sunday."""
        if self.weekday < 5:
            return 6.0 <= self.hour < 22.0
        if self.weekday == 5:
            return 6.0 <= self.hour < 14.0
        return False

    @property
    def melting_window(self) -> bool:
        """The induction furnace melts around the clock from Monday 00:00 to Saturday 14:00."""
        return self.weekday < 5 or (self.weekday == 5 and self.hour < 14.0)

    @property
    def ageing_window(self) -> bool:
        return self.weekday < 5 or (self.weekday == 5 and self.hour < 22.0)


class Machine(ABC):
    """A load whose power is drawn once per step."""

    power_factor = 0.9

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.phase = "idle"
        self.remaining_s = 0.0
        self.level_kw = 0.0

    @abstractmethod
    def step(self, clock: Clock, dt: float) -> float:
        """Advance by ``dt`` seconds and return the load [kW]."""

    def _noisy(self, kw: float, spread: float = 0.02) -> float:
        return max(0.0, kw * (1.0 + self.rng.gauss(0.0, spread)))


class ExtrusionPress(Machine):
    """Push (main pump at high pressure) and dead cycle (billet loading) while a batch of the
    line's schedule runs; idle with the pumps on between batches in a shift, standby outside."""

    power_factor = 0.86

    def __init__(
        self,
        rng: random.Random,
        rated_kw: float,
        push_s: float,
        dead_s: float,
        *,
        line: str | None = None,
        schedule: ProductionSchedule | None = None,
    ) -> None:
        super().__init__(rng)
        self.rated_kw, self.push_s, self.dead_s = rated_kw, push_s, dead_s
        self.line, self.schedule = line, schedule

    def _next_phase(self) -> None:
        rng = self.rng
        if self.phase == "push":
            self.phase, self.remaining_s = "dead", max(5.0, rng.gauss(self.dead_s, 3.0))
            self.level_kw = 0.2 * self.rated_kw
        elif self.phase == "dead" and self.schedule is None and rng.random() < 1 / 40:
            self.phase, self.remaining_s = "die_change", max(300.0, rng.gauss(900.0, 120.0))
            self.level_kw = 0.06 * self.rated_kw
        else:
            self.phase, self.remaining_s = "push", max(10.0, rng.gauss(self.push_s, 5.0))
            self.level_kw = self.rated_kw * rng.uniform(0.78, 0.95)

    def step(self, clock: Clock, dt: float) -> float:
        if not clock.shift:
            self.phase, self.remaining_s = "idle", 0.0
            standby = 0.04 if clock.weekday < 6 else 0.012
            return self._noisy(standby * self.rated_kw, 0.01)
        scheduled = self.schedule is not None and self.line is not None and clock.at is not None
        if scheduled and self.schedule.running(self.line, clock.at) is None:  # type: ignore[union-attr,arg-type]
            # between batches: die change, set-up; pumps idling
            self.phase, self.remaining_s = "idle", 0.0
            return self._noisy(0.08 * self.rated_kw, 0.02)
        self.remaining_s -= dt
        if self.remaining_s <= 0:
            self._next_phase()
        return self._noisy(self.level_kw)


class InductionFurnace(Machine):
    """Batch melting: full power while melting, low while tapping and charging, holding at weekends."""

    power_factor = 0.95

    def __init__(self, rng: random.Random, rated_kw: float) -> None:
        super().__init__(rng)
        self.rated_kw = rated_kw

    def step(self, clock: Clock, dt: float) -> float:
        if not clock.melting_window:
            self.phase, self.remaining_s = "hold", 0.0
            return self._noisy(0.055 * self.rated_kw, 0.01)
        self.remaining_s -= dt
        if self.remaining_s <= 0:
            if self.phase == "melt":
                self.phase, self.remaining_s = "tap", max(300.0, self.rng.gauss(900.0, 180.0))
                self.level_kw = 0.11 * self.rated_kw
            else:
                self.phase, self.remaining_s = "melt", max(1200.0, self.rng.gauss(2400.0, 240.0))
                self.level_kw = self.rated_kw * self.rng.uniform(0.93, 1.0)
        return self._noisy(self.level_kw, 0.015)


class BilletHeater(Machine):
    """Gas-fired billet furnace: electricity for burner fans and controls; gas flow tracked too."""

    power_factor = 0.88

    def __init__(self, rng: random.Random) -> None:
        super().__init__(rng)
        self.gas_nm3h = 0.0

    def step(self, clock: Clock, dt: float) -> float:
        target = 160.0 if clock.shift else 35.0  # Nm3/h; holding temperature off shift
        self.gas_nm3h += (target - self.gas_nm3h) * min(1.0, dt / 600.0) + self.rng.gauss(0.0, 0.4)
        self.gas_nm3h = max(0.0, self.gas_nm3h)
        return self._noisy(18.0 + 0.37 * self.gas_nm3h, 0.03)


class AgeingOven(Machine):
    """Artificial ageing batches: heat-up, soak, unload/load."""

    power_factor = 0.98
    PHASES = (("heat", 5400.0, 300.0), ("soak", 23400.0, 95.0), ("load", 2700.0, 12.0))

    def step(self, clock: Clock, dt: float) -> float:
        self.remaining_s -= dt
        if self.remaining_s <= 0:
            if not clock.ageing_window:
                self.phase, self.remaining_s, self.level_kw = "off", 600.0, 8.0
            else:
                names = [p[0] for p in self.PHASES]
                index = (names.index(self.phase) + 1) % len(names) if self.phase in names else 0
                name, duration, kw = self.PHASES[index]
                self.phase, self.remaining_s, self.level_kw = (
                    name,
                    duration * self.rng.uniform(0.95, 1.05),
                    kw,
                )
        return self._noisy(self.level_kw)


class CompressorStation(Machine):
    """Two screw compressors: base load from leakage, load/unload cycling with air demand."""

    power_factor = 0.88

    def step(self, clock: Clock, dt: float) -> float:
        demand = 0.85 if clock.shift else 0.22
        self.level_kw += (demand - self.level_kw) * min(1.0, dt / 120.0)
        return self._noisy(50.0 + 130.0 * self.level_kw + self.rng.gauss(0.0, 6.0), 0.0)


class Photovoltaics:
    """Rooftop array: clear-sky daylight curve times a slowly drifting cloud factor."""

    def __init__(self, rng: random.Random, peak_kw: float) -> None:
        self.rng = rng
        self.peak_kw = peak_kw
        self.cloud = 0.9
        self.day_target = 0.9
        self.day = -1

    def step(self, clock: Clock, dt: float) -> float:
        if clock.day_of_year != self.day:
            self.day = clock.day_of_year
            self.day_target = self.rng.choice((0.95, 0.9, 0.75, 0.5, 0.3))
        weight = min(1.0, dt / 900.0)
        self.cloud += (self.day_target - self.cloud) * weight + self.rng.gauss(0.0, 0.02) * math.sqrt(weight)
        self.cloud = min(1.0, max(0.05, self.cloud))
        return self.peak_kw * 0.82 * clear_sky(clock) * self.cloud


def clear_sky(clock: Clock) -> float:
    """Relative irradiance 0..1 from the solar elevation at the site."""
    declination = math.radians(23.44) * math.sin(2 * math.pi * (284 + clock.day_of_year) / 365)
    solar_hour = clock.utc_hour + LONGITUDE_DEG / 15.0
    hour_angle = math.radians(15.0 * (solar_hour - 12.0))
    lat = math.radians(LATITUDE_DEG)
    sin_elevation = math.sin(lat) * math.sin(declination) + math.cos(lat) * math.cos(declination) * math.cos(hour_angle)
    return max(0.0, sin_elevation) ** 1.15


_TAN_PHI = {pf: math.tan(math.acos(pf)) for pf in (0.86, 0.88, 0.9, 0.95, 0.98)}


@dataclass(slots=True)
class MeterState:
    """What a meter shows. Counters in kWh / kvarh / Nm3, powers in kW / kvar."""

    import_kwh: float
    export_kwh: float = 0.0
    reactive_import_kvarh: float = 0.0
    power_kw: float = 0.0
    reactive_kvar: float = 0.0
    voltage_v: float = 230.0
    frequency_hz: float = 50.0
    power_factor: float = 1.0
    gas_nm3: float = 0.0
    gas_flow_nm3h: float = 0.0

    def copy(self) -> MeterState:
        return replace(self)


# Meter code -> machine feeding it (None for the grid and PV meters, handled separately).
SUB_METERS: dict[str, str] = {
    "PRESS1": "press1",
    "PRESS2": "press2",
    "FURNACE1": "furnace",
    "BILLET-HEATER": "billet_heater",
    "AGEING-OVEN": "ageing_oven",
    "COMPRESSORS": "compressors",
}
GRID_METER = "GRID-MAIN"
PV_METER = "PV-ROOF"
GAS_METER = "GAS-BILLET-HEATER"
ALL_METERS = (GRID_METER, *SUB_METERS, PV_METER, GAS_METER)


@dataclass
class PlantModel:
    seed: int
    start: datetime
    step_s: float = 1.0
    utc_offset_h: float = 1.0
    t: datetime = field(init=False)
    meters: dict[str, MeterState] = field(init=False)
    unmetered_kwh: float = field(init=False, default=0.0)
    unmetered_kw: float = field(init=False, default=0.0)

    def __post_init__(self) -> None:
        if self.start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        self.t = self.start.astimezone(UTC)

        def rng(name: str) -> random.Random:
            return random.Random(f"{self.seed}/{name}")

        # the presses run the batches of their lines' schedule (the demo records the same batches)
        self.schedule = ProductionSchedule(self.seed, self.utc_offset_h)
        self.machines: dict[str, Machine] = {
            "press1": ExtrusionPress(
                rng("press1"),
                rated_kw=650.0,
                push_s=50.0,
                dead_s=25.0,
                line=PRESS_LINE["press1"],
                schedule=self.schedule,
            ),
            "press2": ExtrusionPress(
                rng("press2"),
                rated_kw=950.0,
                push_s=70.0,
                dead_s=30.0,
                line=PRESS_LINE["press2"],
                schedule=self.schedule,
            ),
            "furnace": InductionFurnace(rng("furnace"), rated_kw=1600.0),
            "billet_heater": BilletHeater(rng("billet_heater")),
            "ageing_oven": AgeingOven(rng("ageing_oven")),
            "compressors": CompressorStation(rng("compressors")),
        }
        self.pv = Photovoltaics(rng("pv"), peak_kw=450.0)
        self._grid_rng = rng("grid")
        start_rng = rng("counters")
        self.meters = {code: MeterState(import_kwh=round(start_rng.uniform(2e4, 2e6), 1)) for code in ALL_METERS}
        for state in self.meters.values():
            state.reactive_import_kvarh = round(state.import_kwh * start_rng.uniform(0.3, 0.6), 1)
        self.meters[PV_METER].import_kwh = round(start_rng.uniform(10, 200), 1)
        self.meters[PV_METER].export_kwh = round(start_rng.uniform(1e5, 4e5), 1)
        self.meters[GAS_METER].gas_nm3 = round(start_rng.uniform(1e5, 1e6), 1)
        self._frequency = 50.0
        self._step()  # powers for the first step; counters start growing from `start`
        self._step_started = self.t

    def _clock(self) -> Clock:
        local = self.t + timedelta(hours=self.utc_offset_h)
        return Clock(
            weekday=local.weekday(),
            hour=local.hour + local.minute / 60 + local.second / 3600,
            day_of_year=local.timetuple().tm_yday,
            utc_hour=self.t.hour + self.t.minute / 60 + self.t.second / 3600,
            at=self.t,
        )

    def _step(self) -> None:
        """Draw every power for the step starting at self.t."""
        clock, dt = self._clock(), self.step_s
        load_kw = 0.0
        load_kvar = 0.0
        for code, machine_name in SUB_METERS.items():
            machine = self.machines[machine_name]
            kw = machine.step(clock, dt)
            kvar = kw * _TAN_PHI[machine.power_factor]
            state = self.meters[code]
            state.power_kw, state.reactive_kvar, state.power_factor = kw, kvar, machine.power_factor
            load_kw += kw
            load_kvar += kvar
        heater = self.machines["billet_heater"]
        assert isinstance(heater, BilletHeater)
        self.meters[GAS_METER].gas_flow_nm3h = heater.gas_nm3h
        # Lighting, offices and HVAC are not sub-metered; transformer and cable losses on top.
        offices = 10.0 if clock.weekday < 5 and 7 <= clock.hour < 18 else 0.0
        lighting = 25.0 + (35.0 if clock.shift else 0.0) + offices
        self.unmetered_kw = lighting + 8.0 + 0.012 * load_kw
        pv_kw = self.pv.step(clock, dt)
        pv = self.meters[PV_METER]
        standby = 0.05 if pv_kw < 0.1 else 0.0
        pv.power_kw, pv.reactive_kvar, pv.power_factor = standby - pv_kw, 0.0, 1.0
        net_kw = load_kw + self.unmetered_kw + pv.power_kw
        grid = self.meters[GRID_METER]
        grid.power_kw, grid.reactive_kvar = net_kw, load_kvar + 0.2 * self.unmetered_kw
        apparent = math.hypot(grid.power_kw, grid.reactive_kvar)
        grid.power_factor = grid.power_kw / apparent if apparent else 1.0
        self._frequency += (50.0 - self._frequency) * 0.05 + self._grid_rng.gauss(0.0, 0.004)
        voltage = 231.5 - 0.6 * net_kw / 1000.0 + self._grid_rng.gauss(0.0, 0.15)
        for state in self.meters.values():
            state.frequency_hz = self._frequency
            state.voltage_v = voltage

    def _integrate(self, seconds: float) -> None:
        hours = seconds / 3600.0
        for state in self.meters.values():
            if state.power_kw >= 0:
                state.import_kwh += state.power_kw * hours
            else:
                state.export_kwh += -state.power_kw * hours
            state.reactive_import_kvarh += max(0.0, state.reactive_kvar) * hours
            state.gas_nm3 += state.gas_flow_nm3h * hours
        self.unmetered_kwh += self.unmetered_kw * hours

    def advance_to(self, moment: datetime) -> None:
        """Run whole steps up to `moment`; the partial step is added only in `snapshot`."""
        target = moment.astimezone(UTC)
        step = timedelta(seconds=self.step_s)
        while self._step_started + step <= target:
            self._integrate(self.step_s)
            self._step_started += step
            self.t = self._step_started
            self._step()

    def snapshot(self, moment: datetime) -> dict[str, MeterState]:
        """Meter states at `moment` (counters include the running part of the current step)."""
        if moment.astimezone(UTC) < self._step_started:
            raise ValueError(f"plant time only moves forward; it is already {self._step_started.isoformat()}")
        self.advance_to(moment)
        partial = max(0.0, (moment.astimezone(UTC) - self._step_started).total_seconds())
        result = {}
        for code, state in self.meters.items():
            shown = state.copy()
            hours = partial / 3600.0
            if shown.power_kw >= 0:
                shown.import_kwh += shown.power_kw * hours
            else:
                shown.export_kwh += -shown.power_kw * hours
            shown.reactive_import_kvarh += max(0.0, shown.reactive_kvar) * hours
            shown.gas_nm3 += shown.gas_flow_nm3h * hours
            result[code] = shown
        return result
