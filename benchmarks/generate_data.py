"""Time the synthetic bank generator and report per-step wall time, CPU time and peak memory.

Usage:
    python benchmarks/generate_data.py OUT_DIR --persons 1000000 --months 0    # parties and accounts
    python benchmarks/generate_data.py OUT_DIR --persons 100000                # 12 months of history

Targets (2 cores): 1,000,000 persons with --months 0 in under ~3 minutes and < 8 GB;
100,000 persons with 12 months in a few minutes at most. CPU seconds do not depend on what else
runs on a shared machine; wall time does, so both are printed with the load average.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _rss_gb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("out_dir", type=Path, help="output folder (a previous generated bank is replaced)")
    parser.add_argument("--persons", type=int, default=100_000)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--batches", type=int, default=None)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()

    from cdp.synth import generate_bank

    started, cpu_started = time.perf_counter(), _cpu_seconds()

    def on_step(name: str) -> None:
        wall, cpu = time.perf_counter() - started, _cpu_seconds() - cpu_started
        print(
            f"  -> {name:<13} after {wall:7.1f} s wall {cpu:7.1f} s CPU  rss {_rss_gb():5.2f} GB", flush=True
        )

    summary = generate_bank(
        args.out_dir,
        persons=args.persons,
        seed=args.seed,
        months=args.months,
        batches=args.batches,
        on_step=on_step,
    )
    wall, cpu = time.perf_counter() - started, _cpu_seconds() - cpu_started
    print(f"persons              {args.persons:>12,}")
    print(f"party records        {summary.truth_rows:>12,}")
    print(f"rows written         {sum(summary.files.values()):>12,}")
    print(f"total                {wall:>11.1f} s wall {cpu:>7.1f} s CPU")
    print(f"load average         {os.getloadavg()[0]:>11.1f}  (on {os.cpu_count()} cores)")
    print(f"peak RSS             {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6:>11.2f} GB")


if __name__ == "__main__":
    main()
