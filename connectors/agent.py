"""The agent: poll devices on a wall-clock grid, buffer readings, upload, report status."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from connectors import __version__
from connectors.buffer import PendingReading, ReadingBuffer
from connectors.config import AgentConfig, ConfigError, ModbusRtuDevice, ModbusTcpDevice, OpcUaDevice
from connectors.drivers.base import DevicePoller
from connectors.drivers.modbus import ModbusLink, ModbusPoller
from connectors.readings import TRANSPORT_REASONS, Reading, iso_ms, utc_now
from connectors.uplink import (
    AuthError,
    Backoff,
    BatchRefused,
    BatchRejected,
    PayloadTooLarge,
    ServerError,
    TransientUplinkError,
    Uplink,
)

log = logging.getLogger(__name__)

# Readings carry the agent's clock; beyond this offset interval boundaries start to blur.
CLOCK_WARNING_S = 5.0
# Refused or conflicting readings named one by one in the log per batch; the rest are counted
# (refused ones are all in the buffer, conflicting ones in cbamx).
LOGGED_REFUSALS = 20


@dataclass(slots=True)
class PoisonSearch:
    """Narrows a batch the server keeps failing on (5xx) down to the reading that causes it.

    A batch that got `failures_per_size` 5xx answers in a row is sent again half as large, and so on
    down to a single reading; that one is deferred (retried later, alone, with a growing pause) so
    the readings behind it flow again. Bounded: a batch of n readings takes at most
    failures_per_size * (log2(n) + 1) failed requests to isolate one reading. During an outage that
    answers 5xx to everything it only costs order: a deferred reading is sent again later, never lost.
    """

    failures_per_size: int = 2
    first_pause_s: float = 60.0
    longest_pause_s: float = 3600.0
    size: int | None = None  # the reduced batch size while searching
    failures: int = 0
    span_end: int | None = None  # last seq of the batch that started the search

    def batch_size(self, normal: int) -> int:
        return normal if self.size is None else min(normal, self.size)

    def pause(self, deferrals: int) -> timedelta:
        return timedelta(seconds=min(self.longest_pause_s, self.first_pause_s * 2 ** max(0, deferrals - 1)))

    def failed(self, batch: Sequence[PendingReading]) -> PendingReading | None:
        """Count a 5xx for `batch`; returns the reading to defer once it stands alone and still fails."""
        self.failures += 1
        if self.span_end is None:
            self.span_end = batch[-1].seq
        if self.failures < self.failures_per_size:
            return None
        self.failures = 0
        if len(batch) > 1:
            self.size = (len(batch) + 1) // 2
            return None
        self.reset()  # isolated: the rest of the span goes at full size again
        return batch[0]

    def passed(self, batch: Sequence[PendingReading]) -> None:
        self.failures = 0
        if self.span_end is not None and batch[-1].seq >= self.span_end:
            self.reset()

    def reset(self) -> None:
        self.size, self.failures, self.span_end = None, 0, None


def _describe(payload: str) -> str:
    """A buffered reading as a person finds it: meter, quantity, time, value and unit."""
    try:
        r = json.loads(payload)
        return f"{r['meter']} {r['quantity']} {r['ts']} = {r['value']} {r['unit']}"
    except (ValueError, KeyError, TypeError):
        return payload[:200]


def build_pollers(config: AgentConfig) -> list[DevicePoller]:
    """One poller per device; Modbus devices behind the same gateway or bus share one link."""
    modbus_groups: dict[str, list[ModbusTcpDevice | ModbusRtuDevice]] = {}
    for device in config.devices:
        if isinstance(device, ModbusTcpDevice | ModbusRtuDevice):
            modbus_groups.setdefault(device.transport_key, []).append(device)
    # Background reconnects need not be faster than the polls that use the connection.
    delay_max = min(config.agent.poll_interval_s, 30.0)
    links = {key: ModbusLink.for_devices(group, delay_max) for key, group in modbus_groups.items()}
    pollers: list[DevicePoller] = []
    for device in config.devices:
        if isinstance(device, OpcUaDevice):
            from connectors.drivers.opcua import OpcUaPoller

            pollers.append(OpcUaPoller(device))
        else:
            try:
                pollers.append(ModbusPoller(device, links[device.transport_key]))
            except ValueError as exc:
                raise ConfigError(f"device {device.name!r}: {exc}") from None
    _check_unique_series(pollers)
    return pollers


def _check_unique_series(pollers: Sequence[DevicePoller]) -> None:
    owners: dict[tuple[str, str], str] = {}
    for poller in pollers:
        for point in poller.points:
            key = (point.meter, point.quantity)
            if key in owners:
                raise ConfigError(
                    f"meter {point.meter!r} quantity {point.quantity!r} is produced by both "
                    f"{owners[key]} and {poller.name}.{point.name}; give one of them another meter"
                )
            owners[key] = f"{poller.name}.{point.name}"


async def poll_all(pollers: Sequence[DevicePoller]) -> list[Reading]:
    """Devices on different links in parallel; devices sharing a link one after another."""
    groups: dict[str, list[DevicePoller]] = {}
    for poller in pollers:
        groups.setdefault(poller.transport_key, []).append(poller)

    async def run_group(group: list[DevicePoller]) -> list[Reading]:
        readings: list[Reading] = []
        for poller in group:
            readings.extend(await poller.read())
        return readings

    results = await asyncio.gather(*(run_group(g) for g in groups.values()))
    return [reading for group in results for reading in group]


@dataclass(slots=True)
class DeviceHealth:
    name: str
    points: int
    ok: bool = False
    last_success_at: str | None = None
    last_error: str | None = None
    error_count: int = 0

    def update(self, readings: Sequence[Reading]) -> bool:
        """Record one poll's outcome; returns True when the device changed between ok and failing.

        A device is ok when it answered and delivered at least one value; a single point that the
        meter does not support (sentinel, exception) shows in last_error but does not fail the device.
        """
        failures = [r for r in readings if r.quality == "missing"]
        unreachable = any(r.reason in TRANSPORT_REASONS for r in failures)
        if any(r.quality != "missing" for r in readings):
            self.last_success_at = max(r.ts for r in readings if r.quality != "missing")
        if failures:
            first = failures[0]
            self.last_error = f"{first.point}: {first.reason}"
        was_ok = self.ok
        self.ok = not unreachable and len(failures) < len(readings)
        if not self.ok:
            self.error_count += 1
        return was_ok != self.ok

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "ok": self.ok,
            "last_success_at": self.last_success_at,
            "last_error": self.last_error,
            "error_count": self.error_count,
            "points": self.points,
        }


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> bool:
    """Sleep; True if `stop` was set meanwhile."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=max(0.0, seconds))
    return stop.is_set()


@dataclass
class Agent:
    config: AgentConfig
    pollers: list[DevicePoller]
    buffer: ReadingBuffer
    uplink: Uplink
    started_at: str = field(default_factory=lambda: iso_ms(utc_now()))
    last_upload_at: str | None = None
    health: dict[str, DeviceHealth] = field(init=False)

    def __post_init__(self) -> None:
        self.health = {p.name: DeviceHealth(p.name, len(p.points)) for p in self.pollers}
        self._batch_size = self.config.agent.upload_batch_size
        self._poison = PoisonSearch()

    @classmethod
    def from_config(cls, config: AgentConfig) -> Agent:
        pollers = build_pollers(config)
        uplink = Uplink(config.server, config.server.resolve_secret(), config.agent.id)
        return cls(config, pollers, ReadingBuffer(config.agent.buffer_path), uplink)

    async def poll_once(self) -> list[Reading]:
        readings = await poll_all(self.pollers)
        self.buffer.append(readings)
        by_device: dict[str, list[Reading]] = {}
        for reading in readings:
            by_device.setdefault(reading.device, []).append(reading)
        for name, device_readings in by_device.items():
            health = self.health[name]
            if health.update(device_readings):
                if health.ok:
                    log.info("device %s: ok", name)
                else:
                    log.warning("device %s: %s", name, health.last_error)
        return readings

    async def upload_once(self) -> int:
        """Send one batch; returns how many readings left the pending queue (0 = nothing to send).

        Every outcome of the uplink has its answer here: stored (acknowledged), readings refused
        (set aside, the others sent again), batch refused (set aside whole), too large (smaller
        batches), server failing (raised for back-off, and narrowed down if it persists).
        """
        batch = self.buffer.pending(self._poison.batch_size(self._batch_size))
        if not batch:
            return 0
        if batch[0].deferrals:
            batch = batch[:1]  # a reading the server failed on before goes alone, so it holds up nothing
        try:
            result = await self.uplink.upload([p.payload for p in batch])
        except BatchRejected as rejected:
            self._set_aside(batch, rejected, {batch[i].seq: reason for i, reason in rejected.reasons.items()})
            return len(rejected.reasons)
        except BatchRefused as refused:
            self._set_aside(batch, refused, {p.seq: refused.summary for p in batch})
            return len(batch)
        except PayloadTooLarge:
            self._batch_size = max(1, len(batch) // 2)
            log.warning("batch too large for the server; using batches of %d", self._batch_size)
            return 0
        except ServerError as error:
            self._server_failed(batch, error)
            raise
        self._poison.passed(batch)
        self.buffer.acknowledge([p.seq for p in batch])
        self.last_upload_at = iso_ms(utc_now())
        for c in result.conflicts[:LOGGED_REFUSALS]:
            log.warning(
                "conflicting value: %s %s %s = %s, cbamx holds %s; the exporter decides in cbamx",
                c.get("meter"),
                c.get("quantity"),
                c.get("ts"),
                c.get("value"),
                c.get("stored_value"),
            )
        if not result.conflicts and result.accepted + result.duplicates != len(batch):
            log.warning("server counted %s of a batch of %d", result, len(batch))
        return len(batch)

    def _set_aside(self, batch: Sequence[PendingReading], refusal: BatchRefused, reasons: Mapping[int, str]) -> None:
        record = self.buffer.set_aside(reasons, status=refusal.status, summary=refusal.summary, answer=refusal.answer)
        payloads = {p.seq: p.payload for p in batch}
        log.warning(
            "cbamx refused %d of %d reading(s) with HTTP %d (%s); set aside as #%d, sending the rest",
            len(reasons),
            len(batch),
            refusal.status,
            refusal.summary,
            record,
        )
        for seq, reason in list(reasons.items())[:LOGGED_REFUSALS]:
            log.warning("refused: %s: %s", _describe(payloads[seq]), reason)
        if len(reasons) > LOGGED_REFUSALS:
            log.warning(
                "refused: %d more; all are listed by `cbamx-agent set-aside show CONFIG %d`",
                len(reasons) - LOGGED_REFUSALS,
                record,
            )

    def _server_failed(self, batch: Sequence[PendingReading], error: ServerError) -> None:
        before = self._poison.size
        culprit = self._poison.failed(batch)
        if culprit is not None:
            deferrals = self.buffer.defer(culprit.seq, utc_now() + self._poison.pause(culprit.deferrals + 1))
            pause = self._poison.pause(deferrals).total_seconds()
            log.warning(
                "cbamx keeps failing (HTTP %d) on one reading: %s; sending the others first, this one again in %.0f s",
                error.status,
                _describe(culprit.payload),
                pause,
            )
        elif self._poison.size != before:
            log.warning(
                "cbamx keeps failing (HTTP %d) on a batch of %d; trying %d at a time to find the reading",
                error.status,
                len(batch),
                self._poison.size,
            )

    def status(self) -> dict[str, object]:
        stats = self.buffer.stats()
        return {
            "agent_id": self.config.agent.id,
            "agent_version": __version__,
            "reported_at": iso_ms(utc_now()),
            "started_at": self.started_at,
            "last_upload_at": self.last_upload_at,
            "buffer_depth": stats.depth,
            "oldest_pending_ts": stats.oldest_pending_ts,
            "rejected_count": stats.rejected_count,
            "devices": [h.as_dict() for h in self.health.values()],
        }

    async def _poll_loop(self, stop: asyncio.Event) -> None:
        interval = self.config.agent.poll_interval_s
        while True:
            now = time.time()
            # Aligned to multiples of the interval so readings from several agents line up.
            next_tick = (math.floor(now / interval) + 1) * interval
            if await _sleep_or_stop(stop, next_tick - now):
                return
            try:
                await self.poll_once()
            except Exception:
                log.exception("poll failed")  # e.g. disk full; keep polling, the next poll may succeed

    async def _upload_loop(self, stop: asyncio.Event) -> None:
        server = self.config.server
        backoff = Backoff(server.retry_base_s, server.retry_cap_s)
        while not stop.is_set():
            try:
                moved = await self.upload_once()
            except (TransientUplinkError, AuthError) as exc:
                delay = backoff.next_delay()
                log.warning("upload failed (%s); retrying in %.1f s", exc, delay)
                if await _sleep_or_stop(stop, delay):
                    return
                continue
            except Exception:
                log.exception("upload failed unexpectedly")
                if await _sleep_or_stop(stop, backoff.next_delay()):
                    return
                continue
            backoff.reset()
            if moved == 0 and await _sleep_or_stop(stop, self.config.agent.upload_interval_s):
                return

    async def _status_loop(self, stop: asyncio.Event) -> None:
        while not await _sleep_or_stop(stop, self.config.agent.status_interval_s):
            try:
                answer = await self.uplink.report_status(self.status())
            except Exception as exc:
                log.warning("status report failed: %s", exc)
                continue
            offset = answer.get("clock_offset_s")
            if isinstance(offset, int | float) and abs(offset) > CLOCK_WARNING_S:
                log.warning("agent clock is %.1f s off the server clock; check NTP", offset)

    async def run(self, stop: asyncio.Event) -> None:
        log.info(
            "cbamx-agent %s: %d device(s), uploading to %s, buffer %s",
            __version__,
            len(self.pollers),
            self.config.server.url,
            self.buffer.path,
        )
        tasks = [
            asyncio.create_task(self._poll_loop(stop), name="poll"),
            asyncio.create_task(self._upload_loop(stop), name="upload"),
            asyncio.create_task(self._status_loop(stop), name="status"),
        ]
        try:
            await stop.wait()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self.close()

    async def close(self) -> None:
        for poller in self.pollers:
            with contextlib.suppress(Exception):
                await poller.close()
        await self.uplink.aclose()
        self.buffer.close()
