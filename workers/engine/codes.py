"""Status codes and flag bits stored with every interval.

Storage keeps one row per meter and UTC day with ``energy_kwh: float64[n]``, ``status: uint8[n]`` and
``flags: uint16[n]``. The status says how far a value can be trusted; the flags say why.
"""

from dataclasses import dataclass
from enum import IntEnum, IntFlag
from typing import TypeVar

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "IntervalFlag",
    "IntervalSeries",
    "IntervalStatus",
    "check_flags",
    "check_status",
    "read_only",
    "status_of_rank",
    "status_rank",
    "valid_mask",
]

_T = TypeVar("_T", bound=np.generic)


class IntervalStatus(IntEnum):
    """Quality of one interval value (stored as ``uint8``).

    ``MEASURED`` and ``EDITED`` are *valid*: they may bound an interpolation, serve as like-day
    references and be compared strictly in a balance. ``ESTIMATED`` values are complete but never
    reused as references. ``MISSING`` intervals need estimation; their ``energy_kwh`` is NaN unless a
    suspect raw value is kept for review (``SPIKE``, ``NEGATIVE``).
    """

    MEASURED = 0
    ESTIMATED = 1
    MISSING = 2
    EDITED = 3


class IntervalFlag(IntFlag):
    """Reasons attached to an interval (stored as a ``uint16`` bit mask)."""

    GAP = 1 << 0
    """No usable readings at an interval boundary (communication gap, outside coverage)."""
    SPIKE = 1 << 1
    """Implied mean power above the meter's plausible maximum."""
    NEGATIVE = 1 << 2
    """Counter ran backwards (not a rollover, reset or glitch), or negative interval energy."""
    ROLLOVER = 1 << 3
    """Counter wrapped at its register maximum inside the interval; energy unwrapped."""
    COUNTER_RESET = 1 << 4
    """Counter dropped (reset, re-programming); the energy across the reset is unknown."""
    METER_REPLACED = 1 << 5
    """A meter exchange or multiplier change falls in the interval."""
    CLOCK_SUSPECT = 1 << 6
    """The acquisition clock was stepped inside the interval."""
    ESTIMATED_LINEAR = 1 << 7
    """Filled by point-to-point (linear) estimation."""
    ESTIMATED_LIKE_DAY = 1 << 8
    """Filled from the mean profile of like days."""
    BALANCE_OUT_OF_TOLERANCE = 1 << 9
    """Parent minus direct children is outside the configured band."""
    TRANSIENT_GLITCH = 1 << 10
    """A single implausible counter reading was ignored."""
    PARTIAL = 1 << 11
    """The interval is only partly covered by readings (its total may still be exact)."""


# Severity order used for "worst of the inputs": MEASURED < EDITED < ESTIMATED < MISSING.
_RANK_OF_STATUS = np.array([0, 2, 3, 1], dtype=np.int8)
_STATUS_OF_RANK = np.array(
    [IntervalStatus.MEASURED, IntervalStatus.EDITED, IntervalStatus.ESTIMATED, IntervalStatus.MISSING],
    dtype=np.uint8,
)


@dataclass(frozen=True, slots=True)
class IntervalSeries:
    """Interval data as stored: energy, status and flags, one entry per interval.

    The results of the derivation steps extend it with what each step found.

    Attributes
    ----------
    energy_kwh : ndarray float64
        Energy per interval [kWh]; NaN where unknown.
    status : ndarray uint8
        :class:`IntervalStatus` codes.
    flags : ndarray uint16
        :class:`IntervalFlag` bits.
    """

    energy_kwh: NDArray[np.float64]
    status: NDArray[np.uint8]
    flags: NDArray[np.uint16]


def check_status(status: NDArray[np.uint8], *, name: str = "status") -> NDArray[np.uint8]:
    """Return ``status`` as ``uint8`` after checking every code is a known :class:`IntervalStatus`."""
    if not np.issubdtype(status.dtype, np.integer):
        raise ValueError(f"{name} must be an integer array of IntervalStatus codes")
    if status.size and (int(status.min()) < 0 or int(status.max()) > max(IntervalStatus)):
        raise ValueError(f"{name} contains codes outside IntervalStatus (0..{max(IntervalStatus)})")
    return status.astype(np.uint8, copy=False)


def check_flags(flags: NDArray[np.uint16], *, name: str = "flags") -> NDArray[np.uint16]:
    """Return ``flags`` as ``uint16`` after checking the dtype is an unsigned or signed integer."""
    if not np.issubdtype(flags.dtype, np.integer):
        raise ValueError(f"{name} must be an integer array of IntervalFlag bits")
    if flags.size and (int(flags.min()) < 0 or int(flags.max()) > 0xFFFF):
        raise ValueError(f"{name} must fit in uint16")
    return flags.astype(np.uint16, copy=False)


def valid_mask(status: NDArray[np.uint8]) -> NDArray[np.bool_]:
    """Intervals whose value is valid: ``MEASURED`` or ``EDITED``.

    Parameters
    ----------
    status : ndarray (..., n) uint8
        :class:`IntervalStatus` codes.

    Returns
    -------
    ndarray (..., n) bool
    """
    valid: NDArray[np.bool_] = (status == IntervalStatus.MEASURED) | (status == IntervalStatus.EDITED)
    return valid


def status_rank(status: NDArray[np.uint8]) -> NDArray[np.int8]:
    """Severity rank of each status: MEASURED 0, EDITED 1, ESTIMATED 2, MISSING 3."""
    rank: NDArray[np.int8] = _RANK_OF_STATUS[status]
    return rank


def status_of_rank(rank: NDArray[np.int8]) -> NDArray[np.uint8]:
    """Inverse of :func:`status_rank`."""
    status: NDArray[np.uint8] = _STATUS_OF_RANK[rank]
    return status


def read_only(array: NDArray[_T]) -> NDArray[_T]:
    """Mark an engine output read-only so a result object cannot be altered after the fact."""
    array.flags.writeable = False
    return array
