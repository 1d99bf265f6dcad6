"""Drift of pairs below the edge floor: what a daily run scores again, and when it scores all."""

from __future__ import annotations

import json
import math
from pathlib import Path

import polars as pl
import pytest

from cdp.identity.model import EDGE_FLOOR_MARGIN_BITS, ClusteringPolicy
from cdp.resolve.prepare import prepare_linkage_input
from cdp.resolve.reweigh import (
    POPULATION_DRIFT_BITS,
    TERM_FREQUENCY_JUMP_BITS,
    drift_bounds_exact,
    population_drift_bits,
    population_profile,
    risen_records,
)
from cdp.schemas.canonical import PARTY_COLUMNS, conform

MODEL_FILE = Path(__file__).resolve().parents[3] / "data" / "sample" / "linkage_model.json"


def _odds(probability: float) -> float:
    return probability / (1 - probability)


def test_the_edge_floor_sits_the_margin_below_the_review_band() -> None:
    policy = ClusteringPolicy()
    bits = math.log2(_odds(policy.review_band[0]) / _odds(policy.edge_floor))
    assert bits == pytest.approx(EDGE_FLOOR_MARGIN_BITS)


def _profile(model: str, *, records: int, scale: float = 1.0, **holders: int) -> pl.DataFrame:
    """A population_profile of ``records`` records, every term-frequency column filled in on
    all of them unless given, with the prior of the model scaled by ``scale``."""
    settings = json.loads(model)
    settings["probability_two_random_records_match"] *= scale
    filled = {
        column: holders.get(column, records)
        for column in ("first_name", "email", "email_local", "last_name", "postcode", "city")
    }
    prepared = pl.DataFrame(
        {column: ["x"] * count + [None] * (records - count) for column, count in filled.items()},
        schema=dict.fromkeys(filled, pl.String),
    )
    return population_profile(prepared, json.dumps(settings))


def test_population_drift_follows_the_column_totals_and_the_prior_since_each_scoring() -> None:
    model = MODEL_FILE.read_text()
    then = _profile(model, records=1000)
    # first_name, email and household each adjust for term frequency with weight 1: doubling every
    # column gains a pair agreeing on all three 3 bits; the prior, scaled to twice the records,
    # loses about 1.
    doubled = _profile(model, records=2000, scale=999 / 1999)
    prior_fall = float(then["prior_bits"][0] - doubled["prior_bits"][0])
    assert prior_fall == pytest.approx(1.0, abs=0.01)
    assert population_drift_bits(then, doubled, model) == pytest.approx(3 - prior_fall)
    # A prior that does not scale with the population does not offset the rise.
    assert population_drift_bits(then, _profile(model, records=2000), model) == pytest.approx(3.0)
    # E-mail filled in on twice the records, the population the same: only e-mail pairs gain.
    filled = _profile(model, records=1000, email=1000, email_local=1000)
    half_filled = _profile(model, records=1000, email=500, email_local=400)
    assert population_drift_bits(half_filled, filled, model) == pytest.approx(math.log2(1000 / 400))
    # Shrinking lifts pairs through the prior; the columns' shrinking lifts nobody.
    assert population_drift_bits(doubled, then, model) == pytest.approx(prior_fall)
    # Measured from every run since the full scoring: the largest wins.
    history = pl.concat([then, doubled])
    assert population_drift_bits(history, doubled, model) == pytest.approx(3 - prior_fall)
    assert population_drift_bits(history, then, model) == pytest.approx(prior_fall)
    # A column nobody held then agreed on nothing; a column not recorded then cannot be bounded.
    empty_then = _profile(model, records=1000, first_name=0)
    assert population_drift_bits(empty_then, then, model) == 0.0
    assert population_drift_bits(then.drop("holders_city"), then, model) == math.inf
    assert POPULATION_DRIFT_BITS == EDGE_FLOOR_MARGIN_BITS - TERM_FREQUENCY_JUMP_BITS


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
    # The address went from six holders to two: +1.6 bits for A and B.
    assert sorted(risen["record_id"].to_list()) == ["A", "B"]
    # Filling in e-mails on 300 records that had none makes every address rarer, the shared one
    # too, but not by its own count: the column's total is the population's part of the bound
    # (log2(402 / 102) = 2 bits here, over the budget: everything is scored again).
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
    assert not {"A", "B"} & set(risen["record_id"].to_list())
    bits = population_drift_bits(population_profile(without, model), population_profile(filled, model), model)
    assert bits == pytest.approx(math.log2(402 / 102)) and bits > POPULATION_DRIFT_BITS
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
            assert carried["bits_first_name"].to_list() == pytest.approx(
                [math.log2(42 / 36)] * carried.height
            )
    # ... and the third day takes them over it: every remaining holder is scored again.
    assert named == {1: set(), 2: set(), 3: {"A", "B", *(r for r, _, _ in holders[9:])}}
    assert carried is not None and carried.is_empty()


def test_a_value_that_loses_and_regains_holders_carries_nothing() -> None:
    model = MODEL_FILE.read_text()
    shared = [("A", "kim", "a@mail.com"), ("B", "kim", "b@mail.com")]
    holders = [(f"L{i:02d}", "kim", f"l{i}@mail.com") for i in range(40)]
    filler = [(f"F{i}", f"name{i}", f"f{i}@mail.com") for i in range(400)]
    full = prepare_linkage_input(_parties(shared + holders + filler))
    fewer = prepare_linkage_input(_parties(shared + holders[3:] + filler))
    leaving = full.filter(pl.col("record_id").is_in(["L00", "L01", "L02"]))
    # Three of the name's holders leave, then three others take it: 42 -> 39 -> 42 holders.
    lost = risen_records(fewer, arrived=fewer.clear(), departed=leaving, model_json=model)
    assert lost.carried.height == 2 + 37
    regained = risen_records(
        full,
        arrived=leaving.select("source", "record_id"),
        departed=full.clear(),
        model_json=model,
        carried=lost.carried,
    )
    # Back to where it was: no pair of theirs weighs more than when they were scored.
    assert regained.carried.filter(pl.col("unique_id").str.contains(":A$|:B$|:L")).is_empty()
    assert regained.risen.filter(~pl.col("record_id").is_in(["L00", "L01", "L02"])).is_empty()


def test_the_bounds_are_exact_for_the_shipped_model_and_not_with_a_term_frequency_minimum() -> None:
    model = MODEL_FILE.read_text()
    assert drift_bounds_exact(model)
    settings = json.loads(model)
    level = next(
        level
        for comparison in settings["comparisons"]
        for level in comparison["comparison_levels"]
        if level.get("tf_adjustment_column")
    )
    level["tf_minimum_u_value"] = 0.001
    assert not drift_bounds_exact(json.dumps(settings))
