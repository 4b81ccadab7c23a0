"""Register words -> values: types, word order, scaling, sentinels, NaN."""

from __future__ import annotations

import math

import pytest
from pymodbus.client import AsyncModbusTcpClient

from connectors.decoding import RegisterType, decode, encode

T = RegisterType
DT = AsyncModbusTcpClient.DATATYPE


def pymodbus_words(value: float | int, datatype: DT, word_order: str = "big") -> list[int]:
    """Encoding done by pymodbus itself, independent of the code under test."""
    return AsyncModbusTcpClient.convert_to_registers(value, datatype, word_order=word_order)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("register_type", "datatype", "value"),
    [
        (T.INT16, DT.INT16, -1234),
        (T.UINT16, DT.UINT16, 65000),
        (T.INT32, DT.INT32, -123456789),
        (T.UINT32, DT.UINT32, 4_000_000_000),
        (T.INT64, DT.INT64, -(2**40) - 7),
        (T.UINT64, DT.UINT64, 2**63 + 12345),
        (T.FLOAT64, DT.FLOAT64, 123456789.123456),
    ],
)
@pytest.mark.parametrize("word_order", ["big", "little"])
def test_integer_and_double_types_decode_like_pymodbus_encodes(register_type, datatype, value, word_order):
    # given registers encoded by pymodbus in the given word order
    words = pymodbus_words(value, datatype, word_order)
    # when decoded with the same type and word order
    decoded = decode(words, register_type, word_order)
    # then the original value comes back, untouched
    assert decoded.ok
    assert decoded.value == value


def test_float32_keeps_only_the_precision_the_register_has():
    # given the float32 words a meter shows for 12345.678 kWh (exactly 12345.677734375)
    words = [17984, 59062]
    # when decoded
    decoded = decode(words, T.FLOAT32)
    # then the value is the shortest decimal of that float32, not invented extra digits
    assert decoded.value == 12345.678


def test_wrong_word_order_gives_a_different_plausible_number():
    # given a float32 written low word first
    words = pymodbus_words(1520.25, DT.FLOAT32, "little")
    # when decoded both ways
    right = decode(words, T.FLOAT32, "little")
    wrong = decode(words, T.FLOAT32, "big")
    # then only the configured order gives the value; the other one is silently different
    assert right.value == 1520.25
    assert wrong.ok and wrong.value != 1520.25


def test_plain_scale_multiplies_without_binary_noise():
    # given an int32 in units of 0.1 kWh
    words = pymodbus_words(1234567, DT.INT32)
    # when scaled by 0.1
    decoded = decode(words, T.INT32, scale=0.1)
    # then the decimal result is exact
    assert decoded.value == 123456.7


def test_float_register_scaled_without_binary_noise():
    # given a float32 Wh counter converted to kWh by a scale of 0.001
    decoded = decode(pymodbus_words(12345.678, DT.FLOAT32), T.FLOAT32, scale=0.001)
    # then the kWh value is the decimal shift of the register's value
    assert decoded.value == 12.345678


def test_sixty_four_bit_wh_counter_scaled_to_kwh():
    # given a uint64 Wh counter beyond the 32-bit range
    words = pymodbus_words(2**40 + 5, DT.UINT64)
    # when scaled to kWh
    decoded = decode(words, T.UINT64, scale=0.001)
    # then no precision is lost
    assert decoded.value == (2**40 + 5) / 1000


@pytest.mark.parametrize(("sf_word", "expected"), [(0xFFFE, 123.45), (2, 1234500.0), (0, 12345)])
def test_sunspec_scale_factor_is_a_signed_power_of_ten(sf_word, expected):
    # given an int16 value 12345 and a raw sunssf word
    # when decoded with that scale factor
    decoded = decode([12345], T.INT16, scale_factor=sf_word)
    # then value = 12345 * 10^sf
    assert decoded.value == expected


def test_unimplemented_scale_factor_makes_the_value_missing():
    # given a scale factor register holding the SunSpec "not implemented" value
    # when decoded
    decoded = decode([12345], T.INT16, scale_factor=0x8000)
    # then there is no number
    assert (decoded.value, decoded.reason) == (None, "sentinel")


def test_out_of_range_scale_factor_is_not_trusted():
    decoded = decode([12345], T.INT16, scale_factor=25)
    assert (decoded.value, decoded.reason) == (None, "invalid_scale_factor")


@pytest.mark.parametrize(
    ("words", "register_type", "sentinels"),
    [
        ([0x8000], T.INT16, [-32768]),
        ([0x8000], T.INT16, [0x8000]),
        ([0xFFFF], T.UINT16, [0xFFFF]),
        ([0x8000], T.UINT16, [-32768]),  # the signed reading of an unsigned register, as documented
        ([0xFFFF, 0xFFFF], T.UINT32, [-1]),
        ([0, 0], T.ACC32, [0]),
        ([0xFFFF, 0xFFFF], T.UINT32, [0xFFFFFFFF]),
        ([0x7FFF, 0xFFFF], T.INT32, [0x7FFFFFFF]),
        ([0x7FC0, 0x0000], T.FLOAT32, [0x7FC00000]),
    ],
)
def test_sentinels_become_missing_not_numbers(words, register_type, sentinels):
    # when a register holds a "not available" marker
    decoded = decode(words, register_type, sentinels=sentinels)
    # then the reading is missing with reason sentinel
    assert (decoded.value, decoded.reason) == (None, "sentinel")


def test_float_sentinel_matches_bit_pattern_only():
    # given sentinel 0 configured on a float register that legitimately reads 0.0
    decoded = decode([0, 0], T.FLOAT32, sentinels=[0x7FC00000])
    # then 0.0 is a real value
    assert decoded.value == 0.0 and decoded.ok


@pytest.mark.parametrize(
    ("words", "register_type", "reason"),
    [
        ([0x7FC0, 0x0001], T.FLOAT32, "nan"),
        ([0xFFC0, 0x0000], T.FLOAT32, "nan"),
        ([0x7F80, 0x0000], T.FLOAT32, "inf"),
        ([0xFF80, 0x0000], T.FLOAT32, "inf"),
        ([0x7FF8, 0, 0, 0], T.FLOAT64, "nan"),
    ],
)
def test_nan_and_infinity_become_missing(words, register_type, reason):
    decoded = decode(words, register_type)
    assert (decoded.value, decoded.reason) == (None, reason)


def test_incomplete_words_are_partial_not_a_half_value():
    # given only the high word of an int32 (a classic source of "millions of watts")
    decoded = decode([0x0001], T.INT32)
    assert (decoded.value, decoded.reason) == (None, "partial")


@pytest.mark.parametrize("register_type", list(RegisterType))
@pytest.mark.parametrize("word_order", ["big", "little"])
def test_encode_is_the_inverse_of_decode(register_type, word_order):
    value = 1234 if register_type is not T.INT16 else -1234
    words = encode(value, register_type, word_order)
    assert decode(words, register_type, word_order).value == value


def test_encode_with_scale_factor_round_trips():
    words = encode(230.4, T.INT16, scale_factor=-1)
    assert words == [2304]
    assert decode(words, T.INT16, scale_factor=-1 & 0xFFFF).value == 230.4


def test_float32_word_pair_from_a_meter_manual():
    assert math.isclose(decode([0x4366, 0x8000], T.FLOAT32).value, 230.5)
