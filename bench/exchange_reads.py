"""Reads of shared footprints by 100 concurrent importer clients: GraphQL, PACT, and a bare Litestar app.

One exporter publishes 48 footprints (4 products x 12 monthly periods of 2025) and shares them with
100 importer organisations, each connected to it and holding one machine client with
``footprints:read``. 100 organisations rather than one with 100 clients: each of the exporter's
customers reads through its own connection and grant, its own organisation's database role and its
own entries in the exporter's audit trail, which is what 100 customers reading at once costs.

The API runs as its own uvicorn server (as ``bench.ingest`` runs it); 100 clients, one
``httpx.AsyncClient`` each with its own bearer token, ask as fast as they can for a fixed time:
``receivedFootprints(first: 20)`` over GraphQL, then ``GET /3/footprints?limit=20``, then the same 20
PACT documents from a bare Litestar app (``bench.reference_app``) under the same uvicorn settings.

``python -m bench.exchange_reads --profile`` measures one read instead of the load: 10 importers, the app
in this process (``httpx.ASGITransport``, no server), reads one after another and in bursts of 20, with the
SQL statements each read runs counted and cProfile's view of a batch of them. Its figures (statements
and milliseconds of work per read) depend far less on what else the machine is doing than the load's.
"""

from __future__ import annotations

import asyncio
import cProfile
import json
import os
import pstats
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from bench.common import Timer, owner_db, report, scratch_platform

PRODUCTS = 4
MONTHS = 12
IMPORTERS = 100
PAGE = 20
DURATION_S = float(os.environ.get("CBAMX_BENCH_DURATION_S", "20"))
WARM_UP_S = 3.0
API_WORKERS = int(os.environ.get("CBAMX_BENCH_API_WORKERS", "2"))
PROFILE = "--profile" in sys.argv[1:]  # one read in this process: statements, time, cProfile
PROFILE_IMPORTERS = 10
PROFILE_READS = 100  # per target, one after another (and again in bursts of PROFILE_BURST)
PROFILE_BURST = 20
RECEIVED = (Path(__file__).parents[1] / "graphql/operations/exchange/ReceivedFootprints.graphql").read_text()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _month(year: int, month: int) -> datetime:
    return datetime(year + (month - 1) // 12, (month - 1) % 12 + 1, 1, tzinfo=UTC)


async def _exporter(services: Any) -> Any:
    """An exporter listed in the directory, with one installation, 4 products and 48 published footprints."""
    from backend.calculations.models import CalculationRun, FootprintVersion, RunStatus
    from backend.exchange import directory, service
    from backend.identity.principal import Principal
    from backend.installations.schemas import InstallationData
    from backend.installations.service import create_installation
    from backend.production import service as production
    from backend.production.models import ProductionRoute
    from backend.production.schemas import ProductData
    from backend.tenants.models import TenantKind
    from tenancy.provisioning import NewTenant, create_tenant

    tenant = await create_tenant(
        owner_db(),
        NewTenant(
            name="Bench Aluminium d.o.o.", slug=f"bench-{uuid.uuid4().hex[:8]}", kind=TenantKind.EXPORTER, country="RS"
        ),
        actor=Principal.system("bench"),
    )
    actor = Principal.system("bench", tenant.id)
    async with services.db.tenant(tenant.scope()) as db:
        plant = await create_installation(db, actor, InstallationData(name="Bench plant", country="RS"))
        products = [
            await production.create_product(
                db,
                actor,
                ProductData(
                    code=f"PRF-{p}",
                    name=f"Profile {p}",
                    cn_code=f"7604 29 {10 * (p + 1)}",
                    production_route=ProductionRoute.ALL_ROUTES,
                ),
            )
            for p in range(PRODUCTS)
        ]
    # footprint versions as a succeeded run stores them; the calculation itself is not what is measured
    version_ids: list[uuid.UUID] = []
    async with services.db.tenant(tenant.scope()) as db:
        for m in range(1, MONTHS + 1):
            start, end = _month(2025, m), _month(2025, m + 1)
            run = CalculationRun(
                installation_id=plant.id,
                period_start=start,
                period_end=end,
                matching_resolution="hour",
                parameters={},
                methodology_version="bench",
                status=RunStatus.SUCCEEDED,
                job_id=f"calc:bench:{uuid.uuid4()}",
                created_by="bench",
            )
            db.add(run)
            await db.flush()
            for p, product in enumerate(products):
                version = FootprintVersion(
                    product_id=product.id,
                    installation_id=plant.id,
                    period_start=start,
                    period_end=end,
                    version=1,
                    run_id=run.id,
                    methodology_version="bench",
                    net_mass_t=800.0 + 10 * p + m,
                    see_total=1.5 + 0.01 * m + 0.1 * p,
                    figures={},
                    breakdown={},
                    data_quality={},
                    manifest={},
                    output_digest=uuid.uuid4().hex + uuid.uuid4().hex,
                )
                db.add(version)
                await db.flush()
                version_ids.append(version.id)
    async with services.db.platform() as session:
        exporter = await service.exporter_of(session, tenant.id)
        await directory.set_listing(
            session,
            actor,
            await services.tenants.get(tenant.id),
            directory.ListingData(display_name="Bench Aluminium", country="RS"),
        )
    for version_id in version_ids:
        async with services.db.tenant(tenant.scope()) as db:
            await service.publish_footprint(db, actor, exporter, tenant.kind, version_id)
    return tenant


async def _importer(services: Any, exporter: Any, n: int) -> tuple[str, str]:
    """An importer connected to the exporter and shared with; its machine client's id and secret."""
    from backend.exchange import connections
    from backend.identity.clients import create_client
    from backend.identity.principal import Principal
    from backend.tenants.models import TenantKind
    from tenancy.provisioning import NewTenant, create_tenant

    tenant = await create_tenant(
        owner_db(),
        NewTenant(name=f"Importer {n:03d} GmbH", slug=f"imp-{n:03d}-{uuid.uuid4().hex[:6]}", kind=TenantKind.IMPORTER),
        actor=Principal.system("bench"),
    )
    buyer = Principal.system("bench", tenant.id)
    seller = Principal.system("bench", exporter.id)
    async with services.db.platform() as session:
        connection = await connections.request_connection(session, buyer, TenantKind.IMPORTER, exporter.id)
    async with services.db.platform() as session:
        await connections.accept_connection(session, seller, connection.id)
    await connections.share(services, seller, connections.ShareData(customer_id=tenant.id))
    async with services.db.platform() as session:
        issued = await create_client(session, buyer, tenant=tenant, name="erp", scopes=["footprints:read"])
    return issued.client.client_id, issued.client_secret


def _serve(app: str, port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            app,
            "--factory",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
            "--workers",
            str(API_WORKERS),
        ],
        env=env,
    )


async def _ready(base: str) -> None:
    async with httpx.AsyncClient(base_url=base) as client:
        for _ in range(300):
            try:
                if (await client.get("/health/live")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError(f"{base} did not start")


@dataclass
class Load:
    latencies: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


# one request: True when the answer is what was asked for (a page of 20 documents)
Request = Callable[[httpx.AsyncClient], Awaitable[tuple[bool, str]]]


async def _drive(base: str, tokens: list[str], request: Request) -> Load:
    """Every client asks, one request after another, for WARM_UP_S (not counted) and then DURATION_S."""
    load = Load()
    clients = [
        httpx.AsyncClient(
            base_url=base,
            headers={"Authorization": f"Bearer {t}"},
            timeout=60,
            limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
        )
        for t in tokens
    ]
    started = time.perf_counter()
    measure_from, until = started + WARM_UP_S, started + WARM_UP_S + DURATION_S

    async def client_loop(client: httpx.AsyncClient) -> None:
        while (now := time.perf_counter()) < until:
            try:
                ok, why = await request(client)
            except httpx.HTTPError as e:
                ok, why = False, type(e).__name__
            if now >= measure_from:
                load.latencies.append(time.perf_counter() - now)
                if not ok:
                    load.errors[why] = load.errors.get(why, 0) + 1

    try:
        await asyncio.gather(*(client_loop(c) for c in clients))
        load.seconds = time.perf_counter() - measure_from
    finally:
        await asyncio.gather(*(c.aclose() for c in clients))
    return load


async def _graphql(client: httpx.AsyncClient) -> tuple[bool, str]:
    response = await client.post("/graphql", json={"query": RECEIVED, "variables": {"first": PAGE}})
    if response.status_code != 200:
        return False, f"HTTP {response.status_code}"
    body = response.json()
    if body.get("errors"):
        return False, body["errors"][0].get("extensions", {}).get("code", "GraphQL error")
    return len(body["data"]["receivedFootprints"]["nodes"]) == PAGE, "short page"


async def _pact(client: httpx.AsyncClient) -> tuple[bool, str]:
    response = await client.get("/3/footprints", params={"limit": PAGE})
    if response.status_code != 200:
        return False, f"HTTP {response.status_code}"
    return len(response.json()["data"]) == PAGE, "short page"


def _report(name: str, load: Load) -> None:
    if not load.latencies:
        print(f"{name}: no request started within the measured time", flush=True)
        return
    ms = np.array(load.latencies) * 1000
    p50, p90, p99 = np.percentile(ms, [50, 90, 99])
    errors = sum(load.errors.values())
    report(
        name,
        len(ms) / load.seconds,
        "req/s",
        f"p50 {p50:.0f} ms  p90 {p90:.0f} ms  p99 {p99:.0f} ms  max {ms.max():.0f} ms  "
        f"({len(ms):,} requests in {load.seconds:.1f} s, errors {errors}{' ' + str(load.errors) if errors else ''})",
    )


class _Statements:
    """SQL statements sent to PostgreSQL (every engine: each tenant's transactions have their own pool)."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def __call__(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self.seen.append(statement)


class _RoundTrips:
    """Messages asyncpg waits on PostgreSQL for, by kind, and new connections: what SQLAlchemy's statement
    events do not show (BEGIN, COMMIT, ROLLBACK, pings, pool resets, statements prepared)."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self._undo: list[tuple[Any, str, Any]] = []

    def _wrap(self, owner: Any, name: str, kind: Callable[..., str | None]) -> None:
        original = getattr(owner, name)

        async def counted(*args: Any, **kwargs: Any) -> Any:
            if (label := kind(*args, **kwargs)) is not None:
                self.counts[label] = self.counts.get(label, 0) + 1
            return await original(*args, **kwargs)

        setattr(owner, name, counted)
        self._undo.append((owner, name, original))

    def __enter__(self) -> _RoundTrips:
        from asyncpg.connection import Connection
        from asyncpg.prepared_stmt import PreparedStatement
        from sqlalchemy import event
        from sqlalchemy.pool import Pool

        def simple(conn: Any, query: str, *args: Any, **kwargs: Any) -> str:
            return f"simple {query.split()[0].upper()}" if not args else "execute"

        self._wrap(Connection, "execute", simple)
        self._wrap(Connection, "prepare", lambda *a, **k: "prepare")
        self._wrap(Connection, "_execute", lambda *a, **k: "execute (driver)")
        self._wrap(PreparedStatement, "_PreparedStatement__bind_execute", lambda *a, **k: "bind+execute")
        self._wrap(Connection, "_introspect_types", lambda *a, **k: "type introspection")
        self._connect = lambda *a: self.counts.__setitem__("new connection", self.counts.get("new connection", 0) + 1)
        event.listen(Pool, "connect", self._connect)
        return self

    def __exit__(self, *exc: object) -> None:
        from sqlalchemy import event
        from sqlalchemy.pool import Pool

        for owner, name, original in reversed(self._undo):
            setattr(owner, name, original)
        event.remove(Pool, "connect", self._connect)


async def _profile(services: Any, credentials: list[tuple[str, str]]) -> None:
    """One read, in this process: statements per read, time per read alone and in bursts, and cProfile."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    from backend.app import create_app

    app = create_app(services.settings, services=services)
    app.state.services = services
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver", timeout=60) as http:
        tokens = []
        for client_id, secret in credentials:
            response = await http.post(
                "/auth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
            )
            response.raise_for_status()
            tokens.append(response.json()["access_token"])
        clients = [
            httpx.AsyncClient(
                transport=transport, base_url="http://testserver", headers={"Authorization": f"Bearer {t}"}, timeout=60
            )
            for t in tokens
        ]
        targets: dict[str, Request] = {"GraphQL receivedFootprints(first: 20)": _graphql, "PACT /3/footprints": _pact}
        counter = _Statements()
        try:
            for name, request in targets.items():
                for client in clients:  # warm: every client's tenant pool, caches, prepared statements
                    ok, why = await request(client)
                    assert ok, why
                event.listen(Engine, "before_cursor_execute", counter)
                try:
                    counter.seen.clear()
                    with _RoundTrips() as trips:
                        ok, why = await request(clients[0])
                    assert ok, why
                    one = list(counter.seen)
                finally:
                    event.remove(Engine, "before_cursor_execute", counter)
                with _RoundTrips() as burst_trips:
                    results = await asyncio.gather(*(request(clients[i % len(clients)]) for i in range(PROFILE_BURST)))
                    assert all(ok for ok, _ in results), results
                alone = []
                for i in range(PROFILE_READS):
                    started = time.perf_counter()
                    ok, why = await request(clients[i % len(clients)])
                    alone.append(time.perf_counter() - started)
                    assert ok, why
                bursts = []
                for b in range(PROFILE_READS // PROFILE_BURST):
                    started = time.perf_counter()
                    results = await asyncio.gather(
                        *(request(clients[(b * PROFILE_BURST + i) % len(clients)]) for i in range(PROFILE_BURST))
                    )
                    bursts.append((time.perf_counter() - started) / PROFILE_BURST)
                    assert all(ok for ok, _ in results), results
                report(f"{name}: statements per read", len(one), "")
                report(
                    f"{name}: round trips per read",
                    sum(n for k, n in trips.counts.items() if k != "new connection"),
                    "",
                    str(dict(sorted(trips.counts.items()))),
                )
                report(
                    f"{name}: round trips per read, burst of {PROFILE_BURST}",
                    sum(n for k, n in burst_trips.counts.items() if k != "new connection") / PROFILE_BURST,
                    "",
                    str(dict(sorted(burst_trips.counts.items()))),
                )
                report(
                    f"{name}: one read alone, median",
                    float(np.median(alone)) * 1000,
                    "ms",
                    f"p90 {np.percentile(alone, 90) * 1000:.1f} ms",
                )
                report(
                    f"{name}: per read in bursts of {PROFILE_BURST}, median",
                    float(np.median(bursts)) * 1000,
                    "ms",
                    "(burst time / reads)",
                )
                for statement in one:
                    print("   ", " ".join(statement.split())[:150], flush=True)
                profiler = cProfile.Profile()
                profiler.enable()
                for i in range(PROFILE_READS):
                    await request(clients[i % len(clients)])
                profiler.disable()
                print(f"-- cProfile of {PROFILE_READS} {name} reads one after another (cumulative)", flush=True)
                pstats.Stats(profiler).sort_stats("cumulative").print_stats(
                    r"backend|strawberry|litestar|sqlalchemy|asyncpg|joserfc|json", 40
                )
                pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
        finally:
            await asyncio.gather(*(c.aclose() for c in clients))


async def main() -> None:
    if PROFILE:
        os.environ["CBAMX_TOKEN_RATE_PER_MINUTE"] = "100000"
        os.environ["CBAMX_TOKEN_ADDRESS_RATE_PER_MINUTE"] = "100000"
        async with scratch_platform("exchange_reads") as services:
            exporter = await _exporter(services)
            credentials = [await _importer(services, exporter, n) for n in range(PROFILE_IMPORTERS)]
            await _profile(services, credentials)
        return
    async with scratch_platform("exchange_reads") as services:
        with Timer() as setup:
            exporter = await _exporter(services)
            credentials = [await _importer(services, exporter, n) for n in range(IMPORTERS)]
        report("setup: 48 publications, 100 importers connected, shared", setup.seconds, "s")
        port, ref_port = _free_port(), _free_port()
        env = {
            **os.environ,
            "CBAMX_PORT": str(port),
            "CBAMX_PUBLIC_URL": f"http://127.0.0.1:{port}",
            "CBAMX_TOKEN_RATE_PER_MINUTE": "100000",
            "CBAMX_TOKEN_ADDRESS_RATE_PER_MINUTE": "100000",
            "CBAMX_LOG_LEVEL": "WARNING",
        }
        loads: dict[str, Load] = {}
        before = os.getloadavg()
        with tempfile.TemporaryDirectory() as scratch:
            server = _serve("backend.app:create_app", port, env)
            try:
                base = f"http://127.0.0.1:{port}"
                await _ready(base)
                tokens: list[str] = []
                async with httpx.AsyncClient(base_url=base, timeout=60) as http:
                    for client_id, secret in credentials:
                        response = await http.post(
                            "/auth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
                        )
                        response.raise_for_status()
                        tokens.append(response.json()["access_token"])
                    page = await http.get(
                        "/3/footprints", params={"limit": PAGE}, headers={"Authorization": f"Bearer {tokens[0]}"}
                    )
                    page.raise_for_status()
                    assert len(page.json()["data"]) == PAGE, page.text
                body = Path(scratch) / "footprints.json"
                body.write_bytes(json.dumps({"data": page.json()["data"]}).encode())
                loads["GraphQL receivedFootprints(first: 20)"] = await _drive(base, tokens, _graphql)
                loads["PACT GET /3/footprints?limit=20"] = await _drive(base, tokens, _pact)
            finally:
                server.terminate()
                server.wait(timeout=10)
            reference = _serve(
                "bench.reference_app:create_app", ref_port, {**env, "CBAMX_BENCH_REFERENCE_BODY": str(body)}
            )
            try:
                ref_base = f"http://127.0.0.1:{ref_port}"
                await _ready(ref_base)
                loads["bare Litestar, the same 20 documents from memory"] = await _drive(ref_base, tokens, _pact)
            finally:
                reference.terminate()
                reference.wait(timeout=10)
        print(
            f"{IMPORTERS} clients, {DURATION_S:.0f} s each after {WARM_UP_S:.0f} s warm-up, "
            f"{API_WORKERS} uvicorn workers; load average before {before}, after {os.getloadavg()}",
            flush=True,
        )
        for name, load in loads.items():
            _report(name, load)
        if any(load.errors for load in loads.values()):
            raise SystemExit("some requests failed")


if __name__ == "__main__":
    asyncio.run(main())
