"""The verifier reads the exporter's data through its engagement's grants: in scope only, read only,
and not after the engagement ends or is revoked."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from backend.audit.models import AuditEntry
from backend.verification import service as verification
from tests.factories.calculations import store_intervals
from tests.factories.tenants import login
from tests.factories.verification import PERIOD, active_engagement, verification_scope
from tests.integration.test_cross_tenant import gid
from tests.operations import operation

DAY = {"start": "2026-11-10T00:00:00+00:00", "end": "2026-11-11T00:00:00+00:00"}
OUTSIDE = {"start": "2026-12-10T00:00:00+00:00", "end": "2026-12-11T00:00:00+00:00"}


def _code(body):
    return body["errors"][0]["extensions"]["code"] if body.get("errors") else None


async def test_an_engagement_lets_the_verifier_read_its_scope_and_nothing_else(services, http):
    # given: an active engagement over one installation and November 2026
    scope = await verification_scope(services)
    main = scope.plant.meters["MAIN"]
    await store_intervals(services, scope.exporter, main, PERIOD[0].date() + timedelta(days=9), 1, 1.0)
    engagement_id = await active_engagement(services, scope)
    session = await login(http, scope.verifier.email)
    grantor = gid("Organization", scope.exporter.id)
    plant = gid("Installation", scope.plant.installation_id)
    other = gid("Installation", scope.other_plant.installation_id)
    meter = gid("Meter", main)
    # when / then: every kind of the scope is read
    installations = await session.gql(operation("SharedInstallations"), {"grantorId": grantor})
    assert [i["id"] for i in installations["data"]["sharedInstallations"]] == [plant]
    meters = await session.gql(operation("SharedMeters"), {"grantorId": grantor, "installationId": plant})
    assert {m["code"] for m in meters["data"]["sharedMeters"]} == {"MAIN", "SUB1", "SUB2"}
    series = await session.gql(operation("SharedIntervalSeries"), {"grantorId": grantor, "meterId": meter, **DAY})
    assert not series.get("errors"), series
    assert series["data"]["sharedIntervalSeries"]["energyKwh"][0] == 1.0
    evidence = await session.gql(operation("SharedEvidence"), {"grantorId": grantor})
    assert {d["title"] for d in evidence["data"]["sharedEvidence"]} == {"Invoice A", "Invoice B", "Invoice C"}
    trail = await session.gql(operation("SharedAuditTrail"), {"grantorId": grantor, "first": 50})
    assert not trail.get("errors"), trail
    footprint = await session.gql(
        operation("SharedFootprintVersion"), {"grantorId": grantor, "id": gid("FootprintVersion", scope.version_ids[0])}
    )
    assert not footprint.get("errors"), footprint
    # another installation, another period, another installation's footprint: refused, naming the limit
    refused = await session.gql(operation("SharedMeters"), {"grantorId": grantor, "installationId": other})
    assert _code(refused) == "GRANT_INSTALLATION_EXCLUDES"
    refused = await session.gql(operation("SharedIntervalSeries"), {"grantorId": grantor, "meterId": meter, **OUTSIDE})
    assert _code(refused) == "GRANT_PERIOD_EXCLUDES"
    refused = await session.gql(
        operation("SharedFootprintVersion"),
        {"grantorId": grantor, "id": gid("FootprintVersion", scope.outside_period_id)},
    )
    assert _code(refused) == "GRANT_PERIOD_EXCLUDES"
    # no write reaches the exporter: the verifier's mutations run in its own organisation
    write = await session.gql(
        operation("CreateMeter"),
        {"input": {"installationId": plant, "code": "X", "name": "X", "medium": "ELECTRICITY", "role": "SUB"}},
    )
    assert write.get("errors") or write["data"]["createMeter"]["errors"], write
    # every read is in the exporter's trail, naming the engagement's grants
    workspace = await verification.workspace(services, scope.exporter.principal, engagement_id)
    async with services.db.tenant(scope.exporter.tenant.scope()) as db:
        uses = (await db.execute(select(AuditEntry).where(AuditEntry.action == "grant.used"))).scalars().all()
    assert {u.details["grant_id"] for u in uses} == {str(g) for g in workspace.engagement.grant_ids}
    # when the engagement ends, the next read is refused
    await verification.end_engagement(services, scope.exporter.principal, engagement_id)
    assert _code(await session.gql(operation("SharedInstallations"), {"grantorId": grantor})) == "NO_LIVE_GRANT"


async def test_reads_are_refused_after_revocation_and_after_the_access_end(services, http):
    scope = await verification_scope(services)
    session = await login(http, scope.verifier.email)
    grantor = gid("Organization", scope.exporter.id)
    # revoked
    engagement_id = await active_engagement(services, scope)
    assert not (await session.gql(operation("SharedEvidence"), {"grantorId": grantor})).get("errors")
    await verification.revoke_engagement(services, scope.exporter.principal, engagement_id)
    assert _code(await session.gql(operation("SharedEvidence"), {"grantorId": grantor})) == "NO_LIVE_GRANT"
    # past its access end: the grants have expired with it
    engagement_id = await active_engagement(services, scope, access_end=datetime.now(UTC) + timedelta(seconds=3))
    assert not (await session.gql(operation("SharedEvidence"), {"grantorId": grantor})).get("errors")
    await asyncio.sleep(3.5)
    assert _code(await session.gql(operation("SharedEvidence"), {"grantorId": grantor})) == "NO_LIVE_GRANT"
