"""Benchmark identity resolution: accuracy against truth, and speed/memory of the resolve stage.

Each stage runs in its own child process so its peak memory is its own:

- ``train``: ``cdp.resolve.train_model`` (reported separately).
- ``cdp``: the resolve stage as the pipeline runs it: prepare + ``predict_edges`` +
  ``deterministic_edges`` + connected components.
- ``bare``: plain Splink on the same prepared input: ``predict`` + connected components.

Usage::

    python benchmarks/bench_resolve.py --persons 100000            # generate with cdp.synth, then run
    python benchmarks/bench_resolve.py --parties p.parquet --truth truth.csv
    python benchmarks/bench_resolve.py --persons 430000 --skip-eval --model data/sample/linkage_model.json

Prints one JSON object per stage and a summary.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

THREADS = 2
MEMORY_LIMIT = "6GB"


def _peak_rss_gb() -> float:
    """This process's own peak resident memory (VmHWM; ru_maxrss would include the parent's)."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024**2
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def _engine(workdir: Path) -> Any:
    from cdp.engine import DuckDBEngine

    return DuckDBEngine(
        threads=THREADS, memory_limit=MEMORY_LIMIT, temp_directory=str(workdir / "duckdb_tmp")
    )


def stage_train(workdir: Path, seed: int) -> dict[str, Any]:
    from cdp.resolve import train_model

    parties = pl.read_parquet(workdir / "parties.parquet")
    started = time.perf_counter()
    model = train_model(parties, engine=_engine(workdir), seed=seed)
    (workdir / "model.json").write_text(model.model_json)
    return {"seconds": time.perf_counter() - started, "report": model.report}


def stage_cdp(workdir: Path, threshold: float) -> dict[str, Any]:
    from cdp.pipeline import combine_edges
    from cdp.resolve import cluster_edges, deterministic_edges, predict_edges

    parties = pl.read_parquet(workdir / "parties.parquet")
    model_json = (workdir / "model.json").read_text()
    engine = _engine(workdir)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    scored = predict_edges(parties, model_json=model_json, engine=engine, threshold=threshold)
    timings["prepare_predict"] = time.perf_counter() - started
    step = time.perf_counter()
    edges = combine_edges(scored, deterministic_edges(parties))
    timings["deterministic"] = time.perf_counter() - step
    step = time.perf_counter()
    clusters = cluster_edges(parties, edges, threshold=threshold, engine=engine)
    timings["cluster"] = time.perf_counter() - step
    timings["total"] = time.perf_counter() - started
    clusters.write_parquet(workdir / "clusters_cdp.parquet")
    edges.write_parquet(workdir / "edges_cdp.parquet")
    return {"seconds": timings, "edges": edges.height, "clusters": clusters["cluster_id"].n_unique()}


def stage_bare(workdir: Path, threshold: float) -> dict[str, Any]:
    from splink import Linker

    from cdp.resolve import prepare_linkage_input
    from cdp.resolve.train import register_input

    prepared = prepare_linkage_input(pl.read_parquet(workdir / "parties.parquet"))
    model = json.loads((workdir / "model.json").read_text())
    db_api = _engine(workdir).db_api()
    started = time.perf_counter()
    table = register_input(db_api, prepared, "bench_input")
    linker = Linker(table, model, log_level=None)
    chunks = max(1, -(-prepared.height // 500_000))
    predictions = linker.inference.predict(
        threshold_match_probability=threshold,
        num_chunks_left=chunks,
        num_chunks_right=1,
        warning_mode="never",
    )
    predicted = time.perf_counter() - started
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(predictions, threshold)
    count = clusters.as_duckdbpyrelation().select("cluster_id").distinct().count("*").fetchall()[0][0]
    total = time.perf_counter() - started
    edges = predictions.as_duckdbpyrelation().count("*").fetchall()[0][0]
    return {
        "seconds": {"predict": predicted, "cluster": total - predicted, "total": total},
        "edges": edges,
        "clusters": count,
    }


STAGES = {"train": stage_train, "cdp": stage_cdp, "bare": stage_bare}


def _child(stage: str, workdir: str, argument: float, out: str) -> None:
    result = STAGES[stage](Path(workdir), argument)  # type: ignore[operator]
    result["peak_rss_gb"] = round(_peak_rss_gb(), 2)
    Path(out).write_text(json.dumps(result, default=str))


def run_stage(stage: str, workdir: Path, argument: float) -> dict[str, Any]:
    out = workdir / f"{stage}.json"
    process = multiprocessing.get_context("spawn").Process(
        target=_child, args=(stage, str(workdir), argument, str(out))
    )
    process.start()
    process.join()
    if process.exitcode != 0:
        raise SystemExit(f"stage {stage} failed with exit code {process.exitcode}")
    result: dict[str, Any] = json.loads(out.read_text())
    print(json.dumps({"stage": stage, **result}), flush=True)
    return result


def generate(persons: int, seed: int, workdir: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Extracts from cdp.synth, ingested and standardized by cdp.ingest: the pipeline's own std_parties."""
    from cdp.config import load_config
    from cdp.ingest import ingest_parties
    from cdp.synth import generate_bank

    started = time.perf_counter()
    generated = generate_bank(workdir / "bank", persons=persons, seed=seed)
    config_path = generated.out_dir / "sources.yaml"
    parties = ingest_parties(load_config(config_path)).parties
    truth = pl.read_csv(config_path.parent / "truth.csv", schema_overrides={"record_id": pl.String})
    print(
        json.dumps(
            {
                "stage": "generate",
                "persons": persons,
                "records": parties.height,
                "seconds": round(time.perf_counter() - started, 1),
            }
        ),
        flush=True,
    )
    return parties, truth


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--persons", type=int, help="Generate this many persons with cdp.synth.")
    parser.add_argument("--parties", type=Path, help="std_parties as Parquet (instead of generating).")
    parser.add_argument("--truth", type=Path, help="truth.csv for --parties.")
    parser.add_argument("--model", type=Path, help="Use this model instead of training.")
    parser.add_argument("--threshold", type=float, default=0.8, help="Match probability that links records.")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--skip-bare", action="store_true")
    parser.add_argument("--skip-eval", action="store_true")
    parser.add_argument("--workdir", type=Path, help="Keep intermediate files here (default: a temp dir).")
    args = parser.parse_args()

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bench_resolve_"))
    workdir.mkdir(parents=True, exist_ok=True)
    if args.parties is not None:
        parties = pl.read_parquet(args.parties)
        truth = pl.read_csv(args.truth, schema_overrides={"record_id": pl.String}) if args.truth else None
    elif args.persons is not None:
        parties, truth = generate(args.persons, args.seed, workdir)
    else:
        parser.error("give --persons or --parties")
    parties.write_parquet(workdir / "parties.parquet")
    print(
        json.dumps(
            {
                "machine": {"cpus": os.cpu_count(), "threads": THREADS, "memory_limit": MEMORY_LIMIT},
                "records": parties.height,
            }
        ),
        flush=True,
    )

    if args.model is not None:
        (workdir / "model.json").write_text(args.model.read_text())
    else:
        run_stage("train", workdir, args.seed)
    cdp = run_stage("cdp", workdir, args.threshold)
    summary: dict[str, Any] = {
        "records": parties.height,
        "cdp_seconds": round(cdp["seconds"]["total"], 1),
        "cdp_peak_rss_gb": cdp["peak_rss_gb"],
    }
    if not args.skip_bare:
        bare = run_stage("bare", workdir, args.threshold)
        summary |= {
            "bare_seconds": round(bare["seconds"]["total"], 1),
            "bare_peak_rss_gb": bare["peak_rss_gb"],
            "overhead": round(cdp["seconds"]["total"] / bare["seconds"]["total"], 2),
        }
    if truth is not None and not args.skip_eval:
        from cdp.resolve import baseline_clusters, evaluate_clusters

        report = evaluate_clusters(
            pl.read_parquet(workdir / "clusters_cdp.parquet"), truth, baseline=baseline_clusters(parties)
        )
        summary |= {
            key: None if value is None else round(value, 4) for key, value in report.summary().items()
        }
        summary |= {
            "over_merged_clusters": report.over_merged_clusters,
            "under_merged_entities": report.under_merged_entities,
        }
    print(json.dumps({"summary": summary}), flush=True)


if __name__ == "__main__":
    main()
