"""The simulated plant of the demo: meter simulator and on-site agent, as child processes."""

from __future__ import annotations

import subprocess
from pathlib import Path

from backend.demo.seed import DemoState


def start_plant(data_dir: Path, state: DemoState, *, port: int) -> list[subprocess.Popen[bytes]]:
    """Nothing until the connector package ships a simulator (kept separate so the API runs alone)."""
    return []
