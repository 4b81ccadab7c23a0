"""Append to and verify a tenant's hash-chained audit trail.

Each entry's hash covers its own fields and the previous entry's hash, so changing, removing or
reordering any entry breaks every later link. Appends are serialised per tenant with a
transaction-scoped advisory lock, so concurrent transactions cannot fork the chain.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy import ColumnElement, and_, false, func, or_, select, text, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase

from backend.audit.models import AuditEntry
from backend.db import tenant_scope_of, utcnow
from backend.identity.principal import Principal
from backend.references import KINDS, ReadLimit, bound_limits

GENESIS_HASH = "0" * 64


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return hashlib.sha256(bytes(value)).hexdigest()
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"cannot serialise {type(value).__name__} for the audit trail")


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=_json_default, ensure_ascii=False)


def digest(value: Any) -> str:
    """SHA-256 of the canonical JSON form of a value."""
    return hashlib.sha256(canonical_json(value).encode()).hexdigest()


def snapshot(obj: DeclarativeBase) -> dict[str, Any]:
    """Column values of a mapped object, as the audit trail digests them.

    Columns PostgreSQL generates from the others (ranges, hashes, quantities) are left out: they add
    nothing the stored values do not already say.
    """
    return {c.key: getattr(obj, c.key) for c in obj.__mapper__.column_attrs if c.columns[0].computed is None}


def entry_hash(entry: AuditEntry) -> str:
    occurred = entry.occurred_at.astimezone(UTC)
    body = {
        "seq": entry.seq,
        "occurred_at_us": int(occurred.timestamp()) * 1_000_000 + occurred.microsecond,
        "actor_type": entry.actor_type,
        "actor_id": entry.actor_id,
        "actor_label": entry.actor_label,
        "actor_tenant_id": str(entry.actor_tenant_id) if entry.actor_tenant_id else None,
        "action": entry.action,
        "entity_type": entry.entity_type,
        "entity_id": entry.entity_id,
        "before_digest": entry.before_digest,
        "after_digest": entry.after_digest,
        "details": entry.details,
        "note": entry.note,
        "prev_hash": entry.prev_hash,
    }
    return hashlib.sha256(canonical_json(body).encode()).hexdigest()


async def _lock_chain(db: AsyncSession) -> None:
    schema = tenant_scope_of(db).schema
    await db.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"), {"k": f"audit:{schema}"})


@dataclass(frozen=True, slots=True)
class NewEntry:
    """An entry to append, as ``record`` takes it (its place in the chain is found when it is written)."""

    actor: Principal
    action: str
    entity_type: str
    entity_id: object
    details: Mapping[str, Any] | None = None


async def record_many(db: AsyncSession, entries: Sequence[NewEntry]) -> list[AuditEntry]:
    """Append entries to the tenant's trail in the caller's transaction, in order: the chain is locked and
    its head read once, and the rows go in with one statement."""
    if not entries:
        return []
    await db.flush()
    await _lock_chain(db)
    last = (await db.execute(select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1))).first()
    seq, prev_hash = (last.seq, last.hash) if last else (0, GENESIS_HASH)
    written = []
    for new in entries:
        seq += 1
        entry = AuditEntry(
            seq=seq,
            occurred_at=utcnow(),
            actor_type=new.actor.kind,
            actor_id=new.actor.id,
            actor_label=new.actor.label,
            actor_tenant_id=new.actor.tenant_id,
            action=new.action,
            entity_type=new.entity_type,
            entity_id=str(new.entity_id),
            before_digest=None,
            after_digest=None,
            details=json.loads(canonical_json(dict(new.details or {}))),
            note=None,
            prev_hash=prev_hash,
        )
        entry.hash = prev_hash = entry_hash(entry)
        written.append(entry)
    db.add_all(written)
    await db.flush()
    return written


class AuditBatches:
    """Entries that record reads, appended to a tenant's trail in one transaction for all that are waiting
    (group commit), so that many readers of one organisation do not queue one by one on its chain lock.

    ``append`` returns once its entry is committed (or raises): a caller hands out what was read only
    after that, so no read goes unrecorded. While one transaction writes a tenant's entries, the entries
    that arrive wait for the next, which takes them all.
    """

    def __init__(self, db: Any) -> None:
        self._db = db
        self._waiting: dict[Any, list[tuple[NewEntry, asyncio.Future[None]]]] = {}
        self._writers: dict[Any, asyncio.Task[None]] = {}

    async def append(self, scope: Any, entry: NewEntry) -> None:
        """Append one entry to the trail of the tenant of ``scope`` (a ``TenantScope``), committed on return."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        self._waiting.setdefault(scope, []).append((entry, done))
        if scope not in self._writers:
            self._writers[scope] = loop.create_task(self._write(scope))
        # the entry is written even if this caller goes away meanwhile
        await asyncio.shield(done)

    async def _write(self, scope: Any) -> None:
        try:
            while batch := self._waiting.pop(scope, None):
                try:
                    async with self._db.tenant(scope) as db:
                        await record_many(db, [entry for entry, _ in batch])
                except BaseException as error:
                    for _, done in batch:
                        if not done.done():
                            done.set_exception(error)
                    if not isinstance(error, Exception):
                        raise
                else:
                    for _, done in batch:
                        if not done.done():
                            done.set_result(None)
        finally:
            del self._writers[scope]


async def record(
    db: AsyncSession,
    actor: Principal,
    action: str,
    entity_type: str,
    entity_id: object,
    *,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    details: Mapping[str, Any] | None = None,
    note: str | None = None,
) -> AuditEntry:
    """Append one entry to the tenant's trail in the caller's transaction."""
    await db.flush()
    await _lock_chain(db)
    last = (await db.execute(select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1))).first()
    entry = AuditEntry(
        seq=(last.seq + 1) if last else 1,
        occurred_at=utcnow(),
        actor_type=actor.kind,
        actor_id=actor.id,
        actor_label=actor.label,
        actor_tenant_id=actor.tenant_id,
        action=action,
        entity_type=entity_type,
        entity_id=str(entity_id),
        before_digest=digest(before) if before is not None else None,
        after_digest=digest(after) if after is not None else None,
        details=json.loads(canonical_json(dict(details or {}))),
        note=note,
        prev_hash=last.hash if last else GENESIS_HASH,
    )
    entry.hash = entry_hash(entry)
    db.add(entry)
    await db.flush()
    return entry


@dataclass(frozen=True, slots=True)
class ChainVerification:
    ok: bool
    entries_checked: int
    first_broken_seq: int | None
    reason: str | None
    head_hash: str | None
    anchors_checked: int = 0


@dataclass(frozen=True, slots=True)
class AnchorFact:
    """A chain head recorded outside the tenant's tables: entry ``seq`` had ``hash`` at ``anchored_at``."""

    seq: int
    hash: str
    anchored_at: datetime
    where: str
    problem: str | None = None


def _contradiction(fact: AnchorFact, found: str) -> str:
    return (
        f"entry {fact.seq} contradicts its anchor: expected hash {fact.hash} (anchored at "
        f"{fact.anchored_at.isoformat()} in {fact.where}), found {found}"
    )


async def verify_chain(
    db: AsyncSession, *, anchor: str | None = None, anchors: Sequence[AnchorFact] = (), batch: int = 5000
) -> ChainVerification:
    """Recompute every entry's hash in order and name the first entry that does not match.

    ``anchor`` is a head hash recorded earlier outside cbamx: the chain must still contain it, so
    entries cut off the end (which leave a shorter, still consistent chain) are detected too.
    ``anchors`` are the heads cbamx anchored itself (``backend.audit.anchors``): each is checked on
    its own, so a chain rewritten with every later hash recomputed fails at the first anchored
    entry it contradicts.
    """
    by_seq: dict[int, list[AnchorFact]] = {}
    for fact in anchors:
        by_seq.setdefault(fact.seq, []).append(fact)
    anchor_seen = anchor is None
    expected_prev = GENESIS_HASH
    expected_seq = 1
    checked = 0
    anchors_checked = 0
    result = await db.stream_scalars(select(AuditEntry).order_by(AuditEntry.seq).execution_options(yield_per=batch))
    async for entry in result:
        if entry.seq != expected_seq:
            return ChainVerification(
                False, checked, expected_seq, f"entry {expected_seq} is missing", None, anchors_checked
            )
        if entry.prev_hash != expected_prev:
            return ChainVerification(
                False,
                checked,
                entry.seq,
                "its previous-hash link does not match the entry before it",
                None,
                anchors_checked,
            )
        if entry_hash(entry) != entry.hash:
            return ChainVerification(
                False, checked, entry.seq, "its content does not match its hash", None, anchors_checked
            )
        for fact in by_seq.pop(entry.seq, ()):
            anchors_checked += 1
            if fact.hash != entry.hash:
                return ChainVerification(
                    False, checked, entry.seq, _contradiction(fact, entry.hash), None, anchors_checked
                )
        expected_prev = entry.hash
        expected_seq += 1
        checked += 1
        anchor_seen = anchor_seen or entry.hash == anchor
    head = expected_prev if checked else None
    if by_seq:
        fact = by_seq[min(by_seq)][0]
        return ChainVerification(
            False,
            checked,
            fact.seq,
            f"entry {fact.seq} is missing: it was anchored at {fact.anchored_at.isoformat()} in {fact.where} "
            f"with hash {fact.hash}, and the chain ends at entry {checked}",
            None,
            anchors_checked + sum(len(v) for v in by_seq.values()),
        )
    if not anchor_seen:
        return ChainVerification(
            False,
            checked,
            expected_seq,
            "the anchored entry is not in the chain: entries were removed from its end",
            head,
            anchors_checked,
        )
    return ChainVerification(True, checked, None, None, head, anchors_checked)


def limits_condition(limits: Sequence[ReadLimit]) -> ColumnElement[bool]:
    """Entries any of the limits allows: about a record of an allowed installation, in the period.

    Which records concern an installation comes from the reference kinds (``backend.references``);
    entries about anything else (people, clients, grants) concern no installation.
    """
    parts: list[ColumnElement[bool]] = []
    for limit in limits:
        conditions: list[ColumnElement[bool]] = []
        if limit.installation_ids is not None:
            conditions.append(
                or_(
                    *[
                        and_(
                            AuditEntry.entity_type == kind.name,
                            AuditEntry.entity_id.in_(kind.ids_in(limit.installation_ids)),
                        )
                        for kind in KINDS.values()
                    ]
                )
            )
        if limit.start is not None:
            conditions.append(AuditEntry.occurred_at >= limit.start)
        if limit.end is not None:
            conditions.append(AuditEntry.occurred_at < limit.end)
        parts.append(and_(*conditions) if conditions else true())
    return or_(*parts) if parts else false()


async def list_entries(
    db: AsyncSession,
    principal: Principal,
    *,
    before_seq: int | None = None,
    limit: int = 50,
    limits: Sequence[ReadLimit] | None = None,
) -> list[AuditEntry]:
    """Entries newest first, before ``before_seq``; readers of the audit trail only.

    ``limits`` (a grant's) or the installation a client is bound to keep only the entries about it.
    """
    principal.require("audit:read")
    query = select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(limit)
    if before_seq is not None:
        query = query.where(AuditEntry.seq < before_seq)
    effective = limits if limits is not None else bound_limits(principal)
    if effective is not None:
        query = query.where(limits_condition(effective))
    return list((await db.execute(query)).scalars())


async def count_entries(db: AsyncSession) -> int:
    return int((await db.execute(select(func.count()).select_from(AuditEntry))).scalar_one())


async def record_in_platform_transaction(
    platform_db: AsyncSession,
    scope: Any,
    actor: Principal,
    action: str,
    entity_type: str,
    entity_id: object,
    **kwargs: Any,
) -> AuditEntry:
    """Append to a tenant's trail inside a platform transaction (e.g. a grant or client change).

    The platform change and its audit entry commit or roll back together.
    """
    from backend.db import tenant_within_platform

    async with tenant_within_platform(platform_db, scope) as session:
        return await record(session, actor, action, entity_type, entity_id, **kwargs)
