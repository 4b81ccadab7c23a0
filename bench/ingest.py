"""Ingest throughput through the public endpoint against raw COPY of the same rows.

The API runs as its own process (uvicorn, one worker) against a scratch database; the client sends
gzip JSON batches of agent readings over HTTP with a bearer token, two connections at a time. The
baseline copies the same rows with PostgreSQL COPY (binary, asyncpg) into an equivalent table (same
columns and primary key) on the same server, in the same run.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime

import asyncpg
import httpx

from bench.common import Timer, bench_plant, report, scratch_platform

N_METERS = 50
READINGS_PER_METER = 10_000
BATCH = 10_000
CONNECTIONS = 4
API_WORKERS = int(os.environ.get("CBAMX_BENCH_API_WORKERS", "2"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _batches(start_s: int) -> tuple[list[bytes], list[tuple]]:
    readings, rows = [], []
    for m in range(N_METERS):
        for k in range(READINGS_PER_METER):
            ts = start_s + k * 10
            value = 1000.0 + k * 0.25 + m
            readings.append(
                {
                    "meter": f"M{m:03d}",
                    "quantity": "active_energy_import",
                    "unit": "kWh",
                    "ts": datetime.fromtimestamp(ts, UTC).isoformat(),
                    "value": value,
                    "quality": "good",
                    "raw": [17984, 59062],
                }
            )
            rows.append((m, ts, value))
    bodies = [
        gzip.compress(json.dumps({"agent_id": "bench", "readings": readings[i : i + BATCH]}).encode(), 1)
        for i in range(0, len(readings), BATCH)
    ]
    return bodies, rows


async def main() -> None:
    from backend.identity.clients import create_client

    async with scratch_platform("ingest") as services:
        plant = await bench_plant(services, N_METERS)
        tenant, actor, meter_ids = plant.tenant, plant.actor, plant.meter_ids
        async with services.db.platform() as session:
            issued = await create_client(
                session, actor, tenant=tenant, name="bench", scopes=["ingest"], installation_id=plant.installation_id
            )
        port = _free_port()
        env = {
            **os.environ,
            "CBAMX_PORT": str(port),
            "CBAMX_PUBLIC_URL": f"http://127.0.0.1:{port}",
            "CBAMX_TOKEN_RATE_PER_MINUTE": "100000",
            "CBAMX_TOKEN_ADDRESS_RATE_PER_MINUTE": "100000",
            # the figures are the output: the API's own log lines stay out of it
            "CBAMX_LOG_LEVEL": "WARNING",
        }
        server = subprocess.Popen(  # noqa: ASYNC220 (spawning returns at once; readiness is polled over HTTP)
            [
                sys.executable,
                "-m",
                "uvicorn",
                "backend.app:create_app",
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
        try:
            base = f"http://127.0.0.1:{port}"
            async with httpx.AsyncClient(base_url=base, timeout=120) as client:
                for _ in range(100):
                    try:
                        if (await client.get("/health/live")).status_code == 200:
                            break
                    except httpx.TransportError:
                        await asyncio.sleep(0.2)
                token = (
                    await client.post(
                        "/auth/token",
                        data={"grant_type": "client_credentials"},
                        auth=(issued.client.client_id, issued.client_secret),
                    )
                ).json()["access_token"]
                bodies, rows = _batches(int(time.time()) - READINGS_PER_METER * 10 - 3600)
                headers = {
                    "Authorization": f"Bearer {token}",
                    "Content-Type": "application/json",
                    "Content-Encoding": "gzip",
                }
                # one warm-up batch of other readings is not counted
                queue: asyncio.Queue[bytes] = asyncio.Queue()
                for body in bodies:
                    queue.put_nowait(body)
                accepted = 0

                async def sender() -> None:
                    nonlocal accepted
                    while not queue.empty():
                        body = queue.get_nowait()
                        response = await client.post("/ingest/v1/readings", content=body, headers=headers)
                        response.raise_for_status()
                        accepted += response.json()["accepted"]

                with Timer() as api:
                    await asyncio.gather(*(sender() for _ in range(CONNECTIONS)))
            total = len(rows)
            assert accepted == total, (accepted, total)
        finally:
            server.terminate()
            server.wait(timeout=10)
        conn = await asyncpg.connect(os.environ["DATABASE_URL"])
        await conn.execute(
            "CREATE TABLE public.copy_baseline (data_point_id uuid, ts timestamptz, value float8, quality int2, "
            "reason varchar(64), raw bytea, batch_id uuid, PRIMARY KEY (data_point_id, ts))"
        )
        batch_id = uuid.uuid4()
        records = [
            (meter_ids[m], datetime.fromtimestamp(ts, UTC), v, 0, None, b"\x46\x40\xe6\xb6", batch_id)
            for m, ts, v in rows
        ]
        with Timer() as copy:
            for i in range(0, len(records), BATCH):
                await conn.copy_records_to_table("copy_baseline", records=records[i : i + BATCH], schema_name="public")
        await conn.close()
        api_rate, copy_rate = total / api.seconds, total / copy.seconds
        report(
            "ingest through POST /ingest/v1/readings (gzip JSON, HTTP)",
            api_rate,
            "rows/s",
            f"{total:,} readings in {api.seconds:.2f} s, batches of {BATCH:,}, {CONNECTIONS} connections",
        )
        report("raw binary COPY of the same rows, same server", copy_rate, "rows/s", f"{copy.seconds:.2f} s")
        report("ratio endpoint / COPY", api_rate / copy_rate, "", f"API workers: {API_WORKERS}")


if __name__ == "__main__":
    asyncio.run(main())
