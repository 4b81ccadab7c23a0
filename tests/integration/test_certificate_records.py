"""A developer's CSV of certificate records for one PPA: all rows stored, or none with a report
naming each row and column."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select

from backend.certificates import service
from backend.certificates.models import CertificateState
from backend.certificates.schemas import CertificateFilter
from backend.evidence.models import EvidenceDocument
from tests.factories.certificates import last_month
from tests.factories.tenants import login
from tests.integration.test_ppa_certificates import make_ppa

HEADER = (
    "action,scheme,issuing_body,issuing_country,range_start,range_end,device_id,device_name,device_country,"
    "energy_source,production_start,production_end,issued_on,transferred_to,transferred_on,beneficiary,"
    "consumption_start,consumption_end,consumption_country,purpose,cancelled_on,statement_reference"
)


def _row(action: str, start: int, end: int, **cells: str) -> str:
    first, after = last_month()
    values = {
        "action": action,
        "scheme": "go_eecs",
        "issuing_body": "EMS",
        "issuing_country": "RS",
        "range_start": str(start),
        "range_end": str(end),
        "device_id": "RS-EMS-PV-DUNAV-01",
        "device_name": "Dunav Solar 1",
        "device_country": "RS",
        "energy_source": "F01010100",
        "production_start": first.isoformat(),
        "production_end": after.isoformat(),
        "issued_on": after.isoformat(),
        "transferred_to": "",
        "transferred_on": "",
        "beneficiary": "",
        "consumption_start": "",
        "consumption_end": "",
        "consumption_country": "",
        "purpose": "",
        "cancelled_on": "",
        "statement_reference": "",
    }
    values.update(cells)
    return ",".join(values.values())


def _file(*rows: str) -> bytes:
    return ("\n".join([HEADER, *rows]) + "\n").encode()


async def _upload(http, session, connection_id, content: bytes):
    return await http.post(
        f"/certificates/v1/connections/{connection_id}/records",
        files={"file": ("records.csv", content, "text/csv")},
        headers={"X-CSRF-Token": session.csrf},
        cookies=session.cookies,
    )


async def _stored(services, owner) -> tuple[int, int]:
    async with services.db.tenant(owner.tenant.scope()) as db:
        certificates = await service.list_certificates(db, owner.principal, CertificateFilter(), limit=100)
        documents = await db.scalar(select(func.count()).select_from(EvidenceDocument))
    return len(certificates), documents or 0


async def test_a_file_of_issuance_transfer_and_cancellation_records_is_stored_whole(services, http):
    ppa = await make_ppa(services)
    developer = ppa.developer
    first, after = last_month()
    content = _file(
        _row("issued", 40_000_001, 40_000_100),
        _row(
            "transferred", 40_000_101, 40_000_300, transferred_to="Alu Sabac d.o.o.", transferred_on=after.isoformat()
        ),
        _row(
            "cancelled",
            40_000_301,
            40_000_350,
            beneficiary="Alu Sabac d.o.o.",
            consumption_start=first.isoformat(),
            consumption_end=after.isoformat(),
            consumption_country="RS",
            purpose="CBAM indirect emissions",
            cancelled_on=after.isoformat(),
            statement_reference="EMS-CAN-7",
        ),
    )
    session = await login(http, developer.email)
    # when
    response = await _upload(http, session, ppa.connection_id, content)
    # then
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["certificates"], body["issued"], body["transferred"], body["cancelled"]) == (3, 1, 1, 1)
    async with services.db.tenant(developer.tenant.scope()) as db:
        rows = await service.list_certificates(
            db, developer.principal, CertificateFilter(ppa_connection_id=ppa.connection_id)
        )
    assert sorted((r.range_start, r.quantity, r.state) for r in rows) == [
        (40_000_001, 100, CertificateState.ACTIVE),
        (40_000_101, 200, CertificateState.TRANSFERRED),
        (40_000_301, 50, CertificateState.CANCELLED),
    ]
    assert all(r.evidence_sha256 == [body["sha256"]] for r in rows)


async def test_a_bad_file_is_refused_naming_row_and_column_and_stores_nothing(services, http):
    ppa = await make_ppa(services)
    developer = ppa.developer
    future = (date.today() + timedelta(days=40)).isoformat()
    content = _file(
        _row("issued", 41_000_001, 41_000_100),  # fine on its own
        _row("sold", 41_000_300, 41_000_310),  # unknown action
        _row("transferred", 41_000_400, 41_000_410),  # transfer without counterparty or day
        _row("cancelled", 41_000_500, 41_000_510, beneficiary="X"),  # statement incomplete
        _row("issued", 41_000_700, "many"),  # not a number
    )
    session = await login(http, developer.email)
    before = await _stored(services, developer)
    # when
    response = await _upload(http, session, ppa.connection_id, content)
    # then
    assert response.status_code == 422, response.text
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields == {
        "rows.3.action",
        "rows.4.transferred_to",
        "rows.4.transferred_on",
        "rows.5.consumption_start",
        "rows.5.consumption_end",
        "rows.5.consumption_country",
        "rows.5.purpose",
        "rows.5.cancelled_on",
        "rows.6.range_end",
    }
    assert await _stored(services, developer) == before
    # rows that parse are then checked as records: reversed range, overlap, a future period
    content = _file(
        _row("issued", 41_000_001, 41_000_100),
        _row("issued", 41_000_200, 41_000_150),
        _row("issued", 41_000_050, 41_000_060),
        _row("issued", 41_000_600, 41_000_610, production_end=future),
    )
    response = await _upload(http, session, ppa.connection_id, content)
    assert response.status_code == 422, response.text
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields == {"rows.3.range_end", "rows.4.range_start", "rows.5.production_end"}
    assert await _stored(services, developer) == before


async def test_only_the_developer_of_the_connection_uploads_records(services, http):
    ppa = await make_ppa(services)
    developer = ppa.developer
    session = await login(http, ppa.offtaker.email)
    response = await _upload(http, session, ppa.connection_id, _file(_row("issued", 42_000_001, 42_000_010)))
    assert response.status_code == 404, response.text
    assert await _stored(services, developer) == (0, 0)
