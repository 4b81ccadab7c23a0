"""Audit anchors: chain heads kept outside the tenant's tables catch a rewrite by the database owner."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from backend.audit.anchors import AnchorRefused, anchor_key, anchor_tenant, verify_anchored
from backend.audit.models import AuditEntry
from backend.audit.service import entry_hash, record, verify_chain
from backend.identity.principal import Principal
from tests.factories.superuser import superuser_execute, superuser_fetch
from tests.factories.tenants import login, make_tenant
from tests.operations import operation
from workers.jobs.maintenance import anchor_audit_chains

COLUMNS = (
    "seq, occurred_at, actor_type, actor_id, actor_label, actor_tenant_id, action, entity_type, entity_id, "
    "before_digest, after_digest, details, prev_hash, hash, note"
)


async def _append(services, owner, count: int) -> None:
    async with services.db.tenant(owner.tenant.scope()) as db:
        for index in range(count):
            await record(db, owner.principal, "test.change", "thing", index, details={"n": index})


async def _anchor(services, owner):
    return await anchor_tenant(services.db, services.store, owner.id, owner.tenant.scope())


async def _verify(services, owner):
    return await verify_anchored(
        services.db, services.store, Principal.system("tests", owner.id), owner.id, owner.tenant.scope()
    )


async def _rewrite_from(owner, seq: int) -> dict[int, tuple[str, str]]:
    """As the owner: change entry ``seq`` and recompute its hash and every later one, so the chain
    links up again. Returns seq -> (old hash, new hash)."""
    import json

    schema = owner.tenant.schema
    rows = await superuser_fetch(f'SELECT {COLUMNS} FROM "{schema}".audit_entries WHERE seq >= $1 ORDER BY seq', seq)
    changed: dict[int, tuple[str, str]] = {}
    prev: str | None = None
    for row in rows:
        values = dict(row)
        values["details"] = json.loads(values["details"]) if isinstance(values["details"], str) else values["details"]
        entry = AuditEntry(**values)
        if entry.seq == seq:
            entry.actor_label = "someone-else@example.com"
        else:
            entry.prev_hash = prev  # type: ignore[assignment]
        new_hash = entry_hash(entry)
        changed[entry.seq] = (row["hash"], new_hash)
        prev = new_hash
    for s, (_, new_hash) in changed.items():
        await superuser_execute(
            f'UPDATE "{schema}".audit_entries SET hash = $2, prev_hash = COALESCE($3, prev_hash), '
            "actor_label = CASE WHEN seq = $4 THEN $5 ELSE actor_label END WHERE seq = $1",
            s,
            new_hash,
            changed[s - 1][1] if s - 1 in changed else None,
            seq,
            "someone-else@example.com",
        )
    return changed


async def _cli(*args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "cbamx"),
        *args,
        env=dict(os.environ),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_an_owner_level_rewrite_with_recomputed_hashes_is_detected_through_the_anchors(services, http):
    # given: a chain anchored twice, with entries after each anchor
    owner = await make_tenant(services)
    await _append(services, owner, 3)
    first = await _anchor(services, owner)
    await _append(services, owner, 3)
    second = await _anchor(services, owner)
    await _append(services, owner, 2)
    assert first is not None and second is not None and first.seq < second.seq
    assert (await _verify(services, owner)).ok
    # when: the owner rewrites an entry before the first anchor and recomputes every later hash
    changed = await _rewrite_from(owner, first.seq - 2)
    # then: the chain on its own looks intact...
    async with services.db.tenant(owner.tenant.scope()) as db:
        assert (await verify_chain(db)).ok
    # ...but it contradicts the first anchor, which the service, GraphQL and the CLI name
    result = await _verify(services, owner)
    old_hash, new_hash = changed[first.seq]
    assert not result.ok
    assert result.first_broken_seq == first.seq
    assert f"entry {first.seq} contradicts its anchor" in result.reason
    assert f"expected hash {old_hash}" in result.reason and f"found {new_hash}" in result.reason
    assert first.anchored_at.isoformat() in result.reason
    assert "platform.audit_anchors" in result.reason or "object audit-anchors/" in result.reason
    session = await login(http, owner.email)
    gql = (await session.gql(operation("AuditVerification")))["data"]["auditVerification"]
    assert gql["ok"] is False and gql["firstBrokenSeq"] == first.seq and gql["anchorsChecked"] >= 1
    assert old_hash in gql["reason"]
    code, out, err = await _cli("audit", "verify", "--tenant", owner.tenant.slug)
    assert code == 1, out + err
    assert f"BROKEN at entry {first.seq}: entry {first.seq} contradicts its anchor" in err
    assert old_hash in err and new_hash in err


async def test_the_object_store_anchors_catch_a_rewrite_when_the_platform_anchors_are_deleted_too(services):
    # given
    owner = await make_tenant(services)
    await _append(services, owner, 2)
    anchored = await _anchor(services, owner)
    assert anchored is not None
    # when: the owner also removes the platform's anchor rows
    await _rewrite_from(owner, 2)
    await superuser_execute("DELETE FROM platform.audit_anchors WHERE tenant_id = $1", owner.id)
    # then: the write-once object still contradicts the chain
    result = await _verify(services, owner)
    assert not result.ok and result.first_broken_seq == anchored.seq
    assert f"object {anchor_key(owner.id, anchored.seq)}" in result.reason
    assert result.anchors_checked == 1


async def test_a_missing_or_changed_anchor_object_is_reported(services):
    # given
    owner = await make_tenant(services)
    await _append(services, owner, 1)
    anchored = await _anchor(services, owner)
    assert anchored is not None and (await _verify(services, owner)).ok
    # when: the platform row points at an object whose recorded digest no longer matches
    await superuser_execute("UPDATE platform.audit_anchors SET object_sha256 = $2 WHERE id = $1", anchored.id, "0" * 64)
    # then
    result = await _verify(services, owner)
    assert not result.ok and result.first_broken_seq == anchored.seq
    assert "differs from the one its platform row recorded" in result.reason


async def test_entries_cut_off_after_an_anchor_are_named(services):
    # given
    owner = await make_tenant(services)
    await _append(services, owner, 3)
    anchored = await _anchor(services, owner)
    assert anchored is not None
    # when
    await superuser_execute(f'DELETE FROM "{owner.tenant.schema}".audit_entries WHERE seq >= $1', anchored.seq - 1)
    # then
    result = await _verify(services, owner)
    assert not result.ok and result.first_broken_seq == anchored.seq
    assert f"entry {anchored.seq} is missing: it was anchored at" in result.reason


async def test_anchors_are_written_once_and_only_when_the_chain_grew(services):
    # given
    owner = await make_tenant(services)
    await _append(services, owner, 1)
    # when
    first = await _anchor(services, owner)
    again = await _anchor(services, owner)
    # then
    assert first is not None and again is None
    body = await services.store.get(first.object_key)
    assert f'"hash":"{first.hash}"'.encode() in body and f'"seq":{first.seq}'.encode() in body
    rows = await superuser_fetch("SELECT seq, hash FROM platform.audit_anchors WHERE tenant_id = $1", owner.id)
    assert [(r["seq"], r["hash"]) for r in rows] == [(first.seq, first.hash)]
    # and on S3 the object is under COMPLIANCE lock: not even the bucket's owner may remove it
    import boto3
    from botocore.exceptions import ClientError

    s3 = boto3.client("s3", endpoint_url=os.environ["CBAMX_S3_ENDPOINT_URL"], region_name=services.settings.s3_region)
    bucket = services.settings.s3_bucket
    head = s3.head_object(Bucket=bucket, Key=first.object_key)
    assert head["ObjectLockMode"] == "COMPLIANCE"
    with pytest.raises(ClientError, match="AccessDenied"):
        s3.delete_object(Bucket=bucket, Key=first.object_key, VersionId=head["VersionId"])


async def test_anchoring_refuses_a_chain_that_no_longer_extends_its_last_anchor(services):
    # given
    owner = await make_tenant(services)
    await _append(services, owner, 2)
    assert await _anchor(services, owner) is not None
    await _append(services, owner, 1)
    # when
    await _rewrite_from(owner, 2)
    # then: no new anchor blesses the rewritten chain
    with pytest.raises(AnchorRefused, match="no longer has the hash anchored at"):
        await _anchor(services, owner)
    code, out, err = await _cli("audit", "anchor", "--tenant", owner.tenant.slug)
    assert code == 1 and f"{owner.tenant.slug}: FAILED" in err, out + err


async def test_the_periodic_anchor_job_anchors_every_tenant_and_survives_a_failing_one(services):
    # given: one good tenant and one whose chain was rewritten since its last anchor
    good = await make_tenant(services)
    bad = await make_tenant(services)
    await _append(services, bad, 2)
    assert await _anchor(services, bad) is not None
    await _rewrite_from(bad, 1)
    # when
    result = await anchor_audit_chains({"services": services})
    # then
    assert bad.tenant.slug in result["failed"]
    rows = await superuser_fetch("SELECT seq FROM platform.audit_anchors WHERE tenant_id = $1", good.id)
    assert len(rows) == 1
    code, out, err = await _cli("audit", "verify", "--tenant", good.tenant.slug)
    assert code == 0 and "against 2 anchors" in out, out + err
