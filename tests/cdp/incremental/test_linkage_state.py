"""The linkage input and value counts kept between runs: patched, they equal a recomputation."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import replace

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from cdp.identity import ClusteringPolicy, Decisions
from cdp.incremental import resolve_increment
from cdp.incremental.linkage_state import (
    LinkageState,
    carry_linkage_state,
    load_linkage_state,
    population_linkage_state,
    save_linkage_state,
)
from cdp.incremental.resolve import FullScoringNeeded
from cdp.resolve.prepare import updated_value_counts, value_counts

PAIRS = ["source_l", "record_id_l", "source_r", "record_id_r"]


def _sorted_counts(counts: dict[str, pl.DataFrame]) -> dict[str, list[tuple[str, int]]]:
    return {column: sorted(frame.iter_rows()) for column, frame in counts.items()}


@pytest.fixture
def populations(kit):  # type: ignore[no-untyped-def]
    """Yesterday's records, and today's: one new record makes a shared e-mail a placeholder
    (its holders must be prepared again), one record changed, one removed."""
    k = kit
    shared = "noemail@bank.com"
    holders = [
        k.rec(f"S{i}", f"given{i}", f"family{i}", k.D2 + dt.timedelta(days=40 * i), email=shared)
        for i in range(9)
    ]
    filler = [
        k.rec(f"F{i}", f"first{i}", f"last{i}", k.D3 + dt.timedelta(days=i), email=f"f{i}@mail.com")
        for i in range(150)
    ]
    twin = k.rec("F0b", "first0", "last0", k.D3, source="card_holders", email="f0@mail.com")
    yesterday = k.frame(*holders, *filler, twin)
    moved = k.rec("F1", "first1", "last1", k.D3 + dt.timedelta(days=1), email="moved@mail.com")
    tenth = k.rec("S9", "erin", "moss", k.D2 + dt.timedelta(days=999), email=shared)
    today = k.frame(*holders, moved, *filler[2:], twin, tenth)
    return yesterday, today


def _step(yesterday, today, full_run, model_json, engine, state: LinkageState | None):  # type: ignore[no-untyped-def]
    edges, identity, queue = full_run(yesterday, model_json, engine)
    return resolve_increment(
        previous_parties=yesterday,
        parties=today,
        previous_edges=edges,
        previous_state=identity,
        previous_review_queue=queue,
        model_json=model_json,
        engine=engine,
        policy=ClusteringPolicy(),
        decisions=Decisions.none(),
        run_id="r1",
        run_time=dt.datetime(2026, 2, 1),
        linkage_state=state,
    )


def test_a_kept_state_resolves_like_a_recomputed_one_and_becomes_todays(
    populations, full_run, model_json, engine, caplog
) -> None:  # type: ignore[no-untyped-def]
    yesterday, today = populations
    with caplog.at_level(logging.INFO, logger="cdp.incremental.resolve"):
        kept = _step(yesterday, today, full_run, model_json, engine, population_linkage_state(yesterday))
    assert "patched from the last run's" in caplog.text
    recomputed = _step(yesterday, today, full_run, model_json, engine, None)

    assert kept.scored_records == recomputed.scored_records > 2  # the placeholder's holders too
    assert_frame_equal(kept.edges.sort(PAIRS), recomputed.edges.sort(PAIRS))
    assert_frame_equal(kept.state.clusters.sort("record_id"), recomputed.state.clusters.sort("record_id"))
    fresh = population_linkage_state(today)
    assert kept.linkage_state is not None
    assert_frame_equal(kept.linkage_state.prepared, fresh.prepared)
    assert _sorted_counts(dict(kept.linkage_state.value_counts)) == _sorted_counts(dict(fresh.value_counts))


def test_a_state_that_does_not_fit_calls_for_a_full_scoring(
    populations, full_run, model_json, engine
) -> None:  # type: ignore[no-untyped-def]
    yesterday, today = populations
    # Its drift carried since the last full scoring cannot be trusted either, nor recounted.
    wrong = population_linkage_state(yesterday.head(50))
    with pytest.raises(FullScoringNeeded, match="does not fit today's records"):
        _step(yesterday, today, full_run, model_json, engine, wrong)


def test_updated_value_counts_equal_a_recount(populations) -> None:  # type: ignore[no-untyped-def]
    yesterday, today = populations
    arrived = today.join(yesterday, on=today.columns, how="anti", nulls_equal=True)
    departed = yesterday.join(today, on=yesterday.columns, how="anti", nulls_equal=True)
    assert arrived.height and departed.height
    updated = updated_value_counts(value_counts(yesterday), arrived=arrived, departed=departed)
    assert _sorted_counts(updated) == _sorted_counts(value_counts(today))
    # A value whose last holder left is gone, not kept with zero records.
    gone = sorted(set(departed["email"]) - set(today["email"]))
    assert gone and not updated["email"].filter(pl.col("value").is_in(gone)).height


def test_state_is_kept_per_run_and_only_for_the_same_code(tmp_path, populations) -> None:  # type: ignore[no-untyped-def]
    yesterday, today = populations
    folder = tmp_path / "linkage"
    first, second = population_linkage_state(yesterday), population_linkage_state(today)
    # What each record's pairs gained since it was scored travels with the state.
    first = replace(first, drift=pl.DataFrame({"unique_id": ["core:1"], "bits": [0.2]}))
    save_linkage_state(folder, first, run_id="r1", code_version="v1", keep=None)
    loaded = load_linkage_state(folder, run_id="r1", code_version="v1")
    assert loaded is not None
    assert_frame_equal(loaded.prepared, first.prepared)
    assert_frame_equal(loaded.drift, first.drift)
    assert _sorted_counts(dict(loaded.value_counts)) == _sorted_counts(dict(first.value_counts))
    assert load_linkage_state(folder, run_id="r2", code_version="v1") is None
    assert load_linkage_state(folder, run_id="r1", code_version="v2") is None

    # A background save is waited for by the next load; older runs' states are pruned.
    save_linkage_state(folder, second, run_id="r2", code_version="v1", keep="r1", background=True)
    assert load_linkage_state(folder, run_id="r2", code_version="v1") is not None
    save_linkage_state(folder, second, run_id="r3", code_version="v1", keep="r2")
    assert sorted(path.name for path in folder.iterdir()) == ["r2", "r3"]

    # A run that changed nothing carries the state on under its own id.
    assert carry_linkage_state(folder, from_run="r3", to_run="r4", code_version="v1")
    carried = load_linkage_state(folder, run_id="r4", code_version="v1")
    assert carried is not None and carried.prepared.equals(second.prepared)
    assert carried.drift.equals(second.drift)
    assert not carry_linkage_state(folder, from_run="r9", to_run="r5", code_version="v1")


def test_a_state_cut_short_is_not_loaded(tmp_path, populations) -> None:  # type: ignore[no-untyped-def]
    yesterday, _ = populations
    folder = tmp_path / "linkage"
    save_linkage_state(folder, population_linkage_state(yesterday), run_id="r1", code_version="v1", keep=None)
    (folder / "r1" / "prepared.parquet").write_bytes(b"not parquet")
    assert load_linkage_state(folder, run_id="r1", code_version="v1") is None
    (folder / "r1" / "state.json").unlink()
    assert load_linkage_state(folder, run_id="r1", code_version="v1") is None
