"""The demo's live MES posts the schedule's batches as they close: the body is the one the stream
endpoint takes, and a batch the start-up already recorded is answered 200 and stored once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from backend.installations import service as installations
from backend.installations.schemas import LineData
from backend.production.models import ProductionBatch
from connectors.simulator.schedule import ProductionSchedule
from demo.history import SEED
from demo.mes import body_of, closed_between
from demo.production import seed_production
from tests.factories.site import make_plant
from tests.factories.tenants import client_token, make_client, make_tenant


async def test_the_live_mes_posts_closed_batches_once(services, http):
    # given: the demo's lines and batches recorded up to 'now'
    owner = await make_tenant(services)
    plant = await make_plant(services, owner)
    async with services.db.tenant(owner.tenant.scope()) as db:
        for code in ("EXT-1", "EXT-2"):
            await installations.create_line(db, owner.principal, LineData(plant.process_id, code, code))
    now = datetime(2026, 12, 2, 13, 0, tzinfo=UTC)
    await seed_production(services.db, owner.tenant, plant.installation_id, seed=SEED, now=now)
    client_id, secret = await make_client(services, owner, ["production:write"], installation_id=plant.installation_id)
    token = await client_token(http, client_id, secret)
    schedule = ProductionSchedule(SEED)
    recorded = closed_between(schedule, now - timedelta(hours=6), now)
    later = closed_between(schedule, now, now + timedelta(hours=6))
    assert recorded and later and all(b.end <= now for b in recorded) and all(b.end > now for b in later)
    headers = {"Authorization": f"Bearer {token}"}
    async with services.db.tenant(owner.tenant.scope()) as db:
        before = await db.scalar(select(func.count()).select_from(ProductionBatch))
    # when
    again = await http.post("/production/v1/batches", json=body_of(recorded[-1], SEED), headers=headers)
    fresh = await http.post("/production/v1/batches", json=body_of(later[0], SEED), headers=headers)
    # then
    assert again.status_code == 200, again.text
    assert fresh.status_code == 201, fresh.text
    async with services.db.tenant(owner.tenant.scope()) as db:
        after = await db.scalar(select(func.count()).select_from(ProductionBatch))
    assert after == before + 1
