"""A file of shipments (CSV or Excel): stored whole, or refused with a report naming row, column and
reason and nothing of it stored; the file is kept as evidence either way."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from backend.evidence.models import EvidenceDocument
from backend.shipments.models import Shipment, ShipmentBatch, ShipmentImport
from tests.factories.shipments import Goods, make_goods
from tests.factories.tenants import login, make_tenant
from tests.integration.test_cross_tenant import gid
from tests.operations import operation

ENDED = datetime(2026, 10, 5, 10, 0, tzinfo=UTC)
HEADER = (
    "shipment_number,customer_name,customer_country,customer_eori,cn_code,net_mass_t,dispatch_date,"
    "delivery_date,invoice_number,mrn,batch_number,batch_mass_t"
)
GOOD = [
    "OTP-1,Fassadenbau Nord GmbH,DE,DE471108300000,7604 29 90,21.5,2026-10-07,2026-10-09,APS-1,"
    "26RS01501000410017,K-1,12",
    "OTP-1,,,,,,,,,,K-2,9.5",
    "OTP-2,Fassadenbau Nord GmbH,DE,,76042990,20,08.10.2026,,APS-2,,K-2,8.5",
    "OTP-2,Fassadenbau Nord GmbH,DE,,76042990,20,08.10.2026,,APS-2,,K-3,11.5",
]


async def goods(services) -> Goods:
    owner = await make_tenant(services)
    return await make_goods(
        services,
        owner,
        [
            ("K-1", "AL-PROF", ENDED, 20.0),
            ("K-2", "AL-PROF", ENDED + timedelta(hours=3), 18.0),
            ("K-3", "AL-PROF", ENDED + timedelta(hours=6), 22.0),
        ],
    )


async def upload(http, g: Goods, content: bytes, filename: str = "shipments.csv") -> Any:
    session = await login(http, g.owner.email)
    return await http.post(
        "/shipments/v1/files",
        files={"file": (filename, content, "text/csv")},
        data={"installation_id": str(g.plant.installation_id)},
        cookies=session.cookies,
        headers={"X-CSRF-Token": session.csrf},
    )


async def stored(services, g: Goods) -> dict[str, int]:
    async with services.db.tenant(g.owner.tenant.scope()) as db:
        return {
            "shipments": await db.scalar(select(func.count()).select_from(Shipment)),
            "shares": await db.scalar(select(func.count()).select_from(ShipmentBatch)),
            "imports": await db.scalar(select(func.count()).select_from(ShipmentImport)),
            "documents": await db.scalar(select(func.count()).select_from(EvidenceDocument)),
        }


def csv(*lines: str) -> bytes:
    return ("\n".join([HEADER, *lines]) + "\n").encode()


async def test_a_good_file_stores_every_shipment_and_keeps_the_file(services, http):
    # given
    g = await goods(services)
    # when
    response = await upload(http, g, csv(*GOOD))
    # then
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["status"], body["rows"], body["shipments"], body["errors"]) == ("completed", 4, 2, [])
    assert await stored(services, g) == {"shipments": 2, "shares": 4, "imports": 1, "documents": 1}
    session = await login(http, g.owner.email)
    listed = await session.gql(operation("Shipments"), {})
    shipments = {e["node"]["reference"]: e["node"] for e in listed["data"]["shipments"]["edges"]}
    assert shipments["OTP-1"]["netMassT"] == 21.5 and shipments["OTP-1"]["mrn"] == "26RS01501000410017"
    assert shipments["OTP-2"]["dispatchDate"] == "2026-10-08"
    assert [(b["batchNumber"], b["massT"]) for b in shipments["OTP-2"]["batches"]] == [("K-2", 8.5), ("K-3", 11.5)]
    assert shipments["OTP-1"]["source"] == f"import:{body['import_id']}"
    reports = await session.gql(
        operation("ShipmentImports"), {"installationId": gid("Installation", g.plant.installation_id)}
    )
    assert [(r["status"], r["shipmentsStored"]) for r in reports["data"]["shipmentImports"]] == [("completed", 2)]


TOMORROW = (date.today() + timedelta(days=2)).isoformat()

BAD_FILES: dict[str, tuple[list[str] | bytes, int, str, str]] = {
    # name: (lines or raw file, row, column, code)
    "missing column": (b"shipment_number,customer_name\nOTP-1,x\n", 1, "cn_code", "MISSING_COLUMN"),
    "no rows": ([], 2, "", "NO_ROWS"),
    "bad date": ([GOOD[0].replace("2026-10-07", "7th Oct")], 2, "dispatch_date", "BAD_DATE"),
    "mass not a number": ([GOOD[0], GOOD[1].replace("9.5", "nine")], 3, "batch_mass_t", "NOT_A_NUMBER"),
    "mass zero": ([GOOD[0].replace(",12", ",0").replace(",21.5,", ",9.5,"), GOOD[1]], 2, "batch_mass_t", "INVALID"),
    "unknown batch": ([GOOD[0], GOOD[1].replace("K-2", "K-99")], 3, "batch_number", "UNKNOWN_BATCH"),
    "differs within a shipment": (
        [GOOD[0], GOOD[1].replace(",,,,,,", ",,AT,,,,")],
        3,
        "customer_country",
        "DIFFERS_IN_SHIPMENT",
    ),
    "masses do not add up": ([GOOD[0]], 2, "batch_mass_t", "INVALID"),
    "cn code not in the goods list": (
        [GOOD[2].replace("76042990", "39259080"), GOOD[3].replace("76042990", "39259080")],
        2,
        "cn_code",
        "INVALID",
    ),
    "dispatch in the future": (
        [GOOD[0].replace("2026-10-07,2026-10-09", f"{TOMORROW},"), GOOD[1]],
        2,
        "dispatch_date",
        "INVALID",
    ),
    "customer outside the EU": (
        [GOOD[2].replace(",DE,", ",CH,"), GOOD[3].replace(",DE,", ",CH,")],
        2,
        "customer_country",
        "INVALID",
    ),
    # K-2 has 18 t: 9.5 in OTP-1, then 8.5 + 1 in OTP-2 is beyond it (found in file order)
    "over-shipped across the file's shipments": (
        [*GOOD[:2], GOOD[2].replace(",20,", ",21,").replace(",8.5", ",9.5"), GOOD[3].replace(",20,", ",21,")],
        4,
        "batch_mass_t",
        "BATCH_OVER_SHIPPED",
    ),
    "invoice twice in the file": (
        [*GOOD[:2], GOOD[2].replace("APS-2", "APS-1"), GOOD[3].replace("APS-2", "APS-1")],
        4,
        "invoice_number",
        "SHIPMENT_REFERENCE_TAKEN",
    ),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
async def test_a_bad_file_is_refused_naming_row_and_column_and_stores_no_shipment(services, http, case):
    # given
    g = await goods(services)
    lines, row, column, code = BAD_FILES[case]
    content = lines if isinstance(lines, bytes) else csv(*lines)
    # when
    response = await upload(http, g, content)
    # then: refused with the report; the file and its report kept, no shipment
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["status"] == "rejected" and body["shipments"] == 0
    assert (row, column, code) in [(e["row"], e["column"], e["code"]) for e in body["errors"]], body["errors"]
    assert await stored(services, g) == {"shipments": 0, "shares": 0, "imports": 1, "documents": 1}


async def test_an_excel_file_is_read_the_same_way(services, http):
    from openpyxl import Workbook

    g = await goods(services)
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(HEADER.split(","))
    sheet.append(
        [
            "OTP-9",
            "Fassadenbau Nord GmbH",
            "DE",
            None,
            76042990,
            20,
            datetime(2026, 10, 8),
            None,
            "APS-9",
            None,
            "K-3",
            20,
        ]
    )
    buffer = io.BytesIO()
    workbook.save(buffer)
    response = await upload(http, g, buffer.getvalue(), "shipments.xlsx")
    assert response.status_code == 201, response.text
    assert await stored(services, g) == {"shipments": 1, "shares": 1, "imports": 1, "documents": 1}


async def test_a_file_for_another_organisations_installation_is_refused(services, http):
    a, b = await goods(services), await goods(services)
    session = await login(http, a.owner.email)
    response = await http.post(
        "/shipments/v1/files",
        files={"file": ("s.csv", csv(*GOOD), "text/csv")},
        data={"installation_id": str(b.plant.installation_id)},
        cookies=session.cookies,
        headers={"X-CSRF-Token": session.csrf},
    )
    assert response.status_code == 404, response.text
    assert await stored(services, a) == {"shipments": 0, "shares": 0, "imports": 0, "documents": 0}
    assert await stored(services, b) == {"shipments": 0, "shares": 0, "imports": 0, "documents": 0}


async def test_a_file_that_is_not_text_is_refused_at_the_door(services, http):
    g = await goods(services)
    response = await upload(http, g, HEADER.encode() + b"\nOTP-1,M\xfcller\n")
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "file"
    assert await stored(services, g) == {"shipments": 0, "shares": 0, "imports": 0, "documents": 0}
