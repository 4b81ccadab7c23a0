"""Bad input to the site model and the meters is refused through GraphQL, naming the field, storing nothing.

Every case goes through the mutation a user would call; the tables it could write are counted
before and after, and the audit trail must not have grown.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from backend.audit.models import AuditEntry
from backend.installations.models import GridConnectionPoint, Installation, ProductionLine, ProductionProcess
from backend.metering.models import DataPoint, Meter, MeterChange, MeterDevice
from tests.factories.site import make_plant
from tests.factories.tenants import login, make_tenant
from tests.integration.test_cross_tenant import gid
from tests.operations import operation

TABLES = {
    "installations": Installation,
    "production_processes": ProductionProcess,
    "production_lines": ProductionLine,
    "grid_connection_points": GridConnectionPoint,
    "meters": Meter,
    "meter_devices": MeterDevice,
    "data_points": DataPoint,
    "meter_changes": MeterChange,
    "audit_entries": AuditEntry,
}
NUL = "a\x00b"
FUTURE = (datetime.now(UTC) + timedelta(days=400)).isoformat()
MISSING_ID = "00000000-0000-4000-8000-000000000000"


@dataclass(frozen=True)
class Case:
    name: str
    operation: str
    input: Any  # a function of the plant's ids giving the mutation's input
    field: str


def installation(**changes: Any) -> dict[str, Any]:
    return {"name": "Plant", "country": "RS", **changes}


def meter(p: dict[str, str], **changes: Any) -> dict[str, Any]:
    return {
        "installationId": p["installation"],
        "code": "NEW-1",
        "name": "New meter",
        "medium": "ELECTRICITY",
        "role": "SUB",
        **changes,
    }


def device(**changes: Any) -> dict[str, Any]:
    return {"serialNumber": "SN-1", "installedAt": "2025-06-01T00:00:00+00:00", **changes}


CASES = [
    # installations
    Case("installation name too long", "CreateInstallation", lambda p: installation(name="x" * 201), "name"),
    Case("installation name with NUL", "CreateInstallation", lambda p: installation(name=NUL), "name"),
    Case("address with NUL", "CreateInstallation", lambda p: installation(address=NUL), "address"),
    Case("city too long", "CreateInstallation", lambda p: installation(city="c" * 121), "city"),
    Case("postal code too long", "CreateInstallation", lambda p: installation(postalCode="1" * 21), "postalCode"),
    Case(
        "economic activity too long",
        "CreateInstallation",
        lambda p: installation(economicActivity="e" * 201),
        "economicActivity",
    ),
    Case(
        "CBAM id too long",
        "CreateInstallation",
        lambda p: installation(cbamInstallationId="i" * 65),
        "cbamInstallationId",
    ),
    Case("latitude out of range", "CreateInstallation", lambda p: installation(latitude=91.0), "latitude"),
    Case("longitude out of range", "CreateInstallation", lambda p: installation(longitude=-181.0), "longitude"),
    Case("unknown time zone", "CreateInstallation", lambda p: installation(timezone="Mars/Olympus"), "timezone"),
    Case(
        "resolution not allowed",
        "CreateInstallation",
        lambda p: installation(intervalResolutionSeconds=7),
        "intervalResolutionSeconds",
    ),
    Case(
        "resolution beyond a 32-bit integer",
        "CreateInstallation",
        lambda p: installation(intervalResolutionSeconds=2**40),
        "intervalResolutionSeconds",
    ),
    Case("tolerance above 1", "CreateInstallation", lambda p: installation(balanceTolerance=1.5), "balanceTolerance"),
    Case(
        "update of an unknown installation",
        "UpdateInstallation",
        lambda p: {"id": gid("Installation", MISSING_ID), "details": installation()},
        "id",
    ),
    # processes, lines, grid points
    Case(
        "process code with a trailing newline",
        "CreateProductionProcess",
        lambda p: {"installationId": p["installation"], "code": "P9\n", "name": "Casting"},
        "code",
    ),
    Case(
        "process name with NUL",
        "CreateProductionProcess",
        lambda p: {"installationId": p["installation"], "code": "P9", "name": NUL},
        "name",
    ),
    Case(
        "process boundary too long",
        "CreateProductionProcess",
        lambda p: {"installationId": p["installation"], "code": "P9", "name": "C", "boundary": "b" * 10_001},
        "boundary",
    ),
    Case(
        "line of an unknown process",
        "CreateProductionLine",
        lambda p: {"processId": gid("ProductionProcess", MISSING_ID), "code": "L9", "name": "Line"},
        "processId",
    ),
    Case(
        "line name too long",
        "CreateProductionLine",
        lambda p: {"processId": p["process"], "code": "L9", "name": "n" * 201},
        "name",
    ),
    Case(
        "negative grid voltage",
        "CreateGridConnectionPoint",
        lambda p: {"installationId": p["installation"], "code": "GP9", "name": "GP", "voltageKv": -20.0},
        "voltageKv",
    ),
    Case(
        "grid voltage of a megavolt",
        "CreateGridConnectionPoint",
        lambda p: {"installationId": p["installation"], "code": "GP9", "name": "GP", "voltageKv": 1e6},
        "voltageKv",
    ),
    Case(
        "grid operator with NUL",
        "CreateGridConnectionPoint",
        lambda p: {"installationId": p["installation"], "code": "GP9", "name": "GP", "gridOperator": NUL},
        "gridOperator",
    ),
    # meters
    Case("meter code too long", "CreateMeter", lambda p: meter(p, code="M" * 65), "code"),
    Case("meter code with NUL", "CreateMeter", lambda p: meter(p, code="M\x00"), "code"),
    Case("meter code already used", "CreateMeter", lambda p: meter(p, code="SUB1"), "code"),
    Case("meter name too long", "CreateMeter", lambda p: meter(p, name="n" * 201), "name"),
    Case("meter name with NUL", "CreateMeter", lambda p: meter(p, name=NUL), "name"),
    Case("meter name blank", "CreateMeter", lambda p: meter(p, name="   "), "name"),
    Case("meter description with NUL", "CreateMeter", lambda p: meter(p, description=NUL), "description"),
    Case(
        "meter of an unknown installation",
        "CreateMeter",
        lambda p: meter(p, installationId=gid("Installation", MISSING_ID)),
        "installationId",
    ),
    Case("spike threshold zero", "CreateMeter", lambda p: meter(p, maxPowerKw=0.0), "maxPowerKw"),
    Case("spike threshold absurd", "CreateMeter", lambda p: meter(p, maxPowerKw=1e300), "maxPowerKw"),
    Case("negative counter wrap", "CreateMeter", lambda p: meter(p, counterWrapValue=-1.0), "counterWrapValue"),
    Case("parent unknown", "CreateMeter", lambda p: meter(p, parentId=gid("Meter", MISSING_ID)), "parentId"),
    Case("parent in another installation", "CreateMeter", lambda p: meter(p, parentId=p["other_meter"]), "parentId"),
    Case("parent of another medium", "CreateMeter", lambda p: meter(p, parentId=p["gas_meter"]), "parentId"),
    Case("line given an installation's id", "CreateMeter", lambda p: meter(p, lineId=p["installation"]), "lineId"),
    Case("line of another installation", "CreateMeter", lambda p: meter(p, lineId=p["other_line"]), "lineId"),
    Case(
        "unit of another dimension",
        "CreateMeter",
        lambda p: meter(p, dataPoints=[{"quantity": "ACTIVE_ENERGY_IMPORT", "unit": "kW"}]),
        "dataPoints.0.unit",
    ),
    Case(
        "unit unknown and huge",
        "CreateMeter",
        lambda p: meter(p, dataPoints=[{"quantity": "VOLTAGE_L1N", "unit": "V\x00" * 5000}]),
        "dataPoints.0.unit",
    ),
    Case(
        "a quantity twice",
        "CreateMeter",
        lambda p: meter(
            p,
            dataPoints=[
                {"quantity": "ACTIVE_POWER", "unit": "kW"},
                {"quantity": "ACTIVE_POWER", "unit": "W"},
            ],
        ),
        "dataPoints.1.quantity",
    ),
    Case(
        "serial number too long",
        "CreateMeter",
        lambda p: meter(p, device=device(serialNumber="S" * 65)),
        "device.serialNumber",
    ),
    Case(
        "serial number with NUL",
        "CreateMeter",
        lambda p: meter(p, device=device(serialNumber=NUL)),
        "device.serialNumber",
    ),
    Case(
        "manufacturer too long",
        "CreateMeter",
        lambda p: meter(p, device=device(manufacturer="m" * 121)),
        "device.manufacturer",
    ),
    Case("CT ratio zero", "CreateMeter", lambda p: meter(p, device=device(ctRatio=0.0)), "device.ctRatio"),
    Case("VT ratio absurd", "CreateMeter", lambda p: meter(p, device=device(vtRatio=1e12)), "device.vtRatio"),
    Case(
        "negative first reading",
        "CreateMeter",
        lambda p: meter(p, device=device(initialReading=-5.0)),
        "device.initialReading",
    ),
    Case(
        "device installed next year",
        "CreateMeter",
        lambda p: meter(p, device=device(installedAt=FUTURE)),
        "device.installedAt",
    ),
    Case("unknown medium", "CreateMeter", lambda p: meter(p, medium="PLASMA"), "medium"),
    # changing meters
    Case("update of an unknown meter", "UpdateMeter", lambda p: {"id": gid("Meter", MISSING_ID), "name": "x"}, "id"),
    Case("update making a cycle", "UpdateMeter", lambda p: {"id": p["main"], "parentId": p["sub1"]}, "parentId"),
    Case(
        "update making a meter its own parent",
        "UpdateMeter",
        lambda p: {"id": p["sub1"], "parentId": p["sub1"]},
        "parentId",
    ),
    Case("update with an empty name", "UpdateMeter", lambda p: {"id": p["sub1"], "name": ""}, "name"),
    Case("update clearing the role", "UpdateMeter", lambda p: {"id": p["sub1"], "role": None}, "role"),
    Case(
        "update with a NUL description", "UpdateMeter", lambda p: {"id": p["sub1"], "description": NUL}, "description"
    ),
    Case(
        "update with a negative threshold", "UpdateMeter", lambda p: {"id": p["sub1"], "maxPowerKw": -3.0}, "maxPowerKw"
    ),
    Case(
        "update with a reason too long",
        "UpdateMeter",
        lambda p: {"id": p["sub1"], "name": "x", "reason": "r" * 2001},
        "reason",
    ),
    Case(
        "data point with a wrong unit",
        "UpdateMeter",
        lambda p: {"id": p["sub1"], "addDataPoints": [{"quantity": "VOLTAGE_L1N", "unit": "kWh"}]},
        "addDataPoints.0.unit",
    ),
    Case(
        "data point already there",
        "UpdateMeter",
        lambda p: {"id": p["sub1"], "addDataPoints": [{"quantity": "ACTIVE_POWER", "unit": "W"}]},
        "addDataPoints.0.quantity",
    ),
    Case("retired next year", "RetireMeter", lambda p: {"id": p["sub2"], "retiredAt": FUTURE}, "retiredAt"),
    Case(
        "retired before its device was installed",
        "RetireMeter",
        lambda p: {"id": p["sub2"], "retiredAt": "2020-01-01T00:00:00+00:00"},
        "retiredAt",
    ),
    Case(
        "retired with a negative last reading",
        "RetireMeter",
        lambda p: {"id": p["sub2"], "retiredAt": "2026-01-01T00:00:00+00:00", "finalReading": -1.0},
        "finalReading",
    ),
    Case(
        "retiring a meter with sub-meters",
        "RetireMeter",
        lambda p: {"id": p["main"], "retiredAt": "2026-01-01T00:00:00+00:00"},
        "id",
    ),
    Case(
        "retired without a time zone",
        "RetireMeter",
        lambda p: {"id": p["sub2"], "retiredAt": "2026-01-01T00:00:00"},
        "retiredAt",
    ),
    Case(
        "virtual meter without terms",
        "CreateVirtualMeter",
        lambda p: {"installationId": p["installation"], "code": "V1", "name": "Losses", "terms": []},
        "terms",
    ),
    Case(
        "virtual meter with a zero coefficient",
        "CreateVirtualMeter",
        lambda p: {
            "installationId": p["installation"],
            "code": "V1",
            "name": "L",
            "terms": [{"meterId": p["main"], "coefficient": 0.0}],
        },
        "terms.0.coefficient",
    ),
    Case(
        "virtual meter over another installation's meter",
        "CreateVirtualMeter",
        lambda p: {
            "installationId": p["installation"],
            "code": "V1",
            "name": "L",
            "terms": [{"meterId": p["other_meter"], "coefficient": 1.0}],
        },
        "terms.0.meterId",
    ),
    Case(
        "exchange with a NUL serial number",
        "ReplaceMeterDevice",
        lambda p: {
            "meterId": p["sub1"],
            "removedAt": "2026-01-01T00:00:00+00:00",
            "finalReading": 10.0,
            "newDevice": device(serialNumber=NUL, installedAt="2026-01-01T00:00:00+00:00", initialReading=0.0),
        },
        "newDevice.serialNumber",
    ),
]


def named_fields(body: dict[str, Any], operation_name: str) -> tuple[set[str], str]:
    """The fields an answer names: payload errors, or the GraphQL error (coercion, domain)."""
    if body.get("errors"):
        texts = " ".join(e["message"] for e in body["errors"])
        fields = {f for e in body["errors"] for f in (e.get("extensions") or {}).get("fields") or []}
        fields |= {(e.get("extensions") or {}).get("field") for e in body["errors"]} - {None}
        return fields, texts
    (payload,) = body["data"].values()
    assert [k for k, v in payload.items() if k != "errors" and v is not None] == [], payload
    return {e["field"] for e in payload["errors"]}, " ".join(e["message"] for e in payload["errors"])


@pytest.fixture(scope="module")
async def site(services):
    # one site for every case: each case must leave it exactly as it was, which the counts check
    owner = await make_tenant(services)
    plant = await make_plant(services, owner)
    other = await make_plant(services, owner, meters=("O-MAIN",))
    from backend.metering import service as metering
    from backend.metering.models import Medium, MeterRole
    from backend.metering.schemas import MeterData

    async with services.db.tenant(owner.tenant.scope()) as db:
        gas = await metering.create_meter(
            db,
            owner.principal,
            MeterData(plant.installation_id, "GAS", "Gas", Medium.NATURAL_GAS, MeterRole.MAIN),
        )
    ids = {
        "installation": gid("Installation", plant.installation_id),
        "process": gid("ProductionProcess", plant.process_id),
        "main": gid("Meter", plant.meters["MAIN"]),
        "sub1": gid("Meter", plant.meters["SUB1"]),
        "sub2": gid("Meter", plant.meters["SUB2"]),
        "gas_meter": gid("Meter", gas.id),
        "other_meter": gid("Meter", other.meters["O-MAIN"]),
        "other_line": gid("ProductionLine", other.line_id),
    }
    return owner, ids


async def row_counts(services, owner) -> dict[str, int]:
    query = select(*[select(func.count()).select_from(m).scalar_subquery().label(t) for t, m in TABLES.items()])
    async with services.db.tenant(owner.tenant.scope()) as db:
        return dict((await db.execute(query)).mappings().one())


def test_the_suite_has_enough_cases():
    assert len(CASES) >= 30
    assert len({c.name for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
async def test_bad_input_is_refused_naming_the_field_and_nothing_is_stored(services, http, site, case):
    owner, ids = site
    session = await login(http, owner.email)
    before = await row_counts(services, owner)
    # when
    response = await session.http.post(
        "/graphql",
        json={"query": operation(case.operation), "variables": {"input": case.input(ids)}},
        headers={"X-CSRF-Token": session.csrf},
        cookies=session.cookies,
    )
    # then: an answer the caller can act on (never a 500), naming the field, and nothing stored
    assert response.status_code in (200, 400), response.text
    fields, message = named_fields(response.json(), case.operation)
    assert case.field in fields or case.field in message, (fields, message)
    assert await row_counts(services, owner) == before
