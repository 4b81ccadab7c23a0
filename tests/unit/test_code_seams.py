"""Seams a newcomer relies on: one module name for one thing, one way off the event loop."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PATHS = [ROOT / "backend" / "metering", ROOT / "workers"]


def test_derivation_modules_have_one_name_each():
    names = Counter(p.name for base in PATHS for p in base.rglob("*.py") if p.name != "__init__.py")
    assert names["derivation.py"] == 1 and names["intervals.py"] <= 1
    assert not (ROOT / "workers" / "engine" / "intervals.py").exists()
    assert not (ROOT / "workers" / "engine" / "derivation.py").exists()


def test_the_backend_and_workers_leave_the_event_loop_through_one_helper():
    pattern = re.compile(r"run_in_executor|asyncio\.to_thread|anyio\.to_thread|ProcessPoolExecutor")
    offload = ROOT / "backend" / "offload.py"
    offenders = [
        str(p.relative_to(ROOT))
        for base in (ROOT / "backend", ROOT / "workers")
        for p in base.rglob("*.py")
        if p != offload and pattern.search(p.read_text())
    ]
    assert offenders == []
    assert "anyio.to_thread.run_sync" in (ROOT / "backend" / "offload.py").read_text()
