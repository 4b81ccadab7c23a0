"""Which inputs changed between a run's manifest and the data now: by their place in the manifest."""

from __future__ import annotations

from backend.calculations.reproduction import changed_inputs

MANIFEST = {
    "methodology_version": "1",
    "parameters": {"matching_resolution": "hour", "certificate_price_eur_per_t": 80.0},
    "interval_data": {"method": "sha256 of ...", "meters": {"m-main": "a1", "m-press": "b1"}, "units": {}},
    "batches": {"count": 3, "method": "sha256 of ...", "digest": "d1", "precursors_digest": "p1"},
    "contracts": [{"id": "c-grid", "kind": "grid", "digest": "g1"}, {"id": "c-ppa", "kind": "ppa", "digest": "s1"}],
    "factors": [{"ref": "grid:RS:v1", "value": 0.61}, {"ref": "fuel:NG:v1", "value": 56.1}],
    "inputs_digest": "i1",
}


def changed(**edits):
    now = {
        key: (dict(value) if isinstance(value, dict) else list(value))
        for key, value in MANIFEST.items()
        if not isinstance(value, str)
    }
    now |= {key: value for key, value in MANIFEST.items() if isinstance(value, str)}
    for path, value in edits.items():
        now[path] = value
    return [(c.path, c.recorded, c.now) for c in changed_inputs(MANIFEST, now)]


def test_the_same_manifest_has_no_changed_input():
    assert changed_inputs(MANIFEST, dict(MANIFEST)) == []


def test_a_meters_intervals_are_named_by_the_meter():
    meters = {"m-main": "a1", "m-press": "b2"}
    assert changed(interval_data={**MANIFEST["interval_data"], "meters": meters}) == [
        ("interval_data.meters.m-press", "b1", "b2")
    ]


def test_a_meter_added_or_gone_is_named_with_none_on_the_other_side():
    meters = {"m-main": "a1", "m-new": "n1"}
    assert changed(interval_data={**MANIFEST["interval_data"], "meters": meters}) == [
        ("interval_data.meters.m-new", None, "n1"),
        ("interval_data.meters.m-press", "b1", None),
    ]


def test_contracts_and_factors_are_keyed_by_their_identity_not_their_position():
    # a contract inserted before the others changes nothing about them
    contracts = [{"id": "c-aaa", "kind": "own", "digest": "o1"}, *MANIFEST["contracts"]]
    assert changed(contracts=contracts) == [("contracts[c-aaa]", None, "o1")]
    factors = [{"ref": "fuel:NG:v1", "value": 56.1}, {"ref": "grid:RS:v1", "value": 0.62}]
    assert changed(factors=factors) == [("factors[grid:RS:v1].value", 0.61, 0.62)]


def test_batches_parameters_and_methodology_are_inputs_and_method_texts_are_not():
    assert changed(batches={**MANIFEST["batches"], "digest": "d2", "method": "another text"}) == [
        ("batches.digest", "d1", "d2")
    ]
    assert changed(parameters={**MANIFEST["parameters"], "matching_resolution": "day"}) == [
        ("parameters.matching_resolution", "hour", "day")
    ]
    assert changed(methodology_version="2") == [("methodology_version", "1", "2")]
    # the inputs digest is compared on its own, not as one more changed input
    assert changed(inputs_digest="i2") == []
