"""Agent memory benchmark: 200 Modbus points polled against the plant simulator.

Starts the simulator and the agent as separate processes, lets the agent poll N times with
its uplink pointing at a closed port (readings pile up in the buffer, as during an outage),
and prints the agent's peak RSS and the buffer depth.

    .venv/bin/python bench/agent_memory.py                      # 200 points, 10 s interval, 6 polls
    .venv/bin/python bench/agent_memory.py --poll-interval 1 --polls 30
    .venv/bin/python bench/agent_memory.py --with-opcua         # adds an OPC UA device (asyncua loaded)
"""

from __future__ import annotations

import argparse
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from connectors.profiles.loader import load_builtin  # noqa: E402
from connectors.simulator import MODBUS_LAYOUT, NAMESPACE_URI, free_port  # noqa: E402


def bench_config(points: int, modbus_port: int, opcua_port: int | None, buffer: Path, interval: float) -> dict:
    devices: list[dict[str, Any]] = []
    remaining = points
    index = 0
    while remaining > 0:
        meter = MODBUS_LAYOUT[index % len(MODBUS_LAYOUT)]
        names = list(load_builtin(meter.profile).registers)[:remaining]
        devices.append(
            {
                "kind": "modbus_tcp",
                "name": f"dev-{index:03d}",
                "host": "127.0.0.1",
                "port": modbus_port,
                "unit_id": meter.unit_id,
                "profile": meter.profile,
                "include_points": names,
                "meter": f"BENCH-{index:03d}-{meter.code}",
                "timeout_s": 2,
            }
        )
        remaining -= len(names)
        index += 1
    if opcua_port is not None:
        devices.append(
            {
                "kind": "opcua",
                "name": "plc",
                "endpoint": f"opc.tcp://127.0.0.1:{opcua_port}/cbamx/plant/",
                "meter": "BENCH-PLC",
                "nodes": [
                    {
                        "browse_path": "MeltingFurnace/ActivePower_kW",
                        "namespace_uri": NAMESPACE_URI,
                        "quantity": "active_power",
                        "unit": "kW",
                    },
                ],
            }
        )
    return {
        "server": {"url": f"http://127.0.0.1:{free_port()}", "client_id": "bench", "retry_cap_s": 5},
        "agent": {
            "id": "bench-agent",
            "poll_interval_s": interval,
            "buffer_path": str(buffer),
            "upload_interval_s": 5,
            "status_interval_s": 60,
        },
        "devices": devices,
    }


def pending(buffer: Path) -> int:
    if not buffer.exists():
        return 0
    db = sqlite3.connect(f"file:{buffer}?mode=ro", uri=True)
    try:
        return int(db.execute("SELECT COUNT(*) FROM readings WHERE state = 'pending'").fetchone()[0])
    except sqlite3.OperationalError:
        return 0
    finally:
        db.close()


def peak_rss_kb(pid: int) -> int | None:
    """Kernel-tracked peak RSS (VmHWM) on Linux; None elsewhere."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--points", type=int, default=200)
    parser.add_argument("--poll-interval", type=float, default=10.0)
    parser.add_argument("--polls", type=int, default=6)
    parser.add_argument("--with-opcua", action="store_true")
    args = parser.parse_args()

    env = {**os.environ, "PYTHONPATH": str(REPO), "CBAMX_AGENT_CLIENT_SECRET": "bench"}
    modbus_port = free_port()
    opcua_port = free_port() if args.with_opcua else None
    with tempfile.TemporaryDirectory() as tmp:
        buffer = Path(tmp) / "buffer.sqlite3"
        config = Path(tmp) / "agent.yaml"
        config.write_text(
            yaml.safe_dump(bench_config(args.points, modbus_port, opcua_port, buffer, args.poll_interval))
        )
        sim_args = ["simulate", "--modbus-port", str(modbus_port), "--speed", "60", "--log-level", "warning"]
        sim_args += ["--opcua-port", str(opcua_port)] if opcua_port else ["--no-opcua"]
        simulator = subprocess.Popen(
            [sys.executable, "-m", "connectors.cli", *sim_args], cwd=REPO, env=env, stdout=subprocess.PIPE, text=True
        )
        assert simulator.stdout is not None
        while "plant time starts" not in simulator.stdout.readline():
            pass
        agent = subprocess.Popen(
            [sys.executable, "-m", "connectors.cli", "run", str(config), "--log-level", "error"], cwd=REPO, env=env
        )
        process = psutil.Process(agent.pid)
        sampled_peak = 0
        started = time.monotonic()
        expected = args.points * args.polls + (args.polls if args.with_opcua else 0)
        try:
            deadline = started + args.poll_interval * (args.polls + 3) + 30
            while pending(buffer) < expected and time.monotonic() < deadline:
                sampled_peak = max(sampled_peak, process.memory_info().rss)
                time.sleep(0.25)
            depth = pending(buffer)
            final_rss = process.memory_info().rss
            sampled_peak = max(sampled_peak, final_rss)
            kernel_peak = peak_rss_kb(agent.pid)
        finally:
            agent.send_signal(signal.SIGTERM)
            agent.wait(timeout=20)
            simulator.send_signal(signal.SIGTERM)
            simulator.wait(timeout=20)

    polls = depth // args.points if args.points else 0
    print(f"points per poll:     {args.points}{' + 1 OPC UA node' if args.with_opcua else ''}")
    print(f"poll interval:       {args.poll_interval:g} s")
    print(f"polls completed:     {polls}")
    print(f"buffer depth:        {depth} readings pending (uplink unreachable)")
    print(f"agent RSS at end:    {final_rss / 2**20:.1f} MiB")
    print(f"agent peak RSS:      {max(sampled_peak, (kernel_peak or 0) * 1024) / 2**20:.1f} MiB")


if __name__ == "__main__":
    main()
