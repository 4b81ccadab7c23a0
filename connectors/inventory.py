"""What an agent configuration will send: every (meter, quantity, unit) with its kind.

Used at commissioning to set up the matching meters and data points on the server before the
agent's first upload, so that no reading is refused as unknown.
"""

from __future__ import annotations

from dataclasses import dataclass

from connectors.config import AgentConfig, OpcUaDevice
from connectors.profiles.loader import SUNSPEC_AUTO, load_builtin
from connectors.profiles.model import RegisterPoint


@dataclass(frozen=True, slots=True)
class ConfiguredPoint:
    device: str
    point: str
    meter: str
    quantity: str
    unit: str
    kind: str


def _register_map(profile: str | None, inline: dict[str, RegisterPoint] | None) -> dict[str, RegisterPoint]:
    if inline is not None:
        return inline
    assert profile is not None
    # every SunSpec meter model names its points alike; model 213 stands for discovery
    return dict(load_builtin("sunspec_213" if profile == SUNSPEC_AUTO else profile).registers)


def configured_points(config: AgentConfig) -> list[ConfiguredPoint]:
    """Every point the configured devices read, in configuration order."""
    points: list[ConfiguredPoint] = []
    for device in config.devices:
        if isinstance(device, OpcUaDevice):
            for node in device.nodes:
                meter = node.meter or getattr(device, "meter", None)
                if meter is None:
                    raise ValueError(f"{device.name}: node {node.label} names no meter")
                points.append(ConfiguredPoint(device.name, node.label, meter, node.quantity, node.unit, node.kind))
            continue
        registers = _register_map(device.profile, device.registers)
        wanted = device.include_points or list(registers)
        for name in wanted:
            register = registers[name]
            meter = device.point_meters.get(name) or register.meter or device.meter
            points.append(ConfiguredPoint(device.name, name, meter, register.quantity, register.unit, register.kind))
    return points
