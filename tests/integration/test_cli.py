"""The operators' command line against the real database: tenants, people, clients, migrations."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

CBAMX = str(Path(sys.executable).parent / "cbamx")


def cbamx(*args: str, password: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **({"CBAMX_NEW_USER_PASSWORD": password} if password else {})}
    return subprocess.run([CBAMX, *args], capture_output=True, text=True, env=env, timeout=120)


async def test_an_operator_sets_up_an_organisation_with_people_and_a_client(services):
    # given
    slug = f"cli-{uuid.uuid4().hex[:8]}"
    email = f"{slug}@example.com"
    # when: the organisation, its owner and a machine client are created from the command line
    created = cbamx("tenant", "create", "--name", "CLI Org", "--slug", slug, "--kind", "importer", "--country", "DE")
    user = cbamx("user", "create", "--email", email, "--name", "Owner", "--tenant", slug, password="a long password!")
    client = cbamx("client", "create", "--tenant", slug, "--name", "feed", "--scope", "footprints:read")
    # then
    assert created.returncode == 0, created.stderr
    assert json.loads(created.stdout)["schema"].startswith("tenant_")
    assert user.returncode == 0, user.stderr
    issued = json.loads(client.stdout)
    assert issued["client_id"].startswith("cbx_") and len(issued["client_secret"]) > 30
    rotated = json.loads(cbamx("client", "rotate", "--tenant", slug, "--client-id", issued["client_id"]).stdout)
    assert rotated["client_secret"] != issued["client_secret"]
    assert cbamx("client", "revoke", "--tenant", slug, "--client-id", issued["client_id"]).returncode == 0
    listing = cbamx("tenant", "list")
    assert slug in listing.stdout
    # and the audit trail of the new organisation verifies, with every step in it
    verified = cbamx("audit", "verify", "--tenant", slug)
    assert verified.returncode == 0 and "5 entries verified" in verified.stdout


async def test_bad_input_gets_a_clear_message_and_a_non_zero_exit(services):
    # a slug that is not one
    bad = cbamx("tenant", "create", "--name", "X", "--slug", "Not A Slug", "--kind", "exporter")
    assert bad.returncode == 2 and "slug" in bad.stderr
    # a person for an organisation that does not exist
    missing = cbamx("user", "add", "--email", "nobody@example.com", "--tenant", "no-such-org")
    assert missing.returncode == 3 and "no user" in missing.stderr
    # verifying a tenant that does not exist
    unknown = cbamx("audit", "verify", "--tenant", "no-such-org")
    assert unknown.returncode == 3 and "no organisation" in unknown.stderr


async def test_migrate_brings_every_tenant_to_head_and_reports_progress(services):
    result = cbamx("migrate")
    assert result.returncode == 0, result.stderr
    assert "platform schema: at head" in result.stdout and "0 failed" in result.stdout
