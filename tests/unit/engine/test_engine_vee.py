"""One meter's validation, estimation and editing (workers/engine/vee.py): the not-yet-due rule."""

import numpy as np

from workers.engine.codes import IntervalStatus
from workers.engine.vee import derive_meter_intervals

DAY = 86_400


def _run(due_until_s: int | None, *, last_reading_s: int = DAY + 60):
    ts = np.arange(-60, last_reading_s + 1, 60, dtype=np.int64)
    return derive_meter_intervals(
        ts,
        ts / 3600.0,  # 1 kW
        grid_start_s=0,
        n_intervals=96,
        resolution_s=900,
        utc_offsets_s=np.zeros(96, dtype=np.int64),
        due_until_s=due_until_s,
    )


def test_intervals_ending_after_due_until_stay_missing_and_are_counted():
    # given: readings for the whole day, but "now" at 06:00
    out = _run(6 * 3600)
    # then: 24 intervals measured, the other 72 not due yet (missing, no flags, not estimated)
    assert int((out.status == IntervalStatus.MEASURED).sum()) == 24
    assert np.isnan(out.energy_kwh[24:]).all() and (out.status[24:] == IntervalStatus.MISSING).all()
    assert not out.flags[24:].any()
    assert out.counts["not_yet_due"] == 72 and out.counts["missing"] == 72


def test_intervals_after_the_last_reading_are_not_due_either():
    out = _run(DAY, last_reading_s=12 * 3600)
    assert out.counts["not_yet_due"] == 48 and out.counts["gap_intervals"] == 0


def test_due_until_is_part_of_the_inputs_digest():
    assert _run(DAY).inputs_digest == _run(DAY).inputs_digest
    assert _run(DAY).inputs_digest != _run(DAY - 900).inputs_digest
    assert _run(DAY).outputs_digest == _run(2 * DAY).outputs_digest  # the same arrays once all is due
    assert _run(None).counts["not_yet_due"] == 0
