"""Statement-signing keys per verifier organisation, and compact JWS statements signed with them.

Each verifier organisation gets an ES256 key pair on its first statement; the private half is sealed
with the platform secret exactly as token keys are (``backend.identity.keys``). Rotation makes a new
active key and retires the old one, which stays published: a statement is evidence for years, so its
key must keep verifying it.
"""

from __future__ import annotations

import json
import secrets
import uuid
from typing import Any

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db import utcnow
from backend.identity.keys import seal, unseal
from backend.verification.errors import StatementInvalid
from backend.verification.models import StatementKey, StatementKeyStatus

ALG = "ES256"
# the JWS header's typ: what the payload is
STATEMENT_TYP = "cbamx-verification-statement+json"


def jwks_path(tenant_id: uuid.UUID | str) -> str:
    """Where a verifier's statement keys are published (public, no login)."""
    return f"/organizations/{tenant_id}/jwks.json"


async def create_key(db: AsyncSession, tenant_id: uuid.UUID, *, secret: str) -> StatementKey:
    kid = f"stmt-{utcnow():%Y%m%d}-{secrets.token_hex(6)}"
    key = ECKey.generate_key("P-256", parameters={"kid": kid, "alg": ALG, "use": "sig"})
    row = StatementKey(
        kid=kid,
        tenant_id=tenant_id,
        alg=ALG,
        public_jwk=key.as_dict(private=False),
        sealed_private_jwk=seal(key.as_dict(private=True), secret),
        status=StatementKeyStatus.ACTIVE,
    )
    db.add(row)
    await db.flush()
    return row


async def active_key(db: AsyncSession, tenant_id: uuid.UUID, *, secret: str) -> StatementKey:
    """The organisation's active key, created on first use."""
    # two first statements at once must not both create a key (one active key per organisation)
    await db.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"), {"k": f"statement-key:{tenant_id}"})
    row = (
        await db.execute(
            select(StatementKey)
            .where(StatementKey.tenant_id == tenant_id, StatementKey.status == StatementKeyStatus.ACTIVE)
            .with_for_update()
        )
    ).scalar_one_or_none()
    return row or await create_key(db, tenant_id, secret=secret)


async def rotate_key(db: AsyncSession, tenant_id: uuid.UUID, *, secret: str) -> StatementKey:
    """A new active key; the old one signs nothing more and stays published."""
    await db.execute(
        update(StatementKey)
        .where(StatementKey.tenant_id == tenant_id, StatementKey.status == StatementKeyStatus.ACTIVE)
        .values(status=StatementKeyStatus.RETIRED, retired_at=utcnow())
    )
    return await create_key(db, tenant_id, secret=secret)


async def published_keys(db: AsyncSession, tenant_id: uuid.UUID) -> list[StatementKey]:
    rows = await db.execute(
        select(StatementKey).where(StatementKey.tenant_id == tenant_id).order_by(StatementKey.created_at)
    )
    return list(rows.scalars())


def jwks_document(rows: list[StatementKey]) -> dict[str, Any]:
    return {"keys": [dict(r.public_jwk) for r in rows]}


def canonical_payload(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sign(payload: dict[str, Any], row: StatementKey, *, secret: str) -> str:
    """The payload as a compact JWS signed with the key."""
    key = ECKey.import_key(unseal(row.sealed_private_jwk, secret))  # type: ignore[arg-type]
    header = {"alg": row.alg, "kid": row.kid, "typ": STATEMENT_TYP}
    return jws.serialize_compact(header, canonical_payload(payload), key, algorithms=[ALG])


def verify(token: str, jwks: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(header, payload) of a statement whose signature a key of ``jwks`` (by its kid) verifies.

    Raises ``StatementInvalid`` naming the reason otherwise.
    """
    try:
        header = dict(jws.extract_compact(token.strip().encode()).headers())
    except (JoseError, ValueError, IndexError, UnicodeDecodeError) as error:
        raise StatementInvalid(f"not a compact JWS: {error}") from None
    if not isinstance(header, dict) or header.get("alg") != ALG:
        raise StatementInvalid(f"the header must name alg {ALG}")
    kid = header.get("kid")
    keys = [k for k in jwks.get("keys", []) if isinstance(k, dict) and k.get("kid") == kid]
    if not kid or not keys:
        raise StatementInvalid(f"key {kid!r} is not among the verifier's published keys")
    try:
        keyset = KeySet([ECKey.import_key(keys[0])])  # type: ignore[arg-type]
        obj = jws.deserialize_compact(token.strip(), keyset, algorithms=[ALG])
    except (JoseError, ValueError) as error:
        raise StatementInvalid(f"the signature does not verify: {error}") from None
    try:
        payload = json.loads(obj.payload)
    except ValueError:
        raise StatementInvalid("the payload is not JSON") from None
    if not isinstance(payload, dict):
        raise StatementInvalid("the payload is not a JSON object")
    return obj.headers(), payload
