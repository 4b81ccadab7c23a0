"""Rounding for digests in blocks: a long array rounds exactly as its values do one by one."""

import numpy as np

from workers.engine.calculation.digest import _BLOCK, canonical_chunks, round_significant

SPECIAL = np.array([1.0, -0.0, 0.1 + 0.2, 123456789012345.0, np.nan, np.inf, -np.inf, 1e-310, 999999999999.5])
EXPECTED_MANTISSA = [100000000000, 0, 300000000000, 123456789012, 0, 1, -1, 0, 100000000000]
EXPECTED_EXPONENT = [-11, 0, -12, 3, 10_000, 10_000, 10_000, 0, 1]


def test_a_long_array_rounds_as_its_pieces_do_across_block_boundaries():
    rng = np.random.default_rng(3)
    values = rng.lognormal(0.0, 8.0, 3 * _BLOCK + 17) * rng.choice([-1.0, 1.0], 3 * _BLOCK + 17)
    # the special values straddle the first block boundary and end the array
    values[_BLOCK - 4 : _BLOCK + 5] = SPECIAL
    values[-len(SPECIAL) :] = SPECIAL
    mantissa, exponent = round_significant(values.reshape(-1, 1))
    assert mantissa.dtype == exponent.dtype == np.int64
    assert mantissa.shape == exponent.shape == (values.size,)
    for cut in (1000, 4097):
        pieces = [round_significant(values[i : i + cut]) for i in range(0, values.size, cut)]
        assert np.array_equal(mantissa, np.concatenate([m for m, _ in pieces]))
        assert np.array_equal(exponent, np.concatenate([e for _, e in pieces]))
    for at in (_BLOCK - 4, values.size - len(SPECIAL)):
        assert mantissa[at : at + len(SPECIAL)].tolist() == EXPECTED_MANTISSA
        assert exponent[at : at + len(SPECIAL)].tolist() == EXPECTED_EXPONENT
    # the input is left as it was
    assert np.isnan(values[_BLOCK]) and values[_BLOCK - 3] == 0.0


def test_an_array_is_encoded_as_documented_whatever_its_layout():
    # a transposed (non-contiguous) float array, an int32 array and a bool array
    floats = np.arange(6, dtype=np.float64).reshape(2, 3).T / 7
    ints = np.array([[3, -1], [0, 2**31 - 1]], dtype=np.int32)
    flags = np.array([True, False, True])
    mantissa, exponent = round_significant(np.ascontiguousarray(floats).ravel())
    expected = (
        b"x=f[3x2]96\n" + mantissa.astype("<i8").tobytes() + exponent.astype("<i8").tobytes() + b"\n"
        b"y=i[2x2]32\n" + ints.astype("<i8").tobytes() + b"\n"
        b"z=b[3]3\n\x01\x00\x01\n"
    )
    encoded = b"".join(
        bytes(chunk)
        for name, value in (("x", floats), ("y", ints), ("z", flags))
        for chunk in canonical_chunks(value, name)
    )
    assert encoded == expected
