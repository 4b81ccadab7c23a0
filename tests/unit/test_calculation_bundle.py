"""Calculation bundles: exact round trip, tampering refused by file name, `cbamx recompute`."""

import json
import zipfile
from dataclasses import fields, is_dataclass, replace

import numpy as np
import pytest
from typer.testing import CliRunner

from backend.calculations.bundle import BundleError, read_bundle, write_bundle
from backend.cli import app
from tests.unit.engine.calculation.builders import T0, batches, inputs, meters
from tests.unit.engine.calculation.test_calculation_properties import _plant
from workers.engine.calculation import CalculationParameters, Precursors, calculate, inputs_digest


def _data():
    data = _plant(seed=11, n=96, resolution_s=900, negative_unmetered=True, missing=True)
    pre = Precursors(
        batch=np.array([0, 1]),
        mass_t=np.array([1.1, 0.1 + 0.2]),
        see_direct=np.array([2.0, 1 / 3]),
        see_indirect=np.array([0.5, 0.0]),
        defaulted=np.array([True, False]),
        refs=('default, "Serbia" 7601', "supplier-x"),
    )
    return replace(data, precursors=pre)


def _assert_same(a, b, path="inputs"):
    if is_dataclass(a):
        assert type(a) is type(b), path
        for f in fields(a):
            _assert_same(getattr(a, f.name), getattr(b, f.name), f"{path}.{f.name}")
    elif isinstance(a, np.ndarray):
        assert a.shape == b.shape, path
        assert a.dtype.kind == b.dtype.kind, path
        np.testing.assert_array_equal(a, b, err_msg=path)  # NaN equal to NaN, exact otherwise
    else:
        assert a == b, path


def test_a_bundle_round_trips_exactly(tmp_path):
    # given
    data = _data()
    params = CalculationParameters(
        matching_resolution="day", certificate_price_eur_per_t=71.5, only_batches=("batch-0", "batch-2")
    )
    expected = calculate(data, params).output_digest()
    path = tmp_path / "bundle.zip"

    # when
    manifest = write_bundle(
        path, data, params, {"output_digest": expected, "run_id": "r-1"}, time_zone="Europe/Belgrade"
    )
    read_inputs, read_params, read_manifest = read_bundle(path)

    # then
    _assert_same(data, read_inputs)
    assert read_params == params
    assert read_manifest == json.loads(json.dumps(manifest))
    assert read_manifest["inputs_digest"] == inputs_digest(data, params) == inputs_digest(read_inputs, read_params)
    assert calculate(read_inputs, read_params).output_digest() == expected
    with zipfile.ZipFile(path) as archive:
        assert json.loads(archive.read("grid.json"))["time_zone"] == "Europe/Belgrade"
        header = archive.read("intervals.csv").decode().splitlines()[0]
    assert header == "meter_id,interval_start,value,status"


def test_a_bundle_carries_a_period_narrower_than_its_grid(tmp_path):
    # given: the grid's first and last 12 intervals lie outside the period, with batches across both edges
    data = _data()
    data = replace(data, period_start_s=T0 + 12 * 900, period_end_s=T0 + 84 * 900)
    params = CalculationParameters()
    result = calculate(data, params)
    assert {"batch_across_period_edge"} <= {w.code for w in result.warnings}
    path = tmp_path / "bundle.zip"

    # when
    write_bundle(path, data, params, {"output_digest": result.output_digest()}, time_zone="UTC")
    read_inputs, read_params, _ = read_bundle(path)

    # then: the period is in grid.json, the values outside it are kept, and recomputing gives the same digest
    with zipfile.ZipFile(path) as archive:
        grid = json.loads(archive.read("grid.json"))
    assert (grid["period_start_s"], grid["period_end_s"]) == (T0 + 12 * 900, T0 + 84 * 900)
    _assert_same(data, read_inputs)
    assert calculate(read_inputs, read_params).output_digest() == result.output_digest()
    outcome = CliRunner().invoke(app, ["recompute", str(path)])
    assert outcome.exit_code == 0, outcome.output
    assert "matches the manifest" in outcome.output


def _rewrite(path, member, change):
    with zipfile.ZipFile(path) as archive:
        contents = {name: archive.read(name) for name in archive.namelist()}
    contents[member] = change(contents[member])
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in contents.items():
            archive.writestr(name, content)


@pytest.mark.parametrize("member", ["batches.csv", "intervals.csv", "grid.json", "supply_intervals.csv"])
def test_a_changed_file_is_refused_naming_it(tmp_path, member):
    # given
    path = tmp_path / "bundle.zip"
    write_bundle(path, _data(), CalculationParameters(), {})
    _rewrite(path, member, lambda content: content + b"\n")

    # when
    with pytest.raises(BundleError) as caught:
        read_bundle(path)

    # then
    assert caught.value.file == member
    assert "differs from the manifest" in str(caught.value)


def test_a_missing_file_and_a_bad_reference_are_named(tmp_path):
    # given
    path = tmp_path / "bundle.zip"
    write_bundle(path, _data(), CalculationParameters(), {})
    with zipfile.ZipFile(path) as archive:
        contents = {name: archive.read(name) for name in archive.namelist() if name != "lines.csv"}
    broken = tmp_path / "broken.zip"
    with zipfile.ZipFile(broken, "w") as archive:
        for name, content in contents.items():
            archive.writestr(name, content)

    # then
    with pytest.raises(BundleError, match=r"lines\.csv: is missing"):
        read_bundle(broken)
    with pytest.raises(BundleError, match="not a readable zip"):
        read_bundle(tmp_path / "nothing.zip")


def test_reserved_manifest_names_are_refused(tmp_path):
    with pytest.raises(ValueError, match="files"):
        write_bundle(tmp_path / "b.zip", _data(), CalculationParameters(), {"files": {}})


def _small(tmp_path, output_digest=None):
    mt = meters([[10.0, 10.0], [8.0, 8.0]], ["main", "sub"], [-1, 0])
    data = inputs(n=2, meter_set=mt, batch_set=batches([(T0, T0 + 1800)], [0], [4.0]))
    params = CalculationParameters()
    digest = calculate(data, params).output_digest()
    path = tmp_path / "small.zip"
    write_bundle(path, data, params, {} if output_digest is False else {"output_digest": output_digest or digest})
    return path, digest


def test_recompute_prints_the_hash_the_verdict_and_the_products(tmp_path):
    # given
    path, digest = _small(tmp_path)

    # when
    outcome = CliRunner().invoke(app, ["recompute", str(path)])

    # then: 20 kWh x 0.729 / 1000 / 4 t = 0.003645 t/t indirect
    assert outcome.exit_code == 0, outcome.output
    assert f"output hash: {digest}" in outcome.output
    assert "matches the manifest" in outcome.output
    product_row = next(line for line in outcome.output.splitlines() if line.startswith("P0 "))
    assert "7604 29 90" in product_row  # by its code and CN code, not its id
    assert "0.00365" in outcome.output  # rounded to 5 decimals for display
    assert "4.00000" in outcome.output


def test_recompute_exits_non_zero_when_the_hash_differs(tmp_path):
    # given
    path, digest = _small(tmp_path, output_digest="0" * 64)

    # when
    outcome = CliRunner().invoke(app, ["recompute", str(path)])

    # then
    assert outcome.exit_code == 1
    assert "DOES NOT MATCH" in outcome.output
    assert f"output hash: {digest}" in outcome.output


def test_recompute_refuses_a_tampered_bundle(tmp_path):
    # given
    path, _ = _small(tmp_path)
    _rewrite(path, "batches.csv", lambda content: content.replace(b"4.0", b"5.0"))

    # when
    outcome = CliRunner().invoke(app, ["recompute", str(path)])

    # then
    assert outcome.exit_code == 2
    assert "batches.csv" in outcome.output
