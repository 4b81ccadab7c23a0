"""Register words -> engineering value.

All decoding is pure: a list of 16-bit words in, a `Decoded` out. Anything that is not a
trustworthy number (NaN, infinity, a "not available" sentinel, an unusable scale factor)
becomes a missing value with a reason, never a number.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Literal

WordOrder = Literal["big", "little"]


class RegisterType(StrEnum):
    INT16 = "int16"
    UINT16 = "uint16"
    INT32 = "int32"
    UINT32 = "uint32"
    INT64 = "int64"
    UINT64 = "uint64"
    FLOAT32 = "float32"
    FLOAT64 = "float64"
    ACC32 = "acc32"  # SunSpec accumulator: unsigned 32-bit counter that wraps


_STRUCT: dict[RegisterType, str] = {
    RegisterType.INT16: "h",
    RegisterType.UINT16: "H",
    RegisterType.INT32: "i",
    RegisterType.UINT32: "I",
    RegisterType.INT64: "q",
    RegisterType.UINT64: "Q",
    RegisterType.FLOAT32: "f",
    RegisterType.FLOAT64: "d",
    RegisterType.ACC32: "I",
}

FLOAT_TYPES = frozenset({RegisterType.FLOAT32, RegisterType.FLOAT64})

SUNSSF_NOT_IMPLEMENTED = -32768
# SunSpec scale factors are specified in -10..10; anything else is a corrupt read.
SUNSSF_RANGE = range(-10, 11)


def word_count(register_type: RegisterType) -> int:
    return struct.calcsize(_STRUCT[register_type]) // 2


@dataclass(frozen=True, slots=True)
class Decoded:
    value: float | int | None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.reason is None


def _ordered(words: Sequence[int], word_order: WordOrder) -> list[int]:
    return list(words) if word_order == "big" else list(reversed(words))


def _to_bytes(words: Sequence[int]) -> bytes:
    return b"".join(int(w).to_bytes(2, "big") for w in words)


def _shortest_float32(value: float) -> float:
    """Shortest decimal that maps back to the same float32.

    A float32 holds ~7 significant digits; printing its exact binary value
    (12345.677734375 for a register written as 12345.678) invents precision.
    """
    packed = struct.pack(">f", value)
    for digits in range(6, 10):
        candidate = float(f"{value:.{digits}g}")
        if struct.pack(">f", candidate) == packed:
            return candidate
    return value


def _apply_scale(number: int | float, scale: float, exponent: int) -> float | int:
    if scale == 1 and exponent == 0:
        return number
    # Decimal keeps 12345 * 10^-2 at 123.45 instead of 123.45000000000002.
    return float(Decimal(repr(number)) * Decimal(repr(scale)) * (Decimal(10) ** exponent))


def decode(
    words: Sequence[int],
    register_type: RegisterType,
    word_order: WordOrder = "big",
    *,
    scale: float = 1.0,
    scale_factor: int | None = None,
    sentinels: Sequence[int] = (),
) -> Decoded:
    """Decode one value.

    `scale_factor` is the raw signed SunSpec `sunssf` word (value * 10**sf); `scale` is a plain
    multiplier. `sentinels` are raw integers meaning "not available": they match either the
    unsigned register content or its signed interpretation, so both 0x8000 and -32768 work.
    """
    expected = word_count(register_type)
    if len(words) != expected:
        return Decoded(None, "partial")
    ordered = _ordered(words, word_order)
    data = _to_bytes(ordered)
    unsigned = int.from_bytes(data, "big")
    (number,) = struct.unpack(">" + _STRUCT[register_type], data)
    is_float = register_type in FLOAT_TYPES
    # Float sentinels are bit patterns (e.g. 0x7FC00000); integers compare by their unsigned
    # content and by their signed reading, whatever the declared signedness.
    signed = int.from_bytes(data, "big", signed=True)
    if sentinels and (unsigned in sentinels or (not is_float and signed in sentinels)):
        return Decoded(None, "sentinel")
    if is_float:
        if math.isnan(number):
            return Decoded(None, "nan")
        if math.isinf(number):
            return Decoded(None, "inf")
        if register_type is RegisterType.FLOAT32:
            number = _shortest_float32(number)
    exponent = 0
    if scale_factor is not None:
        signed_sf = scale_factor - 0x10000 if scale_factor >= 0x8000 else scale_factor
        if signed_sf == SUNSSF_NOT_IMPLEMENTED:
            return Decoded(None, "sentinel")
        if signed_sf not in SUNSSF_RANGE:
            return Decoded(None, "invalid_scale_factor")
        exponent = signed_sf
    value = _apply_scale(number, scale, exponent)
    if isinstance(value, float) and not math.isfinite(value):
        return Decoded(None, "inf")
    return Decoded(value)


def encode(
    value: float | int,
    register_type: RegisterType,
    word_order: WordOrder = "big",
    *,
    scale: float = 1.0,
    scale_factor: int = 0,
) -> list[int]:
    """Inverse of `decode` (used by the simulator and by test fixtures)."""
    number: float | int = value / scale / (10.0**scale_factor)
    if register_type not in FLOAT_TYPES:
        number = round(number)
        if register_type is RegisterType.ACC32:
            number %= 1 << 32
    data = struct.pack(">" + _STRUCT[register_type], number)
    words = [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]
    return _ordered(words, word_order)
