"""The published-footprint document's electricity part and content hash, from stored results (pure)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from backend.exchange import document

GRID_REF = "grid_default:RS:v1:x"
PPA = str(uuid.uuid4())
LINK = str(uuid.uuid4())


def version(by_source: list[dict], energy_kwh: float = 1000.0) -> document.Version:
    return document.Version(
        id=uuid.uuid4(),
        period_start=datetime(2026, 11, 1, tzinfo=UTC),
        period_end=datetime(2026, 12, 1, tzinfo=UTC),
        methodology_version="1",
        output_digest="0" * 64,
        net_mass_t=10.0,
        see_direct=0.1,
        see_indirect=0.2,
        see_total=0.3,
        see_obligation=0.1,
        figures={"energy_kwh": energy_kwh, "electricity_mwh_per_t": energy_kwh / 10_000},
        breakdown={"by_source": by_source, "grid_factor": {"value": 0.729, "factor_ref": GRID_REF}},
        data_quality={},
        manifest={
            "installation": {"country": "RS"},
            "contracts": [
                {"id": PPA, "reference": "PPA-7", "digest": "a" * 64, "settlement": {"digest": "b" * 64}},
                {"id": LINK, "reference": "LINK-1", "digest": "c" * 64},
            ],
            "factors": [{"ref": GRID_REF, "source": "Implementing Regulation (EU) 2025/2621"}],
        },
    )


def source(source_id: str, kind: str, kwh: float, eligible: bool, factor: float) -> dict:
    tier = "eligible_hourly" if eligible else "conditions_not_met"
    return {
        "source_id": source_id,
        "kind": kind,
        "matched_kwh": kwh,
        "eligible": eligible,
        "tier": tier,
        "factor_ref": f"technology:{kind}:0",
        "factor": factor if eligible else 0.729,
    }


def test_a_ppa_that_meets_the_conditions_for_all_energy_is_the_actual_factor():
    out = document.electricity(version([source(PPA, "ppa", 1000.0, True, 0.0)]))
    assert out["factor"] == {
        "value": 0.0,
        "unit": "tCO2/MWh",
        "method": "ACTUAL_PPA",
        "source": "weighted by matched energy over technology:ppa:0",
    }
    assert out["sources"] == [
        {
            "kind": "PPA",
            "name": "PPA-7",
            "mwh": 1.0,
            "share": 1.0,
            "factor": 0.0,
            "factorSource": "technology:ppa:0",
            "evidenceTier": "eligible_hourly",
        }
    ]


def test_partly_matched_energy_is_weighted_with_the_grid_remainder_and_ineligible_sources_at_the_grid_factor():
    out = document.electricity(
        version([source(PPA, "ppa", 400.0, True, 0.0), source(LINK, "direct_link", 100.0, False, 0.0)])
    )
    kinds = [(s["kind"], s["mwh"], s["factor"], s["factorSource"]) for s in out["sources"]]
    assert kinds == [
        ("PPA", 0.4, 0.0, "technology:ppa:0"),
        ("DIRECT_LINK", 0.1, 0.729, GRID_REF),
        ("GRID", 0.5, 0.729, GRID_REF),
    ]
    assert out["factor"]["method"] == "ACTUAL_MIXED_WITH_COUNTRY_DEFAULT"
    assert abs(out["factor"]["value"] - 0.6 * 0.729) < 1e-12


def test_nothing_eligible_is_the_country_default_cited_from_the_factor_library():
    out = document.electricity(version([]))
    assert out["factor"] == {
        "value": 0.729,
        "unit": "tCO2/MWh",
        "method": "COUNTRY_DEFAULT",
        "source": "Implementing Regulation (EU) 2025/2621",
    }
    assert [s["kind"] for s in out["sources"]] == ["GRID"]


def test_evidence_names_contracts_and_settlement_by_their_digests():
    kinds = [(e["kind"], e["name"]) for e in document.evidence(version([]), {})]
    assert kinds == [
        ("SUPPLY_CONTRACT", "PPA-7"),
        ("SETTLEMENT", "settlement of PPA-7"),
        ("SUPPLY_CONTRACT", "LINK-1"),
    ]


def test_the_content_hash_ignores_key_order_and_its_own_field():
    doc = {"b": 1.5, "a": {"y": "č", "x": None}}
    same = {"a": {"x": None, "y": "č"}, "b": 1.5, "contentHash": "sha256:whatever"}
    assert document.content_hash(doc) == document.content_hash(same)
    assert document.canonical_json(doc) == '{"a":{"x":null,"y":"č"},"b":1.5}'.encode()
    assert document.content_hash({**doc, "b": 1.25}) != document.content_hash(doc)


def test_the_mirror_checks_read_every_factor_method_the_document_writes_as_actual_or_default():
    # the importer's checks and the exporter's document name a factor's method with one vocabulary
    from backend.mirror.checks import _method_kind
    from backend.mirror.rules import default_rules

    rules = default_rules()
    mixed = document.electricity(
        version([source(PPA, "ppa", 400.0, True, 0.0), source(LINK, "direct_link", 100.0, False, 0.0)])
    )
    whole = document.electricity(version([source(PPA, "ppa", 1000.0, True, 0.0)]))
    none = document.electricity(version([]))
    assert _method_kind(mixed["factor"]["method"], rules) == "actual"
    assert _method_kind(whole["factor"]["method"], rules) == "actual"
    assert _method_kind(none["factor"]["method"], rules) == "default"
