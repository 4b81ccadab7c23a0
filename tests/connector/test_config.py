"""Configuration and profile validation: clear errors that name the field."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from connectors.agent import build_pollers
from connectors.config import SECRET_ENV, ConfigError, config_warnings, load_config, parse_config
from connectors.profiles.loader import ProfileError, builtin_names, load_builtin, parse_profile

from .conftest import SERVER, agent_config, tcp_device

EXAMPLE = Path(__file__).resolve().parents[2] / "connectors" / "examples" / "plant-agent.yaml"


def point_spec(address: int = 0, **fields: object) -> dict[str, object]:
    return {
        "quantity": "active_energy_import" if address == 0 else "active_power",
        "function_code": 3,
        "address": address,
        "unit": "kWh",
        "kind": "counter",
        **fields,
    }


def test_every_builtin_profile_loads_and_has_no_overlapping_values():
    # given the shipped profiles
    names = builtin_names()
    assert {"eastron_sdm630", "janitza_umg96rm", "janitza_umg604", "sunspec_203", "sunspec_213"} <= set(names)
    for name in names:
        # when loaded
        profile = load_builtin(name)
        # then no two values share a register (scale factors may be shared)
        used: dict[tuple[int, int], str] = {}
        for point_name, point in profile.registers.items():
            for word in range(point.address, point.address + point.words):
                key = (point.function_code, word)
                assert key not in used, f"{name}: {point_name} overlaps {used.get(key)}"
                used[key] = point_name


def test_unknown_builtin_profile_lists_the_known_ones():
    with pytest.raises(ProfileError, match=r"unknown profile 'abb_b23'.*eastron_sdm630"):
        load_builtin("abb_b23")


def test_profile_with_unknown_quantity_is_rejected():
    text = """
name: x
description: x
registers:
  p: {quantity: watts, function_code: 3, address: 0, type: float32, unit: W, kind: instantaneous}
"""
    with pytest.raises(ProfileError, match="unknown quantity 'watts'"):
        parse_profile(text)


def test_minimal_config_gets_documented_defaults():
    # when a config gives only the required fields
    config = agent_config([tcp_device(502, profile="eastron_sdm630")])
    # then defaults apply
    assert config.server.token_url == "http://127.0.0.1:9/auth/token"
    assert config.server.scope == "ingest"
    assert config.agent.poll_interval_s == 10
    assert config.agent.upload_batch_size == 5000
    assert config.devices[0].port == 502 or config.devices[0].kind == "modbus_tcp"


def test_missing_host_is_reported_with_its_path():
    device = tcp_device(502, profile="eastron_sdm630")
    del device["host"]
    with pytest.raises(ConfigError, match=r"device 'meter-1' \(devices\.0\): host: Field required"):
        agent_config([device])


def test_profile_and_inline_registers_are_mutually_exclusive():
    device = tcp_device(
        502,
        profile="eastron_sdm630",
        registers={
            "e": {
                "quantity": "active_energy_import",
                "function_code": 3,
                "address": 0,
                "type": "uint32",
                "unit": "Wh",
                "kind": "counter",
            }
        },
    )
    with pytest.raises(ConfigError, match="exactly one of 'profile'"):
        agent_config([device])


def test_inline_register_typo_names_the_point():
    device = tcp_device(
        502,
        registers={
            "import": {
                "quantity": "active_energy_import",
                "function_code": 5,
                "address": 0,
                "type": "uint32",
                "unit": "Wh",
                "kind": "counter",
            }
        },
    )
    with pytest.raises(ConfigError, match=r"device 'meter-1' \(devices\.0\): registers\.import\.function_code"):
        agent_config([device])


def test_config_errors_name_the_device_by_its_name():
    broken = tcp_device(502, name="press-2", profile="eastron_sdm630", unit_id=300)
    plc = {
        "kind": "opcua",
        "name": "furnace-plc",
        "endpoint": "opc.tcp://plc:4840",
        "meter": "F1",
        "nodes": [{"node_id": "ns=2;i=2", "quantity": "watts", "unit": "kWh"}],
    }
    with pytest.raises(ConfigError) as caught:
        agent_config([tcp_device(502, profile="eastron_sdm630"), broken, plc, {"name": "odd", "kind": "bacnet"}])
    message = str(caught.value)
    assert "device 'press-2' (devices.1): unit_id: Input should be less than or equal to 255" in message
    assert "device 'furnace-plc' (devices.2): nodes.0.quantity: unknown quantity 'watts'" in message
    assert "device 'odd' (devices.3): kind: Input tag 'bacnet' found using 'kind' does not match" in message
    assert "meter-1" not in message and "modbus_tcp." not in message and "Value error" not in message


def test_data_type_and_word_order_names_are_accepted_in_any_case():
    registers = {"e": point_spec(type="UINT32", word_order="Little"), "p": point_spec(address=2, type="Float32")}
    [device] = agent_config([tcp_device(502, registers=registers)]).devices
    assert device.registers is not None
    assert (device.registers["e"].type, device.registers["e"].word_order) == ("uint32", "little")
    assert device.registers["p"].type == "float32"


def test_a_sentinel_the_data_type_cannot_hold_is_warned_about():
    registers = {
        "e": point_spec(type="uint16", sentinels=[0xFFFFFFFF, 0xFFFF]),
        "v": point_spec(address=2, type="int16", sentinels=[-32768, -40000]),
        "f": point_spec(address=3, type="float32", sentinels=[0x7FC00000, -1]),
    }
    config = agent_config([tcp_device(502, name="compressor-3", registers=registers)])
    assert config_warnings(config) == [
        "device 'compressor-3' point 'e': sentinel 4294967295 (0xFFFFFFFF) cannot occur in a uint16 "
        "(raw values 0..65535, or -32768..-1 read as signed); it will never match",
        "device 'compressor-3' point 'v': sentinel -40000 cannot occur in a int16 "
        "(raw values 0..65535, or -32768..-1 read as signed); it will never match",
        "device 'compressor-3' point 'f': sentinel -1 cannot occur in a float32 "
        "(bit patterns 0..4294967295 (0xFFFFFFFF)); it will never match",
    ]
    # the built-in profiles have none of these
    profiles = [tcp_device(502, name=n, unit_id=i + 1, profile=n, meter=n) for i, n in enumerate(builtin_names())]
    assert config_warnings(agent_config(profiles)) == []


def test_unknown_point_in_include_points_is_reported():
    with pytest.raises(ConfigError, match=r"include_points: unknown point\(s\) \['energy'\]"):
        agent_config([tcp_device(502, profile="eastron_sdm630", include_points=["energy"])])


def test_rtu_parity_is_checked():
    device = {
        "kind": "modbus_rtu",
        "name": "bus",
        "serial_port": "/dev/ttyUSB0",
        "parity": "X",
        "unit_id": 3,
        "profile": "eastron_sdm630",
        "meter": "M",
    }
    with pytest.raises(ConfigError, match=r"device 'bus' \(devices\.0\): parity"):
        agent_config([device])


def test_opcua_browse_path_needs_namespace_uri():
    device = {
        "kind": "opcua",
        "name": "plc",
        "endpoint": "opc.tcp://plc:4840",
        "meter": "F1",
        "nodes": [{"browse_path": "Furnace/Energy", "quantity": "active_energy_import", "unit": "kWh"}],
    }
    with pytest.raises(ConfigError, match="browse_path needs namespace_uri"):
        agent_config([device])


def test_opcua_security_needs_certificate_and_key():
    device = {
        "kind": "opcua",
        "name": "plc",
        "endpoint": "opc.tcp://plc:4840",
        "meter": "F1",
        "security_policy": "Basic256Sha256",
        "nodes": [{"node_id": "ns=2;i=2", "quantity": "active_energy_import", "unit": "kWh"}],
    }
    with pytest.raises(ConfigError, match="needs certificate and private_key"):
        agent_config([device])


def test_duplicate_device_names_are_rejected():
    with pytest.raises(ConfigError, match="duplicate device name 'meter-1'"):
        agent_config([tcp_device(502, profile="eastron_sdm630"), tcp_device(502, profile="janitza_umg604")])


async def test_two_points_feeding_the_same_series_are_rejected():
    # given two devices that would both send PRESS1 active_energy_import
    config = agent_config(
        [
            tcp_device(502, name="a", profile="eastron_sdm630", meter="PRESS1"),
            tcp_device(502, name="b", profile="janitza_umg96rm", meter="PRESS1", unit_id=2),
        ]
    )
    # when the pollers are built
    # then the conflict is named
    with pytest.raises(ConfigError, match="meter 'PRESS1' quantity 'voltage_l1n' is produced by both"):
        build_pollers(config)


def test_client_secret_comes_from_file_or_environment(tmp_path, monkeypatch):
    secret_file = tmp_path / "secret"
    secret_file.write_text("from-file\n")
    server = {k: v for k, v in SERVER.items() if k != "client_secret"}
    devices = [tcp_device(502, profile="eastron_sdm630")]
    # given a secret file
    config = parse_config(
        {
            "server": {**server, "client_secret_file": str(secret_file)},
            "agent": {"id": "a"},
            "devices": devices,
        }
    )
    assert config.server.resolve_secret() == "from-file"
    # given only the environment variable
    monkeypatch.setenv(SECRET_ENV, "from-env")
    config = parse_config({"server": server, "agent": {"id": "a"}, "devices": devices})
    assert config.server.resolve_secret() == "from-env"
    # given nothing at all
    monkeypatch.delenv(SECRET_ENV)
    with pytest.raises(ConfigError, match=rf"server\.client_secret: .*{SECRET_ENV}"):
        parse_config({"server": server, "agent": {"id": "a"}, "devices": devices})


def test_relative_buffer_path_is_relative_to_the_config_file(tmp_path):
    path = tmp_path / "site" / "agent.yaml"
    path.parent.mkdir()
    path.write_text(
        yaml.safe_dump(
            {
                "server": SERVER,
                "agent": {"id": "a", "buffer_path": "buf.db"},
                "devices": [tcp_device(502, profile="eastron_sdm630")],
            }
        )
    )
    assert load_config(path).agent.buffer_path == tmp_path / "site" / "buf.db"


def test_invalid_yaml_is_reported(tmp_path):
    path = tmp_path / "agent.yaml"
    path.write_text("server: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(path)


def test_shipped_example_config_is_valid():
    config = load_config(EXAMPLE, require_secret=False)
    kinds = {device.kind for device in config.devices}
    assert kinds == {"modbus_tcp", "opcua"}
