"""Pure numpy interval-data engine: counters to intervals, validation, estimation, balance.

Functions take ndarrays and keyword-only options and return frozen dataclasses of read-only
ndarrays. No database, I/O, clock or randomness; NaN means missing, never zero. Record
:data:`METHODOLOGY_VERSION` with every run.
"""

from workers.engine.balance import BalanceRole, evaluate_virtual_meters, meter_balance
from workers.engine.codes import IntervalFlag, IntervalStatus
from workers.engine.counters import CounterEvents, MeterReplacement, counter_deltas, interval_energy_from_counters
from workers.engine.daytypes import LocalCalendar, local_calendar
from workers.engine.estimation import fill_long_gaps_like_day, fill_short_gaps_linear, gap_totals_kwh
from workers.engine.hashing import array_digest
from workers.engine.validation import anomaly_summary, find_gaps, sum_check
from workers.engine.versions import METHODOLOGY_VERSION

__all__ = [
    "METHODOLOGY_VERSION",
    "BalanceRole",
    "CounterEvents",
    "IntervalFlag",
    "IntervalStatus",
    "LocalCalendar",
    "MeterReplacement",
    "anomaly_summary",
    "array_digest",
    "counter_deltas",
    "evaluate_virtual_meters",
    "fill_long_gaps_like_day",
    "fill_short_gaps_linear",
    "find_gaps",
    "gap_totals_kwh",
    "interval_energy_from_counters",
    "local_calendar",
    "meter_balance",
    "sum_check",
]
