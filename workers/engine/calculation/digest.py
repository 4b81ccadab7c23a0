"""Canonical encodings and SHA-256 digests of calculation inputs and results.

The same inputs give the same digest on any machine: the encoding fixes byte order and layout,
and floats are hashed after rounding to 12 significant decimal digits (:func:`round_significant`)
so that last-bit differences of summation order between CPUs and numpy builds do not change a
digest. ``-0.0`` is hashed as ``0.0``.
"""

import hashlib
import json
from dataclasses import fields, is_dataclass
from typing import Any, Final

import numpy as np

__all__ = [
    "INPUTS_DIGEST_DOMAIN",
    "RESULT_DIGEST_DOMAIN",
    "canonical_chunks",
    "inputs_digest",
    "result_digest",
    "round_significant",
]

INPUTS_DIGEST_DOMAIN: Final[bytes] = b"cbamx/calculation-inputs/1\n"
RESULT_DIGEST_DOMAIN: Final[bytes] = b"cbamx/calculation-result/1\n"
_SIGNIFICANT: Final[int] = 12
_TINY: Final[float] = 1e-300  # below this a float hashes as 0 (keeps 10**(e - 11) a normal number)
_POW_MIN: Final[int] = -320
# 10**k for k in _POW_MIN..309, each the correctly rounded double of the decimal literal, identical everywhere
_POW10: Final = np.array([float(f"1e{k}") for k in range(_POW_MIN, 311)], dtype=np.float64)
_SPECIAL_EXP: Final[int] = 10_000
# values rounded per pass: a block's temporaries (a dozen arrays of 512 KiB) stay in the CPU cache
# instead of a dozen fresh arrays the size of the input (56 MiB each for a plant-year of meters)
_BLOCK: Final[int] = 1 << 16


def round_significant(values: np.ndarray[Any, Any]) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Decimal mantissa and exponent of each value rounded to 12 significant digits.

    Parameters
    ----------
    values : ndarray float

    Returns
    -------
    mantissa, exponent : ndarray int64
        ``value ~= mantissa * 10**exponent`` with ``10**11 <= |mantissa| < 10**12``; 0 is ``(0, 0)``
        (as are ``-0.0`` and ``|value| < 1e-300``), NaN ``(0, 10000)``, +-inf ``(+-1, 10000)``.

    Notes
    -----
    ``e = floor(log10|x|)`` corrected against a table of correctly rounded powers of ten, then
    ``mantissa = rint(x / 10**(e - 11))`` (IEEE division and round-half-even): the same on every
    machine for the same input bits. Each value is rounded on its own, in blocks of 65,536 values
    (which keeps a plant-year's 7 million meter values to about a tenth of a second); the block size
    never changes a result.

    Examples
    --------
    >>> m, e = round_significant(np.array([1.0, -0.0, 0.1 + 0.2, 123456789012345.0]))
    >>> m.tolist(), e.tolist()
    ([100000000000, 0, 300000000000, 123456789012], [-11, 0, -12, 3])
    """
    x = np.asarray(values, dtype=np.float64).ravel()
    if x.size <= _BLOCK:
        return _round_block(x)
    mantissa = np.empty(x.size, dtype=np.int64)
    exponent = np.empty(x.size, dtype=np.int64)
    for start in range(0, x.size, _BLOCK):
        block = slice(start, start + _BLOCK)
        mantissa[block], exponent[block] = _round_block(x[block])
    return mantissa, exponent


def _round_block(values: np.ndarray[Any, Any]) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """:func:`round_significant` of one block of values."""
    x = values + 0.0
    ab = np.abs(x)
    normal = np.isfinite(x) & (ab >= _TINY)
    safe = np.where(normal, ab, 1.0)
    e = np.floor(np.log10(safe)).astype(np.int64)
    e += safe >= _POW10[e + 1 - _POW_MIN]
    e -= safe < _POW10[e - _POW_MIN]
    scaled = np.where(normal, x, 0.0) / _POW10[e - (_SIGNIFICANT - 1) - _POW_MIN]
    mantissa = np.rint(scaled).astype(np.int64)
    overflow = np.abs(mantissa) >= 10**_SIGNIFICANT  # 999999999999.5 rounds up to 10**12
    mantissa = np.where(overflow, mantissa // 10, mantissa)
    exponent = np.where(normal, e - (_SIGNIFICANT - 1) + overflow, 0)
    mantissa = np.where(normal, mantissa, 0)
    nan = np.isnan(x)
    inf = np.isinf(x)
    mantissa = np.where(inf, np.sign(np.where(inf, x, 0.0)).astype(np.int64), mantissa)
    exponent = np.where(nan | inf, _SPECIAL_EXP, exponent)
    return mantissa.astype(np.int64), exponent.astype(np.int64)


def _array_bytes(array: np.ndarray[Any, Any]) -> tuple[str, list[memoryview]]:
    """The header of an array and its encoded bytes, as views of the arrays that hold them (no copy)."""
    kind = array.dtype.kind
    flat = np.ascontiguousarray(array).ravel()
    if kind == "f":
        mantissa, exponent = round_significant(flat)
        parts = [np.ascontiguousarray(mantissa, dtype="<i8"), np.ascontiguousarray(exponent, dtype="<i8")]
        tag = "f"
    elif kind in "iu":
        parts = [np.ascontiguousarray(flat, dtype="<i8")]
        tag = "i"
    elif kind == "b":
        parts = [np.ascontiguousarray(flat, dtype=np.uint8)]
        tag = "b"
    else:
        raise ValueError(f"cannot encode an array of dtype {array.dtype}")
    shape = "x".join(str(d) for d in array.shape)
    return f"{tag}[{shape}]{sum(p.nbytes for p in parts)}", [p.data.cast("B") for p in parts]


def _float_text(value: float) -> str:
    mantissa, exponent = round_significant(np.array([value]))
    return f"{int(mantissa[0])}e{int(exponent[0])}"


def canonical_chunks(value: Any, name: str = "") -> Any:
    """Yield the canonical text encoding of ``value`` in pieces (bytes-like: ``bytes``, or a
    ``memoryview`` of an array's encoded values, so that large arrays are hashed without a copy).

    Parameters
    ----------
    value : dataclass, ndarray, tuple, str, int, float, bool or None
    name : str
        Field name written before the value.

    Yields
    ------
    bytes or memoryview

    Notes
    -----
    Every value is one line ``name=encoding``; a dataclass writes ``name={`` then its fields in
    declaration order then ``}``. Scalars: ``none``, ``true``/``false``, integers in decimal,
    floats as ``<mantissa>e<exponent>`` from :func:`round_significant` (12 significant digits),
    strings as JSON (ASCII), tuples as ``(`` items ``)``. Arrays: a line ``name=<tag>[<shape>]<bytes>``
    (tag ``f``, ``i`` or ``b``; shape as ``AxB``), then the bytes in C order, then a newline:
    ``f`` the int64 little-endian mantissas followed by the int64 little-endian exponents of
    :func:`round_significant`, ``i`` int64 little-endian, ``b`` one byte 0/1 per value.
    """
    if is_dataclass(value) and not isinstance(value, type):
        yield f"{name}={{\n".encode()
        for f in fields(value):
            yield from canonical_chunks(getattr(value, f.name), f.name)
        yield b"}\n"
    elif isinstance(value, np.ndarray):
        header, data = _array_bytes(value)
        yield f"{name}={header}\n".encode()
        yield from data
        yield b"\n"
    elif isinstance(value, tuple | list):
        yield f"{name}=(\n".encode()
        for item in value:
            yield from canonical_chunks(item)
        yield b")\n"
    elif value is None:
        yield f"{name}=none\n".encode()
    elif isinstance(value, bool | np.bool_):
        yield f"{name}={'true' if value else 'false'}\n".encode()
    elif isinstance(value, int | np.integer):
        yield f"{name}={int(value)}\n".encode()
    elif isinstance(value, float | np.floating):
        yield f"{name}={_float_text(float(value))}\n".encode()
    elif isinstance(value, str):
        yield f"{name}={json.dumps(value, ensure_ascii=True)}\n".encode()
    else:
        raise ValueError(f"cannot encode {name or 'value'} of type {type(value).__name__}")


def _digest(domain: bytes, *values: Any) -> str:
    h = hashlib.sha256(domain)
    for value in values:
        for chunk in canonical_chunks(value):
            h.update(chunk)
    return h.hexdigest()


def inputs_digest(inputs: Any, parameters: Any) -> str:
    """SHA-256 hex over the canonical encoding of a calculation's inputs and parameters.

    Parameters
    ----------
    inputs : CalculationInputs
    parameters : CalculationParameters

    Returns
    -------
    str
        64 hexadecimal characters.

    Notes
    -----
    ``SHA256(b"cbamx/calculation-inputs/1\\n" || enc(inputs) || enc(parameters))`` with ``enc`` the
    text encoding of :func:`canonical_chunks`; floats are hashed after rounding to 12 significant
    digits, so the digest is identical across machines.
    """
    return _digest(INPUTS_DIGEST_DOMAIN, inputs, parameters)


def result_digest(result: Any) -> str:
    """SHA-256 hex over the canonical encoding of a :class:`CalculationResult`.

    Notes
    -----
    ``SHA256(b"cbamx/calculation-result/1\\n" || enc(result))``: every output number, array, id
    and warning in field order; floats rounded to 12 significant digits (:func:`round_significant`) so that
    machines whose float sums differ in the last bits agree.
    """
    return _digest(RESULT_DIGEST_DOMAIN, result)
