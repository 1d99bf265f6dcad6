from __future__ import annotations

import datetime as dt
import shutil

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from cdp.config import load_config
from cdp.customer360 import load_survivorship
from cdp.identity import ClusteringPolicy, Decisions
from cdp.incremental import Customer360Inputs, build_full, refresh_customer_360, resolve_increment
from cdp.ingest import ingest_sources
from cdp.resolve.evaluate import evaluate_clusters
from cdp.synth.bank import generate_bank

AS_OF = dt.date(2026, 10, 31)
TABLES = ("customer_360", "lineage", "source_records", "consent", "households")


@pytest.fixture(scope="module")
def bank(tmp_path_factory):
    root = tmp_path_factory.mktemp("bank")
    generate_bank(root, persons=300, seed=7, batches=3, as_of=AS_OF)
    return root


def load(root, number):
    shutil.copytree(root / "batches" / f"{number:02d}", root / "landing", dirs_exist_ok=True)
    ingested = ingest_sources(load_config(root / "sources.yaml"))
    as_of = AS_OF - dt.timedelta(days=7 * (3 - number))
    return ingested, as_of


def test_batches_loaded_one_by_one_match_a_full_refresh(bank, model_json, engine, full_run):
    rules = load_survivorship()
    ingested, as_of = load(bank, 1)
    edges, state, queue = full_run(ingested.parties, model_json, engine)
    activity = ("accounts", "account_holders", "events", "consents")
    inputs = Customer360Inputs(
        ingested.parties, state.clusters, *(getattr(ingested, n) for n in activity), as_of
    )
    tables = build_full(inputs, rules=rules)
    for number in (2, 3):
        ingested, as_of = load(bank, number)
        step = resolve_increment(
            previous_parties=inputs.parties,
            parties=ingested.parties,
            previous_edges=edges,
            previous_state=state,
            previous_review_queue=queue,
            model_json=model_json,
            engine=engine,
            policy=ClusteringPolicy(),
            decisions=Decisions.none(),
            run_id=f"b{number}",
            run_time=dt.datetime.combine(as_of, dt.time()),
        )
        assert 0 < step.scored_records < ingested.parties.height
        previous_inputs = inputs
        edges, state, queue = step.edges, step.state, step.review_queue
        inputs = Customer360Inputs(
            ingested.parties, state.clusters, *(getattr(ingested, n) for n in activity), as_of
        )
        refreshed = refresh_customer_360(
            tables,
            previous_inputs=previous_inputs,
            inputs=inputs,
            affected_customer_ids=step.affected_customer_ids,
            rules=rules,
            delta=step.delta,
        )
        assert not refreshed.full_rebuild
        tables = refreshed.tables
        expected = build_full(inputs, rules=rules)
        for name in TABLES:
            assert_frame_equal(getattr(tables, name), getattr(expected, name))

    _, full_state, _ = full_run(ingested.parties, model_json, engine)
    versus_full = evaluate_clusters(state.clusters, full_state.clusters.rename({"customer_id": "entity_id"}))
    # Reused edges are re-weighed for each day's term frequencies, as a full run scores them.
    assert versus_full.bcubed_f1 >= 0.999
    truth = pl.read_csv(bank / "truth.csv", infer_schema_length=0)
    incremental = evaluate_clusters(state.clusters, truth).bcubed_f1
    full = evaluate_clusters(full_state.clusters, truth).bcubed_f1
    assert incremental >= full - 0.001
    assert state.clusters.height == ingested.parties.height
