"""Events: emitted in the source's unit of work, read by their recipient alone."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text

from backend.errors import ValidationFailed
from backend.feeds import FOOTPRINT_PUBLISHED, FOOTPRINT_SUPERSEDED, REQUEST_CREATED, emit
from backend.outbox import OutboxJob
from tenancy.migrate import upgrade_tenants
from tests.factories.feeds import client_pk, emit_event
from tests.factories.owner import owner_db
from tests.factories.superuser import superuser_execute
from tests.factories.tenants import Bearer, client_token, login, make_client, make_tenant
from tests.integration.feeds.conftest import with_settings
from tests.operations import operation


def gid(type_name: str, value: object) -> str:
    return base64.b64encode(f"{type_name}:{value}".encode()).decode()


def nodes(body: dict) -> list[dict]:
    assert not body.get("errors"), body
    return [edge["node"] for edge in body["data"]["feedEvents"]["edges"]]


async def test_the_recipient_reads_its_events_and_no_other_organisation_does(services, http):
    # given: A emits two events to B and one to C
    a, b, c = [await make_tenant(services) for _ in range(3)]
    first = await emit_event(services, a, b, subject="footprint/1", data={"footprintId": "1", "version": 2})
    second = await emit_event(services, a, b, type=FOOTPRINT_SUPERSEDED, subject="footprint/1")
    to_c = await emit_event(services, a, c)
    # when
    seen_by_b = nodes(await (await login(http, b.email)).gql(operation("FeedEvents")))
    seen_by_c = nodes(await (await login(http, c.email)).gql(operation("FeedEvents")))
    seen_by_a = nodes(await (await login(http, a.email)).gql(operation("FeedEvents")))
    # then: each recipient sees its own events in the order emitted, the source sees none
    assert [n["eventId"] for n in seen_by_b] == [str(first), str(second)]
    assert seen_by_b[0] == {
        "id": gid("FeedEvent", first),
        "eventId": str(first),
        "type": FOOTPRINT_PUBLISHED,
        "subject": "footprint/1",
        "sourceOrganizationId": gid("Organization", a.id),
        "occurredAt": seen_by_b[0]["occurredAt"],
        "data": {"footprintId": "1", "version": 2},
    }
    assert seen_by_b[1]["type"] == FOOTPRINT_SUPERSEDED
    assert [n["eventId"] for n in seen_by_c] == [str(to_c)]
    assert seen_by_a == []


async def test_the_feed_pages_with_its_cursor_and_filters_by_type_and_time(services, http):
    # given
    a, b = await make_tenant(services), await make_tenant(services)
    ids = [await emit_event(services, a, b) for _ in range(3)]
    request = await emit_event(services, a, b, type=REQUEST_CREATED)
    session = await login(http, b.email)
    # when: two at a time
    page1 = await session.gql(operation("FeedEvents"), {"first": 2})
    after = page1["data"]["feedEvents"]["pageInfo"]["endCursor"]
    page2 = await session.gql(operation("FeedEvents"), {"first": 2, "after": after})
    # then
    assert [n["eventId"] for n in nodes(page1)] == [str(ids[0]), str(ids[1])]
    assert page1["data"]["feedEvents"]["pageInfo"]["hasNextPage"] is True
    assert [n["eventId"] for n in nodes(page2)] == [str(ids[2]), str(request)]
    assert page2["data"]["feedEvents"]["pageInfo"]["hasNextPage"] is False
    # and by type, and by time
    requests = await session.gql(operation("FeedEvents"), {"filter": {"types": [REQUEST_CREATED]}})
    assert [n["eventId"] for n in nodes(requests)] == [str(request)]
    future = (datetime.now(UTC) + timedelta(minutes=5)).isoformat()
    assert nodes(await session.gql(operation("FeedEvents"), {"filter": {"since": future}})) == []
    assert len(nodes(await session.gql(operation("FeedEvents"), {"filter": {"until": future}}))) == 4


async def test_an_event_is_rolled_back_with_the_change_that_caused_it(services, http):
    # given
    a, b = await make_tenant(services), await make_tenant(services)
    # when: the source's unit of work fails after emitting
    with pytest.raises(RuntimeError):
        async with services.db.tenant(a.tenant.scope()) as db:
            await emit(
                db,
                type=FOOTPRINT_PUBLISHED,
                source_tenant_id=a.id,
                recipient_tenant_id=b.id,
                subject="footprint/x",
                data={},
            )
            raise RuntimeError("the change failed")
    # then: no event, and no fan-out job
    assert nodes(await (await login(http, b.email)).gql(operation("FeedEvents"))) == []
    async with services.db.tenant(a.tenant.scope()) as db:
        assert await db.scalar(select(func.count()).select_from(OutboxJob)) == 0


async def test_an_event_for_one_machine_client_reaches_that_client_and_the_people_only(services, http):
    # given: B has two clients that may read the feed
    a, b = await make_tenant(services), await make_tenant(services)
    one = await make_client(services, b, ["feeds:read"])
    other = await make_client(services, b, ["feeds:read"])
    for_one = await emit_event(services, a, b, client_pk=await client_pk(services, one[0]))
    for_all = await emit_event(services, a, b)
    # when
    seen_by_one = nodes(await Bearer(http, await client_token(http, *one)).gql(operation("FeedEvents")))
    seen_by_other = nodes(await Bearer(http, await client_token(http, *other)).gql(operation("FeedEvents")))
    seen_by_owner = nodes(await (await login(http, b.email)).gql(operation("FeedEvents")))
    # then
    assert [n["eventId"] for n in seen_by_one] == [str(for_one), str(for_all)]
    assert [n["eventId"] for n in seen_by_other] == [str(for_all)]
    assert [n["eventId"] for n in seen_by_owner] == [str(for_one), str(for_all)]


async def test_a_client_without_the_feed_scope_is_refused(services, http):
    a, b = await make_tenant(services), await make_tenant(services)
    await emit_event(services, a, b)
    client = await make_client(services, b, ["site:read"])
    body = await Bearer(http, await client_token(http, *client)).gql(operation("FeedEvents"))
    assert body["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED"


async def test_a_tenant_role_can_neither_read_the_event_log_nor_pass_an_event_off_as_another_source(services, http):
    # given
    a, b, c = [await make_tenant(services) for _ in range(3)]
    await emit_event(services, c, b)
    # when: A reads the log in its own unit of work
    with pytest.raises(Exception, match="permission denied"):
        async with services.db.tenant(a.tenant.scope()) as db:
            await db.execute(text("SELECT count(*) FROM feeds.events"))
    # and A writes a row naming C as its source, past emit
    forged = uuid.uuid4()
    async with services.db.tenant(a.tenant.scope()) as db:
        await db.execute(
            text(
                "INSERT INTO feeds.events (id, type, source_tenant_id, recipient_tenant_id, subject, data, "
                "occurred_at) VALUES (:id, :type, :source, :recipient, 'footprint/forged', '{}', now())"
            ),
            {"id": forged, "type": FOOTPRINT_PUBLISHED, "source": c.id, "recipient": b.id},
        )
    # and A tries to set the writing role itself
    with pytest.raises(Exception, match="permission denied"):
        async with services.db.tenant(a.tenant.scope()) as db:
            await db.execute(
                text(
                    "INSERT INTO feeds.events (id, type, source_tenant_id, recipient_tenant_id, subject, data, "
                    "occurred_at, source_role) VALUES (:id, 'x', :c, :b, 's', '{}', now(), :role)"
                ),
                {"id": uuid.uuid4(), "c": c.id, "b": b.id, "role": c.tenant.scope().role},
            )
    # then: B sees C's real event only
    seen = nodes(await (await login(http, b.email)).gql(operation("FeedEvents")))
    assert [n["subject"] for n in seen if n["eventId"] == str(forged)] == []
    assert len(seen) == 1
    # and emit refuses a source other than the unit of work's organisation
    with pytest.raises(ValidationFailed) as refused:
        async with services.db.tenant(a.tenant.scope()) as db:
            await emit(
                db, type=FOOTPRINT_PUBLISHED, source_tenant_id=c.id, recipient_tenant_id=b.id, subject="s", data={}
            )
    assert [e.field for e in refused.value.errors] == ["sourceTenantId"]


async def test_events_are_never_changed_or_removed_by_the_runtime(services):
    a, b = await make_tenant(services), await make_tenant(services)
    event_id = await emit_event(services, a, b)
    with pytest.raises(Exception, match="permission denied"):
        async with services.db.platform() as db:
            await db.execute(text("UPDATE feeds.events SET subject = 'x' WHERE id = :id"), {"id": event_id})


async def test_emit_refuses_bad_input_naming_each_field_and_stores_nothing(services, http):
    a, b = await make_tenant(services), await make_tenant(services)
    with pytest.raises(ValidationFailed) as refused:
        async with services.db.tenant(a.tenant.scope()) as db:
            await emit(
                db,
                type="cbamx.footprint.eaten",
                source_tenant_id=a.id,
                recipient_tenant_id=b.id,
                subject="",
                data={"when": datetime.now(UTC)},
            )
    assert [e.field for e in refused.value.errors] == ["type.0", "subject", "data"]
    assert "cbamx.footprint.published" in refused.value.errors[0].message
    assert nodes(await (await login(http, b.email)).gql(operation("FeedEvents"))) == []


async def test_emit_needs_a_tenant_unit_of_work(services):
    b = await make_tenant(services)
    with pytest.raises(RuntimeError, match="not a tenant session"):
        async with services.db.platform() as db:
            await emit(
                db, type=FOOTPRINT_PUBLISHED, source_tenant_id=b.id, recipient_tenant_id=b.id, subject="s", data={}
            )


@pytest.mark.parametrize(
    ("variables", "field"),
    [
        ({"filter": {"types": ["cbamx.nothing"]}}, "filter.types.0"),
        ({"filter": {"since": "2026-12-02T00:00:00Z", "until": "2026-12-01T00:00:00Z"}}, "filter.until"),
        ({"after": "bm90IGEgY3Vyc29y"}, "after"),
        ({"after": base64.urlsafe_b64encode(b'["x", "y", "z"]').decode()}, "after"),
        ({"first": 0}, "first"),
    ],
)
async def test_the_feed_query_refuses_bad_input_naming_the_field(services, http, variables, field):
    b = await make_tenant(services)
    body = await (await login(http, b.email)).gql(operation("FeedEvents"), variables)
    assert body["errors"][0]["extensions"]["field"] == field, body


async def test_an_event_waits_for_older_transactions_so_a_cursor_never_passes_over_one(services, http):
    """An event whose transaction began first and committed last still comes first in the feed."""
    a, b = await make_tenant(services), await make_tenant(services)
    session = await login(http, b.email)
    with_settings(services, feed_settle_s=60.0)
    async with services.db.tenant(a.tenant.scope()) as slow:
        early = await emit(
            slow, type=FOOTPRINT_PUBLISHED, source_tenant_id=a.id, recipient_tenant_id=b.id, subject="s", data={}
        )
        late = await emit_event(services, a, b)
        # while the earlier transaction runs, the later (committed) event is held back
        waiting = nodes(await session.gql(operation("FeedEvents")))
    # (other test runs share this PostgreSQL server: do not wait for their transactions too)
    with_settings(services, feed_settle_s=0.0)
    after_both = nodes(await session.gql(operation("FeedEvents")))
    assert waiting == []
    assert [n["eventId"] for n in after_both] == [str(early), str(late)]


async def test_the_tenant_role_holds_only_insert_on_the_event_log(services):
    a = await make_tenant(services)
    async with owner_db().engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT privilege_type FROM information_schema.role_table_grants "
                "WHERE table_schema = 'feeds' AND table_name = 'events' AND grantee = :role"
            ),
            {"role": a.tenant.scope().role},
        )
        table_privileges = {r[0] for r in rows}
    assert table_privileges == set()  # column privileges only: INSERT of the event's own columns


async def test_a_tenant_from_before_feeds_may_emit_once_migrated(services, http):
    # given: an organisation whose role lacks the feed privileges, recorded as not yet migrated
    a, b = await make_tenant(services), await make_tenant(services)
    role = a.tenant.scope().role
    await superuser_execute(f'REVOKE ALL ON feeds.events FROM "{role}"; REVOKE USAGE ON SCHEMA feeds FROM "{role}"')
    await superuser_execute("UPDATE platform.tenants SET schema_revision = NULL WHERE id = $1", a.id)
    with pytest.raises(Exception, match="permission denied"):
        await emit_event(services, a, b)
    # when: it is migrated (its privileges are applied again)
    report = await upgrade_tenants(owner_db(), only=[a.tenant.slug])
    event = await emit_event(services, a, b)
    # then
    assert report.migrated == [a.tenant.slug]
    assert [n["eventId"] for n in nodes(await (await login(http, b.email)).gql(operation("FeedEvents")))] == [
        str(event)
    ]
