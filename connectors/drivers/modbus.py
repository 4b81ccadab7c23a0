"""Modbus TCP and RTU: request planning, transport handling and per-device polling."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient
from pymodbus.exceptions import ConnectionException, ModbusException, ModbusIOException

from connectors.config import ModbusRtuDevice, ModbusTcpDevice
from connectors.decoding import decode
from connectors.drivers.base import PointInfo, ReadFailure, transport_failure
from connectors.drivers.sunspec import discover, pick_meter_model
from connectors.profiles.loader import SUNSPEC_AUTO, load_builtin, sunspec_profiles
from connectors.profiles.model import Profile, RegisterPoint
from connectors.readings import TRANSPORT_REASONS, Reading, iso_ms, utc_now

log = logging.getLogger(__name__)

ModbusDevice = ModbusTcpDevice | ModbusRtuDevice
# Exception codes after which a merged request is retried point by point: the block may
# straddle a register the device does not implement.
SPLIT_ON_EXCEPTION = frozenset({2, 3})


@dataclass(frozen=True, slots=True)
class ModbusPoint:
    name: str
    meter: str
    spec: RegisterPoint
    offset: int = 0  # SunSpec: address of the model's ID register

    @property
    def address(self) -> int:
        return self.spec.address + self.offset

    @property
    def sf_address(self) -> int | None:
        sf = self.spec.scale_factor_address
        return None if sf is None else sf + self.offset

    @property
    def span(self) -> tuple[int, int]:
        """[start, end) of every register this value needs, scale factor included."""
        start, end = self.address, self.address + self.spec.words
        if (sf := self.sf_address) is not None:
            start, end = min(start, sf), max(end, sf + 1)
        return start, end

    @property
    def info(self) -> PointInfo:
        return PointInfo(self.name, self.meter, self.spec.quantity, self.spec.unit)


@dataclass(slots=True)
class ReadRequest:
    function_code: int
    address: int
    count: int
    points: list[ModbusPoint]


def plan_requests(points: Sequence[ModbusPoint], max_count: int = 125, max_gap: int = 64) -> list[ReadRequest]:
    """Merge points into as few reads as possible; a value and its scale factor never get split."""
    requests: list[ReadRequest] = []
    ordered = sorted(points, key=lambda p: (p.spec.function_code, p.span[0]))
    current: ReadRequest | None = None
    for point in ordered:
        start, end = point.span
        if end - start > max_count:
            raise ValueError(
                f"point {point.name!r} needs registers {start}..{end - 1} ({end - start}), "
                f"more than one request of {max_count} can carry"
            )
        if (
            current is not None
            and current.function_code == point.spec.function_code
            and start - (current.address + current.count) <= max_gap
            and max(end, current.address + current.count) - current.address <= max_count
        ):
            current.count = max(end, current.address + current.count) - current.address
            current.points.append(point)
            continue
        current = ReadRequest(point.spec.function_code, start, end - start, [point])
        requests.append(current)
    return requests


def resolve_points(device: ModbusDevice, profile: Profile | None, offset: int = 0) -> list[ModbusPoint]:
    registers = device.registers if profile is None else profile.registers
    assert registers is not None
    names = device.include_points or list(registers)
    return [
        ModbusPoint(
            name=name,
            meter=device.point_meters.get(name) or registers[name].meter or device.meter,
            spec=registers[name],
            offset=offset,
        )
        for name in names
    ]


def device_profile(device: ModbusDevice) -> Profile | None:
    """The built-in profile, or None for inline registers; SunSpec auto uses a stand-in for listing."""
    if device.profile is None:
        return None
    if device.profile == SUNSPEC_AUTO:
        return sunspec_profiles()[213]
    return load_builtin(device.profile)


class ModbusLink:
    """One pymodbus client per gateway (host:port) or serial bus, shared by its devices."""

    def __init__(
        self,
        key: str,
        client: AsyncModbusTcpClient | AsyncModbusSerialClient,
        address: tuple[str, int] | None = None,
        timeout: float = 1.0,
    ) -> None:
        self.key = key
        self.client = client
        self.address = address  # (host, port) for Modbus TCP; None for a serial bus
        self.timeout = timeout
        self._lock = asyncio.Lock()

    @classmethod
    def for_devices(cls, devices: Sequence[ModbusDevice], reconnect_delay_max: float = 10.0) -> ModbusLink:
        first = devices[0]
        # Devices behind one gateway share a socket, so the most patient device sets the pace.
        timeout = max(d.timeout_s for d in devices)
        retries = max(d.retries for d in devices)
        client: AsyncModbusTcpClient | AsyncModbusSerialClient
        if isinstance(first, ModbusTcpDevice):
            client = AsyncModbusTcpClient(
                first.host,
                port=first.port,
                timeout=timeout,
                retries=retries,
                reconnect_delay=0.5,
                reconnect_delay_max=reconnect_delay_max,
            )
        else:
            client = AsyncModbusSerialClient(
                first.serial_port,
                baudrate=first.baudrate,
                parity=first.parity,
                stopbits=first.stopbits,
                bytesize=first.bytesize,
                timeout=timeout,
                retries=retries,
                reconnect_delay=0.5,
                reconnect_delay_max=reconnect_delay_max,
            )
        address = (first.host, first.port) if isinstance(first, ModbusTcpDevice) else None
        return cls(first.transport_key, client, address, timeout)

    async def _ensure_connected(self) -> None:
        if self.client.connected:
            return
        # Drop any pending background reconnect (it may be sleeping in back-off) and try now,
        # so a device that came back is read at the very next poll.
        self.client.close()
        if not await self.client.connect():
            raise await self._diagnose()

    async def _diagnose(self) -> ReadFailure:
        """Why connecting failed; pymodbus only says that it did, so try once more ourselves."""
        if self.address is None:
            return ReadFailure("connection", f"cannot open {self.key}")
        host, port = self.address
        try:
            async with asyncio.timeout(self.timeout):
                _, writer = await asyncio.open_connection(host, port)
        except (OSError, TimeoutError) as exc:
            return transport_failure(exc, self.key)
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        return ReadFailure("connection", f"cannot connect to {self.key} (a second attempt went through)")

    async def read(self, function_code: int, address: int, count: int, unit_id: int) -> list[int]:
        async with self._lock:
            await self._ensure_connected()
            method = self.client.read_holding_registers if function_code == 3 else self.client.read_input_registers
            try:
                response = await method(address, count=count, device_id=unit_id)
            except ConnectionException as exc:
                raise ReadFailure("connection", str(exc))
            except ModbusIOException as exc:
                raise ReadFailure("timeout", str(exc))
            except (ModbusException, OSError, TimeoutError) as exc:
                raise ReadFailure("protocol_error", f"{type(exc).__name__}: {exc}")
        if response.isError():
            code = getattr(response, "exception_code", "unknown")
            raise ReadFailure(f"modbus_exception_{code}", f"fc{function_code} {address}+{count}")
        return list(response.registers)

    async def close(self) -> None:
        self.client.close()


class ModbusPoller:
    """Reads one Modbus device (one unit id) through a shared link."""

    def __init__(self, device: ModbusDevice, link: ModbusLink) -> None:
        self.device = device
        self.name = device.name
        self.transport_key = device.transport_key
        self.link = link
        self._listing = resolve_points(device, device_profile(device))
        self._requests: list[ReadRequest] | None = None
        if device.sunspec is None:
            self._requests = self._plan(self._listing)

    def _plan(self, points: Sequence[ModbusPoint]) -> list[ReadRequest]:
        return plan_requests(points, self.device.max_registers_per_request, self.device.max_gap)

    @property
    def points(self) -> list[PointInfo]:
        return [p.info for p in self._listing]

    @property
    def requests(self) -> list[ReadRequest]:
        return list(self._requests or [])

    async def _read_words(self, request: ReadRequest) -> list[int]:
        return await self.link.read(request.function_code, request.address, request.count, self.device.unit_id)

    async def _locate_sunspec_model(self) -> None:
        options = self.device.sunspec
        assert options is not None
        profile = device_profile(self.device)
        wanted = None if self.device.profile == SUNSPEC_AUTO or profile is None else profile.sunspec_model
        if options.model_address is not None and not options.discover:
            model_id, _length = await self.link.read(3, options.model_address, 2, self.device.unit_id)
            if wanted is not None and model_id != wanted:
                raise ReadFailure("sunspec_not_found", f"model {model_id} at {options.model_address}")
            address = options.model_address
        else:

            async def read(addr: int, count: int) -> list[int]:
                return await self.link.read(3, addr, count, self.device.unit_id)

            base, models = await discover(read, options.base_addresses)
            model = pick_meter_model(models, wanted)
            model_id, address = model.model_id, model.address
            log.info("%s: SunSpec model %s at %s (base %s)", self.name, model_id, address, base)
        model_profile = sunspec_profiles().get(model_id)
        if model_profile is None:
            raise ReadFailure("sunspec_not_found", f"no built-in profile for SunSpec model {model_id}")
        self._listing = resolve_points(self.device, model_profile, offset=address)
        self._requests = self._plan(self._listing)

    async def read(self) -> list[Reading]:
        if self._requests is None:
            try:
                await self._locate_sunspec_model()
            except ReadFailure as failure:
                return self._missing(self._listing, failure.reason)
        assert self._requests is not None
        readings: list[Reading] = []
        abort: str | None = None
        for index, request in enumerate(list(self._requests)):
            if abort is not None:
                readings.extend(self._missing(request.points, abort))
                continue
            try:
                words = await self._read_words(request)
            except ReadFailure as failure:
                if failure.reason in TRANSPORT_REASONS:
                    abort = failure.reason  # the device is gone; don't wait out a timeout per request
                    readings.extend(self._missing(request.points, failure.reason))
                elif self._should_split(request, failure):
                    readings.extend(await self._split_and_read(index, request))
                else:
                    readings.extend(self._missing(request.points, failure.reason))
                continue
            readings.extend(self._decode(request, words))
        return readings

    @staticmethod
    def _should_split(request: ReadRequest, failure: ReadFailure) -> bool:
        code = failure.reason.removeprefix("modbus_exception_")
        return len(request.points) > 1 and code.isdigit() and int(code) in SPLIT_ON_EXCEPTION

    async def _split_and_read(self, index: int, request: ReadRequest) -> list[Reading]:
        # Re-plan without gaps: only registers that belong to a value are requested from now on.
        singles = plan_requests(request.points, self.device.max_registers_per_request, max_gap=0)
        assert self._requests is not None
        self._requests[index : index + 1] = singles
        log.info("%s: block %s+%s rejected, reading without gaps", self.name, request.address, request.count)
        readings: list[Reading] = []
        abort: str | None = None
        for single in singles:
            if abort is not None:
                readings.extend(self._missing(single.points, abort))
                continue
            try:
                readings.extend(self._decode(single, await self._read_words(single)))
            except ReadFailure as failure:
                if failure.reason in TRANSPORT_REASONS:
                    abort = failure.reason
                readings.extend(self._missing(single.points, failure.reason))
        return readings

    def _decode(self, request: ReadRequest, words: list[int]) -> list[Reading]:
        ts = iso_ms(utc_now())
        readings = []
        for point in request.points:
            spec = point.spec
            start = point.address - request.address
            value_words = words[start : start + spec.words]
            raw = list(value_words)
            sf_word: int | None = None
            complete = len(value_words) == spec.words
            if (sf := point.sf_address) is not None:
                sf_index = sf - request.address
                if sf_index < len(words):
                    sf_word = words[sf_index]
                    raw.append(sf_word)
                else:
                    complete = False
            if complete:
                decoded = decode(
                    value_words,
                    spec.type,
                    spec.word_order,
                    scale=spec.scale,
                    scale_factor=sf_word,
                    sentinels=spec.sentinels,
                )
                value, reason = decoded.value, decoded.reason
            else:
                value, reason = None, "partial"
            readings.append(
                Reading(
                    meter=point.meter,
                    quantity=spec.quantity,
                    unit=spec.unit,
                    ts=ts,
                    value=value,
                    quality="good" if reason is None else "missing",
                    reason=reason,
                    raw=raw or None,
                    device=self.name,
                    point=point.name,
                )
            )
        return readings

    def _missing(self, points: Sequence[ModbusPoint], reason: str) -> list[Reading]:
        ts = iso_ms(utc_now())
        return [
            Reading(
                meter=p.meter,
                quantity=p.spec.quantity,
                unit=p.spec.unit,
                ts=ts,
                value=None,
                quality="missing",
                reason=reason,
                raw=None,
                device=self.name,
                point=p.name,
            )
            for p in points
        ]

    async def close(self) -> None:
        await self.link.close()
