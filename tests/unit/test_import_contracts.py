"""The layers hold: every import-linter contract in pyproject.toml is kept."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_import_contract_is_kept() -> None:
    # given: the contracts in pyproject.toml ([tool.importlinter])
    command = [str(Path(sys.executable).parent / "lint-imports"), "--no-cache"]
    # when
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    # then
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout
    assert "backend does not import" in result.stdout.replace("\n", " ")
