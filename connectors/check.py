"""Commissioning check: read every configured point once and show what the agent would send."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass

from connectors.agent import build_pollers, poll_all
from connectors.config import AgentConfig
from connectors.readings import TRANSPORT_REASONS, Reading

COLUMNS = ("DEVICE", "POINT", "METER", "QUANTITY", "VALUE", "UNIT", "QUALITY", "RAW")


@dataclass(frozen=True, slots=True)
class CheckResult:
    readings: list[Reading]
    unreachable: dict[str, str]  # device -> why it could not be reached at all

    @property
    def missing(self) -> list[Reading]:
        """Points without a value on devices that did answer."""
        return [r for r in self.readings if r.quality == "missing" and r.device not in self.unreachable]

    @property
    def ok(self) -> bool:
        # Commissioning is done when every configured point delivers: a point the meter does not
        # provide shows as a gap in cbamx for ever, so it fails the check as well.
        return not any(r.quality == "missing" for r in self.readings)


async def run_check(config: AgentConfig) -> CheckResult:
    pollers = build_pollers(config)
    try:
        readings = await poll_all(pollers)
    finally:
        for poller in pollers:
            with contextlib.suppress(Exception):
                await poller.close()
    by_device: dict[str, list[Reading]] = {}
    for reading in readings:
        by_device.setdefault(reading.device, []).append(reading)
    unreachable = {
        name: str(device_readings[0].reason)
        for name, device_readings in by_device.items()
        if all(r.quality == "missing" and r.reason in TRANSPORT_REASONS for r in device_readings)
    }
    return CheckResult(readings, unreachable)


def format_value(value: float | int | None) -> str:
    """Every digit the agent sends: repr is the shortest text that reads back as the same float."""
    if value is None:
        return "-"
    return repr(value) if isinstance(value, float) else str(value)


def _cells(reading: Reading) -> tuple[str, ...]:
    value = format_value(reading.value)
    quality = reading.quality if reading.reason is None else f"{reading.quality}: {reading.reason}"
    raw = "-" if reading.raw is None else " ".join(f"0x{w:04X}" for w in reading.raw)
    return (reading.device, reading.point, reading.meter, reading.quantity, value, reading.unit, quality, raw)


def format_columns(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    table = [tuple(header), *(tuple(row) for row in rows)]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in table]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def format_table(readings: Sequence[Reading]) -> str:
    return format_columns(COLUMNS, [_cells(r) for r in readings])


def summary(result: CheckResult) -> str:
    good = sum(r.quality == "good" for r in result.readings)
    devices = len({r.device for r in result.readings})
    total = len(result.readings)
    text = f"{devices} device(s), {total} point(s): {good} good, {total - good} not good"
    if result.unreachable:
        text += "\nunreachable: " + ", ".join(f"{name} ({why})" for name, why in result.unreachable.items())
    if missing := result.missing:
        text += "\nmissing: " + ", ".join(f"{r.device}.{r.point} ({r.reason})" for r in missing)
    return text
