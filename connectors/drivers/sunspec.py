"""SunSpec discovery: find the "SunS" marker and walk the model chain."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from connectors.drivers.base import ReadFailure
from connectors.readings import TRANSPORT_REASONS

MARKER = [0x5375, 0x6E53]  # "SunS"
END_MODEL_ID = 0xFFFF
METER_MODELS = (201, 202, 203, 204, 211, 212, 213, 214)
MAX_MODELS = 64  # a real device has a handful; this stops a corrupt chain from looping for ever

ReadHolding = Callable[[int, int], Awaitable[list[int]]]


@dataclass(frozen=True, slots=True)
class SunSpecModel:
    model_id: int
    address: int  # PDU address of the model's ID register
    length: int


async def discover(read: ReadHolding, bases: Sequence[int] = (40000, 0, 50000)) -> tuple[int, list[SunSpecModel]]:
    """Return the base address and the models found there.

    Raises ReadFailure("sunspec_not_found") if no base carries the marker; transport failures
    (timeout, connection) propagate unchanged so the caller reports the real cause.
    """
    for base in bases:
        try:
            words = await read(base, 2)
        except ReadFailure as failure:
            if failure.reason in TRANSPORT_REASONS:
                raise
            continue
        if list(words) != MARKER:
            continue
        return base, await _walk(read, base + 2)
    raise ReadFailure("sunspec_not_found", f"no 'SunS' marker at {list(bases)}")


async def _walk(read: ReadHolding, address: int) -> list[SunSpecModel]:
    models: list[SunSpecModel] = []
    for _ in range(MAX_MODELS):
        if address + 1 > 0xFFFF:
            break
        try:
            model_id, length = await read(address, 2)
        except ReadFailure as failure:
            if failure.reason in TRANSPORT_REASONS:
                raise
            break  # some devices end the chain without the 0xFFFF marker
        if model_id == END_MODEL_ID:
            break
        models.append(SunSpecModel(model_id, address, length))
        address += 2 + length
    return models


def pick_meter_model(models: Sequence[SunSpecModel], wanted: int | None) -> SunSpecModel:
    for model in models:
        if (wanted is None and model.model_id in METER_MODELS) or model.model_id == wanted:
            return model
    found = [m.model_id for m in models]
    looking_for = wanted if wanted is not None else f"one of {list(METER_MODELS)}"
    raise ReadFailure("sunspec_not_found", f"meter model {looking_for} not among models {found}")
