"""Register images: meter state -> words at the addresses a profile names (the agent's inverse)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from connectors.decoding import encode
from connectors.profiles.model import Profile, RegisterPoint
from connectors.simulator.plant import MeterState

SUNS_MARKER = [0x5375, 0x6E53]
COMMON_MODEL_ID, COMMON_MODEL_LENGTH = 1, 66
FLOAT_NOT_IMPLEMENTED = [0x7FC0, 0x0000]
INT_NOT_IMPLEMENTED = 0x8000

# Unit -> factor from the model's base unit (kWh, kvarh, kW, kvar, V, Hz, 1, Nm3).
_UNIT_FACTORS = {"Wh": 1000.0, "kWh": 1.0, "MWh": 0.001, "varh": 1000.0, "kvarh": 1.0, "W": 1000.0, "kW": 1.0}


def quantity_value(state: MeterState, quantity: str, unit: str) -> float | None:
    base = {
        "active_energy_import": state.import_kwh,
        "active_energy_export": state.export_kwh,
        "reactive_energy_import": state.reactive_import_kvarh,
        "active_power": state.power_kw,
        "reactive_power": state.reactive_kvar,
        "voltage_l1n": state.voltage_v,
        "frequency": state.frequency_hz,
        "power_factor": state.power_factor,
        "current_total": abs(state.power_kw) * 1000.0 / (3 * state.voltage_v * max(0.1, abs(state.power_factor))),
        "gas_volume": state.gas_nm3,
        "flow": state.gas_flow_nm3h,
    }.get(quantity)
    if base is None:
        return None
    return (
        base * _UNIT_FACTORS.get(unit, 1.0)
        if unit not in ("var", "kvar")
        else base * (1000.0 if unit == "var" else 1.0)
    )


def point_words(spec: RegisterPoint, value: float, scale_factor: int = 0) -> list[int]:
    return encode(value, spec.type, spec.word_order, scale=spec.scale, scale_factor=scale_factor)


def write_profile(
    image: dict[int, int],
    profile: Profile,
    state: MeterState,
    offset: int = 0,
    scale_factors: Mapping[int, int] | None = None,
) -> None:
    """Write every point of `profile` for `state` into `image` (address -> word).

    `scale_factors` maps a scale-factor offset to the exponent to publish there (SunSpec int models).
    """
    scale_factors = scale_factors or {}
    for spec in profile.registers.values():
        value = quantity_value(state, spec.quantity, spec.unit)
        if value is None:
            continue
        sf = 0
        if spec.scale_factor_address is not None:
            sf = scale_factors.get(spec.scale_factor_address, 0)
            image[offset + spec.scale_factor_address] = sf & 0xFFFF
        for i, word in enumerate(point_words(spec, value, sf)):
            image[offset + spec.address + i] = word


def common_model(manufacturer: str, model: str, serial: str) -> list[int]:
    """SunSpec model 1 (common): Mn, Md, Opt, Vr, SN, DA, Pad."""

    def text(value: str, registers: int) -> list[int]:
        data = value.encode("ascii")[: registers * 2].ljust(registers * 2, b"\0")
        return [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]

    body = text(manufacturer, 16) + text(model, 16) + text("", 8) + text("1.0", 8) + text(serial, 16) + [1, 0x8000]
    return [COMMON_MODEL_ID, COMMON_MODEL_LENGTH, *body]


def sunspec_chain(models: Sequence[list[int]]) -> list[int]:
    """Marker + models (each already [ID, L, body...]) + end marker."""
    words = list(SUNS_MARKER)
    for model in models:
        if len(model) != model[1] + 2:
            raise ValueError(f"model {model[0]}: length field {model[1]} but {len(model) - 2} body words")
        words.extend(model)
    return [*words, 0xFFFF, 0]


def empty_model(model_id: int, length: int, float_model: bool) -> list[int]:
    """A model whose points all read 'not implemented'."""
    filler = FLOAT_NOT_IMPLEMENTED * (length // 2) if float_model else [INT_NOT_IMPLEMENTED] * length
    return [model_id, length, *filler]
