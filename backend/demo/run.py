"""`cbamx demo`: embedded services, migrations, demo data, the API, the simulated plant."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from backend.demo.seed import DEMO_PASSWORD, ORGS, DemoState


def _prepare(data_dir: Path) -> DemoState:
    from backend.db import Database
    from backend.demo.seed import seed
    from tenancy.migrate import upgrade_platform, upgrade_tenants

    async def main() -> DemoState:
        db = Database.connect(os.environ["DATABASE_URL"], pool_size=2)
        try:
            await upgrade_platform(db)
            await upgrade_tenants(db)
            return await seed(db)
        finally:
            await db.dispose()

    return asyncio.run(main())


def run_demo(*, port: int, data_dir: Path, reset: bool) -> int:
    from backend.embedded import ensure_services_env

    if reset and data_dir.exists():
        shutil.rmtree(data_dir)
    embedded = ensure_services_env(data_dir)
    os.environ.setdefault("CBAMX_DATA_DIR", str(data_dir))
    os.environ.setdefault("CBAMX_PUBLIC_URL", f"http://127.0.0.1:{port}")
    os.environ.setdefault("CBAMX_PORT", str(port))
    state = _prepare(data_dir)
    processes: list[subprocess.Popen[bytes]] = []
    exe = Path(sys.executable).parent
    processes.append(subprocess.Popen([str(exe / "cbamx"), "worker"]))
    from backend.demo.plant import start_plant

    processes += start_plant(data_dir, state, port=port)
    base = f"http://127.0.0.1:{port}"
    print("\n" + "=" * 72)
    print(f"cbamx demo running at {base}   (GraphiQL: {base}/graphql, API docs: {base}/openapi)")
    print(f"log in at {base}/auth/login with any of these (password: {DEMO_PASSWORD}):")
    for org in ORGS:
        print(f"  {org.kind.value:20} {org.email:34} {org.name}")
    print("embedded services:" if embedded else "services:", os.environ["DATABASE_URL"], os.environ["REDIS_URL"])
    print("stop with Ctrl-C")
    print("=" * 72 + "\n", flush=True)
    server = subprocess.Popen([str(exe / "cbamx"), "serve", "--port", str(port)])
    processes.append(server)
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
