"""Canonical encodings and SHA-256 digests of calculation inputs and results.

The same inputs give the same digest on any machine: the encoding is text, independent of byte
order and memory layout, and floats are written with 12 significant digits (``%.11e``, correctly
rounded by Python's float formatting) so that the last-bit differences of summation order between
CPUs and numpy builds do not change a digest. ``-0.0`` is written as ``0.0``; NaN as ``nan``.
"""

import hashlib
import json
from dataclasses import fields, is_dataclass
from typing import Any, Final

import numpy as np

__all__ = ["INPUTS_DIGEST_DOMAIN", "RESULT_DIGEST_DOMAIN", "canonical_chunks", "inputs_digest", "result_digest"]

INPUTS_DIGEST_DOMAIN: Final[bytes] = b"cbamx/calculation-inputs/1\n"
RESULT_DIGEST_DOMAIN: Final[bytes] = b"cbamx/calculation-result/1\n"
_FLOAT_FORMAT: Final[str] = "{:.11e}"


def _float_text(value: float) -> str:
    if value != value:  # NaN
        return "nan"
    return _FLOAT_FORMAT.format(value + 0.0)  # -0.0 + 0.0 == +0.0


def _array_text(array: np.ndarray[Any, Any]) -> str:
    kind = array.dtype.kind
    flat = np.ascontiguousarray(array).ravel()
    if kind == "f":
        normal = flat.astype(np.float64) + 0.0
        body = ",".join(["nan" if v != v else _FLOAT_FORMAT.format(v) for v in normal.tolist()])
        tag = "f"
    elif kind in "iu":
        body = ",".join(map(str, flat.tolist()))
        tag = "i"
    elif kind == "b":
        body = "".join("1" if v else "0" for v in flat.tolist())
        tag = "b"
    else:
        raise ValueError(f"cannot encode an array of dtype {array.dtype}")
    shape = "x".join(str(d) for d in array.shape)
    return f"{tag}[{shape}]{body}"


def canonical_chunks(value: Any, name: str = "") -> Any:
    """Yield the canonical text encoding of ``value`` in pieces (UTF-8 encoded bytes).

    Parameters
    ----------
    value : dataclass, ndarray, tuple, str, int, float, bool or None
    name : str
        Field name written before the value.

    Yields
    ------
    bytes

    Notes
    -----
    Every value is one line ``name=encoding``; a dataclass writes ``name={`` then its fields in
    declaration order then ``}``. Encodings: ``none``, ``true``/``false``, integers in decimal,
    floats as ``%.11e`` (12 significant digits, ``-0.0`` as ``0.0``, ``nan``), strings as JSON,
    tuples as ``(`` items ``)``, arrays as ``f[shape]`` / ``i[shape]`` with comma-separated values
    in C order or ``b[shape]`` with one ``0``/``1`` per value.
    """
    if is_dataclass(value) and not isinstance(value, type):
        yield f"{name}={{\n".encode()
        for f in fields(value):
            yield from canonical_chunks(getattr(value, f.name), f.name)
        yield b"}\n"
    elif isinstance(value, np.ndarray):
        yield f"{name}={_array_text(value)}\n".encode()
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
    and warning in field order; floats rounded to 12 significant digits (``%.11e``) so that
    machines whose float sums differ in the last bits agree.
    """
    return _digest(RESULT_DIGEST_DOMAIN, result)
