"""`cbamx demo`: embedded services, migrations, demo data and history, the API, worker, plant and agent."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from demo.seed import AGENT_CONFIG, DEMO_PASSWORD, ORGS


@dataclass
class Prepared:
    client_id: str
    client_secret: str
    history_start: datetime
    agent_config: Path
    modbus_port: int
    opcua_port: int
    mes_client_id: str
    mes_client_secret: str
    started: datetime


def _prepare(data_dir: Path, port: int, *, base: str, ca_bundle: Path | None) -> Prepared:
    from sqlalchemy import func, select

    from backend.db import Database
    from backend.evidence.store import S3Store
    from backend.ingest.models import CounterReading
    from backend.services import build_store, start_services
    from backend.settings import get_settings
    from demo.calculations import calculate_last_month, describe_period
    from demo.exchange import describe as describe_exchange
    from demo.exchange import seed_exchange
    from demo.history import SEED, STEP_S, backfill, default_history_start, derive_history
    from demo.plant import MES_NAME, agent_credentials, free_port, write_agent_config
    from demo.seed import org_email, seed
    from demo.verification import describe as describe_verification
    from demo.verification import seed_verification
    from tenancy.migrate import upgrade_platform, upgrade_tenants

    folder = data_dir / "agent"
    folder.mkdir(parents=True, exist_ok=True)
    plant_file = folder / "plant.json"
    plant = (
        json.loads(plant_file.read_text())
        if plant_file.exists()
        else {"history_start": default_history_start().isoformat(), "seed": SEED, "step_s": STEP_S}
    )
    history_start = datetime.fromisoformat(plant["history_start"])

    started = datetime.now(UTC)

    async def main() -> Prepared:
        db = Database.connect(os.environ["DATABASE_URL"], pool_size=2)
        try:
            await upgrade_platform(db)
            await upgrade_tenants(db)
            store = build_store(get_settings())
            if isinstance(store, S3Store):
                await store.ensure_bucket()
            state = await seed(db, store)
            exporter = state.tenants["alu-sabac"]
            assert state.installation_id is not None
            async with db.tenant_session(exporter.scope()) as session:
                has_readings = await session.scalar(select(func.count()).select_from(CounterReading))
            if not has_readings:
                print(f"generating plant history since {history_start:%Y-%m-%d} (first start only)...", flush=True)
                began = time.monotonic()
                stored = await backfill(
                    db,
                    exporter,
                    state.installation_id,
                    state.points,
                    history_start=history_start,
                    until=datetime.now(UTC),
                )
                report = await derive_history(db, exporter, state.installation_id)
                print(
                    f"  {stored:,} counter readings, {len(report.days)} days x {report.meters} meters derived "
                    f"({report.counts.get('estimated_linear', 0)} intervals estimated linearly, "
                    f"{report.counts.get('estimated_like_day', 0)} from like days) "
                    f"in {time.monotonic() - began:.0f} s",
                    flush=True,
                )
            services = await start_services(get_settings())
            try:
                calculated = await calculate_last_month(
                    services, exporter, state.installation_id, data_dir / "calculations"
                )
                exchanged = await seed_exchange(services, exporter, state.tenants["fassaden-nord"], calculated.run)
                verified = await seed_verification(
                    services, exporter, state.tenants["verifika"], org_email("verifika"), calculated.run
                )
            finally:
                await services.close()
            run = calculated.run
            print(
                f"calculation of last month ({describe_period(run)}): {run.status.value}"
                + (f" ({run.error_code}: {run.error_message})" if run.error_code else "")
                + f", {calculated.footprints} footprint versions, {calculated.seconds:.0f} s",
                flush=True,
            )
            if calculated.bundle is not None:
                print(f"  calculation bundle {calculated.bundle} (check it: ./dev recompute <bundle>)", flush=True)
            if exchanged is not None:
                print(describe_exchange(exchanged), flush=True)
            if verified is not None:
                print(describe_verification(verified), flush=True)
            client_id, secret = await agent_credentials(db, exporter, state.installation_id, folder)
            mes_id, mes_secret = await agent_credentials(
                db,
                exporter,
                state.installation_id,
                folder,
                name=MES_NAME,
                scopes=("production:write",),
                file="mes-client.json",
            )
        finally:
            await db.dispose()
        modbus_port, opcua_port = free_port(), free_port()
        config = write_agent_config(
            AGENT_CONFIG,
            folder,
            server_url=base,
            ca_bundle=ca_bundle,
            client_id=client_id,
            modbus_port=modbus_port,
            opcua_port=opcua_port,
        )
        return Prepared(client_id, secret, history_start, config, modbus_port, opcua_port, mes_id, mes_secret, started)

    prepared = asyncio.run(main())
    plant_file.write_text(json.dumps(plant))
    return prepared


def _stop_on_terminate(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # `kill` stops the demo as Ctrl-C does: its processes are stopped with it


def run_demo(*, port: int, data_dir: Path, reset: bool, https: bool = False) -> int:
    from backend.embedded import ensure_services_env, stop_embedded

    signal.signal(signal.SIGTERM, _stop_on_terminate)

    data_dir = data_dir.resolve()
    if reset and data_dir.exists():
        stop_embedded(data_dir)
        shutil.rmtree(data_dir)
    embedded = ensure_services_env(data_dir)
    os.environ.setdefault("CBAMX_DATA_DIR", str(data_dir))
    base = f"{'https' if https else 'http'}://127.0.0.1:{port}"
    os.environ.setdefault("CBAMX_PUBLIC_URL", base)
    os.environ.setdefault("CBAMX_PORT", str(port))
    # the start page at / lists the demo's log-ins (only this command sets the variable)
    os.environ["CBAMX_DEMO_LOGINS"] = json.dumps(
        [
            {
                "email": o.email,
                "organisation": o.name,
                "kind": o.kind.value.replace("_", " "),
                "password": DEMO_PASSWORD,
            }
            for o in ORGS
        ]
    )
    tls: tuple[Path, Path] | None = None
    if https:
        from demo.tls import demo_certificate

        tls = demo_certificate(data_dir / "tls")
    prepared = _prepare(data_dir, port, base=base, ca_bundle=tls[0] if tls else None)
    from demo.history import SEED, STEP_S
    from demo.plant import start_mes, start_plant

    exe = Path(sys.executable).parent
    processes: list[subprocess.Popen[bytes]] = [subprocess.Popen([str(exe / "cbamx"), "worker"])]
    serve = [str(exe / "cbamx"), "serve", "--port", str(port)]
    if tls is not None:
        serve += ["--ssl-certfile", str(tls[0]), "--ssl-keyfile", str(tls[1])]
    server = subprocess.Popen(serve)
    processes.append(server)
    processes += start_plant(
        data_dir / "agent",
        config=prepared.agent_config,
        secret=prepared.client_secret,
        history_start=prepared.history_start,
        seed=SEED,
        step_s=STEP_S,
        modbus_port=prepared.modbus_port,
        opcua_port=prepared.opcua_port,
    )
    # the batches that closed while the demo started (recorded at start-up up to then) are posted
    # again (answered 200, stored once), then each batch as it closes
    processes.append(
        start_mes(
            data_dir / "agent",
            server_url=base,
            client_id=prepared.mes_client_id,
            secret=prepared.mes_client_secret,
            seed=SEED,
            since=prepared.started - timedelta(minutes=10),
            ca_file=tls[0] if tls else None,
        )
    )
    print("\n" + "=" * 78)
    print(f"cbamx demo running at {base}/   (start page with the log-ins, GraphiQL and the REST reference)")
    print(f"  GraphiQL: {base}/graphql   REST reference: {base}/openapi   docs: {base}/docs/quickstart.md")
    print(f"log in with POST {base}/auth/login, password for every demo user: {DEMO_PASSWORD}")
    for org in ORGS:
        print(f"  {org.kind.value:20} {org.email:30} {org.name}")
    print(
        f"simulated plant: Modbus TCP 127.0.0.1:{prepared.modbus_port}, OPC UA 127.0.0.1:{prepared.opcua_port}; "
        f"agent config {prepared.agent_config} (client {prepared.client_id})"
    )
    print(
        ("embedded services: " if embedded else "services: ") + f"{os.environ['DATABASE_URL']}  "
        f"{os.environ['REDIS_URL']}"
    )
    if tls is not None:
        print(f"HTTPS with a self-signed certificate: trust it with curl --cacert {tls[0]} (or SSL_CERT_FILE)")
        print(f"  PACT v3: {base}/3/footprints   token: {base}/auth/token   docs: {base}/docs/pact.md")
    print("stop with Ctrl-C")
    print("=" * 78 + "\n", flush=True)
    try:
        return server.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 5
        for process in processes:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
