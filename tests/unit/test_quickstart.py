"""docs/quickstart.md describes the demo that `./dev demo` runs: its organisations, plant and meters."""

from __future__ import annotations

import re
from pathlib import Path

from backend.metering.models import MeterRole
from demo.seed import LINES, ORGS, PLANT

QUICKSTART = (Path(__file__).resolve().parents[2] / "docs" / "quickstart.md").read_text(encoding="utf-8")


def _table_after(heading_text: str, first_column: str) -> list[list[str]]:
    """Rows of the first Markdown table after ``heading_text`` whose header starts with ``first_column``."""
    rest = QUICKSTART[QUICKSTART.index(heading_text) :]
    lines = rest.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {first_column} |"))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


def test_the_organisations_and_log_ins_are_the_demo_ones():
    rows = _table_after("### Demo data", "organisation")
    assert {(r[1].strip("`"), r[3].strip("`")) for r in rows} == {(o.slug, o.email) for o in ORGS}


def test_every_meter_of_the_demo_plant_is_described_with_its_role_and_line():
    # given
    rows = {r[0].strip("`"): r for r in _table_after("### Demo data", "meter")}
    # then: the physical meters and the virtual one, nothing else
    assert set(rows) == set(PLANT) | {"UNMETERED"}
    for code, spec in PLANT.items():
        role, line = rows[code][2], rows[code][3]
        expected_role = {MeterRole.MAIN: "main", MeterRole.SUB: "sub", MeterRole.GENERATION: "generation"}[spec.role]
        assert role.startswith(expected_role), (code, role)
        if spec.parent:
            assert f"`{spec.parent}`" in role, (code, role)
        assert line == (f"`{spec.line}`" if spec.line else "\u2013"), (code, line)  # an en dash marks "none"
    assert rows["UNMETERED"][2] == "virtual"


def test_lines_and_what_runs_are_described():
    for code, _ in LINES:
        assert f"`{code}`" in QUICKSTART
    for part in (
        "cbamx-agent simulate",
        "cbamx-agent run",
        "plant history since the first day of last month",
        "http://127.0.0.1:8000/",
    ):
        assert part in QUICKSTART, part
    assert not re.search(r"does not run a (meter )?simulator", QUICKSTART)
