"""Agent configuration (YAML), validated with pydantic."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from connectors.decoding import FLOAT_TYPES, RegisterType, word_count
from connectors.profiles.loader import SUNSPEC_AUTO, ProfileError, load_builtin
from connectors.profiles.model import RegisterPoint, check_quantity

SECRET_ENV = "CBAMX_AGENT_CLIENT_SECRET"


class ConfigError(ValueError):
    """Invalid configuration; the message names the offending field(s)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ServerConfig(_Strict):
    url: str
    token_url: str | None = None
    client_id: str = Field(min_length=1)
    client_secret: SecretStr | None = None
    client_secret_file: Path | None = None
    scope: str = "ingest"
    timeout_s: float = Field(default=30.0, gt=0)
    retry_base_s: float = Field(default=1.0, gt=0)
    retry_cap_s: float = Field(default=300.0, gt=0)
    ca_bundle: Path | None = None

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _default_token_url(self) -> ServerConfig:
        if self.token_url is None:
            self.token_url = f"{self.url}/auth/token"
        return self

    def resolve_secret(self) -> str:
        """client_secret, else the content of client_secret_file, else the environment variable."""
        if self.client_secret is not None:
            return self.client_secret.get_secret_value()
        if self.client_secret_file is not None:
            try:
                return self.client_secret_file.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ConfigError(f"server.client_secret_file: cannot read {self.client_secret_file}: {exc}")
        if secret := os.environ.get(SECRET_ENV):
            return secret
        raise ConfigError(
            f"server.client_secret: no client secret; set client_secret, client_secret_file or {SECRET_ENV}"
        )


class AgentSettings(_Strict):
    id: str = Field(min_length=1)
    poll_interval_s: float = Field(default=10.0, gt=0)
    buffer_path: Path = Path("cbamx-agent-buffer.sqlite3")
    upload_batch_size: int = Field(default=5000, ge=1, le=50000)
    upload_interval_s: float = Field(default=10.0, gt=0)
    status_interval_s: float = Field(default=60.0, gt=0)


class SunSpecOptions(_Strict):
    discover: bool = True
    base_addresses: list[int] = Field(default_factory=lambda: [40000, 0, 50000])
    # Skip discovery when the model's ID register address is known.
    model_address: int | None = Field(default=None, ge=0, le=65535)

    @model_validator(mode="after")
    def _need_a_way_to_find_model(self) -> SunSpecOptions:
        if not self.discover and self.model_address is None:
            raise ValueError("set discover: true or give model_address")
        return self


class _ModbusDevice(_Strict):
    name: str = Field(min_length=1)
    meter: str = Field(min_length=1)
    unit_id: int = Field(default=1, ge=0, le=255)
    profile: str | None = None
    registers: dict[str, RegisterPoint] | None = None
    include_points: list[str] | None = None
    point_meters: dict[str, str] = Field(default_factory=dict)
    sunspec: SunSpecOptions | None = None
    timeout_s: float = Field(default=1.0, gt=0)
    retries: int = Field(default=1, ge=0, le=10)
    max_registers_per_request: int = Field(default=125, ge=1, le=125)
    max_gap: int = Field(default=64, ge=0, le=124)

    @field_validator("profile")
    @classmethod
    def _known_profile(cls, value: str | None) -> str | None:
        if value is not None and value != SUNSPEC_AUTO:
            try:
                load_builtin(value)
            except ProfileError as exc:
                raise ValueError(str(exc))
        return value

    @model_validator(mode="after")
    def _one_register_source(self) -> _ModbusDevice:
        if (self.profile is None) == (self.registers is None):
            raise ValueError("give exactly one of 'profile' (built-in name) or 'registers' (inline map)")
        if self.registers is not None and not self.registers:
            raise ValueError("'registers' must not be empty")
        is_sunspec = self.profile == SUNSPEC_AUTO or (
            self.profile is not None and load_builtin(self.profile).sunspec_model is not None
        )
        if is_sunspec and self.sunspec is None:
            self.sunspec = SunSpecOptions()
        if self.sunspec is not None and not is_sunspec:
            raise ValueError("'sunspec' options need a sunspec_* profile")
        if self.profile is not None:
            # Every SunSpec meter profile uses the same point names, so model 213 stands in for "sunspec".
            known = set(load_builtin("sunspec_213" if self.profile == SUNSPEC_AUTO else self.profile).registers)
            for field_name, names in (
                ("include_points", self.include_points or []),
                ("point_meters", list(self.point_meters)),
            ):
                if unknown := sorted(set(names) - known):
                    raise ValueError(
                        f"{field_name}: unknown point(s) {unknown} for profile {self.profile}; known: {sorted(known)}"
                    )
        return self


class ModbusTcpDevice(_ModbusDevice):
    kind: Literal["modbus_tcp"]
    host: str = Field(min_length=1)
    port: int = Field(default=502, ge=1, le=65535)

    @property
    def transport_key(self) -> str:
        return f"tcp://{self.host}:{self.port}"


class ModbusRtuDevice(_ModbusDevice):
    kind: Literal["modbus_rtu"]
    serial_port: str = Field(min_length=1)
    baudrate: int = Field(default=9600, gt=0)
    parity: Literal["N", "E", "O"] = "N"
    stopbits: Literal[1, 2] = 1
    bytesize: Literal[7, 8] = 8
    unit_id: int = Field(default=1, ge=1, le=247)

    @property
    def transport_key(self) -> str:
        return f"serial:{self.serial_port}"


class OpcUaNode(_Strict):
    node_id: str | None = None
    browse_path: str | None = None
    namespace_uri: str | None = None
    quantity: str
    unit: str = Field(min_length=1)
    meter: str | None = None
    kind: Literal["counter", "instantaneous"] = "instantaneous"
    name: str | None = None

    _check_quantity = field_validator("quantity")(check_quantity)

    @model_validator(mode="after")
    def _addressing(self) -> OpcUaNode:
        if (self.node_id is None) == (self.browse_path is None):
            raise ValueError("give exactly one of node_id or browse_path")
        if self.browse_path is not None and self.namespace_uri is None:
            raise ValueError("browse_path needs namespace_uri (resolve by URI, not by namespace index)")
        return self

    @property
    def label(self) -> str:
        return self.name or self.browse_path or self.node_id or "?"


class OpcUaDevice(_Strict):
    kind: Literal["opcua"]
    name: str = Field(min_length=1)
    endpoint: str
    meter: str | None = None
    security_policy: Literal["None", "Basic256Sha256", "Aes128Sha256RsaOaep", "Aes256Sha256RsaPss"] = "None"
    security_mode: Literal["Sign", "SignAndEncrypt"] = "SignAndEncrypt"
    username: str | None = None
    password: SecretStr | None = None
    certificate: Path | None = None
    private_key: Path | None = None
    server_certificate: Path | None = None
    timeout_s: float = Field(default=5.0, gt=0)
    nodes: list[OpcUaNode] = Field(min_length=1)

    @field_validator("endpoint")
    @classmethod
    def _opc_url(cls, value: str) -> str:
        if not value.startswith("opc.tcp://"):
            raise ValueError("must start with opc.tcp://")
        return value

    @model_validator(mode="after")
    def _security(self) -> OpcUaDevice:
        if self.security_policy != "None" and (self.certificate is None or self.private_key is None):
            raise ValueError(f"security_policy {self.security_policy} needs certificate and private_key")
        if (self.username is None) != (self.password is None):
            raise ValueError("give both username and password, or neither")
        for index, node in enumerate(self.nodes):
            if node.meter is None and self.meter is None:
                raise ValueError(f"nodes.{index}.meter: no meter (set it on the node or on the device)")
        return self

    @property
    def transport_key(self) -> str:
        return self.endpoint


Device = Annotated[ModbusTcpDevice | ModbusRtuDevice | OpcUaDevice, Field(discriminator="kind")]


class AgentConfig(_Strict):
    server: ServerConfig
    agent: AgentSettings
    devices: list[Device] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_device_names(self) -> AgentConfig:
        seen: set[str] = set()
        for device in self.devices:
            if device.name in seen:
                raise ValueError(f"duplicate device name {device.name!r}")
            seen.add(device.name)
        return self


def _device_label(data: object, index: int) -> str:
    devices = data.get("devices") if isinstance(data, dict) else None
    device = devices[index] if isinstance(devices, list) and index < len(devices) else None
    name = device.get("name") if isinstance(device, dict) else None
    return f"device {name!r} (devices.{index})" if isinstance(name, str) and name else f"devices.{index}"


def _format_errors(exc: ValidationError, data: object) -> str:
    """One line per error, naming a device by its name: a plant has dozens, nobody counts them."""
    lines = []
    for error in exc.errors():
        loc = list(error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        head = ""
        if len(loc) >= 2 and loc[0] == "devices" and isinstance(loc[1], int):
            head = _device_label(data, loc[1])
            loc = loc[2:]
            device = data["devices"][error["loc"][1]] if isinstance(data, dict) else None
            if loc and isinstance(device, dict) and loc[0] == device.get("kind"):
                loc = loc[1:]  # the union's tag, already told by the device's kind
            if error["type"].startswith("union_tag_"):
                loc = ["kind"]
        where = ".".join(str(part) for part in loc)
        location = ": ".join(part for part in (head, where) if part) or "(top level)"
        lines.append(f"  {location}: {message}")
    return "invalid agent configuration:\n" + "\n".join(lines)


def _fits(sentinel: int, register_type: RegisterType) -> str | None:
    """None if a raw register value can equal `sentinel`, else the range it can take."""
    bits = 16 * word_count(register_type)
    if register_type in FLOAT_TYPES:  # compared as a bit pattern only
        low, high = 0, (1 << bits) - 1
        text = f"bit patterns 0..{high} (0x{high:X})"
    else:  # compared as the unsigned content or its signed reading
        low, high = -(1 << (bits - 1)), (1 << bits) - 1
        text = f"raw values 0..{high}, or {low}..-1 read as signed"
    return None if low <= sentinel <= high else text


def config_warnings(config: AgentConfig) -> list[str]:
    """Things that are valid but surely not meant: a sentinel its register can never hold."""
    warnings = []
    for device in config.devices:
        if isinstance(device, OpcUaDevice):
            continue
        if device.registers is not None:
            registers = device.registers
        elif device.profile is not None and device.profile != SUNSPEC_AUTO:
            registers = load_builtin(device.profile).registers
        else:
            continue
        for name, point in registers.items():
            for sentinel in point.sentinels:
                if (possible := _fits(sentinel, point.type)) is not None:
                    shown = f"{sentinel} (0x{sentinel:X})" if sentinel > 0xFFFF else str(sentinel)
                    warnings.append(
                        f"device {device.name!r} point {name!r}: sentinel {shown} cannot occur in a "
                        f"{point.type} ({possible}); it will never match"
                    )
    return warnings


def parse_config(data: object, *, require_secret: bool = True) -> AgentConfig:
    try:
        config = AgentConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_errors(exc, data)) from None
    if require_secret:
        config.server.resolve_secret()
    return config


def load_config(path: Path, *, require_secret: bool = True) -> AgentConfig:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}") from None
    config = parse_config(data, require_secret=require_secret)
    if not config.agent.buffer_path.is_absolute():
        # Relative paths are relative to the config file, not to wherever the service starts.
        config.agent.buffer_path = path.parent / config.agent.buffer_path
    return config
