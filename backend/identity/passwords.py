"""Argon2id password hashing, run in a worker thread: it is CPU-bound by design."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from backend.offload import off_loop

_hasher = PasswordHasher()  # argon2id, m=64 MiB, t=3, p=4
MIN_PASSWORD_LENGTH = 12


async def hash_password(password: str) -> str:
    return await off_loop(_hasher.hash, password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    """True when the password matches; a missing hash still costs one verification (no timing oracle)."""
    target = password_hash or _DUMMY_HASH
    try:
        ok = await off_loop(_hasher.verify, target, password)
    except (VerificationError, InvalidHashError):
        return False
    return bool(ok) and password_hash is not None


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


_DUMMY_HASH = _hasher.hash("not-a-real-password-placeholder-value")
