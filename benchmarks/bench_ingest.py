"""Time ingestion + standardization of party records and report throughput and peak memory.

Usage:
    python benchmarks/bench_ingest.py DATA_DIR                     # DATA_DIR/sources.yaml exists
    python benchmarks/bench_ingest.py DATA_DIR --generate 1000000  # generate first (parties only)
    python benchmarks/bench_ingest.py /tmp/inc --incremental --generate 500000 --delta 10000

Generation runs in a child process so that the reported peak RSS is ingestion's own. Target:
1,000,000 persons' party records in < 60 s and < 4 GB on 2 cores.

``--incremental`` compares, for party and account files,
a full ingest + standardize + publish of a base (batch 01 of a batched generation) with the
incremental ingest of a small delta (the first ``--delta`` party records of batch 02, and the
same share of its account rows) on top. Target: the increment takes <= 5% of the full run.
"""

from __future__ import annotations

import argparse
import logging
import os
import resource
import shutil
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


KINDS = ("parties", "accounts")
TABLES = ("parties", "accounts", "account_holders", "rejects", "reconciliation", "files")


def _generate_batches(work: Path, persons: int, seed: int) -> None:
    code = (
        "from pathlib import Path; from cdp.synth.bank import generate_bank; "
        f"s = generate_bank(Path({str(work / 'bank')!r}), persons={persons}, seed={seed}, "
        "months=0, batches=2); "
        "print('generated', sum(s.records.values()), 'party records in', round(s.seconds, 1), 's')"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def _head(source: Path, target: Path, fraction: float) -> int:
    """Copy the header and the first ``fraction`` of the data lines (synthetic rows are one line each)."""
    lines = source.read_bytes().splitlines(keepends=True)
    keep = round((len(lines) - 1) * fraction)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(b"".join(lines[: 1 + keep]))
    return keep


def _prepare(work: Path, delta: int) -> None:
    """base/: the config with batch 01 landed; delta/: the share of batch 02 to land later."""
    from cdp.config import load_config

    bank = work / "bank"
    for name in ("base", "delta", "state"):
        shutil.rmtree(work / name, ignore_errors=True)
    (work / "base").mkdir()
    shutil.copy(bank / "sources.yaml", work / "base" / "sources.yaml")
    config = load_config(bank / "sources.yaml")
    batch = {kind: [] for kind in KINDS}
    for kind in KINDS:
        for spec in config.specs(kind):
            pattern = spec.path.replace("landing/", "", 1)
            for number, target in (("01", batch[kind]), ("02", None)):
                for path in sorted((bank / "batches" / number).glob(pattern)):
                    relative = Path("landing") / path.relative_to(bank / "batches" / number)
                    if target is None:
                        batch[kind].append((path, relative))
                        continue
                    (work / "base" / relative).parent.mkdir(parents=True, exist_ok=True)
                    os.link(path, work / "base" / relative)
    party_rows = sum(sum(1 for _ in path.open("rb")) - 1 for path, _ in batch["parties"])
    fraction = min(1.0, delta / party_rows)
    kept = {
        kind: sum(_head(path, work / "delta" / rel, fraction) for path, rel in batch[kind]) for kind in KINDS
    }
    print(
        f"delta: {kept['parties']:,} party rows, {kept['accounts']:,} account rows "
        f"({fraction:.1%} of batch 02)"
    )


def _files_size(folder: Path) -> float:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file()) / 1e6


def _phase(work: Path, mode: str) -> None:
    """One measured run in this (child) process: ``full`` on base/, or ``incremental`` on top of state/."""
    import polars as pl

    from cdp.config import load_config
    from cdp.ingest import standardize_frame
    from cdp.ingest.incremental import map_increment, merge_increment
    from cdp.privacy.erasure import ErasureRegister

    config = load_config(work / "base" / "sources.yaml")
    state = work / "state"
    marks = [("start", time.perf_counter(), _cpu_seconds())]

    def mark(name: str) -> None:
        marks.append((name, time.perf_counter(), _cpu_seconds()))

    previous = {}
    if mode == "incremental":
        previous = {table: pl.read_parquet(state / f"{table}.parquet") for table in TABLES}
        mark("read previous")
    increment = map_increment(config, previous.get("files"), erasure=ErasureRegister.empty(), kinds=KINDS)
    mark("read+map+hash")
    standardized = {t: standardize_frame(t, getattr(increment, t)) for t in TABLES[:3]}
    mark("standardize")
    merged = {
        t: merge_increment(t, previous.get(t), increment, standardized=standardized.get(t)) for t in TABLES
    }
    mark("merge+sort")
    state.mkdir(exist_ok=True)
    for table, frame in merged.items():
        frame.write_parquet(state / f"{table}.parquet")
    mark("write parquet")
    print(
        f"[{mode}] files read {increment.files.height}, "
        f"rows read {int(increment.files['rows_read'].sum()):,}, full={increment.full}, "
        f"parties {merged['parties'].height:,}, accounts {merged['accounts'].height:,}, "
        f"holders {merged['account_holders'].height:,}"
    )
    for (_, wall0, cpu0), (name, wall1, cpu1) in zip(marks, marks[1:], strict=False):
        print(f"[{mode}] {name:<16} {wall1 - wall0:>8.2f} s wall {cpu1 - cpu0:>7.2f} s CPU")
    total = marks[-1][1] - marks[0][1]
    print(f"[{mode}] total            {total:>8.2f} s wall {marks[-1][2] - marks[0][2]:>7.2f} s CPU")
    print(f"[{mode}] peak RSS         {_peak_rss_gb():>8.2f} GB")
    print(f"RESULT {mode} {total:.3f} {_peak_rss_gb():.3f}")


def _child(work: Path, mode: str) -> tuple[float, float]:
    out = subprocess.run(
        [sys.executable, __file__, str(work), "--phase", mode],
        check=True,
        cwd=ROOT,
        capture_output=True,
        text=True,
    ).stdout
    print(out, end="")
    _, _, seconds, rss = next(line for line in out.splitlines() if line.startswith("RESULT")).split()
    return float(seconds), float(rss)


def _run_incremental(work: Path, *, persons: int | None, seed: int, delta: int) -> None:
    if persons:
        _generate_batches(work, persons, seed)
    _prepare(work, delta)
    print(
        f"base files {_files_size(work / 'base'):,.0f} MB, delta files {_files_size(work / 'delta'):,.0f} MB"
    )
    full, full_rss = _child(work, "full")
    shutil.copytree(work / "delta", work / "base", dirs_exist_ok=True)
    incremental, incremental_rss = _child(work, "incremental")
    print(
        f"incremental / full: {incremental / full:.1%} of the time, "
        f"{incremental_rss / full_rss:.0%} of the peak RSS"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("data_dir", type=Path, help="folder holding sources.yaml and the extracts")
    parser.add_argument("--generate", type=int, metavar="PERSONS", help="generate this many persons first")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--incremental", action="store_true", help="full vs incremental (see above)")
    parser.add_argument("--delta", type=int, default=10_000, help="party records in the increment")
    parser.add_argument("--phase", choices=("full", "incremental"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.phase:
        _phase(args.data_dir, args.phase)
        return
    if args.incremental:
        _run_incremental(args.data_dir, persons=args.generate, seed=args.seed, delta=args.delta)
        return
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
