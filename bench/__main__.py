"""Run the benchmarks: `python -m bench` runs all of them in turn, `python -m bench ingest plant_year` those named.

Each benchmark runs in its own Python process, so that one's memory, settings and scratch database
never colour the next one's figures. PostgreSQL and Redis are found (or started) once, here, the
way the test runner finds them; the benchmarks inherit them through the environment.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

from backend.localservices import ROOT, configure_local_services

BENCHMARKS: dict[str, str] = {
    "tenancy": "tenant provisioning time, and migrating 100 tenants",
    "ingest": "readings/s through POST /ingest/v1/readings against raw COPY",
    "plant_year": "loading 200 meters x 365 days of 15-minute intervals into numpy",
    "agent_memory": "the agent's RSS while polling 200 Modbus points every 10 s",
    "ppa_settlement": "a year of 15-minute PPA settlement data (35,040 rows) through the worker",
    "production": "an MES export of 20,000 batches (CSV and Excel) through the worker",
    "calculation": "the calculation engine on a synthetic plant-year (200 meters, 20,000 batches)",
    "calculation_job": "a calculation run of that plant-year from the database to stored results",
    "exchange_reads": "100 importer clients reading shared footprints: GraphQL, PACT, bare Litestar",
}


def _usage() -> str:
    lines = ["usage: python -m bench [NAME ...]   (./dev bench [NAME ...])", "", "benchmarks:"]
    lines += [f"  {name:14} {what}" for name, what in BENCHMARKS.items()]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if any(a in ("-h", "--help") for a in argv):
        print(_usage())
        return 0
    names = [a.replace("-", "_") for a in argv] or list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}\n\n{_usage()}", file=sys.stderr)
        return 2
    handles = configure_local_services()
    failed: list[str] = []
    try:
        for name in names:
            print(f"\n== {name}: {BENCHMARKS[name]}", flush=True)
            started = time.perf_counter()
            code = subprocess.call([sys.executable, "-m", f"bench.{name}"], cwd=ROOT, env=os.environ.copy())
            elapsed = time.perf_counter() - started
            if code != 0:
                failed.append(name)
                print(f"-- {name} FAILED (exit status {code}) after {elapsed:.0f} s", flush=True)
            else:
                print(f"-- {name} done in {elapsed:.0f} s", flush=True)
    finally:
        del handles
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
