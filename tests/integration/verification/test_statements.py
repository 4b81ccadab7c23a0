"""Signed statements: issued by the verifier's team only, verified with the verifier's published keys,
attached to the footprint versions they cover, and checked offline from the command line."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from backend.audit.models import AuditEntry
from backend.calculations.errors import FootprintNotFound
from backend.errors import PermissionDenied, ValidationFailed
from backend.identity.principal import Principal
from backend.sharing.grants import NewGrant, create_grant
from backend.sharing.models import ResourceKind
from backend.tenants.models import TenantKind
from backend.verification import service as verification
from backend.verification import signing
from backend.verification.errors import EngagementNotFound, EngagementState, StatementInvalid
from backend.verification.models import AssuranceLevel, FindingType, Opinion, Statement
from tests.factories.tenants import make_tenant
from tests.factories.verification import active_engagement, verification_scope

CBAMX = str(Path(sys.executable).parent / "cbamx")


def _statement(**changes):
    values = {
        "assurance_level": AssuranceLevel.REASONABLE,
        "opinion": Opinion.POSITIVE,
        "accreditation_id": "DAkkS D-VS-12345",
    }
    values.update(changes)
    return verification.NewStatement(**values)  # type: ignore[arg-type]


async def _jwks(http, tenant_id):
    response = await http.get(f"/organizations/{tenant_id}/jwks.json")
    assert response.status_code == 200, response.text
    return response.json()


def _flip(token: str, at: int) -> str:
    return token[:at] + ("A" if token[at] != "A" else "B") + token[at + 1 :]


async def test_a_statement_verifies_with_the_verifiers_published_key_only(services, http):
    # given
    scope = await verification_scope(services)
    engagement_id = await active_engagement(services, scope)
    # when
    statement = await verification.issue_statement(services, scope.verifier.principal, engagement_id, _statement())
    # then: the JWKS at the verifier's address verifies it, and the payload says what was verified
    jwks = await _jwks(http, scope.verifier.id)
    header, payload = signing.verify(statement.jws, jwks)
    assert header == {"alg": "ES256", "kid": statement.kid, "typ": signing.STATEMENT_TYP}
    assert payload["opinion"] == "POSITIVE" and payload["assurance_level"] == "REASONABLE"
    assert payload["verifier"]["organization_id"] == str(scope.verifier.id)
    assert payload["verifier"]["accreditation_id"] == "DAkkS D-VS-12345"
    assert payload["verifier"]["jwks_uri"].endswith(f"/organizations/{scope.verifier.id}/jwks.json")
    assert payload["scope"]["installation_id"] == str(scope.plant.installation_id)
    assert [v["id"] for v in payload["scope"]["footprint_versions"]] == [str(v) for v in scope.version_ids]
    assert all(len(v["output_digest"]) == 64 for v in payload["scope"]["footprint_versions"])
    assert payload["materiality"] == {"share": 0.05, "total_tco2e": 400.0, "threshold_tco2e": 20.0}
    assert payload["findings_outstanding"] == []
    # one byte changed anywhere: refused
    for at in (len(statement.jws.split(".")[0]) + 5, len(statement.jws) - 3):
        with pytest.raises(StatementInvalid):
            signing.verify(_flip(statement.jws, at), jwks)
    # another organisation's keys: refused, naming the key
    other = await make_tenant(services, TenantKind.VERIFIER)
    async with services.db.platform() as db:
        await signing.active_key(db, other.id, secret=services.settings.resolved_secret_key())
    with pytest.raises(StatementInvalid, match="not among"):
        signing.verify(statement.jws, await _jwks(http, other.id))
    # and it is in the exporter's trail
    async with services.db.tenant(scope.exporter.tenant.scope()) as db:
        actions = (await db.execute(select(AuditEntry.action))).scalars().all()
    assert "verification.statement_issued" in actions


async def test_rotation_keeps_old_statements_verifying(services, http):
    scope = await verification_scope(services)
    engagement_id = await active_engagement(services, scope)
    first = await verification.issue_statement(services, scope.verifier.principal, engagement_id, _statement())
    # when
    new_kid = await verification.rotate_statement_key(services, scope.verifier.id)
    second = await verification.issue_statement(
        services, scope.verifier.principal, engagement_id, _statement(opinion=Opinion.QUALIFIED)
    )
    # then
    jwks = await _jwks(http, scope.verifier.id)
    assert [k["kid"] for k in jwks["keys"]] == [first.kid, new_kid]
    assert second.kid == new_kid
    assert all("d" not in k for k in jwks["keys"])  # public halves only
    signing.verify(first.jws, jwks)
    signing.verify(second.jws, jwks)


async def test_only_an_active_engagements_team_issues_and_positive_waits_for_material_findings(services):
    scope = await verification_scope(services)
    engagement_id = await active_engagement(services, scope)
    third = await make_tenant(services, TenantKind.VERIFIER)
    # the exporter cannot issue, a third organisation sees nothing
    with pytest.raises(PermissionDenied):
        await verification.issue_statement(services, scope.exporter.principal, engagement_id, _statement())
    with pytest.raises(EngagementNotFound):
        await verification.issue_statement(services, third.principal, engagement_id, _statement())
    # a material misstatement outstanding: no positive opinion, a qualified one lists it
    finding = await verification.raise_finding(
        services,
        scope.verifier.principal,
        engagement_id,
        verification.NewFinding(FindingType.MISSTATEMENT, "batch", "B-1", "Mass twice", 25.0, "twice"),
    )
    with pytest.raises(ValidationFailed) as raised:
        await verification.issue_statement(services, scope.verifier.principal, engagement_id, _statement())
    assert raised.value.field == "opinion"
    qualified = await verification.issue_statement(
        services, scope.verifier.principal, engagement_id, _statement(opinion=Opinion.QUALIFIED)
    )
    payload = signing.verify(qualified.jws, await verification.statement_jwks(services, scope.verifier.id))[1]
    assert [(f["id"], f["material"], f["status"]) for f in payload["findings_outstanding"]] == [
        (str(finding.id), True, "OPEN")
    ]
    # bad input names the field and stores nothing
    for changes, field in (
        ({"accreditation_id": ""}, "accreditationId"),
        ({"footprint_version_ids": [scope.outside_period_id]}, "footprintVersionIds.0"),
        ({"footprint_version_ids": []}, "footprintVersionIds"),
        ({"verifier_name": "x" * 201}, "verifierName"),
    ):
        with pytest.raises(ValidationFailed) as raised:
            await verification.issue_statement(services, scope.verifier.principal, engagement_id, _statement(**changes))
        assert raised.value.field == field
    space = await verification.workspace(services, scope.exporter.principal, engagement_id)
    assert [s.id for s in space.statements] == [qualified.id]
    # after the end: no statement
    await verification.end_engagement(services, scope.exporter.principal, engagement_id)
    with pytest.raises(EngagementState):
        await verification.issue_statement(
            services, scope.verifier.principal, engagement_id, _statement(opinion=Opinion.QUALIFIED)
        )


async def test_footprint_verification_for_the_exporter_and_footprint_grantees_only(services):
    # given: a positive statement over the first version only, a negative one over the second
    scope = await verification_scope(services)
    engagement_id = await active_engagement(services, scope)
    first, second = scope.version_ids
    positive = await verification.issue_statement(
        services, scope.verifier.principal, engagement_id, _statement(footprint_version_ids=[first])
    )
    await verification.issue_statement(
        services,
        scope.verifier.principal,
        engagement_id,
        _statement(opinion=Opinion.NEGATIVE, footprint_version_ids=[second]),
    )
    importer = await make_tenant(services, TenantKind.IMPORTER)
    stranger = await make_tenant(services, TenantKind.IMPORTER)
    async with services.db.platform() as db:
        await create_grant(
            db,
            Principal.system("t", scope.exporter.id),
            grantor=scope.exporter.tenant,
            data=NewGrant(
                grantee_tenant_id=importer.id,
                resource_kinds=[ResourceKind.FOOTPRINT],
                expires_at=datetime.now(UTC) + timedelta(days=1),
            ),
        )
    # when / then: the exporter and the importer with a footprint grant see the first verified
    for reader in (scope.exporter, importer):
        answer = await verification.footprint_verification(services, reader.principal, first)
        assert answer.verified and answer.statement is not None and answer.statement.id == positive.id
        # a negative opinion does not make the second verified
        answer = await verification.footprint_verification(services, reader.principal, second)
        assert not answer.verified and answer.statement is not None
        assert answer.statement.opinion == Opinion.NEGATIVE
    # the exporter's own version without a statement: not verified
    own = await verification.footprint_verification(services, scope.exporter.principal, scope.outside_period_id)
    assert not own.verified and own.statement is None
    # an organisation without a grant learns nothing, whether or not a statement exists
    for version_id in (first, scope.outside_period_id):
        with pytest.raises(FootprintNotFound):
            await verification.footprint_verification(services, stranger.principal, version_id)
    # the importer's read is in the exporter's trail
    async with services.db.tenant(scope.exporter.tenant.scope()) as db:
        uses = (
            (
                await db.execute(
                    select(AuditEntry).where(
                        AuditEntry.action == "grant.used", AuditEntry.actor_tenant_id == importer.id
                    )
                )
            )
            .scalars()
            .all()
        )
    assert uses


def _cbamx(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CBAMX, *args], capture_output=True, text=True, timeout=60)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return _cbamx("statement", "verify", *args)


async def test_cbamx_statement_verify_exit_codes(services, http, tmp_path):
    # given: a statement, its verifier's JWKS and another verifier's
    scope = await verification_scope(services)
    engagement_id = await active_engagement(services, scope)
    statement = await verification.issue_statement(services, scope.verifier.principal, engagement_id, _statement())
    other = await make_tenant(services, TenantKind.VERIFIER)
    async with services.db.platform() as db:
        await signing.active_key(db, other.id, secret=services.settings.resolved_secret_key())
    (tmp_path / "statement.jws").write_text(statement.jws + "\n")
    (tmp_path / "tampered.jws").write_text(_flip(statement.jws, len(statement.jws) // 2))
    (tmp_path / "jwks.json").write_text(json.dumps(await _jwks(http, scope.verifier.id)))
    (tmp_path / "other.json").write_text(json.dumps(await _jwks(http, other.id)))
    # when / then: verified, the payload printed
    ok = _cli(str(tmp_path / "statement.jws"), "--jwks", str(tmp_path / "jwks.json"))
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["statement_id"] == str(statement.id)
    # one byte changed: exit 1 with the reason
    tampered = _cli(str(tmp_path / "tampered.jws"), "--jwks", str(tmp_path / "jwks.json"))
    assert tampered.returncode == 1 and "NOT VERIFIED" in tampered.stderr
    # another verifier's keys: exit 1
    foreign = _cli(str(tmp_path / "statement.jws"), "--jwks", str(tmp_path / "other.json"))
    assert foreign.returncode == 1 and "not among the verifier's published keys" in foreign.stderr
    # keys from a URL that is not the issuing verifier's address: exit 1
    wrong_url = _cli(
        str(tmp_path / "statement.jws"), "--jwks", f"http://127.0.0.1:9/organizations/{other.id}/jwks.json"
    )
    assert wrong_url.returncode == 1 and "not the issuing verifier's" in wrong_url.stderr
    # unreadable input: exit 2
    missing = _cli(str(tmp_path / "nothing.jws"), "--jwks", str(tmp_path / "jwks.json"))
    assert missing.returncode == 2 and "cannot read" in missing.stderr
    not_jwks = _cli(str(tmp_path / "statement.jws"), "--jwks", str(tmp_path / "statement.jws"))
    assert not_jwks.returncode == 2
    # rotating from the command line: a new active key, the old one still published and verifying
    rotated = _cbamx("statement", "rotate-key", "--tenant", scope.verifier.tenant.slug)
    assert rotated.returncode == 0, rotated.stderr
    jwks = await _jwks(http, scope.verifier.id)
    assert jwks["keys"][0]["kid"] == statement.kid and len(jwks["keys"]) == 2
    assert rotated.stdout.strip().endswith(jwks["keys"][1]["kid"])
    (tmp_path / "jwks.json").write_text(json.dumps(jwks))
    assert _cli(str(tmp_path / "statement.jws"), "--jwks", str(tmp_path / "jwks.json")).returncode == 0
    unknown = _cbamx("statement", "rotate-key", "--tenant", "no-such-org")
    assert unknown.returncode == 3 and "no organisation" in unknown.stderr
    async with services.db.platform_session() as db:
        assert (await db.get(Statement, statement.id)) is not None
