"""Drift of pairs below the edge floor: what a daily run scores again, and when it scores all."""

from __future__ import annotations

import json
import math
from pathlib import Path

import polars as pl
import pytest

from cdp.identity.model import EDGE_FLOOR_MARGIN_BITS, ClusteringPolicy
from cdp.pipeline import ModelVersion
from cdp.resolve.prepare import prepare_linkage_input
from cdp.resolve.reweigh import TERM_FREQUENCY_JUMP_BITS, population_drift_bits, risen_records
from cdp.runmodes import FULL, INCREMENTAL, _drift_limit_reached
from cdp.schemas.canonical import PARTY_COLUMNS, conform

MODEL_FILE = Path(__file__).resolve().parents[3] / "data" / "sample" / "linkage_model.json"
BUDGET = EDGE_FLOOR_MARGIN_BITS - TERM_FREQUENCY_JUMP_BITS


def _odds(probability: float) -> float:
    return probability / (1 - probability)


def test_the_edge_floor_sits_the_margin_below_the_review_band() -> None:
    policy = ClusteringPolicy()
    bits = math.log2(_odds(policy.review_band[0]) / _odds(policy.edge_floor))
    assert bits == pytest.approx(EDGE_FLOOR_MARGIN_BITS)


def test_population_drift_follows_the_models_term_frequency_weights() -> None:
    model = MODEL_FILE.read_text()
    # first_name, email and household each adjust for term frequency with weight 1: a pair can
    # gain 3 bits per doubling and lose 1 to the prior.
    assert population_drift_bits([1000], 2000, model, prior_scales=True) == pytest.approx(2.0)
    # A prior that does not scale with the population does not offset the rise.
    assert population_drift_bits([1000], 2000, model, prior_scales=False) == pytest.approx(3.0)
    # Shrinking lifts pairs through the prior, from the largest size since the full scoring.
    assert population_drift_bits([1000, 1600], 800, model, prior_scales=True) == pytest.approx(1.0)
    assert population_drift_bits([0], 10, model, prior_scales=True) == math.inf
    settings = json.loads(model)
    for comparison in settings["comparisons"]:
        for level in comparison["comparison_levels"]:
            level.pop("tf_adjustment_column", None)
            level.pop("tf_adjustment_weight", None)
    assert population_drift_bits([1000], 2000, json.dumps(settings), prior_scales=True) == 0.0


def _runs(*rows: tuple[str, int]) -> pl.DataFrame:
    return pl.DataFrame({"mode": [mode for mode, _ in rows], "records": [records for _, records in rows]})


def test_a_daily_run_scores_everything_again_once_size_changes_could_use_up_the_margin() -> None:
    model = ModelVersion(MODEL_FILE.read_text(), origin="test", trained_records=4000)
    growth = 2 ** (BUDGET / 2)  # 30%: two bits per doubling with the shipped model
    runs = _runs((FULL, 1_000), (INCREMENTAL, 1_100), (INCREMENTAL, 1_200))
    assert _drift_limit_reached(runs, math.floor(1_000 * growth), model) is None
    reason = _drift_limit_reached(runs, math.ceil(1_000 * growth) + 1, model)
    assert reason is not None and reason.startswith("population went from 1,000 to 1,298 records")
    # Measured from the latest full scoring, not the first.
    assert (
        _drift_limit_reached(_runs((FULL, 1_000), (INCREMENTAL, 1_250), (FULL, 1_300)), 1_400, model) is None
    )
    # Shrinking too: from the largest size since, 2 ** 0.75 = 1.68 times smaller.
    shrunk = _runs((FULL, 1_000), (INCREMENTAL, 1_200))
    assert _drift_limit_reached(shrunk, 720, model) is None
    assert _drift_limit_reached(shrunk, 700, model) is not None
    # A full scoring of no records leaves nothing to compare with: score everything.
    assert _drift_limit_reached(_runs((FULL, 0)), 10, model) is not None
    assert _drift_limit_reached(None, 10_000, model) is None


def _parties(rows: list[tuple[str, str, str | None]]) -> pl.DataFrame:
    return conform(
        pl.DataFrame(
            {
                "source": ["core_customers"] * len(rows),
                "record_id": [record_id for record_id, _, _ in rows],
                "first_name": [first for _, first, _ in rows],
                "email": [email for _, _, email in rows],
            }
        ),
        PARTY_COLUMNS,
    )


def test_records_whose_values_became_rarer_are_named_and_no_others() -> None:
    model = MODEL_FILE.read_text()
    filler = [(f"F{i}", f"name{i}", f"f{i}@mail.com") for i in range(400)]
    shared = [("A", "ann", "home@mail.com"), ("B", "bob", "home@mail.com")]
    leaving = [(f"L{i}", f"other{i}", "home@mail.com") for i in range(4)]
    before = prepare_linkage_input(_parties(shared + leaving + filler))
    after = prepare_linkage_input(_parties(shared + filler))
    departed = before.filter(pl.col("record_id").str.starts_with("L"))
    risen = risen_records(after, arrived=after.clear(), departed=departed, model_json=model).risen
    # The address went from six holders to two: +1.6 bits for A and B; the prior rose 0.02.
    assert sorted(risen["record_id"].to_list()) == ["A", "B"]
    # Filling in e-mails on 300 records that had none makes every address rarer.
    blank = [(record_id, first, None) for record_id, first, _ in filler[:300]]
    without = prepare_linkage_input(_parties(shared + blank + filler[300:]))
    filled = prepare_linkage_input(_parties(shared + filler))
    changed = filled.filter(pl.col("record_id").is_in([r for r, _, _ in filler[:300]]))
    risen = risen_records(
        filled,
        arrived=changed.select("source", "record_id"),
        departed=without.join(changed.select("source", "record_id"), on=["source", "record_id"], how="semi"),
        model_json=model,
    ).risen
    assert {"A", "B"} <= set(risen["record_id"].to_list())
    # Nothing moved: nobody.
    assert risen_records(
        after, arrived=after.clear(), departed=after.clear(), model_json=model
    ).risen.is_empty()


def test_a_value_losing_a_few_holders_a_day_is_caught_once_its_rise_adds_up() -> None:
    model = MODEL_FILE.read_text()
    # A first name, not an e-mail address: one that many records share is a placeholder.
    shared = [("A", "kim", "a@mail.com"), ("B", "kim", "b@mail.com")]
    holders = [(f"L{i:02d}", "kim", f"l{i}@mail.com") for i in range(40)]
    filler = [(f"F{i}", f"name{i}", f"f{i}@mail.com") for i in range(400)]
    carried = None
    named: dict[int, set[str]] = {}
    for day in (1, 2, 3):
        # Three of the name's holders leave each day: 42 -> 39 -> 36 -> 33.
        before = prepare_linkage_input(_parties(shared + holders[3 * (day - 1) :] + filler))
        after = prepare_linkage_input(_parties(shared + holders[3 * day :] + filler))
        departed = before.filter(
            pl.col("record_id").is_in([r for r, _, _ in holders[3 * (day - 1) : 3 * day]])
        )
        # No single day gains a quarter bit ...
        assert risen_records(
            after, arrived=after.clear(), departed=departed, model_json=model
        ).risen.is_empty()
        drift = risen_records(
            after, arrived=after.clear(), departed=departed, model_json=model, carried=carried
        )
        named[day] = set(drift.risen["record_id"].to_list())
        carried = drift.carried
        if day == 2:
            # ... but the name's holders carry what they gained so far, and nobody else does.
            assert carried.height == 2 + 34
            assert carried["bits"].to_list() == pytest.approx([math.log2(42 / 36)] * carried.height)
    # ... and the third day takes them over it: every remaining holder is scored again.
    assert named == {1: set(), 2: set(), 3: {"A", "B", *(r for r, _, _ in holders[9:])}}
    assert carried is not None and carried.is_empty()
