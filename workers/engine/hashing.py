"""Reproducibility digests of engine inputs and results."""

import hashlib
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

__all__ = ["DIGEST_DOMAIN", "array_digest"]

DIGEST_DOMAIN: Final[bytes] = b"cbamx/array-digest/1\n"
"""Domain-separation prefix; change it if the canonical encoding below ever changes."""


def _canonical(array: NDArray[Any]) -> NDArray[Any]:
    """C-contiguous, little-endian copy with every NaN replaced by the one canonical quiet NaN."""
    if array.dtype.hasobject or array.dtype.fields is not None:
        raise ValueError(f"array_digest supports plain numeric and bool arrays, not dtype {array.dtype}")
    if array.dtype.kind not in "biufcmM":
        raise ValueError(f"array_digest supports plain numeric and bool arrays, not dtype {array.dtype}")
    little = array.astype(array.dtype.newbyteorder("<"), copy=False)
    if little.dtype.kind in "fc":
        little = np.where(np.isnan(little), np.array(np.nan, dtype=little.dtype), little)
    return np.ascontiguousarray(little)


def array_digest(*arrays: NDArray[Any]) -> str:
    """SHA-256 over the dtype, shape and bytes of each array.

    Parameters
    ----------
    *arrays : ndarray
        Numeric or bool arrays, in a fixed order.

    Returns
    -------
    str
        64 hexadecimal characters.

    Raises
    ------
    ValueError
        A non-array argument, or an object / structured / string dtype.

    Notes
    -----
    The digest is :math:`\\mathrm{SHA256}(D \\,\\|\\, \\mathrm{len}(a) \\,\\|\\, h_1 b_1 \\,\\|\\, \\ldots)`
    where :math:`D` is a domain prefix and, for each array, :math:`h_k` is a header with the
    little-endian dtype string, the shape and the byte count, and :math:`b_k` its C-order bytes. NaN
    payloads and signs are canonicalised (different code paths can produce ``-nan``); ``-0.0`` and
    ``0.0`` stay distinct. Memory layout and host byte order do not change the digest, any other bit
    does.

    Examples
    --------
    >>> a = np.arange(3, dtype=np.float64)
    >>> array_digest(a) == array_digest(a.copy())
    True
    >>> array_digest(a) == array_digest(a.astype(np.float32))
    False
    >>> len(array_digest(a))
    64
    """
    h = hashlib.sha256(DIGEST_DOMAIN)
    h.update(f"{len(arrays)}\n".encode("ascii"))
    for k, array in enumerate(arrays):
        if not isinstance(array, np.ndarray):
            raise ValueError(f"argument {k} is not an ndarray (got {type(array).__name__})")
        canon = _canonical(array)
        data = canon.tobytes(order="C")
        header = f"{canon.dtype.str}|{','.join(str(d) for d in canon.shape)}|{len(data)}\n"
        h.update(header.encode("ascii"))
        h.update(data)
    return h.hexdigest()
