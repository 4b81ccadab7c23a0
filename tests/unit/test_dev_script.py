"""The `./dev` entry point explains itself."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_dev_help_prints_usage_not_shell():
    # when
    result = subprocess.run([str(ROOT / "dev"), "--help"], capture_output=True, text=True, timeout=300, cwd=ROOT)
    # then: a usage text naming each command, then the cbamx commands
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("Usage: ./dev COMMAND [ARGS...]")
    for command in ("demo", "test", "bench", "help"):
        assert f"\n  {command} " in out
    assert "serve" in out and "migrate" in out
    # and no line of the script itself
    assert "set -eu" not in out and "#!" not in out and not any(line.startswith("#") for line in out.splitlines())
