"""Benchmark features and segments on synthetic canonical frames with 12 months of transactions.

Usage::

    python benchmarks/bench_features.py --customers 100000 [--workdir DIR] [--threads 2]
    python benchmarks/bench_features.py --customers 10000 100000 1000000   # growth table

The frames (std_parties, identity_clusters, std_accounts, std_account_holders, std_transactions,
std_events and a customer_360 subset) are generated with NumPy into Parquet: about 30
transactions per customer and month (salary on a biweekly, semi-monthly or monthly cadence moved
off weekends, rent, bills, savings transfers, debit and card purchases, card repayments, cash),
digital logins and page views, job changes, moves and mortgage-rate browsing. A fresh child
process pinned to ``--threads`` Polars threads then reads them, builds the features and life
events, evaluates the starter segments and updates the membership history, so the reported peak
RSS is the build's own, not the generator's. (``cdp.synth.generate_bank`` writes raw extracts
that need the whole ingest and resolution pipeline first; this benchmark isolates the stage.)
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

AS_OF = dt.date(2026, 10, 31)
DAYS = 366
PART_SIZE = 100_000
FRAMES = ("transactions", "accounts", "account_holders", "events", "parties", "clusters", "customers")
_MERCHANTS = 2000
_EMPLOYERS = 5000


def _weekend_back(days: np.ndarray) -> np.ndarray:
    """Move weekend dates (days since epoch) back to Friday, as payroll does."""
    weekday = (days + 3) % 7  # Monday = 0
    return days - np.where(weekday == 5, 1, np.where(weekday == 6, 2, 0))


def _grid(
    rng: np.random.Generator, owners: np.ndarray, per_year: float, start: int
) -> tuple[np.ndarray, np.ndarray]:
    """Poisson-many random days in the window for each owner."""
    count = rng.poisson(per_year, owners.size)
    who = np.repeat(owners, count)
    return who, start + rng.integers(0, DAYS, who.size)


def generate(customers: int, out: Path, *, seed: int = 7, part_size: int = PART_SIZE) -> dict[str, int]:
    """Write the canonical frames for ``customers`` people into ``out``; return row counts.

    Each frame is written as ``<frame>-<part>.parquet`` files of ``part_size`` customers, so that
    a million customers never have to be held in memory at once; read them back with a glob.
    """
    rng = np.random.default_rng(seed)
    totals: dict[str, int] = {}
    for part, first in enumerate(range(0, customers, part_size)):
        counts = _generate_part(rng, min(part_size, customers - first), out, part=part, first=first)
        totals = {key: totals.get(key, 0) + value for key, value in counts.items()}
    return totals


def _generate_part(rng: np.random.Generator, n: int, out: Path, *, part: int, first: int) -> dict[str, int]:
    import polars as pl

    prefix = f"{part:03d}"
    epoch = dt.date(1970, 1, 1)
    end = (AS_OF - epoch).days
    start = end - DAYS + 1
    cid = pl.Series(np.arange(first, first + n)).cast(pl.String).str.zfill(9)
    customer_ids = ("C" + cid).alias("customer_id")
    dob = pl.Series(rng.integers(-20000, 12000, n)).cast(pl.Date)
    pl.DataFrame({"customer_id": customer_ids, "date_of_birth": dob}).write_parquet(
        out / f"customers-{prefix}.parquet"
    )

    # party records: one core record each; a fifth also have a card record, some at a new address
    second = np.flatnonzero(rng.random(n) < 0.2)
    moved = rng.random(second.size) < 0.25
    house, zips = rng.integers(1, 9999, n), rng.integers(10000, 99999, n)
    new_house, new_zip = rng.integers(1, 9999, second.size), rng.integers(10000, 99999, second.size)
    parties = pl.DataFrame(
        {
            "source": ["core_customers"] * n + ["card_holders"] * second.size,
            "record_id": pl.concat([("K" + cid), ("H" + cid.gather(second))]),
            # the card record repeats the core address, except for the quarter who moved since
            "address_line1": pl.Series(
                np.concatenate([house, np.where(moved, new_house, house[second])])
            ).cast(pl.String)
            + " main st",
            "postcode": pl.Series(np.concatenate([zips, np.where(moved, new_zip, zips[second])])).cast(
                pl.String
            ),
            "updated_at": pl.Series(
                np.concatenate(
                    [rng.integers(end - 3000, end - 400, n), rng.integers(end - 360, end, second.size)]
                )
            ).cast(pl.Date),
            "customer_since": pl.Series(
                np.concatenate([rng.integers(end - 9000, end - 30, n), np.full(second.size, end - 400)])
            ).cast(pl.Date),
        }
    )
    owner = np.concatenate([np.arange(n), second])
    parties.write_parquet(out / f"parties-{prefix}.parquet")
    parties.select("source", "record_id", customer_id=customer_ids.gather(owner)).write_parquet(
        out / f"clusters-{prefix}.parquet"
    )

    # accounts: checking for all, savings for half, a card for half, a mortgage for 15%
    saver = np.flatnonzero(rng.random(n) < 0.5)
    carded = np.flatnonzero(rng.random(n) < 0.5)
    mortgaged = np.flatnonzero(rng.random(n) < 0.15)
    kinds = [
        ("deposit", "checking", np.arange(n)),
        ("deposit", "savings", saver),
        ("card", "credit_card", carded),
        ("mortgage", "fixed_30", mortgaged),
    ]
    acct_owner = np.concatenate([k[2] for k in kinds])
    family = np.concatenate([np.full(k[2].size, k[0]) for k in kinds])
    m = acct_owner.size
    accounts = pl.DataFrame(
        {
            "source": "core_accounts",
            "account_id": prefix + pl.Series(np.arange(m)).cast(pl.String).str.zfill(10),
            "product_family": family,
            "product_type": np.concatenate([np.full(k[2].size, k[1]) for k in kinds]),
            "balance": np.where(family == "mortgage", rng.gamma(2.0, 90000.0, m), rng.gamma(1.5, 4000.0, m))
            - np.where(rng.random(m) < 0.03, 6000.0, 0.0),
            "credit_limit": np.where(family == "card", rng.choice([1000.0, 5000.0, 10000.0], m), np.nan),
            "days_past_due": np.where(rng.random(m) < 0.04, rng.integers(1, 120, m), 0),
            "opened_date": pl.Series(rng.integers(end - 9000, end - 400, m)).cast(pl.Date),
            "status": "open",
        }
    ).with_columns(pl.col("credit_limit").fill_nan(None))
    accounts.write_parquet(out / f"accounts-{prefix}.parquet")
    joint = np.flatnonzero((family == "deposit") & (rng.random(m) < 0.08))
    holder_owner = np.concatenate([acct_owner, (acct_owner[joint] + 1) % n])
    holder_acct = np.concatenate([np.arange(m), joint])
    pl.DataFrame(
        {
            "account_source": "core_accounts",
            "account_id": accounts["account_id"].gather(holder_acct),
            "party_source": "core_customers",
            "party_record_id": "K" + cid.gather(holder_owner),
            "role": np.where(np.arange(holder_owner.size) < m, "primary", "joint"),
        }
    ).write_parquet(out / f"account_holders-{prefix}.parquet")

    checking = np.arange(n)  # account index of each customer's checking account
    savings_of = np.full(n, -1)
    savings_of[saver] = np.arange(n, n + saver.size)
    card_of = np.full(n, -1)
    card_of[carded] = np.arange(n + saver.size, n + saver.size + carded.size)
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, str, np.ndarray]] = []

    def add(acct: np.ndarray, days: np.ndarray, amount: np.ndarray, category: str, party: np.ndarray) -> None:
        parts.append((acct, days, amount, category, party))

    # salary: 80% employed, cadence biweekly / semi-monthly / monthly; 8% change job mid-year
    employed = np.flatnonzero(rng.random(n) < 0.8)
    cadence = rng.choice(3, employed.size, p=[0.45, 0.25, 0.30])
    pay = np.exp(rng.normal(8.0, 0.5, employed.size))
    employer = rng.integers(0, _EMPLOYERS, employed.size)
    switch = np.where(
        rng.random(employed.size) < 0.08, rng.integers(start + 60, end - 30, employed.size), end + 1
    )
    k = np.arange(27)
    biweekly = start + rng.integers(0, 14, employed.size)[:, None] + 14 * k[None, :]
    months = np.array(
        [
            (dt.date(AS_OF.year - 1 + (AS_OF.month + i) // 12, (AS_OF.month + i) % 12 + 1, 1) - epoch).days
            for i in range(13)
        ]
    )
    semi = np.concatenate([months + 14, np.append(months[1:] - 1, months[-1] + 30)])[None, :].repeat(
        employed.size, 0
    )
    monthly = (months + 27)[None, :].repeat(employed.size, 0)
    width = max(biweekly.shape[1], semi.shape[1], monthly.shape[1])

    def pad(a: np.ndarray) -> np.ndarray:
        return np.pad(a, ((0, 0), (0, width - a.shape[1])), constant_values=end + 999)

    days = np.where(
        cadence[:, None] == 0, pad(biweekly), np.where(cadence[:, None] == 1, pad(semi), pad(monthly))
    )
    days = _weekend_back(days)
    rows, cols = np.nonzero((days >= start) & (days <= end))
    day = days[rows, cols]
    new_job = day >= switch[rows]
    add(
        checking[employed[rows]],
        day,
        pay[rows] * rng.normal(1.0, 0.02, rows.size) * (1 + 0.15 * new_job),
        "salary",
        np.where(new_job, (employer[rows] + 7) % _EMPLOYERS, employer[rows]),
    )

    month_grid = np.repeat(months[None, :], n, 0)
    everyone = np.arange(n)[:, None].repeat(13, 1)
    for day_of_month, category, per, share in (
        (0, "rent", 1200.0, 0.85),
        (4, "bill", 90.0, 1.0),
        (11, "bill", 60.0, 1.0),
        (19, "bill", 45.0, 1.0),
    ):
        who = rng.random(n) < share
        mask = who[everyone] & (month_grid + day_of_month <= end) & (month_grid + day_of_month >= start)
        r, c = np.nonzero(mask)
        base = per * np.exp(rng.normal(0, 0.4, n))
        add(
            checking[r],
            _weekend_back(month_grid[r, c] + day_of_month),
            -base[r] * rng.normal(1, 0.05, r.size),
            category,
            np.full(r.size, 10_000 + day_of_month),
        )
    # monthly savings transfer (internal) and card repayment
    r, c = np.nonzero((month_grid[saver] + 2 <= end) & (month_grid[saver] + 2 >= start))
    amount = rng.uniform(50, 500, saver.size)[r]
    add(checking[saver[r]], month_grid[saver[r], c] + 2, -amount, "transfer", np.full(r.size, -1))
    add(savings_of[saver[r]], month_grid[saver[r], c] + 2, amount, "transfer", np.full(r.size, -1))
    r, c = np.nonzero((month_grid[carded] + 20 <= end) & (month_grid[carded] + 20 >= start))
    amount = rng.gamma(2.0, 300.0, carded.size)[r]
    add(checking[carded[r]], month_grid[carded[r], c] + 20, -amount, "card_payment", np.full(r.size, 20_000))
    add(card_of[carded[r]], month_grid[carded[r], c] + 20, amount, "card_payment", np.full(r.size, 20_000))
    # purchases: debit ~10 a month, card ~15 a month, cash ~2 a month; rare large one-off deposits
    who, day = _grid(rng, np.arange(n), 120, start)
    add(
        checking[who],
        day,
        -rng.lognormal(3.2, 1.0, who.size),
        "purchase",
        rng.integers(0, _MERCHANTS, who.size),
    )
    who, day = _grid(rng, carded, 180, start)
    add(
        card_of[who],
        day,
        -rng.lognormal(3.3, 1.0, who.size),
        "purchase",
        rng.integers(0, _MERCHANTS, who.size),
    )
    who, day = _grid(rng, np.arange(n), 24, start)
    add(checking[who], day, -rng.choice([40.0, 60.0, 100.0, 200.0], who.size), "other", np.full(who.size, -1))
    who, day = _grid(rng, np.arange(n), 0.03, start)
    add(checking[who], day, rng.uniform(5000, 50000, who.size), "deposit", np.full(who.size, 30_000))

    acct = np.concatenate([p[0] for p in parts])
    party = np.concatenate([p[4] for p in parts])
    names = {
        10_000: "landlord",
        10_004: "power co",
        10_011: "telco",
        10_019: "insurer",
        20_000: "card services",
        30_000: "title co",
    }
    counterparty = (
        pl.Series(party)
        .cast(pl.String)
        .replace_strict({str(key): value for key, value in names.items()}, default=None)
    )
    is_salary = np.concatenate([np.full(p[0].size, p[3] == "salary") for p in parts])
    is_merchant = np.concatenate([np.full(p[0].size, p[3] == "purchase") for p in parts])
    counterparty = (
        pl.when(pl.Series(is_salary))
        .then(pl.lit("EMPLOYER ") + pl.Series(party).cast(pl.String))
        .when(pl.Series(is_merchant))
        .then(pl.lit("MERCHANT ") + pl.Series(party).cast(pl.String))
        .otherwise(counterparty)
    )
    tx = pl.DataFrame(
        {
            "acct": acct,
            "posted_date": pl.Series(np.concatenate([p[1] for p in parts])).cast(pl.Date),
            "amount": np.round(np.concatenate([p[2] for p in parts]), 2),
            "category": np.concatenate([np.full(p[0].size, p[3]) for p in parts]),
        }
    ).with_columns(counterparty=counterparty)
    tx = tx.select(
        source=pl.lit("core_transactions"),
        transaction_id=pl.lit(prefix) + pl.int_range(pl.len()).cast(pl.String),
        account_source=pl.lit("core_accounts"),
        account_id=pl.lit(prefix) + pl.col("acct").cast(pl.String).str.zfill(10),
        posted_date="posted_date",
        amount="amount",
        category="category",
        counterparty="counterparty",
    )
    tx.write_parquet(out / f"transactions-{prefix}.parquet")

    # digital: 60% log in ~5 times a month; 3% browse mortgage rates repeatedly in the last month
    digital = np.flatnonzero(rng.random(n) < 0.6)
    who, day = _grid(rng, digital, 60, start)
    intent = np.flatnonzero(rng.random(n) < 0.03)
    intent_who = np.repeat(intent, 4)
    events = pl.DataFrame(
        {
            "who": np.concatenate([who, who[: who.size // 2], intent_who]),
            "day": np.concatenate([day, day[: who.size // 2], end - rng.integers(0, 10, intent_who.size)]),
            "event_type": np.concatenate(
                [
                    np.full(who.size, "login"),
                    np.full(who.size // 2, "page_view"),
                    np.full(intent_who.size, "page_view"),
                ]
            ),
            "page": np.concatenate(
                [
                    np.full(who.size, ""),
                    np.full(who.size // 2, "/accounts"),
                    np.full(intent_who.size, "/mortgages/rates"),
                ]
            ),
        }
    )
    events.select(
        source=pl.lit("digital_events"),
        event_id=pl.lit(prefix) + pl.int_range(pl.len()).cast(pl.String),
        party_source=pl.lit("core_customers"),
        party_record_id="K" + cid.gather(events["who"]),
        event_time=pl.col("day").cast(pl.Date).cast(pl.Datetime("us")) + pl.duration(hours=12),
        event_type="event_type",
        page=pl.when(pl.col("page") != "").then(pl.col("page")),
        channel=pl.lit("app"),
    ).write_parquet(out / f"events-{prefix}.parquet")
    return {
        "customers": n,
        "transactions": tx.height,
        "accounts": m,
        "events": events.height,
        "parties": parties.height,
    }


def run_build(workdir: Path, *, lazy: bool = False, batch_size: int | None = None) -> dict[str, float | int]:
    """Read the frames, build features, evaluate segments, update membership; timings and sizes."""
    import polars as pl

    from cdp.features import build_customer_features
    from cdp.schemas.canonical import (
        ACCOUNT_COLUMNS,
        ACCOUNT_HOLDER_COLUMNS,
        CLUSTER_COLUMNS,
        EVENT_COLUMNS,
        PARTY_COLUMNS,
        TRANSACTION_COLUMNS,
        conform,
    )
    from cdp.segments import evaluate_segments, load_segments, update_membership_history

    contracts = {
        "transactions": TRANSACTION_COLUMNS,
        "accounts": ACCOUNT_COLUMNS,
        "account_holders": ACCOUNT_HOLDER_COLUMNS,
        "events": EVENT_COLUMNS,
        "parties": PARTY_COLUMNS,
        "clusters": CLUSTER_COLUMNS,
    }
    scanned = ("transactions", "events") if lazy else ()
    frames: dict[str, pl.DataFrame | pl.LazyFrame] = {}
    for name in FRAMES:
        path = workdir / f"{name}-*.parquet"
        if name in scanned:
            frames[name] = pl.scan_parquet(path)
        else:
            frame = pl.read_parquet(path)
            frames[name] = conform(frame, contracts[name]) if name in contracts else frame
    customers = pl.DataFrame(frames["customers"]).with_columns(
        age=((pl.lit(AS_OF) - pl.col("date_of_birth")).dt.total_days() // 365).cast(pl.Int64)
    )
    frames["customers"] = customers
    loaded_rss = _rss_mb()
    sampler = _PeakSampler()
    sampler.start()
    cpu_started = _cpu_seconds()
    started = time.perf_counter()
    result = build_customer_features(**frames, as_of=AS_OF, batch_size=batch_size)
    features_seconds = time.perf_counter() - started
    started = time.perf_counter()
    current = evaluate_segments(load_segments(), customers=customers, features=result.features, as_of=AS_OF)
    history = update_membership_history(None, current, run_id="bench", as_of=AS_OF)
    segments_seconds = time.perf_counter() - started
    sampler.stop()
    return {
        "features_seconds": round(features_seconds, 2),
        "segments_seconds": round(segments_seconds, 2),
        "cpu_seconds": round(_cpu_seconds() - cpu_started, 1),
        "peak_rss_mb": round(max(sampler.peak, loaded_rss)),
        "rss_after_load_mb": round(loaded_rss),
        "max_rss_with_loading_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "customers": result.features.height,
        "transactions": pl.scan_parquet(workdir / "transactions-*.parquet").select(pl.len()).collect().item(),
        "life_events": result.life_events.height,
        "with_salary": int(result.features["salary_detected"].sum()),
        "membership_rows": history.height,
        "polars_threads": pl.thread_pool_size(),
    }


def _rss_mb() -> float:
    import psutil

    return float(psutil.Process().memory_info().rss) / 2**20


class _PeakSampler(threading.Thread):
    """Samples this process's RSS every 50 ms: the peak of the build, not of reading the inputs."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak = 0.0
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.wait(0.05):
            self.peak = max(self.peak, _rss_mb())

    def stop(self) -> None:
        self._done.set()
        self.join()
        self.peak = max(self.peak, _rss_mb())


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _bench(
    customers: int, workdir: Path, threads: int, *, reuse: bool, lazy: bool, batch_size: int | None
) -> dict[str, float | int]:
    if reuse and all(any(workdir.glob(f"{name}-*.parquet")) for name in FRAMES):
        print(f"reusing the frames in {workdir}", flush=True)
    else:
        started = time.perf_counter()
        counts = generate(customers, workdir)
        print(f"generated {counts} in {time.perf_counter() - started:.1f}s", flush=True)
    repo = Path(__file__).resolve().parent.parent
    python_path = os.pathsep.join(filter(None, [str(repo), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "POLARS_MAX_THREADS": str(threads), "PYTHONPATH": python_path}
    child = subprocess.run(
        [
            sys.executable,
            __file__,
            "--child",
            "--workdir",
            str(workdir),
            *(["--lazy"] if lazy else []),
            *(["--batch-size", str(batch_size)] if batch_size else []),
        ],
        env=env,
        capture_output=True,
        text=True,
    )
    if child.returncode != 0:
        sys.exit(f"build failed:\n{child.stderr}")
    report: dict[str, float | int] = json.loads(child.stdout.strip().splitlines()[-1])
    print(json.dumps(report), flush=True)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--customers", type=int, nargs="+", default=[100_000])
    parser.add_argument(
        "--workdir", type=Path, default=None, help="keep generated Parquet here (default: temp dir)"
    )
    parser.add_argument("--threads", type=int, default=2, help="POLARS_MAX_THREADS of the build process")
    parser.add_argument("--reuse", action="store_true", help="reuse frames already generated in --workdir")
    parser.add_argument(
        "--lazy",
        action="store_true",
        help="pass transactions and events as Parquet scans instead of DataFrames",
    )
    parser.add_argument(
        "--batch-size", type=int, default=None, help="customers per feature batch (default: all at once)"
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_build(args.workdir, lazy=args.lazy, batch_size=args.batch_size)))
        return
    rows = []
    for customers in args.customers:
        with tempfile.TemporaryDirectory(prefix="bench_features_") as temporary:
            workdir = (args.workdir / str(customers)) if args.workdir else Path(temporary)
            workdir.mkdir(parents=True, exist_ok=True)
            rows.append(
                (
                    customers,
                    _bench(
                        customers,
                        workdir,
                        args.threads,
                        reuse=args.reuse,
                        lazy=args.lazy,
                        batch_size=args.batch_size,
                    ),
                )
            )
    header = ("customers", "transactions", "features s", "segments s", "CPU s", "peak RSS MB")
    print(" ".join(f"{name:>{width}}" for name, width in zip(header, (10, 13, 10, 10, 7, 11), strict=True)))
    for customers, report in rows:
        print(
            f"{customers:>10,} {report['transactions']:>13,} {report['features_seconds']:>10} "
            f"{report['segments_seconds']:>10} {report['cpu_seconds']:>7} {report['peak_rss_mb']:>11}"
        )


if __name__ == "__main__":
    main()
