"""Signing and verification key sets, cached in process and refreshed from the database."""

from __future__ import annotations

import asyncio
import time

from joserfc.jwk import KeySet

from backend.db import Database
from backend.identity import keys


class KeyCache:
    def __init__(self, db: Database, *, secret: str, ttl_s: float = 60.0) -> None:
        self._db = db
        self._secret = secret
        self._ttl_s = ttl_s
        self._loaded_at = 0.0
        self._public: KeySet | None = None
        self._signing: KeySet | None = None
        self._jwks: dict[str, object] = {"keys": []}
        self._lock = asyncio.Lock()

    async def refresh(self) -> None:
        async with self._db.platform() as session:
            await keys.retire_expired(session)
            active = await keys.ensure_active_key(session, secret=self._secret)
            published = await keys.published_keys(session)
        self._public = keys.public_keyset(published)
        self._signing = keys.signing_keyset(active, secret=self._secret)
        self._jwks = keys.jwks_document(published)
        self._loaded_at = time.monotonic()

    async def _fresh(self, *, force: bool = False) -> None:
        if force or self._public is None or time.monotonic() - self._loaded_at > self._ttl_s:
            async with self._lock:
                if force or self._public is None or time.monotonic() - self._loaded_at > self._ttl_s:
                    await self.refresh()

    async def verification_keys(self, *, kid: str | None = None) -> KeySet:
        await self._fresh()
        assert self._public is not None
        # a key rotated in by another process: reload once, at most every few seconds
        if kid and kid not in {k.kid for k in self._public.keys} and time.monotonic() - self._loaded_at > 5:
            await self._fresh(force=True)
        return self._public

    async def signing_keys(self) -> KeySet:
        await self._fresh()
        assert self._signing is not None
        return self._signing

    async def jwks(self) -> dict[str, object]:
        await self._fresh()
        return self._jwks
