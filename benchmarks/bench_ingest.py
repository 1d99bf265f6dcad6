"""Time ingestion + standardization of party records and report throughput and peak memory.

Usage:
    python benchmarks/bench_ingest.py DATA_DIR                     # DATA_DIR/sources.yaml exists
    python benchmarks/bench_ingest.py DATA_DIR --generate 1000000  # generate first (parties only)

Generation runs in a child process so that the reported peak RSS is ingestion's own. Target:
1,000,000 persons' party records in < 60 s and < 4 GB on 2 cores.
"""

from __future__ import annotations

import argparse
import logging
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _generate(data_dir: Path, persons: int, seed: int) -> None:
    code = (
        "from pathlib import Path; from cdp.synth.bank import generate_bank; "
        f"s = generate_bank(Path({str(data_dir)!r}), persons={persons}, seed={seed}, months=0); "
        "print('generated', sum(s.records.values()), 'party records in', round(s.seconds, 1), 's')"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("data_dir", type=Path, help="folder holding sources.yaml and the extracts")
    parser.add_argument("--generate", type=int, metavar="PERSONS", help="generate this many persons first")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.generate:
        _generate(args.data_dir, args.generate, args.seed)

    from cdp.config import load_config
    from cdp.ingest.sources import map_sources, standardize_mapped
    from cdp.privacy.erasure import ErasureRegister

    config = load_config(args.data_dir / "sources.yaml")
    cpu_started, started = _cpu_seconds(), time.perf_counter()
    mapped = map_sources(config, erasure=ErasureRegister.empty(), kinds=("parties",))
    cpu_mapped, mapped_at = _cpu_seconds(), time.perf_counter()
    result = standardize_mapped(mapped)
    cpu_finished, finished = _cpu_seconds(), time.perf_counter()

    rows = int(result.reconciliation["rows_read"].sum())
    total = finished - started
    print(f"party rows read      {rows:>12,}")
    print(f"party records out    {result.parties.height:>12,}")
    print(f"rejected rows        {int(result.reconciliation['rows_rejected'].sum()):>12,}")
    # CPU seconds (all threads) do not depend on what else runs on a shared machine; wall time does.
    phases = (
        ("read+map+contracts", mapped_at - started, cpu_mapped - cpu_started),
        ("standardize", finished - mapped_at, cpu_finished - cpu_mapped),
        ("total", total, cpu_finished - cpu_started),
    )
    for name, wall, cpu in phases:
        print(f"{name:<20} {wall:>11.1f} s wall {cpu:>7.1f} s CPU")
    print(f"throughput           {rows / total:>11,.0f} rows/s")
    print(f"load average         {os.getloadavg()[0]:>11.1f}  (on {os.cpu_count()} cores)")
    print(f"peak RSS             {_peak_rss_gb():>11.2f} GB")


if __name__ == "__main__":
    main()
