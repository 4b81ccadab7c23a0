"""Anchors of a tenant's audit chain, kept where the tenant's tables are not.

An anchor records a chain head (entry ``seq`` and its ``hash``) at one moment, twice: as a row of
``platform.audit_anchors`` (which the runtime role may only add to) and as a write-once object in
the object store (S3 object lock where the bucket has it; a key that is never overwritten, whose
SHA-256 the platform row keeps). Verification checks every anchor from either place by itself,
so a chain rewritten with all later hashes recomputed fails at the first anchored entry it
contradicts, even if one of the two places was tampered with as well.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit.models import AuditAnchor, AuditEntry
from backend.audit.service import AnchorFact, ChainVerification, canonical_json, entry_hash, verify_chain
from backend.db import Database, TenantScope, utcnow
from backend.evidence.store import ObjectStore
from backend.identity.principal import Principal

PREFIX = "audit-anchors"
# objects read side by side during verification (a busy tenant gathers 48 anchors a day)
READ_CONCURRENCY = 16


def anchor_prefix(tenant_id: uuid.UUID) -> str:
    return f"{PREFIX}/{tenant_id}/"


def anchor_key(tenant_id: uuid.UUID, seq: int) -> str:
    # the sequence number is part of the key, so an anchor is never written over by a later one
    return f"{anchor_prefix(tenant_id)}{seq:012d}.json"


def anchor_body(tenant_id: uuid.UUID, seq: int, hash_: str, anchored_at: datetime) -> bytes:
    return canonical_json(
        {"tenant_id": str(tenant_id), "seq": seq, "hash": hash_, "anchored_at": anchored_at.isoformat()}
    ).encode()


class AnchorRefused(Exception):
    """The chain since the last anchor does not extend it: anchoring it would bless a rewrite."""


async def _last_anchor(platform_db: AsyncSession, tenant_id: uuid.UUID) -> AuditAnchor | None:
    query = select(AuditAnchor).where(AuditAnchor.tenant_id == tenant_id).order_by(AuditAnchor.seq.desc()).limit(1)
    return (await platform_db.execute(query)).scalar_one_or_none()


async def _head_extending(db: AsyncSession, last: AuditAnchor | None) -> tuple[int, str] | None:
    """The chain head, after checking that the entries since the last anchor link up to it."""
    query = select(AuditEntry).order_by(AuditEntry.seq)
    if last is not None:
        query = query.where(AuditEntry.seq >= last.seq)
    expected_prev: str | None = None
    head: tuple[int, str] | None = None
    result = await db.stream_scalars(query.execution_options(yield_per=2000))
    async for entry in result:
        if head is None and last is not None and (entry.seq != last.seq or entry.hash != last.hash):
            raise AnchorRefused(
                f"entry {last.seq} no longer has the hash anchored at {last.anchored_at.isoformat()} "
                f"({last.hash}); run `cbamx audit verify`"
            )
        if expected_prev is not None and (entry.prev_hash != expected_prev or entry.seq != head[0] + 1):  # type: ignore[index]
            raise AnchorRefused(f"entry {entry.seq} does not link to the entry before it")
        if entry_hash(entry) != entry.hash:
            raise AnchorRefused(f"entry {entry.seq} does not match its hash")
        expected_prev = entry.hash
        head = (entry.seq, entry.hash)
    if last is not None and head is None:
        raise AnchorRefused(f"entry {last.seq}, anchored at {last.anchored_at.isoformat()}, is missing")
    return head


async def anchor_tenant(
    db: Database, store: ObjectStore, tenant_id: uuid.UUID, scope: TenantScope
) -> AuditAnchor | None:
    """Anchor the tenant's current head; None when there is nothing new since the last anchor."""
    async with db.platform() as platform_db:
        last = await _last_anchor(platform_db, tenant_id)
    async with db.tenant(scope) as tenant_db:
        head = await _head_extending(tenant_db, last)
    if head is None or (last is not None and head[0] == last.seq):
        return None
    seq, hash_ = head
    anchored_at = utcnow()
    body = anchor_body(tenant_id, seq, hash_, anchored_at)
    key = anchor_key(tenant_id, seq)
    sha = hashlib.sha256(body).hexdigest()
    stored = await store.put(key, body, content_type="application/json", sha256=sha)
    if not stored.created:
        # a key is written once: an object already there (an interrupted earlier run) is used as it is
        body = await store.get(key)
        sha = hashlib.sha256(body).hexdigest()
        anchored_at = datetime.fromisoformat(json.loads(body)["anchored_at"])
    anchor = AuditAnchor(
        tenant_id=tenant_id, seq=seq, hash=hash_, anchored_at=anchored_at, object_key=key, object_sha256=sha
    )
    async with db.platform() as platform_db:
        platform_db.add(anchor)
    return anchor


@dataclass
class AnchorRun:
    anchored: dict[str, int] = field(default_factory=dict)  # slug -> anchored seq
    unchanged: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


async def anchor_tenants(
    db: Database, store: ObjectStore, tenants: list[tuple[uuid.UUID, str, TenantScope]]
) -> AnchorRun:
    """Anchor each tenant in turn; one tenant's failure is reported and never stops the others."""
    run = AnchorRun()
    for tenant_id, slug, scope in tenants:
        try:
            anchor = await anchor_tenant(db, store, tenant_id, scope)
        except Exception as exc:
            run.failed[slug] = f"{type(exc).__name__}: {exc}"
            continue
        if anchor is None:
            run.unchanged.append(slug)
        else:
            run.anchored[slug] = anchor.seq
    return run


async def platform_anchors(platform_db: AsyncSession, tenant_id: uuid.UUID) -> list[AuditAnchor]:
    query = select(AuditAnchor).where(AuditAnchor.tenant_id == tenant_id).order_by(AuditAnchor.seq)
    return list((await platform_db.execute(query)).scalars())


async def anchor_facts(
    rows: list[AuditAnchor], store: ObjectStore, tenant_id: uuid.UUID
) -> tuple[list[AnchorFact], list[AnchorFact]]:
    """Every anchor of the tenant, from the platform rows and from the object store, each on its own.

    Returns the anchors and the problems with the anchors themselves (an object missing or changed
    since its platform row recorded it), each named by the entry it anchors.
    """
    facts = [AnchorFact(r.seq, r.hash, r.anchored_at, "platform.audit_anchors") for r in rows]
    problems: list[AnchorFact] = []
    keys = await store.keys(anchor_prefix(tenant_id))
    limit = asyncio.Semaphore(READ_CONCURRENCY)

    async def read(key: str) -> bytes:
        async with limit:
            return await store.get(key)

    objects = dict(zip(keys, await asyncio.gather(*(read(k) for k in keys)), strict=True))
    for key, body in objects.items():
        try:
            data = json.loads(body)
            facts.append(
                AnchorFact(
                    int(data["seq"]), str(data["hash"]), datetime.fromisoformat(data["anchored_at"]), f"object {key}"
                )
            )
        except (ValueError, KeyError, TypeError):
            problems.append(AnchorFact(0, "", utcnow(), f"object {key}", "the anchor object cannot be read"))
    for row in rows:
        body = objects.get(row.object_key)
        if body is None:
            problems.append(
                AnchorFact(
                    row.seq, row.hash, row.anchored_at, f"object {row.object_key}", "the anchor object is missing"
                )
            )
        elif hashlib.sha256(body).hexdigest() != row.object_sha256:
            problems.append(
                AnchorFact(
                    row.seq,
                    row.hash,
                    row.anchored_at,
                    f"object {row.object_key}",
                    "the anchor object differs from the one its platform row recorded",
                )
            )
    return facts, problems


async def verify_anchored(
    db: Database,
    store: ObjectStore,
    principal: Principal,
    tenant_id: uuid.UUID,
    scope: TenantScope,
    *,
    anchor: str | None = None,
) -> ChainVerification:
    """Recompute the whole chain and check it against every anchor; readers of the audit trail only."""
    principal.require("audit:read")
    async with db.platform() as platform_db:
        rows = await platform_anchors(platform_db, tenant_id)
    facts, problems = await anchor_facts(rows, store, tenant_id)
    async with db.tenant(scope) as tenant_db:
        result = await verify_chain(tenant_db, anchor=anchor, anchors=facts)
    if result.ok and problems:
        first = min(problems, key=lambda p: p.seq)
        return ChainVerification(
            False,
            result.entries_checked,
            first.seq or None,
            f"anchor of entry {first.seq} anchored at {first.anchored_at.isoformat()} "
            f"in {first.where}: {first.problem}",
            None,
            result.anchors_checked,
        )
    return result
