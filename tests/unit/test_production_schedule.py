"""The demo's extrusion schedule: the same batches the presses run, realistic, and meter load that matches."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

from connectors.simulator.plant import PlantModel
from connectors.simulator.schedule import LINES, ProductionSchedule
from demo.history import SEED, STEP_S
from demo.production import PRODUCTS, first_of_last_month


def test_the_schedule_is_a_pure_function_of_seed_line_and_day():
    a, b = ProductionSchedule(SEED), ProductionSchedule(SEED)
    day = date(2026, 11, 4)
    assert a.batches_on("EXT-1", day) == b.batches_on("EXT-1", day)
    assert a.batches_on("EXT-1", day) != ProductionSchedule(SEED + 1).batches_on("EXT-1", day)
    assert a.batches_on("EXT-2", date(2026, 11, 8)) == ()  # Sunday: no shift


def test_batches_are_realistic_and_never_overlap_on_a_line():
    schedule = ProductionSchedule(SEED)
    start, end = datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)
    products = {code for code, *_ in PRODUCTS}
    for line in LINES:
        batches = schedule.batches_between(line, start, end)
        assert len(batches) > 150
        for before, after in itertools.pairwise(batches):
            assert before.end <= after.start
        for b in batches:
            hours = (b.end - b.start).total_seconds() / 3600
            assert 1.5 <= hours <= 4.0 and 2.0 <= b.net_mass_t <= 12.0, b
            assert b.product in products and b.alloy in ("6060", "6063")
            assert b.start.second == 0 and 0 < b.scrap_t < b.net_mass_t


def test_press_meters_draw_press_load_during_batches_and_idle_between():
    # given: one working day of the plant model the demo history and simulator run
    day = datetime(2026, 11, 4, tzinfo=UTC)
    model = PlantModel(seed=SEED, start=day, step_s=STEP_S)
    schedule = ProductionSchedule(SEED)
    running: dict[str, list[float]] = {"PRESS1": [], "PRESS2": []}
    between: dict[str, list[float]] = {"PRESS1": [], "PRESS2": []}
    previous = model.snapshot(day)
    moment = day
    # when: the energy of each 5-minute step, classified by the schedule
    while moment < day + timedelta(days=1):
        following = moment + timedelta(minutes=5)
        now = model.snapshot(following)
        for meter, line in (("PRESS1", "EXT-1"), ("PRESS2", "EXT-2")):
            kw = (now[meter].import_kwh - previous[meter].import_kwh) * 12
            first, last = schedule.running(line, moment), schedule.running(line, following - timedelta(seconds=1))
            if first is not None and first == last:
                running[meter].append(kw)
            elif first is None and last is None and 6 <= (moment + timedelta(hours=1)).hour < 21:
                between[meter].append(kw)
        previous, moment = now, following
    # then: press load while a batch runs, a fraction of it between batches
    for meter, rated in (("PRESS1", 650.0), ("PRESS2", 950.0)):
        during = sum(running[meter]) / len(running[meter])
        idle = sum(between[meter]) / len(between[meter])
        assert during > 0.45 * rated, (meter, during)
        assert idle < 0.12 * rated, (meter, idle)


def test_the_demo_starts_on_the_first_day_of_last_month():
    assert first_of_last_month(datetime(2026, 12, 2, 13, 0, tzinfo=UTC)) == datetime(2026, 11, 1, tzinfo=UTC)
    assert first_of_last_month(datetime(2026, 1, 15, tzinfo=UTC)) == datetime(2025, 12, 1, tzinfo=UTC)
