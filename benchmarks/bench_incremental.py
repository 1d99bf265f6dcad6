"""Incremental vs full refresh: identity resolution through the customer 360.

Two experiments:

``scale`` (default ~1,000,000 party records): one bank is generated and ingested once; the base
is every record except a held-back batch (``--batch`` records: 90% new, 10% of them changed
versions of base records), resolved by the full path. Then, each in a fresh process so peak RSS
is its own, (a) the full path on base + batch (Splink predict, deterministic links, clustering,
stable IDs, customer 360) and (b) the incremental path (party delta, Splink on the batch only,
re-clustering the touched components, customer 360 refresh) are timed.

``kbatch``: a bank delivered in K weekly batches, loaded one at a time incrementally, against a
full refresh on the union: B-cubed between the two clusterings and each against ``truth.csv``,
and the spliced customer 360 against a full build on the same clusters (must be equal).

Run: ``python benchmarks/bench_incremental.py scale --persons 500000 --work /tmp/bench_inc``
     ``python benchmarks/bench_incremental.py kbatch --persons 20000 --batches 4 --work /tmp/bench_k``
Results are printed as JSON lines and written to ``WORK/results_<mode>.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import polars as pl

MODEL = Path(__file__).resolve().parent.parent / "data" / "sample" / "linkage_model.json"
AS_OF = dt.date(2026, 10, 31)
_ACTIVITY = ("accounts", "account_holders", "events", "consents")
_C360 = ("customer_360", "lineage", "source_records", "consent", "households")


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _emit(work: Path, mode: str, row: dict[str, Any]) -> None:
    print(json.dumps(row), flush=True)
    with open(work / f"results_{mode}.json", "a") as handle:
        handle.write(json.dumps(row) + "\n")


def _engine() -> Any:
    from cdp.engine import DuckDBEngine

    return DuckDBEngine(threads=2, memory_limit="8GB", temp_directory="/tmp/bench_inc_duckdb")


def _full(parties: pl.DataFrame, previous: Any, run_id: str, model: str) -> tuple[pl.DataFrame, Any, Any]:
    from cdp.identity import ClusteringPolicy, Decisions, assign_stable_ids, cluster_records
    from cdp.pipeline import combine_edges
    from cdp.resolve.predict import deterministic_edges, predict_edges

    policy = ClusteringPolicy()
    scored = predict_edges(parties, model_json=model, engine=_engine(), threshold=policy.review_band[0])
    edges = combine_edges(scored, deterministic_edges(parties))
    clustered = cluster_records(parties, edges, policy=policy, decisions=Decisions.none())
    state = assign_stable_ids(
        clustered.assignments, previous, run_id=run_id, run_time=dt.datetime(2026, 11, 1)
    )
    return edges, clustered, state


def _write_state(folder: Path, state: Any) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    state.clusters.write_parquet(folder / "clusters.parquet")
    state.merged_into.write_parquet(folder / "merged_into.parquet")
    state.changes.write_parquet(folder / "changes.parquet")


def _read_state(folder: Path) -> Any:
    from cdp.identity import IdentityState

    return IdentityState(
        clusters=pl.read_parquet(folder / "clusters.parquet"),
        merged_into=pl.read_parquet(folder / "merged_into.parquet"),
        changes=pl.read_parquet(folder / "changes.parquet"),
    )


def prepare(work: Path, persons: int, batch: int, seed: int) -> None:
    """Generate, ingest, split off a batch, and resolve the base with the full path."""
    from cdp.config import load_config
    from cdp.customer360 import load_survivorship
    from cdp.incremental import Customer360Inputs, build_full
    from cdp.ingest import ingest_sources
    from cdp.synth.bank import generate_bank

    bank = work / "bank"
    started = time.perf_counter()
    if not (bank / "sources.yaml").exists():
        generate_bank(bank, persons=persons, seed=seed, months=0, as_of=AS_OF)
    ingested = ingest_sources(load_config(bank / "sources.yaml"))
    generated = time.perf_counter() - started
    current = ingested.parties
    held = current.sample(n=batch, seed=seed, shuffle=True).select("source", "record_id")
    changed_keys = held.head(batch // 10)
    # The "changed" records exist in the base with an older address and no email.
    older = current.join(changed_keys, on=["source", "record_id"], how="semi").with_columns(
        address_line1=pl.lit("1 old rd"), postcode=pl.lit("99999"), email=pl.lit(None, dtype=pl.String)
    )
    base = pl.concat([current.join(held, on=["source", "record_id"], how="anti"), older])
    new_keys = held.slice(batch // 10)
    data = work / "data"
    data.mkdir(parents=True, exist_ok=True)
    current.write_parquet(data / "parties.parquet")
    base.write_parquet(data / "base_parties.parquet")
    for name in _ACTIVITY:
        frame = getattr(ingested, name)
        frame.write_parquet(data / f"{name}.parquet")
    # In the base, the new records' holder links, events and consents had not arrived yet.
    links = ["party_source", "party_record_id"]
    for name in ("account_holders", "events", "consents"):
        getattr(ingested, name).join(
            new_keys, left_on=links, right_on=["source", "record_id"], how="anti"
        ).write_parquet(data / f"base_{name}.parquet")
    ingested.accounts.write_parquet(data / "base_accounts.parquet")
    model = MODEL.read_text()
    started = time.perf_counter()
    edges, clustered, state = _full(base, None, "base", model)
    edges.write_parquet(data / "base_edges.parquet")
    clustered.review_queue.write_parquet(data / "base_review.parquet")
    _write_state(data / "base_state", state)
    inputs = Customer360Inputs(
        base, state.clusters, *(pl.read_parquet(data / f"base_{n}.parquet") for n in _ACTIVITY), AS_OF
    )
    tables = build_full(inputs, rules=load_survivorship())
    for name in _C360:
        getattr(tables, name).write_parquet(data / f"base_{name}.parquet")
    _emit(
        work,
        "scale",
        {
            "step": "prepare",
            "persons": persons,
            "records": current.height,
            "base_records": base.height,
            "batch_new": new_keys.height,
            "batch_changed": changed_keys.height,
            "base_customers": state.clusters["customer_id"].n_unique(),
            "generate_ingest_s": round(generated, 1),
            "base_full_s": round(time.perf_counter() - started, 1),
        },
    )


def _current_inputs(data: Path, clusters: pl.DataFrame) -> Any:
    from cdp.incremental import Customer360Inputs

    return Customer360Inputs(
        pl.read_parquet(data / "parties.parquet"),
        clusters,
        *(pl.read_parquet(data / f"{n}.parquet") for n in _ACTIVITY),
        AS_OF,
    )


def run_full(work: Path) -> None:
    """(a) The full path on base + batch."""
    from cdp.customer360 import load_survivorship
    from cdp.incremental import Customer360Inputs, build_full

    data = work / "data"
    inputs = _current_inputs(data, pl.DataFrame())
    previous = _read_state(data / "base_state")
    loaded = _peak_rss_mb()
    started = time.perf_counter()
    edges, _, state = _full(inputs.parties, previous, "full", MODEL.read_text())
    resolved = time.perf_counter() - started
    tables = build_full(
        Customer360Inputs(**{**inputs.__dict__, "clusters": state.clusters}), rules=load_survivorship()
    )
    total = time.perf_counter() - started
    state.clusters.write_parquet(data / "full_clusters.parquet")
    _emit(
        work,
        "scale",
        {
            "step": "full",
            "records": inputs.parties.height,
            "edges": edges.height,
            "customers": tables.customer_360.height,
            "resolve_s": round(resolved, 2),
            "customer_360_s": round(total - resolved, 2),
            "total_s": round(total, 2),
            "rss_after_load_mb": round(loaded),
            "peak_rss_mb": round(_peak_rss_mb()),
        },
    )


def run_incremental(work: Path) -> None:
    """(b) The incremental path for the batch, through the customer 360."""
    from cdp.customer360 import Customer360Result, load_survivorship
    from cdp.identity import ClusteringPolicy, Decisions
    from cdp.incremental import Customer360Inputs, refresh_customer_360, resolve_increment
    from cdp.resolve.evaluate import evaluate_clusters

    data = work / "data"
    previous_state = _read_state(data / "base_state")
    base = pl.read_parquet(data / "base_parties.parquet")
    previous_inputs = Customer360Inputs(
        base,
        previous_state.clusters,
        *(pl.read_parquet(data / f"base_{n}.parquet") for n in _ACTIVITY),
        AS_OF,
    )
    previous_tables = Customer360Result(*(pl.read_parquet(data / f"base_{n}.parquet") for n in _C360))
    previous_edges = pl.read_parquet(data / "base_edges.parquet")
    previous_review = pl.read_parquet(data / "base_review.parquet")
    inputs = _current_inputs(data, pl.DataFrame())
    model = MODEL.read_text()
    loaded = _peak_rss_mb()
    started = time.perf_counter()
    step = resolve_increment(
        previous_parties=base,
        parties=inputs.parties,
        previous_edges=previous_edges,
        previous_state=previous_state,
        previous_review_queue=previous_review,
        model_json=model,
        engine=_engine(),
        policy=ClusteringPolicy(),
        decisions=Decisions.none(),
        run_id="incremental",
        run_time=dt.datetime(2026, 11, 1),
    )
    resolved = time.perf_counter() - started
    inputs = Customer360Inputs(**{**inputs.__dict__, "clusters": step.state.clusters})
    refreshed = refresh_customer_360(
        previous_tables,
        previous_inputs=previous_inputs,
        inputs=inputs,
        affected_customer_ids=step.affected_customer_ids,
        rules=load_survivorship(),
        delta=step.delta,
    )
    total = time.perf_counter() - started
    peak = _peak_rss_mb()
    full_clusters = pl.read_parquet(data / "full_clusters.parquet")
    versus_full = evaluate_clusters(step.state.clusters, full_clusters.rename({"customer_id": "entity_id"}))
    _emit(
        work,
        "scale",
        {
            "step": "incremental",
            "scored_records": step.scored_records,
            "affected_records": step.affected_records,
            "affected_customers": step.affected_customer_ids.len(),
            "rebuilt_customers": refreshed.rebuilt_customers,
            "full_rebuild": refreshed.full_rebuild,
            "events": step.events.height,
            "resolve_s": round(resolved, 2),
            "customer_360_s": round(total - resolved, 2),
            "total_s": round(total, 2),
            "rss_after_load_mb": round(loaded),
            "peak_rss_mb": round(peak),
            "bcubed_f1_vs_full": round(versus_full.bcubed_f1, 6),
        },
    )


def kbatch(work: Path, persons: int, batches: int, seed: int) -> None:
    """Load K batches incrementally; compare with a full refresh on the union and with the truth."""
    from polars.testing import assert_frame_equal

    from cdp.config import load_config
    from cdp.customer360 import load_survivorship
    from cdp.identity import ClusteringPolicy, Decisions
    from cdp.incremental import Customer360Inputs, build_full, refresh_customer_360, resolve_increment
    from cdp.ingest import ingest_sources
    from cdp.resolve.evaluate import evaluate_clusters
    from cdp.synth.bank import generate_bank

    bank = work / "bank"
    shutil.rmtree(bank, ignore_errors=True)
    generate_bank(bank, persons=persons, seed=seed, batches=batches, months=2, as_of=AS_OF)
    model, rules, policy = MODEL.read_text(), load_survivorship(), ClusteringPolicy()
    truth = pl.read_csv(bank / "truth.csv", infer_schema_length=0)
    dates = sorted(path.name for path in (bank / "batches").iterdir())
    state = edges = queue = tables = previous_inputs = None
    seconds: list[float] = []
    for number, name in enumerate(dates, start=1):
        shutil.copytree(bank / "batches" / name, bank / "landing", dirs_exist_ok=True)
        ingested = ingest_sources(load_config(bank / "sources.yaml"))
        as_of = AS_OF - dt.timedelta(days=7 * (len(dates) - number))
        started = time.perf_counter()
        if state is None:
            edges, clustered, state = _full(ingested.parties, None, "b01", model)
            queue = clustered.review_queue
            inputs = Customer360Inputs(
                ingested.parties, state.clusters, *(getattr(ingested, n) for n in _ACTIVITY), as_of
            )
            tables = build_full(inputs, rules=rules)
        else:
            step = resolve_increment(
                previous_parties=previous_inputs.parties,
                parties=ingested.parties,
                previous_edges=edges,
                previous_state=state,
                previous_review_queue=queue,
                model_json=model,
                engine=_engine(),
                policy=policy,
                decisions=Decisions.none(),
                run_id=f"b{number:02d}",
                run_time=dt.datetime.combine(as_of, dt.time()),
            )
            state, edges, queue = step.state, step.edges, step.review_queue
            inputs = Customer360Inputs(
                ingested.parties, state.clusters, *(getattr(ingested, n) for n in _ACTIVITY), as_of
            )
            tables = refresh_customer_360(
                tables,
                previous_inputs=previous_inputs,
                inputs=inputs,
                affected_customer_ids=step.affected_customer_ids,
                rules=rules,
                delta=step.delta,
            ).tables
        seconds.append(round(time.perf_counter() - started, 2))
        previous_inputs = inputs
    reference = build_full(previous_inputs, rules=rules)
    for table in _C360:
        assert_frame_equal(getattr(tables, table), getattr(reference, table))
    _, _, full_state = _full(previous_inputs.parties, None, "full", model)
    union = evaluate_clusters(state.clusters, full_state.clusters.rename({"customer_id": "entity_id"}))
    _emit(
        work,
        "kbatch",
        {
            "persons": persons,
            "batches": batches,
            "records": previous_inputs.parties.height,
            "seconds_per_batch": seconds,
            "bcubed_f1_incremental_vs_full": round(union.bcubed_f1, 6),
            "incremental_vs_truth": round(evaluate_clusters(state.clusters, truth).bcubed_f1, 6),
            "full_vs_truth": round(evaluate_clusters(full_state.clusters, truth).bcubed_f1, 6),
            "customer_360_spliced_equals_full_build": True,
        },
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "mode", choices=("scale", "kbatch", "prepare", "full", "incremental"), default="scale"
    )
    parser.add_argument("--persons", type=int, default=500_000)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--batches", type=int, default=4)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--work", type=Path, default=Path("/tmp/bench_incremental"))
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    if args.mode == "kbatch":
        kbatch(args.work, args.persons, args.batches, args.seed)
    elif args.mode == "prepare":
        prepare(args.work, args.persons, args.batch, args.seed)
    elif args.mode == "full":
        run_full(args.work)
    elif args.mode == "incremental":
        run_incremental(args.work)
    else:
        for step in ("prepare", "full", "incremental"):
            command = [sys.executable, __file__, step, "--work", str(args.work)]
            command += ["--persons", str(args.persons), "--batch", str(args.batch), "--seed", str(args.seed)]
            subprocess.run(command, check=True)
        rows = [json.loads(line) for line in (args.work / "results_scale.json").read_text().splitlines()]
        full = next(row for row in reversed(rows) if row["step"] == "full")
        incremental = next(row for row in reversed(rows) if row["step"] == "incremental")
        _emit(
            args.work,
            "scale",
            {
                "step": "ratio",
                "time_ratio": round(incremental["total_s"] / full["total_s"], 4),
                "peak_rss_ratio": round(incremental["peak_rss_mb"] / full["peak_rss_mb"], 3),
            },
        )


if __name__ == "__main__":
    main()
