"""Behaviour of a model trained on the seeded population plus pinned hard cases (conftest)."""

from __future__ import annotations

import datetime as dt
import json

import polars as pl
import pytest

from cdp.resolve import (
    TrainedModel,
    build_settings,
    deterministic_edges,
    explain_pair,
    predict_edges,
    predict_incremental_edges,
    train_model,
)
from cdp.resolve.predict import _blocking_candidates, blocking_columns, term_frequencies, tf_columns_of
from cdp.resolve.prepare import detect_placeholders, prepare_linkage_input
from cdp.resolve.reweigh import reweigh_edges

THRESHOLD = 0.5


@pytest.fixture(scope="module")
def edges(population, trained, engine) -> pl.DataFrame:  # type: ignore[no-untyped-def]
    return predict_edges(population.parties, model_json=trained.model_json, engine=engine, threshold=0.01)


def _probability(edges: pl.DataFrame, left: tuple[str, str], right: tuple[str, str]) -> float:
    (a, b) = sorted([left, right])
    hit = edges.filter(
        (pl.col("source_l") == a[0])
        & (pl.col("record_id_l") == a[1])
        & (pl.col("source_r") == b[0])
        & (pl.col("record_id_r") == b[1])
    )
    return 0.0 if hit.is_empty() else float(hit["match_probability"][0])


def test_training_report_covers_prior_blocking_and_timings(trained: TrainedModel) -> None:
    report = trained.report
    assert 0 < report["probability_two_random_records_match"] < 0.01
    assert report["blocking_comparisons"] == report["blocking_rules"][-1]["cumulative"] > 0
    assert {"prior", "u", "em", "total"} <= set(report["seconds"])
    assert json.loads(trained.model_json)["link_type"] == "dedupe_only"


def test_twins_stay_apart(edges: pl.DataFrame) -> None:
    assert _probability(edges, ("core_customers", "T1"), ("core_customers", "T2")) < THRESHOLD


def test_married_name_change_links(edges: pl.DataFrame) -> None:
    assert _probability(edges, ("core_customers", "W1"), ("mortgage_borrowers", "W2")) > 0.9


def test_nickname_links(edges: pl.DataFrame) -> None:
    assert _probability(edges, ("core_customers", "N1"), ("digital_users", "N2")) > 0.9


def test_placeholder_ssn_links_nothing(population, edges: pl.DataFrame) -> None:  # type: ignore[no-untyped-def]
    junk = edges.filter(
        pl.col("record_id_l").str.starts_with("J") | pl.col("record_id_r").str.starts_with("J")
    )
    assert junk.filter(pl.col("match_probability") >= THRESHOLD).is_empty()
    assert (
        deterministic_edges(population.parties).filter(pl.col("record_id_l").str.starts_with("J")).is_empty()
    )


def test_edges_are_ordered_unique_and_reproducible(population, trained, engine, edges) -> None:  # type: ignore[no-untyped-def]
    keys = ["source_l", "record_id_l", "source_r", "record_id_r"]
    assert edges.columns[:7] == [*keys, "match_probability", "match_weight", "match_reason"]
    assert "mw_national_id" in edges.columns and "gamma_national_id" in edges.columns
    left_first = (pl.col("source_l") < pl.col("source_r")) | (
        (pl.col("source_l") == pl.col("source_r")) & (pl.col("record_id_l") < pl.col("record_id_r"))
    )
    assert edges.select(left_first.all()).item()
    assert edges.select(keys).is_unique().all()
    # no comparison to make -> null weight, not a zero that reads like evidence
    assert (
        edges.filter(pl.col("gamma_dob") == -1)["mw_dob"].null_count()
        == edges.filter(pl.col("gamma_dob") == -1).height
    )
    again = predict_edges(
        population.parties.reverse(), model_json=trained.model_json, engine=engine, threshold=0.01
    )
    assert again.equals(edges)


def test_deterministic_edges_need_same_token_and_dob() -> None:
    born = dt.date(1970, 1, 2)
    parties = pl.DataFrame(
        {
            "source": ["core", "core", "mortgage"],
            "record_id": ["2", "1", "9"],
            "national_id_token": ["t1", "t1", "t1"],
            "date_of_birth": [born, born, dt.date(1970, 2, 1)],
        }
    )
    expected = pl.DataFrame(
        {
            "source_l": ["core"],
            "record_id_l": ["1"],
            "source_r": ["core"],
            "record_id_r": ["2"],
            "match_probability": [1.0],
            "match_weight": [None],
            "match_reason": ["national_id_and_dob"],
        },
        schema_overrides={"match_weight": pl.Float64},
    )
    assert deterministic_edges(parties).equals(expected)


def test_explain_pair_breaks_down_a_match_and_a_rejection(population, trained, engine) -> None:  # type: ignore[no-untyped-def]
    matched = explain_pair(
        population.parties,
        model_json=trained.model_json,
        engine=engine,
        left=("core_customers", "N1"),
        right=("digital_users", "N2"),
    )
    by_name = {part.name: part for part in matched.comparisons}
    assert by_name["first_name"].label == "nickname" and by_name["first_name"].match_weight > 0
    assert by_name["dob"].level == -1 and by_name["dob"].match_weight == 0.0
    total = matched.prior_match_weight + sum(part.match_weight for part in matched.comparisons)
    assert total == pytest.approx(matched.match_weight)
    assert matched.match_probability > 0.9

    rejected = explain_pair(
        population.parties,
        model_json=trained.model_json,
        engine=engine,
        left=("core_customers", "T1"),
        right=("core_customers", "T2"),
    )
    by_name = {part.name: part for part in rejected.comparisons}
    assert by_name["national_id"].label == "full SSN differs" and by_name["national_id"].match_weight < -5
    assert rejected.match_probability < THRESHOLD


def test_incremental_edges_match_a_full_run_for_new_records(population, trained, engine, edges) -> None:  # type: ignore[no-untyped-def]
    is_new = pl.col("record_id").is_in(["N2", "W2"])
    incremental = predict_incremental_edges(
        population.parties.filter(~is_new),
        population.parties.filter(is_new),
        model_json=trained.model_json,
        engine=engine,
        threshold=0.01,
    )
    touches_new = pl.col("record_id_l").is_in(["N2", "W2"]) | pl.col("record_id_r").is_in(["N2", "W2"])
    assert not incremental.is_empty() and incremental.select(touches_new.all()).item()
    full = edges.filter(touches_new)
    assert incremental.select("record_id_l", "record_id_r").equals(full.select("record_id_l", "record_id_r"))
    assert incremental["match_weight"].to_list() == pytest.approx(full["match_weight"].to_list())


def test_term_frequencies_are_the_ones_splink_computes(population, trained, engine) -> None:  # type: ignore[no-untyped-def]
    # The incremental path registers these instead of letting Splink count the whole population:
    # any difference in a frequency would move a match weight away from the full run's.
    from splink import Linker

    from cdp.resolve.dialects import dialect_of, linker_settings
    from cdp.resolve.train import register_input

    prepared = prepare_linkage_input(population.parties)
    columns = tf_columns_of(trained.model_json)
    assert columns
    ours = term_frequencies(prepared, columns)
    db_api = engine.db_api()
    table = register_input(db_api, prepared, "tf_check")
    linker = Linker(table, linker_settings(trained.model_json, dialect_of(db_api)), log_level=None)
    for column in columns:
        splinks = linker.table_management.compute_tf_table(column).as_duckdbpyrelation().pl()
        assert ours[column].sort(column).equals(splinks.select(column, f"tf_{column}").sort(column)), column


def test_party_only_source_without_email_or_phone_trains_and_predicts(population, engine) -> None:  # type: ignore[no-untyped-def]
    parties = population.parties.filter(pl.col("source") == "core_customers").with_columns(
        email=pl.lit(None, pl.String), phone=pl.lit(None, pl.String)
    )
    settings = build_settings(["first_name", "last_name", "date_of_birth", "address_line1", "postcode"])
    assert [c["output_column_name"] for c in settings.comparisons] == ["first_name", "dob", "household"]
    first = train_model(parties, engine=engine, seed=3, max_pairs_u=2e5)
    second = train_model(parties, engine=engine, seed=3, max_pairs_u=2e5)
    assert first.model_json == second.model_json
    assert "email" not in first.report["comparisons"]
    predicted = predict_edges(parties, model_json=first.model_json, engine=engine, threshold=0.5)
    assert "mw_email" not in predicted.columns and "mw_dob" in predicted.columns


def test_blocking_columns_read_the_equalities_every_pair_must_share() -> None:
    model = {
        "blocking_rules_to_generate_predictions": [
            {"blocking_rule": 'l."email" = r."email"'},
            {"blocking_rule": '(l."dob" = r."dob") AND (SUBSTRING(l.first_name, 1, 1) = ' + "'x')"},
        ]
    }
    assert blocking_columns(json.dumps(model)) == [["email"], ["dob"]]
    fuzzy = {
        "blocking_rules_to_generate_predictions": [{"blocking_rule": "levenshtein(l.email, r.email) < 2"}]
    }
    assert blocking_columns(json.dumps(fuzzy)) is None

    base = pl.DataFrame(
        {"unique_id": ["a", "b", "c"], "email": ["x@b", "y@b", None], "dob": ["1990", "1991", "1990"]}
    )
    new = pl.DataFrame({"unique_id": ["n"], "email": ["x@b"], "dob": ["1990"]})
    assert _blocking_candidates(base, new, [["email"], ["dob"]])["unique_id"].to_list() == ["a", "c"]
    assert _blocking_candidates(base, new, None).height == 3


def test_reweighing_old_edges_gives_the_weights_of_scoring_today(population, trained, engine, edges) -> None:  # type: ignore[no-untyped-def]
    """Edges scored on an earlier, smaller population, re-weighed for today's, equal today's scoring."""
    today = population.parties
    placeholders = detect_placeholders(today)
    earlier = today.filter(pl.int_range(pl.len()) % 3 != 0)
    old = predict_edges(
        earlier, model_json=trained.model_json, engine=engine, threshold=0.01, placeholders=placeholders
    )
    keys = ["source_l", "record_id_l", "source_r", "record_id_r"]
    current = edges.join(old.select(keys), on=keys, how="semi")
    stale = old.join(current.select(keys), on=keys, how="semi")
    assert stale.height > 100
    drifted = (stale["match_weight"] - current["match_weight"]).abs().max()
    assert isinstance(drifted, float) and drifted > 1e-3  # term frequencies moved with the population

    reweighed = reweigh_edges(
        stale, prepare_linkage_input(today, placeholders=placeholders), model_json=trained.model_json
    )

    assert reweighed.select(keys).equals(stale.select(keys))
    assert reweighed["match_weight"].to_list() == pytest.approx(current["match_weight"].to_list(), abs=1e-9)
    assert reweighed["match_probability"].to_list() == pytest.approx(
        current["match_probability"].to_list(), abs=1e-9
    )


def test_reweighing_joins_key_strings_when_two_key_hashes_collide(  # type: ignore[no-untyped-def]
    population, trained, edges, monkeypatch
) -> None:
    """The 64-bit key hash is only a faster join: a collision falls back to the key strings."""
    import cdp.resolve.reweigh as reweigh

    placeholders = detect_placeholders(population.parties)
    prepared = prepare_linkage_input(population.parties, placeholders=placeholders)
    by_hash = reweigh_edges(edges, prepared, model_json=trained.model_json)
    monkeypatch.setattr(reweigh, "key_hash", lambda source, record_id: pl.lit(7, dtype=pl.UInt64))

    by_strings = reweigh_edges(edges, prepared, model_json=trained.model_json)

    assert by_strings.equals(by_hash)
    assert by_hash.height == edges.height
