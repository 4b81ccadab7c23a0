"""Plant history for the demo from the first day of last month, from the same deterministic model the
live simulator runs (its presses run the batches of the production schedule the demo records).

Counter snapshots every five minutes go through the normal ingest path (validated, stored once,
audited); a few deliberate outages show the validation at work: a short one estimated linearly,
a long one estimated from like days, and one at the very start that stays a gap.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from backend.db import Database
from backend.identity.principal import Principal
from backend.ingest.schemas import WireBatch, WireReading
from backend.ingest.service import ReadingLimits, store_batch
from backend.metering.derivation import DerivationReport, derive_installation
from backend.metering.units import BASE_UNIT_FACTOR
from backend.tenants.models import Tenant
from connectors.inventory import ConfiguredPoint
from connectors.simulator.plant import PlantModel

SEED = 42
# 20 s model steps and 5-minute snapshots keep the first start short for about two months of history
# (measured in docs/quickstart.md); 15-minute intervals derive from them as from minute readings
STEP_S = 20.0
SNAPSHOT_S = 300
CHUNK = 25_000
STATE_FIELD = {
    "active_energy_import": "import_kwh",
    "active_energy_export": "export_kwh",
    "reactive_energy_import": "reactive_import_kvarh",
    "gas_volume": "gas_nm3",
}


def outages(history_start: datetime) -> list[tuple[str, datetime, datetime]]:
    """(meter, from, to): readings the meters 'lost' in the demo history."""
    day = history_start.replace(hour=0, minute=0, second=0, microsecond=0)
    return [
        ("PV-ROOF", history_start, history_start + timedelta(hours=2)),
        ("PRESS2", day + timedelta(days=10, hours=9), day + timedelta(days=10, hours=12, minutes=30)),
        ("COMPRESSORS", day + timedelta(days=12, hours=11), day + timedelta(days=12, hours=11, minutes=40)),
    ]


def _unit_factor(unit: str) -> float:
    """Model counters are in kWh / kvarh / Nm3; the meters show Wh, kWh, kvarh or Nm3."""
    return 1.0 / BASE_UNIT_FACTOR.get(unit, 1.0)


async def backfill(
    db: Database,
    tenant: Tenant,
    installation_id: uuid.UUID,
    points: list[ConfiguredPoint],
    *,
    history_start: datetime,
    until: datetime,
) -> int:
    """Store the plant's counter history [history_start, until); returns the readings stored."""
    counters = [p for p in points if p.kind == "counter" and p.quantity in STATE_FIELD]
    lost = outages(history_start)
    model = PlantModel(seed=SEED, start=history_start, step_s=STEP_S)
    actor = Principal.system("demo plant history", tenant.id)
    readings: list[WireReading] = []
    stored = 0
    moment = history_start
    while moment < until:
        snapshot = model.snapshot(moment)
        for point in counters:
            if any(point.meter == m and start <= moment < end for m, start, end in lost):
                continue
            value = getattr(snapshot[point.meter], STATE_FIELD[point.quantity]) * _unit_factor(point.unit)
            readings.append(
                WireReading(
                    meter=point.meter, quantity=point.quantity, unit=point.unit, ts=moment, value=round(value, 3)
                )
            )
        if len(readings) >= CHUNK:
            stored += await _store(db, tenant, actor, installation_id, readings)
            readings = []
        moment += timedelta(seconds=SNAPSHOT_S)
    if readings:
        stored += await _store(db, tenant, actor, installation_id, readings)
    return stored


async def _store(
    db: Database, tenant: Tenant, actor: Principal, installation_id: uuid.UUID, readings: list[WireReading]
) -> int:
    async with db.tenant(tenant.scope()) as session:
        result = await store_batch(
            session,
            actor,
            installation_id,
            WireBatch(agent_id="plant history", readings=readings),
            source="history",
            body_sha256="0" * 64,
            limits=ReadingLimits(),
        )
    return result.accepted


async def derive_history(db: Database, tenant: Tenant, installation_id: uuid.UUID) -> DerivationReport:
    async with db.tenant(tenant.scope()) as session:
        return await derive_installation(session, Principal.system("interval derivation", tenant.id), installation_id)


def default_history_start(now: datetime | None = None) -> datetime:
    """Midnight (UTC) of the first day of last month: the last full calendar month and the current one."""
    first_this = (now or datetime.now(UTC)).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return (first_this - timedelta(days=1)).replace(day=1)
