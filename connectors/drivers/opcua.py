"""OPC UA: read configured node values each poll (regular snapshots), reconnect on failure.

Import this module only when an OPC UA device is configured: asyncua roughly doubles the
agent's memory footprint, which Modbus-only sites should not pay for. Import it before
polling starts, too: the import takes seconds of CPU and would stall the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from typing import Any

from asyncua import Client, Node
from asyncua.ua import UaStatusCodeError

from connectors.config import OpcUaDevice, OpcUaNode
from connectors.drivers.base import PointInfo, transport_failure
from connectors.readings import Quality, Reading, iso_ms, utc_now

log = logging.getLogger(__name__)


def _status_reason(prefix: str, status: Any) -> str:
    return f"{prefix}_{status.name}"


class OpcUaPoller:
    def __init__(self, device: OpcUaDevice) -> None:
        self.device = device
        self.name = device.name
        self.transport_key = device.transport_key
        self._client: Client | None = None
        self._nodes: list[Node | None] = []
        self._node_errors: dict[int, str] = {}
        self._namespaces: dict[str, int] = {}

    @property
    def points(self) -> list[PointInfo]:
        return [PointInfo(n.label, self._meter(n), n.quantity, n.unit) for n in self.device.nodes]

    def _meter(self, node: OpcUaNode) -> str:
        meter = node.meter or self.device.meter
        assert meter is not None  # enforced by config validation
        return meter

    async def _connect(self) -> Client:
        device = self.device
        client = Client(device.endpoint, timeout=device.timeout_s)
        if device.username is not None and device.password is not None:
            client.set_user(device.username)
            client.set_password(device.password.get_secret_value())
        if device.security_policy != "None":
            parts = [
                device.security_policy,
                device.security_mode,
                str(device.certificate),
                str(device.private_key),
            ]
            if device.server_certificate is not None:
                parts.append(str(device.server_certificate))
            await client.set_security_string(",".join(parts))
        try:
            await asyncio.wait_for(client.connect(), timeout=device.timeout_s * 2)
        except BaseException:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.disconnect(), timeout=2)
            raise
        self._client = client
        self._namespaces = {}
        self._nodes = [None] * len(device.nodes)
        self._node_errors = {}
        await self._resolve_missing_nodes()
        return client

    async def _resolve_missing_nodes(self) -> None:
        assert self._client is not None
        for index, spec in enumerate(self.device.nodes):
            if self._nodes[index] is not None:
                continue
            try:
                self._nodes[index] = await self._resolve(spec)
                self._node_errors.pop(index, None)
            except UaStatusCodeError as exc:
                self._node_errors[index] = f"bad_status_{type(exc).__name__}"
            except ValueError:
                self._node_errors[index] = "node_not_found"

    async def _resolve(self, spec: OpcUaNode) -> Node:
        assert self._client is not None
        if spec.node_id is not None:
            return self._client.get_node(spec.node_id)
        assert spec.browse_path is not None and spec.namespace_uri is not None
        if spec.namespace_uri not in self._namespaces:
            self._namespaces[spec.namespace_uri] = await self._client.get_namespace_index(spec.namespace_uri)
        ns = self._namespaces[spec.namespace_uri]
        path = [f"{ns}:{part}" for part in spec.browse_path.strip("/").split("/")]
        return await self._client.nodes.objects.get_child(path)

    async def _drop(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.disconnect(), timeout=2)

    async def read(self) -> list[Reading]:
        try:
            if self._client is None:
                await self._connect()
            elif self._node_errors:
                await self._resolve_missing_nodes()
            assert self._client is not None
            resolved = [(i, n) for i, n in enumerate(self._nodes) if n is not None]
            values = (
                await asyncio.wait_for(
                    self._client.read_attributes([n for _, n in resolved]), timeout=self.device.timeout_s
                )
                if resolved
                else []
            )
        except Exception as exc:  # asyncua raises a wide range of types on a dead connection
            # Before a session exists a timeout is the connection attempt's; after, the read's.
            reason = (
                "timeout"
                if isinstance(exc, TimeoutError) and self._client is not None
                else transport_failure(exc, self.device.endpoint).reason
            )
            log.warning("%s: OPC UA read failed (%s: %s)", self.name, type(exc).__name__, exc)
            await self._drop()
            return [self._reading(node, None, "missing", reason) for node in self.device.nodes]
        by_index = {index: value for (index, _), value in zip(resolved, values, strict=True)}
        readings = []
        for index, spec in enumerate(self.device.nodes):
            if index in by_index:
                readings.append(self._from_data_value(spec, by_index[index]))
            else:
                readings.append(self._reading(spec, None, "missing", self._node_errors.get(index, "node_not_found")))
        return readings

    def _from_data_value(self, spec: OpcUaNode, data_value: Any) -> Reading:
        status = data_value.StatusCode
        if status is not None and status.is_bad():
            return self._reading(spec, None, "missing", _status_reason("bad_status", status))
        variant = data_value.Value
        raw_value = None if variant is None else variant.Value
        if isinstance(raw_value, bool) or not isinstance(raw_value, int | float):
            return self._reading(spec, None, "missing", "not_numeric")
        if isinstance(raw_value, float) and math.isnan(raw_value):
            return self._reading(spec, None, "missing", "nan")
        if isinstance(raw_value, float) and math.isinf(raw_value):
            return self._reading(spec, None, "missing", "inf")
        if status is not None and status.is_uncertain():
            return self._reading(spec, raw_value, "uncertain", _status_reason("uncertain_status", status))
        return self._reading(spec, raw_value, "good", None)

    def _reading(self, spec: OpcUaNode, value: float | None, quality: Quality, reason: str | None) -> Reading:
        return Reading(
            meter=self._meter(spec),
            quantity=spec.quantity,
            unit=spec.unit,
            ts=iso_ms(utc_now()),
            value=value,
            quality=quality,
            reason=reason,
            raw=None,
            device=self.name,
            point=spec.label,
        )

    async def close(self) -> None:
        await self._drop()
