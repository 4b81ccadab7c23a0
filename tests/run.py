"""Run the whole test suite against real services, starting them when they are not running.

See ``backend.localservices`` for where PostgreSQL and Redis come from. Exits with pytest's status,
and non-zero when no test ran.
"""

from __future__ import annotations

import os
import subprocess
import sys

from backend.localservices import ROOT, configure_local_services


def main() -> int:
    handles = configure_local_services()
    args = sys.argv[1:]
    if not any(a.startswith("-n") or a == "--numprocesses" for a in args):
        args = ["-n", os.environ.get("CBAMX_TEST_WORKERS", "2"), *args]
    code = subprocess.call([sys.executable, "-m", "pytest", *args], cwd=ROOT)
    del handles
    if code == 5:
        print("no tests ran: that is a failure", file=sys.stderr)
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main())
