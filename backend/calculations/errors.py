"""Errors of calculations: each names what is missing or wrong, so a failed run says why."""

from __future__ import annotations

from typing import Any

from backend.errors import Conflict, DomainError, FieldError, NotFound


class CalculationRunNotFound(NotFound):
    code = "CALCULATION_RUN_NOT_FOUND"


class FootprintNotFound(NotFound):
    code = "FOOTPRINT_NOT_FOUND"


class LineSeriesNotFound(NotFound):
    """The run stored no hourly series of that line (not a line of the run's installation)."""

    code = "LINE_SERIES_NOT_FOUND"


class RunNotCancellable(Conflict):
    """The run has already ended (succeeded, failed or cancelled)."""

    code = "RUN_NOT_CANCELLABLE"


class RunNotFinished(Conflict):
    """The run has no results yet: it is queued or running, or it ended without results."""

    code = "RUN_HAS_NO_RESULTS"


class InputsChanged(Conflict):
    """The stored data behind a run changed since it ran: its bundle could not recompute it."""

    code = "RUN_INPUTS_CHANGED"


class BadPeriod(FieldError):
    code = "BAD_PERIOD"


class CalculationFailed(DomainError):
    """The run cannot be calculated from what is stored; ``code`` says why, the message names the data.

    Codes: NO_DATA (no interval data and no batches in the period), NO_MAIN_METER, METER_TREE_UNBALANCED,
    FUEL_UNIT (a fuel meter's unit cannot be converted to the factors' unit), PRECURSOR_UNKNOWN,
    INPUTS_REFUSED (the engine refused the inputs), FACTOR_CHANGES_IN_PERIOD (a factor version ends
    inside the period: the run must be split where the next one begins).
    """

    def __init__(self, code: str, message: str, **data: Any) -> None:
        super().__init__(message, **data)
        self.code = code  # type: ignore[misc]
