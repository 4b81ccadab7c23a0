"""Re-computing a succeeded run from the data stored now, and naming what changed behind it.

A run's manifest holds a content hash of every input it was built from (each meter's interval arrays,
the batches and precursors, each supply contract, each factor version, the parameters). Loading the
inputs again gives a new manifest; comparing the two names each input that changed, so a mismatch of
the output hash comes with its cause ("meter MAIN's intervals", "the batches"), not just a different
number.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backend.calculations import repository
from backend.calculations.errors import CalculationFailed
from backend.calculations.inputs import load_inputs
from backend.calculations.models import CalculationRun, RunReproduction
from backend.db import new_id, tenant_scope_of
from backend.identity.principal import Principal
from backend.installations.models import Installation
from backend.services import Services

# manifest entries that describe the run rather than identify an input: the digests are compared
# on their own, and the methods are text that says how a digest was made
_NOT_INPUTS = frozenset({"inputs_digest", "output_digest", "method"})
# lists of entries keyed by their own identity rather than by position: a contract or factor added in
# the middle must not make every later one look changed
_LIST_KEYS = ("id", "ref")


@dataclass(frozen=True, slots=True)
class ChangedInput:
    """One input whose content hash (or value) differs between the run's manifest and the data now."""

    path: str
    recorded: Any
    now: Any

    def as_json(self, label: str | None = None) -> dict[str, Any]:
        return {"input": self.path, "label": label or self.path, "recorded": self.recorded, "now": self.now}


def _keyed(items: list[Any]) -> dict[str, Any] | None:
    for key in _LIST_KEYS:
        if items and all(isinstance(i, Mapping) and key in i for i in items):
            return {str(i[key]): i for i in items}
    return None


def _leaves(value: Any, path: str) -> Iterator[tuple[str, Any]]:
    if isinstance(value, Mapping):
        for key in sorted(value):
            if key in _NOT_INPUTS:
                continue
            yield from _leaves(value[key], f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        keyed = _keyed(value)
        if keyed is None:
            yield path, value
        else:
            for key in sorted(keyed):
                entry = keyed[key]
                # an entry with its own digest changed as a whole: name it once, by that digest
                if isinstance(entry, Mapping) and "digest" in entry:
                    yield f"{path}[{key}]", entry["digest"]
                else:
                    yield from _leaves(entry, f"{path}[{key}]")
    else:
        yield path, value


def changed_inputs(recorded: Mapping[str, Any], now: Mapping[str, Any]) -> list[ChangedInput]:
    """The inputs whose hash or value differs between two manifests, in the order of their paths.

    An input only in one of them is reported with ``None`` on the other side (a meter added, a contract
    that no longer applies).

    Examples
    --------
    >>> a = {"interval_data": {"meters": {"m1": "aa", "m2": "bb"}}, "batches": {"digest": "x", "count": 2}}
    >>> b = {"interval_data": {"meters": {"m1": "aa", "m2": "cc"}}, "batches": {"digest": "x", "count": 2}}
    >>> [c.path for c in changed_inputs(a, b)]
    ['interval_data.meters.m2']
    """
    before = dict(_leaves(recorded, ""))
    after = dict(_leaves(now, ""))
    return [
        ChangedInput(path, before.get(path), after.get(path))
        for path in sorted(before.keys() | after.keys())
        if before.get(path) != after.get(path)
    ]


async def _meter_codes(db: AsyncSession, paths: list[str]) -> dict[str, str]:
    ids: list[uuid.UUID] = []
    for path in paths:
        if path.startswith("interval_data.meters."):
            try:
                ids.append(uuid.UUID(path.rsplit(".", 1)[1]))
            except ValueError:
                continue
    if not ids:
        return {}
    codes = await repository.meter_codes(db, ids)
    return {f"interval_data.meters.{meter_id}": f"interval data of meter {code}" for meter_id, code in codes.items()}


_LABELS = {
    "batches.digest": "the production batches",
    "batches.precursors_digest": "the batches' precursors",
    "batches.count": "the number of batches",
}


def _label(path: str, meters: Mapping[str, str]) -> str:
    if path in meters:
        return meters[path]
    if path in _LABELS:
        return _LABELS[path]
    if path.startswith("contracts["):
        return f"supply contract {path[len('contracts[') :].split(']')[0]}"
    if path.startswith("factors["):
        return f"factor {path[len('factors[') :].split(']')[0]}"
    return path


async def reproduce(
    services: Services,
    db: AsyncSession,
    actor: Principal,
    run: CalculationRun,
    installation: Installation,
) -> RunReproduction:
    """Load the run's inputs as stored now, run the engine again, compare, and keep the record.

    The caller has checked that ``actor`` may see the run; the record is added to ``db`` (the run's own
    tenant), not committed.
    """
    # the service module imports this one: its engine call and parameters are taken when first used
    from backend.calculations.service import calculate_off_loop, parameters_for_engine

    assert run.inputs_digest is not None and run.output_digest is not None
    started = time.perf_counter()
    record = RunReproduction(
        id=new_id(),
        run_id=run.id,
        requested_by=actor.label,
        requested_by_tenant_id=actor.tenant_id,
        recorded_inputs_digest=run.inputs_digest,
        recorded_output_digest=run.output_digest,
        methodology_version=run.methodology_version,
        changed_inputs=[],
        inputs_match=False,
        output_matches=False,
    )
    parameters = parameters_for_engine(run)
    try:
        loaded = await load_inputs(
            services,
            db,
            # the run's own organisation loads its inputs (its PPAs are read through its own grants),
            # whoever asked for the reproduction
            Principal.system("run reproduction", tenant_scope_of(db).tenant_id),
            installation,
            run.period_start,
            run.period_end,
            parameters,
            fuel_density_t_per_m3=dict(run.parameters.get("fuel_density_t_per_m3") or {}),
        )
    except CalculationFailed as failed:
        record.error_code = failed.code
        record.error_message = failed.message
    else:
        _, output_digest = await calculate_off_loop(loaded.inputs, loaded.parameters)
        changed = changed_inputs(run.manifest, loaded.manifest)
        meters = await _meter_codes(db, [c.path for c in changed])
        record.inputs_digest = loaded.inputs_digest
        record.output_digest = output_digest
        record.inputs_match = loaded.inputs_digest == run.inputs_digest
        record.output_matches = output_digest == run.output_digest
        record.changed_inputs = [c.as_json(_label(c.path, meters)) for c in changed]
    record.duration_s = round(time.perf_counter() - started, 3)
    db.add(record)
    await db.flush()
    return record
