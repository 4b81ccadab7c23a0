"""Evidence documents: checked uploads to S3 with object lock, stored once by SHA-256, signed downloads."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio.to_thread
import boto3
import httpx
import pytest
from sqlalchemy import func, select

from backend.audit.models import AuditEntry
from backend.evidence.models import EvidenceDocument
from backend.evidence.store import LocalStore, S3Store, object_key
from backend.identity.principal import Principal
from backend.sharing.grants import NewGrant, create_grant
from backend.sharing.models import ResourceKind
from tests.factories.orgs import make_org
from tests.factories.tenants import TenantWithOwner, client_token, login, make_client, make_tenant

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"
EVIDENCE_SCOPES = ["evidence:read", "evidence:write", "grants:read"]


def _unique_pdf() -> bytes:
    return PDF + f"% {uuid.uuid4()}\n".encode()


def _s3() -> Any:
    return boto3.client(
        "s3",
        endpoint_url=os.environ["CBAMX_S3_ENDPOINT_URL"],
        region_name="eu-central-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


async def _objects(owner: TenantWithOwner) -> list[dict[str, Any]]:
    """Every stored version under the tenant's prefix."""
    s3 = _s3()
    result = await anyio.to_thread.run_sync(
        lambda: s3.list_object_versions(Bucket=os.environ["CBAMX_S3_BUCKET"], Prefix=f"{owner.tenant.schema}/")
    )
    return list(result.get("Versions", []))


async def _rows(services, owner: TenantWithOwner) -> int:
    async with services.db.tenant(owner.tenant.scope()) as db:
        return int((await db.execute(select(func.count()).select_from(EvidenceDocument))).scalar_one())


async def _audit_count(services, owner: TenantWithOwner) -> int:
    async with services.db.tenant(owner.tenant.scope()) as db:
        return int((await db.execute(select(func.count()).select_from(AuditEntry))).scalar_one())


async def _bearer(services, http, owner: TenantWithOwner) -> dict[str, str]:
    client_id, secret = await make_client(services, owner, EVIDENCE_SCOPES)
    return {"Authorization": f"Bearer {await client_token(http, client_id, secret)}"}


async def _upload(
    http: httpx.AsyncClient,
    headers: dict[str, str],
    data: bytes,
    *,
    content_type: str = "application/pdf",
    filename: str = "contract.pdf",
    kind: str = "ppa",
    title: str = "PPA 2026",
) -> httpx.Response:
    return await http.post(
        "/evidence/",
        files={"file": (filename, data, content_type)},
        data={"kind": kind, "title": title},
        headers=headers,
    )


def _assert_problem(response: httpx.Response, status: int, code: str, field: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == code, body
    assert field in [e["field"] for e in body["errors"]], body


@pytest.fixture
async def exporter(services, http) -> tuple[TenantWithOwner, dict[str, str]]:
    owner = await make_org(services)
    return owner, await _bearer(services, http, owner)


# --- upload -------------------------------------------------------------------------------------------


async def test_upload_returns_201_with_the_sha256_and_stores_row_object_and_audit_entry(services, http, exporter):
    # given
    owner, headers = exporter
    data = _unique_pdf()
    audit_before = await _audit_count(services, owner)
    # when
    response = await _upload(http, headers, data)
    # then
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["sha256"] == hashlib.sha256(data).hexdigest()
    assert body["created"] is True
    assert body["size_bytes"] == len(data)
    assert body["content_type"] == "application/pdf"
    assert body["kind"] == "ppa" and body["title"] == "PPA 2026" and body["filename"] == "contract.pdf"
    assert await _rows(services, owner) == 1
    objects = await _objects(owner)
    assert [o["Key"] for o in objects] == [object_key(owner.tenant.schema, body["sha256"])]
    assert await _audit_count(services, owner) == audit_before + 1
    stored = await services.store.get(objects[0]["Key"])
    assert stored == data


async def test_same_bytes_and_metadata_again_answer_200_not_created_and_store_nothing_new(services, http, exporter):
    # given
    owner, headers = exporter
    data = _unique_pdf()
    first = (await _upload(http, headers, data)).json()
    audit_before = await _audit_count(services, owner)
    # when: the same upload again (the file name is not part of what the document is)
    response = await _upload(http, headers, data, filename="copy.pdf")
    # then
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["created"] is False
    assert body["id"] == first["id"] and body["sha256"] == first["sha256"]
    assert await _rows(services, owner) == 1
    assert len(await _objects(owner)) == 1  # no second object, no second version
    assert await _audit_count(services, owner) == audit_before


async def test_same_bytes_for_another_purpose_are_a_new_document_on_the_same_object(services, http, exporter):
    # given
    owner, headers = exporter
    data = _unique_pdf()
    first = (await _upload(http, headers, data)).json()
    audit_before = await _audit_count(services, owner)
    # when: the same bytes with another title, then with another kind
    retitled = await _upload(http, headers, data, title="Same bytes, other title")
    rekinded = await _upload(http, headers, data, kind="invoice")
    # then: two new records, each audited, all pointing to the one stored object
    assert retitled.status_code == 201, retitled.text
    assert rekinded.status_code == 201, rekinded.text
    ids = {first["id"], retitled.json()["id"], rekinded.json()["id"]}
    assert len(ids) == 3
    assert retitled.json()["title"] == "Same bytes, other title" and rekinded.json()["kind"] == "invoice"
    assert {retitled.json()["sha256"], rekinded.json()["sha256"]} == {first["sha256"]}
    assert await _rows(services, owner) == 3
    assert len(await _objects(owner)) == 1
    assert await _audit_count(services, owner) == audit_before + 2
    # and the same upload again stays idempotent
    again = await _upload(http, headers, data, kind="invoice")
    assert again.status_code == 200 and again.json()["id"] == rekinded.json()["id"]


async def test_same_bytes_in_another_tenant_are_a_new_document_there(services, http, exporter):
    # given: tenant A holds a document
    _owner, headers = exporter
    data = _unique_pdf()
    assert (await _upload(http, headers, data)).status_code == 201
    other = await make_org(services)
    # when: B uploads the same bytes
    response = await _upload(http, await _bearer(services, http, other), data)
    # then: B learns nothing about A's holdings, and gets its own object
    assert response.status_code == 201
    assert response.json()["created"] is True
    assert len(await _objects(other)) == 1


async def test_uploaded_object_is_under_compliance_retention(services, http, exporter):
    # given
    owner, headers = exporter
    assert isinstance(services.store, S3Store)
    # when
    body = (await _upload(http, headers, _unique_pdf())).json()
    # then: moto's get_object_retention is unreliable, so read the lock from head_object
    s3 = _s3()
    head = await anyio.to_thread.run_sync(
        lambda: s3.head_object(
            Bucket=os.environ["CBAMX_S3_BUCKET"], Key=object_key(owner.tenant.schema, body["sha256"])
        )
    )
    assert head["ObjectLockMode"] == "COMPLIANCE"
    retain_until = head["ObjectLockRetainUntilDate"]
    expected = datetime.now(UTC) + timedelta(days=30)
    assert abs((retain_until - expected).total_seconds()) < 600
    assert body["retain_until"] is not None
    assert abs((datetime.fromisoformat(body["retain_until"]) - retain_until).total_seconds()) < 5
    assert head["Metadata"]["sha256"] == body["sha256"]


async def test_locked_object_cannot_be_deleted(services, http, exporter):
    # given
    owner, headers = exporter
    body = (await _upload(http, headers, _unique_pdf())).json()
    key = object_key(owner.tenant.schema, body["sha256"])
    version = (await _objects(owner))[0]["VersionId"]
    s3 = _s3()
    # when / then
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError, match=r"\(AccessDenied\) when calling the DeleteObject operation"):
        await anyio.to_thread.run_sync(
            lambda: s3.delete_object(Bucket=os.environ["CBAMX_S3_BUCKET"], Key=key, VersionId=version)
        )
    assert len(await _objects(owner)) == 1


async def test_oversized_upload_is_refused_and_nothing_is_stored(services, exporter):
    # given: an app whose limit is 1 KiB
    from backend.app import create_app

    owner, _ = exporter
    small = services.settings.model_copy(update={"evidence_max_bytes": 1024})
    limited = dataclasses.replace(services, settings=small)
    app = create_app(small, services=limited)
    app.state.services = limited
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
        headers = await _bearer(services, http, owner)
        audit_before = await _audit_count(services, owner)
        # when
        response = await _upload(http, headers, PDF + b"0" * 2048)
        # then
        _assert_problem(response, 422, "DOCUMENT_TOO_LARGE", "file")
        assert "1024" in response.json()["detail"]
        # a document within the limit is accepted by the same app
        assert (await _upload(http, headers, _unique_pdf())).status_code == 201
    assert await _rows(services, owner) == 1
    assert len(await _objects(owner)) == 1
    assert await _audit_count(services, owner) == audit_before + 1


async def test_declared_pdf_that_is_not_a_pdf_is_refused(services, http, exporter):
    # given
    owner, headers = exporter
    # when
    response = await _upload(http, headers, b"MZ\x90\x00 this is an executable", content_type="application/pdf")
    # then
    _assert_problem(response, 422, "CONTENT_TYPE_REFUSED", "file")
    assert await _rows(services, owner) == 0
    assert await _objects(owner) == []


async def test_unknown_content_type_is_refused(services, http, exporter):
    # given
    owner, headers = exporter
    # when
    response = await _upload(http, headers, b"#!/bin/sh\necho hi\n", content_type="application/x-sh", filename="run.sh")
    # then
    _assert_problem(response, 422, "CONTENT_TYPE_REFUSED", "contentType")
    assert "application/x-sh" in response.json()["detail"]
    assert await _rows(services, owner) == 0
    assert await _objects(owner) == []


async def test_text_that_is_not_utf8_is_refused(services, http, exporter):
    # given
    owner, headers = exporter
    # when
    response = await _upload(http, headers, b"\xff\xfe\x00bad", content_type="text/csv", filename="a.csv")
    # then
    _assert_problem(response, 422, "CONTENT_TYPE_REFUSED", "file")
    assert await _rows(services, owner) == 0


async def test_empty_file_is_refused(services, http, exporter):
    # given
    owner, headers = exporter
    # when
    response = await _upload(http, headers, b"")
    # then
    _assert_problem(response, 422, "VALIDATION_FAILED", "file")
    assert await _rows(services, owner) == 0
    assert await _objects(owner) == []


async def test_unknown_kind_and_missing_file_are_refused(services, http, exporter):
    # given
    owner, headers = exporter
    # when
    bad_kind = await _upload(http, headers, _unique_pdf(), kind="selfie")
    no_file = await http.post(
        "/evidence/", data={"kind": "ppa", "title": "x"}, files={"other": ("a", b"b")}, headers=headers
    )
    # then
    _assert_problem(bad_kind, 422, "VALIDATION_FAILED", "kind")
    _assert_problem(no_file, 422, "VALIDATION_FAILED", "file")
    assert await _rows(services, owner) == 0


async def test_upload_needs_the_write_scope(services, http):
    # given: a client with read access only
    owner = await make_org(services)
    client_id, secret = await make_client(services, owner, ["evidence:read"])
    headers = {"Authorization": f"Bearer {await client_token(http, client_id, secret)}"}
    # when
    response = await _upload(http, headers, _unique_pdf())
    # then
    assert response.status_code == 403, response.text
    assert response.json()["code"] == "PERMISSION_DENIED"
    assert await _rows(services, owner) == 0


async def test_upload_without_credentials_is_401(http):
    # when
    response = await _upload(http, {}, _unique_pdf())
    # then
    assert response.status_code == 401
    assert response.json()["code"] == "UNAUTHENTICATED"


async def test_upload_with_a_session_needs_the_csrf_header(services, http):
    # given
    owner = await make_tenant(services)
    session = await login(http, owner.email)
    # when
    without = await http.post(
        "/evidence/",
        files={"file": ("c.pdf", _unique_pdf(), "application/pdf")},
        data={"kind": "invoice", "title": "Invoice"},
        cookies=session.cookies,
    )
    with_header = await http.post(
        "/evidence/",
        files={"file": ("c.pdf", _unique_pdf(), "application/pdf")},
        data={"kind": "invoice", "title": "Invoice"},
        cookies=session.cookies,
        headers={"X-CSRF-Token": session.csrf},
    )
    # then
    assert without.status_code == 403
    assert with_header.status_code == 201, with_header.text
    assert await _rows(services, owner) == 1


# --- download -----------------------------------------------------------------------------------------


async def _follow(location: str) -> httpx.Response:
    async with httpx.AsyncClient() as outside:
        return await outside.get(location)


async def test_download_redirects_to_a_presigned_url_with_the_same_bytes(services, http, exporter):
    # given
    _owner, headers = exporter
    data = _unique_pdf()
    body = (await _upload(http, headers, data)).json()
    # when
    response = await http.get(f"/evidence/{body['id']}/download", headers=headers)
    # then
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    assert location.startswith(os.environ["CBAMX_S3_ENDPOINT_URL"])
    assert "X-Amz-Signature=" in location and "X-Amz-Expires=300" in location
    fetched = await _follow(location)
    assert fetched.status_code == 200
    assert fetched.content == data
    assert 'filename="contract.pdf"' in fetched.headers["content-disposition"]
    assert fetched.headers["content-type"] == "application/pdf"


async def test_another_tenant_cannot_download_the_document(services, http, exporter):
    # given
    _owner, headers = exporter
    body = (await _upload(http, headers, _unique_pdf())).json()
    other = await make_org(services)
    other_headers = await _bearer(services, http, other)
    # when
    response = await http.get(f"/evidence/{body['id']}/download", headers=other_headers)
    # then
    assert response.status_code == 404
    assert response.json()["code"] == "DOCUMENT_NOT_FOUND"
    assert "location" not in response.headers


async def test_download_of_an_unknown_or_malformed_id_is_refused(http, exporter):
    # given
    _, headers = exporter
    # when
    unknown = await http.get(f"/evidence/{uuid.uuid4()}/download", headers=headers)
    malformed = await http.get("/evidence/not-a-uuid/download", headers=headers)
    # then
    assert unknown.status_code == 404
    assert malformed.status_code == 422
    assert malformed.json()["errors"][0]["field"] == "id"


async def _evidence_grant(services, grantor: TenantWithOwner, grantee: TenantWithOwner, *kinds: ResourceKind):
    async with services.db.platform() as session:
        await create_grant(
            session,
            Principal.system("tests", grantor.id),
            grantor=grantor.tenant,
            data=NewGrant(
                grantee_tenant_id=grantee.id,
                resource_kinds=list(kinds),
                expires_at=datetime.now(UTC) + timedelta(days=1),
            ),
        )


async def test_grantee_with_an_evidence_grant_downloads_through_the_shared_route(services, http, exporter):
    # given
    owner, headers = exporter
    data = _unique_pdf()
    body = (await _upload(http, headers, data)).json()
    importer = await make_org(services)
    importer_headers = await _bearer(services, http, importer)
    shared = f"/evidence/shared/{owner.id}/{body['id']}"
    # without a grant: refused
    refused = await http.get(shared, headers=importer_headers)
    assert refused.status_code == 403 and refused.json()["code"] == "NO_LIVE_GRANT"
    await _evidence_grant(services, owner, importer, ResourceKind.EVIDENCE)
    audit_before = await _audit_count(services, owner)
    # when
    response = await http.get(shared, headers=importer_headers)
    # then
    assert response.status_code == 302, response.text
    assert (await _follow(response.headers["location"])).content == data
    assert await _audit_count(services, owner) == audit_before + 1


async def test_installation_grant_does_not_open_the_shared_download(services, http, exporter):
    # given
    owner, headers = exporter
    body = (await _upload(http, headers, _unique_pdf())).json()
    importer = await make_org(services)
    await _evidence_grant(services, owner, importer, ResourceKind.INSTALLATION)
    # when
    response = await http.get(
        f"/evidence/shared/{owner.id}/{body['id']}", headers=await _bearer(services, http, importer)
    )
    # then
    assert response.status_code == 403
    assert response.json()["code"] == "GRANT_KIND_EXCLUDES"


async def test_grantee_cannot_use_the_shared_route_for_a_document_of_its_own_tenant_id_guess(services, http, exporter):
    # given: the grantee names the grantor but a document id that is not the grantor's
    owner, _headers = exporter
    importer = await make_org(services)
    importer_headers = await _bearer(services, http, importer)
    own = (await _upload(http, importer_headers, _unique_pdf())).json()
    await _evidence_grant(services, owner, importer, ResourceKind.EVIDENCE)
    # when
    response = await http.get(f"/evidence/shared/{owner.id}/{own['id']}", headers=importer_headers)
    # then
    assert response.status_code == 404


# --- the local store ----------------------------------------------------------------------------------


async def test_local_store_keeps_one_copy_and_signs_expiring_links(tmp_path):
    # given
    store = LocalStore(tmp_path, secret="s3cret", public_url="http://testserver/")
    data = b"%PDF-1.4 local"
    sha = hashlib.sha256(data).hexdigest()
    key = object_key("tenant_x", sha)
    # when
    first = await store.put(key, data, content_type="application/pdf", sha256=sha)
    second = await store.put(key, b"other bytes", content_type="application/pdf", sha256=sha)
    # then
    assert first.created is True and second.created is False
    assert await store.get(key) == data
    assert list((tmp_path / "tenant_x" / "sha256").iterdir()) == [tmp_path / key]
    url = await store.download_url(key, filename="a.pdf", content_type="application/pdf", ttl_s=60)
    assert url.startswith(f"http://testserver/evidence/blob/{key}?expires=")
    query = dict(part.split("=", 1) for part in url.split("?", 1)[1].split("&"))
    expires, signature = int(query["expires"]), query["signature"]
    assert store.verify(key, expires, signature)
    # a link for another key, a changed expiry or another secret does not verify
    assert not store.verify(object_key("tenant_y", sha), expires, signature)
    assert not store.verify(key, expires + 60, signature)
    assert not LocalStore(tmp_path, secret="other", public_url="http://testserver").verify(key, expires, signature)
    # an expired link is refused even with a correct signature
    past = int(time.time()) - 1
    assert not store.verify(key, past, store.sign(key, past))
    # delete_unlocked removes the bytes
    await store.delete_unlocked(key)
    assert not (tmp_path / key).exists()


async def test_local_store_blob_route_serves_signed_links_only(services, http, tmp_path):
    # given: an app whose object store is a local directory
    from backend.app import create_app

    store = LocalStore(tmp_path, secret="s3cret", public_url="http://testserver")
    local = dataclasses.replace(services, store=store)
    app = create_app(services.settings, services=local)
    app.state.services = local
    owner = await make_org(services)
    data = _unique_pdf()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        headers = await _bearer(services, client, owner)
        body = (await _upload(client, headers, data)).json()
        # when
        redirect = await client.get(f"/evidence/{body['id']}/download", headers=headers)
        location = redirect.headers["location"].removeprefix("http://testserver")
        fetched = await client.get(location)
        key = object_key(owner.tenant.schema, body["sha256"])
        past = int(time.time()) - 1
        expired = await client.get(f"/evidence/blob/{key}?expires={past}&signature={store.sign(key, past)}")
        forged = await client.get(location.replace("signature=", "signature=0"))
    # then
    assert redirect.status_code == 302
    assert fetched.status_code == 200 and fetched.content == data
    assert expired.status_code == 404
    assert forged.status_code == 404


# --- subjects: typed references that must exist --------------------------------------------------------


async def _upload_about(http, headers, subjects: str, data: bytes | None = None, **extra: str) -> httpx.Response:
    return await http.post(
        "/evidence/",
        files={"file": ("contract.pdf", data or _unique_pdf(), "application/pdf")},
        data={"kind": "ppa", "title": "PPA 2026", "subjects": subjects, **extra},
        headers=headers,
    )


async def test_subjects_are_typed_references_to_records_that_exist(services, http, exporter):
    # given
    from tests.factories.site import make_plant
    from tests.integration.test_cross_tenant import gid

    owner, headers = exporter
    plant = await make_plant(services, owner)
    meter = plant.meters["MAIN"]
    # when: an installation by UUID and a meter by the global id GraphQL shows
    subjects = [
        {"kind": "installation", "id": str(plant.installation_id)},
        {"kind": "meter", "id": gid("Meter", meter)},
    ]
    response = await _upload_about(http, headers, json.dumps(subjects))
    # then: stored as typed references with the installation they concern
    assert response.status_code == 201, response.text
    assert response.json()["subjects"] == [
        {"kind": "installation", "id": str(plant.installation_id)},
        {"kind": "meter", "id": str(meter)},
    ]
    async with services.db.tenant(owner.tenant.scope()) as db:
        doc = await db.get(EvidenceDocument, uuid.UUID(response.json()["id"]))
        assert doc is not None and doc.installation_ids == [plant.installation_id]


@pytest.mark.parametrize(
    ("subjects", "field"),
    [
        ('[{"kind": "meter", "id": "f0faabde-afcb-49e0-a7b1-42208e251a19"}]', "subjects.0.id"),
        ('[{"kind": "installation", "id": "f0faabde-afcb-49e0-a7b1-42208e251a19"}]', "subjects.0.id"),
        ('[{"kind": "contract", "id": "f0faabde-afcb-49e0-a7b1-42208e251a19"}]', "subjects.0.kind"),
        ('[{"kind": "meter", "id": "not-an-id"}]', "subjects.0.id"),
        ('{"meter_id": "f0faabde-afcb-49e0-a7b1-42208e251a19"}', "subjects.0.id"),
        ('[{"kind": "meter"}]', "subjects.0"),
        ('"meter"', "subjects"),
        ("[not json", "subjects"),
    ],
)
async def test_a_missing_or_untyped_subject_is_refused_naming_it_and_nothing_is_stored(
    services, http, exporter, subjects, field
):
    # given
    owner, headers = exporter
    rows, objects = await _rows(services, owner), len(await _objects(owner))
    # when
    response = await _upload_about(http, headers, subjects)
    # then
    assert response.status_code == 422, response.text
    assert field in [e["field"] for e in response.json()["errors"]], response.text
    assert await _rows(services, owner) == rows
    assert len(await _objects(owner)) == objects


async def test_a_subject_of_another_tenant_does_not_exist_here(services, http, exporter):
    # given: B's meter named in A's upload
    from tests.factories.site import make_plant

    _owner, headers = exporter
    other = await make_org(services)
    plant = await make_plant(services, other)
    # when
    response = await _upload_about(http, headers, f'[{{"kind": "meter", "id": "{plant.meters["MAIN"]}"}}]')
    # then
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "subjects.0.id"
    assert "no such meter" in response.json()["errors"][0]["message"]
