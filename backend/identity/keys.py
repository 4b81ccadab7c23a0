"""Token signing keys: ES256 key pairs, sealed at rest, rotated without breaking live tokens.

The active key signs; after rotation the previous key stays in the JWKS as "retiring" until every
token it signed has expired, then it is retired and dropped from the JWKS.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
from datetime import timedelta

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from joserfc.jwk import ECKey, KeySet
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db import utcnow
from backend.identity.models import SigningKey, SigningKeyStatus

ALG = "ES256"


def _sealing_key(secret: str) -> bytes:
    return hashlib.sha256(b"cbamx-signing-key-seal:" + secret.encode()).digest()


def seal(private_jwk: dict[str, object], secret: str) -> str:
    nonce = os.urandom(12)
    sealed = AESGCM(_sealing_key(secret)).encrypt(nonce, json.dumps(private_jwk).encode(), b"jwk")
    return base64.b64encode(nonce + sealed).decode()


def unseal(sealed: str, secret: str) -> dict[str, object]:
    blob = base64.b64decode(sealed)
    plain = AESGCM(_sealing_key(secret)).decrypt(blob[:12], blob[12:], b"jwk")
    return json.loads(plain)  # type: ignore[no-any-return]


async def create_key(db: AsyncSession, *, secret: str) -> SigningKey:
    kid = f"{utcnow():%Y%m%d}-{secrets.token_hex(4)}"
    key = ECKey.generate_key("P-256", parameters={"kid": kid, "alg": ALG, "use": "sig"})
    row = SigningKey(
        kid=kid,
        alg=ALG,
        public_jwk=key.as_dict(private=False),
        sealed_private_jwk=seal(key.as_dict(private=True), secret),
        status=SigningKeyStatus.ACTIVE,
    )
    db.add(row)
    await db.flush()
    return row


async def rotate(db: AsyncSession, *, secret: str, grace: timedelta) -> SigningKey:
    """Make a new active key; the old one keeps verifying tokens until ``grace`` has passed."""
    await db.execute(
        update(SigningKey)
        .where(SigningKey.status == SigningKeyStatus.ACTIVE)
        .values(status=SigningKeyStatus.RETIRING, retire_after=utcnow() + grace)
    )
    return await create_key(db, secret=secret)


async def retire_expired(db: AsyncSession) -> int:
    result = await db.execute(
        update(SigningKey)
        .where(SigningKey.status == SigningKeyStatus.RETIRING, SigningKey.retire_after <= utcnow())
        .values(status=SigningKeyStatus.RETIRED)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def ensure_active_key(db: AsyncSession, *, secret: str) -> SigningKey:
    row = (
        await db.execute(select(SigningKey).where(SigningKey.status == SigningKeyStatus.ACTIVE).limit(1))
    ).scalar_one_or_none()
    return row or await create_key(db, secret=secret)


async def published_keys(db: AsyncSession) -> list[SigningKey]:
    rows = await db.execute(
        select(SigningKey)
        .where(SigningKey.status.in_([SigningKeyStatus.ACTIVE, SigningKeyStatus.RETIRING]))
        .order_by(SigningKey.created_at)
    )
    return list(rows.scalars())


def public_keyset(rows: list[SigningKey]) -> KeySet:
    return KeySet([ECKey.import_key(dict(r.public_jwk)) for r in rows])  # type: ignore[arg-type]


def jwks_document(rows: list[SigningKey]) -> dict[str, object]:
    return {"keys": [dict(r.public_jwk) for r in rows]}


def signing_keyset(row: SigningKey, *, secret: str) -> KeySet:
    return KeySet([ECKey.import_key(unseal(row.sealed_private_jwk, secret))])  # type: ignore[arg-type]
