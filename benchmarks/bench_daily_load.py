"""End-to-end daily loads through the real Dagster asset graph, as ``cdp run`` runs them.

A bank is generated as weekly batches. Batch 01 is landed and run (the initial full load), then
the later batches are landed together and run incrementally, then ``--full-refresh`` rebuilds
everything on the same files. Each run is its own process, so peak RSS is its own; step
durations come from Dagster's step events. The issue-5 speed ratio compares the incremental run
with the full refresh, both up to and including the customer 360 (features, segments, quality
checks and publishing are reported too, separately).

Run (the issue's size: about 1,000,000 party records, then a batch of about 10,000):
``python benchmarks/bench_daily_load.py --persons 540000 --batches 4 --batch-days 2 --land 2``
With ``--daily`` the batches 02..LAND are landed and run one at a time (several days in a row,
to see that a day's cost does not creep up); the ratio then uses the last day. A last run with
nothing new landed (``rerun``) shows the fixed cost of a run.
(``--months 0`` by default: parties, accounts and consents, no transaction history.)
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import polars as pl

ROOT = Path(__file__).resolve().parent.parent
AS_OF = "2026-10-31"
#: Steps up to and including the customer 360 (the issue's "end to end through customer_360").
THROUGH_360 = ("source_extracts", "std_", "linkage_model", "identity", "customer_360_tables")

_CHILD = """
import json, resource, sys, time
from pathlib import Path
from assets.resources import RunOptions
from assets.runner import run_pipeline
started, steps = {}, {}
def progress(step, event):
    if event == "start":
        started[step] = time.perf_counter()
    else:
        steps[step] = round(time.perf_counter() - started.get(step, time.perf_counter()), 2)
t0 = time.perf_counter()
run = run_pipeline(config_path=Path(sys.argv[1]), warehouse_dir=Path(sys.argv[2]),
                   options=RunOptions(as_of=sys.argv[3], full_refresh=sys.argv[4] == "1"),
                   on_progress=progress)
print(json.dumps({"success": run.success, "error": run.error, "wall": round(time.perf_counter() - t0, 2),
                  "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6, 2),
                  "steps": steps}))
"""


def _run(config: Path, warehouse: Path, *, full_refresh: bool, home: Path) -> dict[str, Any]:
    env = {"DAGSTER_HOME": str(home), "PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}
    completed = subprocess.run(
        [sys.executable, "-c", _CHILD, str(config), str(warehouse), AS_OF, "1" if full_refresh else "0"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        check=False,
    )
    lines = [line for line in completed.stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise SystemExit(f"pipeline process failed:\n{completed.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(lines[-1])
    if not result["success"]:
        raise SystemExit(f"run failed: {result['error']}")
    steps = result["steps"]
    result["through_360"] = round(sum(t for s, t in steps.items() if s.startswith(THROUGH_360)), 2)
    return result


def _identity_log(warehouse: Path) -> list[dict[str, Any]]:
    sys.path.insert(0, str(ROOT))
    from cdp.warehouse import Warehouse

    columns = (
        "mode",
        "reason",
        "records",
        "new_records",
        "changed_records",
        "removed_records",
        "scored_records",
        "affected_customers",
        "customers",
        "identity_events",
        "seconds",
    )
    return Warehouse(warehouse).read("identity_runs").select(columns).to_dicts()


def _equivalence(daily_clusters: pl.DataFrame, warehouse: Path, truth_csv: Path) -> dict[str, float]:
    """B-cubed F1 of the daily path's clusters against the full refresh's, and of both against truth."""
    from cdp.resolve.evaluate import evaluate_clusters

    full_clusters = pl.read_parquet(warehouse / "parquet" / "identity_clusters.parquet")
    truth = pl.read_csv(truth_csv, infer_schema=False)
    return {
        "bcubed_f1_daily_vs_full": round(
            evaluate_clusters(daily_clusters, full_clusters.rename({"customer_id": "entity_id"})).bcubed_f1, 6
        ),
        "daily_vs_truth_bcubed_f1": round(evaluate_clusters(daily_clusters, truth).bcubed_f1, 6),
        "full_vs_truth_bcubed_f1": round(evaluate_clusters(full_clusters, truth).bcubed_f1, 6),
    }


#: Published tables the daily path must give exactly as a full refresh does (not only the clusters).
COMPARED_TABLES = ("identity_clusters", "identity_review_queue", "customer_360", "segment_membership")


def _published(warehouse: Path) -> dict[str, pl.DataFrame]:
    return {name: pl.read_parquet(warehouse / "parquet" / f"{name}.parquet") for name in COMPARED_TABLES}


def _same_tables(daily: dict[str, pl.DataFrame], full: dict[str, pl.DataFrame]) -> dict[str, str]:
    """Per table: 'equal', or why the daily path's version differs from the full refresh's.

    Rows are compared in any order; floats to a relative 1e-9. Run bookkeeping columns (which
    run entered a segment) differ by design and are left out.
    """
    from polars.testing import assert_frame_equal

    verdicts: dict[str, str] = {}
    for name, mine in daily.items():
        theirs = full[name]
        bookkeeping = [column for column in mine.columns if column.endswith("_run_id")]
        mine, theirs = mine.drop(bookkeeping), theirs.drop(bookkeeping, strict=False)
        try:
            assert_frame_equal(
                mine.sort(mine.columns, nulls_last=True),
                theirs.select(mine.columns).sort(mine.columns, nulls_last=True),
                check_exact=False,
                rel_tol=1e-9,
            )
            verdicts[name] = "equal"
        except AssertionError as difference:
            verdicts[name] = f"differs ({mine.height} vs {theirs.height} rows): {str(difference)[:300]}"
    return verdicts


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--persons", type=int, default=500_000)
    parser.add_argument("--batches", type=int, default=2)
    parser.add_argument("--months", type=int, default=0)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--batch-days", type=int, default=7, help="days between batches (1: daily)")
    parser.add_argument(
        "--land",
        type=int,
        default=None,
        help="land only batches 02..LAND for the incremental run (default: every later batch)",
    )
    parser.add_argument(
        "--daily",
        action="store_true",
        help="land and run batches 02..LAND one at a time (steady state over several days)",
    )
    parser.add_argument("--work", type=Path, default=Path("/tmp/cdp_daily"))
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from cdp.synth import generate_bank

    bank, warehouse, home = args.work / "bank", args.work / "warehouse", args.work / "dagster_home"
    shutil.rmtree(args.work, ignore_errors=True)
    home.mkdir(parents=True)
    started = time.perf_counter()
    generate_bank(
        bank,
        persons=args.persons,
        seed=args.seed,
        months=args.months,
        batches=args.batches,
        batch_days=args.batch_days,
    )
    shutil.copyfile(ROOT / "data" / "sample" / "linkage_model.json", bank / "linkage_model.json")
    print(json.dumps({"generated_seconds": round(time.perf_counter() - started, 1)}), flush=True)
    results: dict[str, Any] = {
        "persons": args.persons,
        "batches": args.batches,
        "batch_days": args.batch_days,
        "months": args.months,
    }
    shutil.copytree(bank / "batches" / "01", bank / "landing", dirs_exist_ok=True)
    results["initial_load"] = _run(bank / "sources.yaml", warehouse, full_refresh=False, home=home)
    print(json.dumps({"initial_load": results["initial_load"]}), flush=True)
    later = range(2, (args.land or args.batches) + 1)
    days = [[number] for number in later] if args.daily else [list(later)]
    results["incremental_runs"] = []
    for numbers in days:
        for number in numbers:
            shutil.copytree(bank / "batches" / f"{number:02d}", bank / "landing", dirs_exist_ok=True)
        run = {"batches": numbers, **_run(bank / "sources.yaml", warehouse, full_refresh=False, home=home)}
        results["incremental_runs"].append(run)
        print(json.dumps({"incremental": run}), flush=True)
    results["incremental"] = results["incremental_runs"][-1]
    # Nothing new landed: what a run costs when it has nothing to do (a sensor tick, a re-run).
    results["rerun"] = _run(bank / "sources.yaml", warehouse, full_refresh=False, home=home)
    print(json.dumps({"rerun": results["rerun"]}), flush=True)
    daily_tables = _published(warehouse)
    daily_clusters = daily_tables["identity_clusters"]
    results["full_refresh"] = _run(bank / "sources.yaml", warehouse, full_refresh=True, home=home)
    print(json.dumps({"full_refresh": results["full_refresh"]}), flush=True)
    results["identity_runs"] = _identity_log(warehouse)
    results["equivalence"] = _equivalence(daily_clusters, warehouse, bank / "truth.csv")
    results["same_tables_as_full_refresh"] = _same_tables(daily_tables, _published(warehouse))
    results["ratio_through_360"] = round(
        results["incremental"]["through_360"] / results["full_refresh"]["through_360"], 3
    )
    results["ratio_wall"] = round(results["incremental"]["wall"] / results["full_refresh"]["wall"], 3)
    results["daily_through_360"] = [run["through_360"] for run in results["incremental_runs"]]
    (args.work / "results_daily_load.json").write_text(json.dumps(results, indent=2))
    summary = {
        key: results[key]
        for key in (
            "ratio_through_360",
            "ratio_wall",
            "daily_through_360",
            "rerun",
            "equivalence",
            "same_tables_as_full_refresh",
            "identity_runs",
        )
    }
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
