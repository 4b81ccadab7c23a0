"""The audit trail: one entry per change in the change's transaction, append-only, tamper-evident."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from backend.audit.models import AuditEntry
from backend.audit.service import count_entries, record, verify_chain
from backend.identity.models import MembershipRole
from backend.installations.models import Installation
from backend.installations.schemas import InstallationData
from backend.installations.service import create_installation
from tests.factories.superuser import superuser_execute
from tests.factories.tenants import add_person, login, make_tenant
from tests.operations import operation

ROOT = Path(__file__).resolve().parents[2]

CREATE_INSTALLATION = """
mutation($input: InstallationInput!) {
  createInstallation(input: $input) { installation { id name } errors { code field message } }
}
"""
VERIFY = "{ auditVerification { ok entriesChecked firstBrokenSeq reason headHash } }"


async def _entries(services, owner) -> list[AuditEntry]:
    async with services.db.tenant(owner.tenant.scope()) as db:
        return list((await db.execute(select(AuditEntry).order_by(AuditEntry.seq))).scalars())


async def _verify(services, owner):
    async with services.db.tenant(owner.tenant.scope()) as db:
        return await verify_chain(db)


async def _cli_verify(slug: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "cbamx"),
        "audit",
        "verify",
        "--tenant",
        slug,
        cwd=ROOT,
        env=dict(os.environ),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


# --- one entry per change, in the same transaction ---------------------------------------------------


async def test_creating_an_installation_appends_exactly_one_entry(services, http):
    # given
    owner = await make_tenant(services)
    session = await login(http, owner.email)
    before = await _entries(services, owner)
    # when
    result = await session.gql(CREATE_INSTALLATION, {"input": {"name": "Press hall", "country": "RS"}})
    # then
    assert result["data"]["createInstallation"]["errors"] == []
    after = await _entries(services, owner)
    added = after[len(before) :]
    assert [e.action for e in added] == ["installation.created"]
    entry = added[0]
    assert entry.seq == len(before) + 1
    assert entry.prev_hash == before[-1].hash
    assert entry.actor_type == "user" and entry.actor_label == owner.email
    assert entry.entity_type == "installation"
    assert result["data"]["createInstallation"]["installation"]["id"]
    async with services.db.tenant(owner.tenant.scope()) as db:
        installation_id = (await db.execute(select(Installation.id))).scalar_one()
    assert entry.entity_id == str(installation_id)
    assert entry.after_digest and entry.before_digest is None


async def test_the_new_entry_is_visible_in_the_audit_trail_query_newest_first(services, http):
    # given
    owner = await make_tenant(services)
    session = await login(http, owner.email)
    await session.gql(CREATE_INSTALLATION, {"input": {"name": "Cast house", "country": "RS"}})
    # when
    result = await session.gql("{ auditTrail(first: 2) { nodes { seq action actorLabel } } }")
    # then
    nodes = result["data"]["auditTrail"]["nodes"]
    assert [n["action"] for n in nodes] == ["installation.created", "membership.added"]
    assert nodes[0]["seq"] == nodes[1]["seq"] + 1


async def test_invalid_mutation_appends_nothing(services, http):
    # given
    owner = await make_tenant(services)
    session = await login(http, owner.email)
    before = await _entries(services, owner)
    # when
    result = await session.gql(CREATE_INSTALLATION, {"input": {"name": "Press hall", "country": "Serbia"}})
    # then
    assert result["data"]["createInstallation"]["installation"] is None
    assert [e["field"] for e in result["data"]["createInstallation"]["errors"]] == ["country"]
    assert len(await _entries(services, owner)) == len(before)


async def test_refused_mutation_appends_nothing(services, http):
    # given: a viewer may not add installations
    owner = await make_tenant(services)
    email, _ = await add_person(services, owner, MembershipRole.VIEWER)
    session = await login(http, email)
    before = await _entries(services, owner)
    # when
    result = await session.gql(CREATE_INSTALLATION, {"input": {"name": "Press hall", "country": "RS"}})
    # then
    assert result["data"]["createInstallation"]["errors"][0]["code"] == "PERMISSION_DENIED"
    assert len(await _entries(services, owner)) == len(before)


async def test_a_change_rolled_back_takes_its_entry_with_it(services):
    # given
    owner = await make_tenant(services)
    before = len(await _entries(services, owner))
    # when: the unit of work fails after the change and its entry were written
    with pytest.raises(RuntimeError, match="after the change"):
        async with services.db.tenant(owner.tenant.scope()) as db:
            await create_installation(db, owner.principal, InstallationData(name="Ghost", country="RS"))
            assert await count_entries(db) == before + 1
            raise RuntimeError("fails after the change")
    # then: neither the row nor its entry is there
    async with services.db.tenant(owner.tenant.scope()) as db:
        assert (await db.execute(select(func.count()).select_from(Installation))).scalar_one() == 0
        assert await count_entries(db) == before


async def test_the_chain_of_a_busy_tenant_verifies(services, http):
    # given
    owner = await make_tenant(services)
    session = await login(http, owner.email)
    for index in range(5):
        await session.gql(CREATE_INSTALLATION, {"input": {"name": f"Plant {index}", "country": "RS"}})
    # when
    result = await _verify(services, owner)
    gql = (await session.gql(VERIFY))["data"]["auditVerification"]
    # then
    entries = await _entries(services, owner)
    assert result.ok and result.first_broken_seq is None and result.reason is None
    assert result.entries_checked == len(entries) == 7
    assert result.head_hash == entries[-1].hash
    assert gql == {
        "ok": True,
        "entriesChecked": 7,
        "firstBrokenSeq": None,
        "reason": None,
        "headHash": entries[-1].hash,
    }


# --- append-only for the application -----------------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE {schema}.audit_entries SET action = 'x' WHERE seq = 1",
        "DELETE FROM {schema}.audit_entries WHERE seq = 1",
        "TRUNCATE {schema}.audit_entries",
    ],
)
async def test_application_role_cannot_change_or_remove_entries(services, statement):
    # given
    owner = await make_tenant(services)
    schema = f'"{owner.tenant.schema}"'
    # when / then
    with pytest.raises(DBAPIError, match="permission denied"):
        async with services.db.tenant(owner.tenant.scope()) as db:
            await db.execute(text(statement.format(schema=schema)))
    result = await _verify(services, owner)
    assert result.ok and result.entries_checked == 2


async def test_application_role_can_append_and_read(services):
    # given
    owner = await make_tenant(services)
    # when
    async with services.db.tenant(owner.tenant.scope()) as db:
        entry = await record(db, owner.principal, "test.appended", "thing", "1")
    # then
    entries = await _entries(services, owner)
    assert entries[-1].seq == entry.seq == 3
    assert entries[-1].action == "test.appended"


# --- tampering behind the application's back ---------------------------------------------------------


async def test_changed_entry_is_named_by_service_graphql_and_cli(services, http):
    # given: two tenants with a few entries; one entry of the second is edited directly in the database
    intact = await make_tenant(services)
    owner = await make_tenant(services)
    session = await login(http, owner.email)
    await session.gql(CREATE_INSTALLATION, {"input": {"name": "Press hall", "country": "RS"}})
    assert (await _verify(services, owner)).ok
    status = await superuser_execute(f"UPDATE \"{owner.tenant.schema}\".audit_entries SET action = 'x' WHERE seq = 2")
    assert status == "UPDATE 1"
    # when
    result = await _verify(services, owner)
    gql = (await session.gql(VERIFY))["data"]["auditVerification"]
    (code, out, err), (intact_code, intact_out, _) = await asyncio.gather(
        _cli_verify(owner.tenant.slug), _cli_verify(intact.tenant.slug)
    )
    # then
    assert not result.ok
    assert result.first_broken_seq == 2
    assert result.entries_checked == 1
    assert result.reason == "its content does not match its hash"
    assert gql["ok"] is False and gql["firstBrokenSeq"] == 2 and gql["headHash"] is None
    assert "does not match" in gql["reason"]
    assert code == 1, out + err
    assert "BROKEN at entry 2" in err
    assert "1 entries verified before it" in err
    # the command passes an intact chain
    assert intact_code == 0, intact_out
    assert "ok: 2 entries verified" in intact_out


async def test_deleted_entry_in_the_middle_is_detected(services, http):
    # given
    owner = await make_tenant(services)
    session = await login(http, owner.email)
    for name in ("A", "B"):
        await session.gql(CREATE_INSTALLATION, {"input": {"name": name, "country": "RS"}})
    # when
    await superuser_execute(f'DELETE FROM "{owner.tenant.schema}".audit_entries WHERE seq = 3')
    # then
    result = await _verify(services, owner)
    assert not result.ok
    assert result.first_broken_seq == 3
    assert result.reason == "entry 3 is missing"
    gql = (await session.gql(VERIFY))["data"]["auditVerification"]
    assert gql["ok"] is False and gql["firstBrokenSeq"] == 3 and gql["reason"] == "entry 3 is missing"


async def test_deleted_entry_renumbered_over_is_detected_at_the_link(services, http):
    # given: an attacker removes entry 2 and closes the gap by renumbering the later entries
    owner = await make_tenant(services)
    session = await login(http, owner.email)
    await session.gql(CREATE_INSTALLATION, {"input": {"name": "A", "country": "RS"}})
    schema = owner.tenant.schema
    # when
    await superuser_execute(f'DELETE FROM "{schema}".audit_entries WHERE seq = 2')
    await superuser_execute(f'UPDATE "{schema}".audit_entries SET seq = seq - 1 WHERE seq > 2')
    # then
    result = await _verify(services, owner)
    assert not result.ok
    assert result.first_broken_seq == 2


async def test_rewritten_entry_with_a_recomputed_hash_breaks_the_next_link(services, http):
    # given: an attacker who edits entry 2 and recomputes its own hash
    from backend.audit.service import entry_hash

    owner = await make_tenant(services)
    session = await login(http, owner.email)
    await session.gql(CREATE_INSTALLATION, {"input": {"name": "A", "country": "RS"}})
    entries = await _entries(services, owner)
    forged = entries[1]
    forged.actor_label = "someone-else@example.com"
    new_hash = entry_hash(forged)
    # when
    await superuser_execute(
        f'UPDATE "{owner.tenant.schema}".audit_entries SET actor_label = $1, hash = $2 WHERE seq = 2',
        forged.actor_label,
        new_hash,
    )
    # then: entry 2 is self-consistent now, so the break shows at entry 3
    result = await _verify(services, owner)
    assert not result.ok
    assert result.first_broken_seq == 3
    assert result.reason == "its previous-hash link does not match the entry before it"


# --- concurrency ---------------------------------------------------------------------------------


async def test_concurrent_appends_do_not_fork_the_chain(services):
    # given
    owner = await make_tenant(services)
    scope = owner.tenant.scope()
    started = asyncio.Event()

    async def unit_of_work(name: str, count: int) -> list[int]:
        seqs: list[int] = []
        async with services.db.tenant(scope) as db:
            for index in range(count):
                entry = await record(db, owner.principal, f"test.{name}", "thing", index)
                seqs.append(entry.seq)
                started.set()
                await asyncio.sleep(0.01)  # keep the transaction open while the other one tries
        return seqs

    async def second() -> list[int]:
        await started.wait()
        return await unit_of_work("second", 5)

    # when
    first_seqs, second_seqs = await asyncio.gather(unit_of_work("first", 5), second())
    # then: the later transaction waited and continued the chain after the earlier one's entries
    assert first_seqs == [3, 4, 5, 6, 7]
    assert second_seqs == [8, 9, 10, 11, 12]
    result = await _verify(services, owner)
    assert result.ok and result.entries_checked == 12
    entries = await _entries(services, owner)
    assert len({e.prev_hash for e in entries}) == len(entries)


async def test_many_concurrent_units_of_work_keep_one_chain(services):
    # given
    owner = await make_tenant(services)
    scope = owner.tenant.scope()

    async def unit_of_work(index: int) -> None:
        async with services.db.tenant(scope) as db:
            await record(db, owner.principal, "test.concurrent", "thing", index)
            await record(db, owner.principal, "test.concurrent", "thing", index)

    # when
    await asyncio.gather(*(unit_of_work(i) for i in range(6)))
    # then
    entries = await _entries(services, owner)
    assert [e.seq for e in entries] == list(range(1, 15))
    # each transaction's two entries are adjacent: appends are serialised per transaction
    pairs = [(entries[i].entity_id, entries[i + 1].entity_id) for i in range(2, 14, 2)]
    assert all(a == b for a, b in pairs)
    assert (await _verify(services, owner)).ok


async def test_entries_cut_off_the_end_are_caught_against_an_anchored_head(services, http):
    # given: an owner records the head hash outside cbamx after two changes
    owner = await make_tenant(services)
    session = await login(http, owner.email)
    for name in ("A", "B"):
        await session.gql(CREATE_INSTALLATION, {"input": {"name": name, "country": "RS"}})
    anchored = (await _verify(services, owner)).head_hash
    await session.gql(CREATE_INSTALLATION, {"input": {"name": "C", "country": "RS"}})
    assert (await session.gql(operation("AuditVerification"), {"anchor": anchored}))["data"]["auditVerification"]["ok"]
    # when: the last two entries are removed behind the application's back; the rest still links up
    await superuser_execute(f'DELETE FROM "{owner.tenant.schema}".audit_entries WHERE seq >= 4')
    assert (await _verify(services, owner)).ok  # without an anchor a shortened chain looks intact
    # then: against the anchor it fails, in GraphQL and on the command line
    gql = (await session.gql(operation("AuditVerification"), {"anchor": anchored}))["data"]["auditVerification"]
    assert gql["ok"] is False and "removed from its end" in gql["reason"]
    cli = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "cbamx"),
        "audit",
        "verify",
        "--tenant",
        owner.tenant.slug,
        "--anchor",
        anchored,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=os.environ.copy(),
    )
    _, err = await cli.communicate()
    assert cli.returncode == 1 and b"removed from its end" in err
