"""The extrusion lines' production schedule: batches per press, a pure function of (seed, line, local day).

The plant model runs a press only while one of its batches runs (pushes and dead cycles), and the
demo records the same batches as the MES would: batch load on the PRESS1/PRESS2 meters and the
batches on EXT-1/EXT-2 come from this one schedule, so they match by construction.
"""

from __future__ import annotations

import bisect
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta


@dataclass(frozen=True, slots=True)
class LineSpec:
    press: str  # the machine in the plant model
    throughput_t_per_h: float  # net output while a batch runs
    products: tuple[tuple[str, str, float], ...]  # (product code, alloy, weight)


LINES: dict[str, LineSpec] = {
    "EXT-1": LineSpec("press1", 1.55, (("PRF-6060-STD", "6060", 0.6), ("PRF-6063-ARC", "6063", 0.4))),
    "EXT-2": LineSpec("press2", 2.6, (("BAR-6063-IND", "6063", 0.55), ("TUB-6063-RND", "6063", 0.45))),
}
PRESS_LINE = {spec.press: line for line, spec in LINES.items()}


@dataclass(frozen=True, slots=True)
class ScheduledBatch:
    line: str
    number: str
    start: datetime  # UTC
    end: datetime  # UTC, exclusive
    product: str
    alloy: str
    net_mass_t: float
    scrap_t: float


def shift_window(day: date) -> tuple[float, float] | None:
    """Local hours of the extrusion shift (as ``Clock.shift``): 06-22 on weekdays, 06-14 on Saturday."""
    if day.weekday() < 5:
        return 6.0, 22.0
    if day.weekday() == 5:
        return 6.0, 14.0
    return None


class ProductionSchedule:
    """Batches of each extrusion line; the same (seed, line, day) always gives the same batches."""

    def __init__(self, seed: int, utc_offset_h: float = 1.0) -> None:
        self.seed = seed
        self.offset = timedelta(hours=utc_offset_h)
        self._days: dict[tuple[str, date], tuple[ScheduledBatch, ...]] = {}
        self._starts: dict[tuple[str, date], list[datetime]] = {}

    def batches_on(self, line: str, day: date) -> tuple[ScheduledBatch, ...]:
        """The batches of ``line`` that start on the local ``day``."""
        key = (line, day)
        found = self._days.get(key)
        if found is None:
            found = self._generate(line, day)
            if len(self._days) > 64:
                self._days.clear()
                self._starts.clear()
            self._days[key] = found
            self._starts[key] = [b.start for b in found]
        return found

    def _generate(self, line: str, day: date) -> tuple[ScheduledBatch, ...]:
        window = shift_window(day)
        if window is None:
            return ()
        spec = LINES[line]
        rng = random.Random(f"{self.seed}/{line}/{day.isoformat()}")
        midnight = datetime(day.year, day.month, day.day, tzinfo=UTC) - self.offset
        t = midnight + timedelta(hours=window[0], minutes=rng.randint(10, 30))
        shift_end = midnight + timedelta(hours=window[1])
        batches = []
        weights = [w for _, _, w in spec.products]
        while True:
            hours = rng.uniform(2.0, 4.0)
            if t + timedelta(hours=hours) > shift_end - timedelta(minutes=5):
                hours = (shift_end - timedelta(minutes=5) - t).total_seconds() / 3600
                if hours < 1.5:
                    break
            end = t + timedelta(seconds=round(hours * 3600 / 60) * 60)
            product, alloy, _ = rng.choices(spec.products, weights)[0]
            mass = round(hours * spec.throughput_t_per_h * rng.uniform(0.85, 1.05), 3)
            batches.append(
                ScheduledBatch(
                    line=line,
                    number=f"{line}-{day:%Y%m%d}-{len(batches) + 1:02d}",
                    start=t,
                    end=end,
                    product=product,
                    alloy=alloy,
                    net_mass_t=mass,
                    scrap_t=round(mass * rng.uniform(0.06, 0.12), 3),
                )
            )
            t = end + timedelta(minutes=rng.randint(20, 50))  # die change and set-up between batches
        return tuple(batches)

    def running(self, line: str, at: datetime) -> ScheduledBatch | None:
        """The batch running on ``line`` at ``at`` (UTC), if any."""
        day = (at + self.offset).date()
        batches = self.batches_on(line, day)
        if not batches:
            return None
        index = bisect.bisect_right(self._starts[(line, day)], at) - 1
        if index >= 0 and batches[index].end > at:
            return batches[index]
        return None

    def batches_between(self, line: str, start: datetime, end: datetime) -> list[ScheduledBatch]:
        """Batches of ``line`` that start in [start, end) (UTC)."""
        day = (start + self.offset).date() - timedelta(days=1)
        last = (end + self.offset).date()
        found: list[ScheduledBatch] = []
        while day <= last:
            found += [b for b in self.batches_on(line, day) if start <= b.start < end]
            day += timedelta(days=1)
        return found
