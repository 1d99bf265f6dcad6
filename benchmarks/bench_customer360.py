"""Benchmark the customer 360 build on synthetic canonical frames.

Usage::

    python benchmarks/bench_customer360.py --persons 1000000 [--workdir DIR] [--threads 2]

The frames (std_parties, identity_clusters, std_accounts, std_account_holders, std_events,
std_consents) are generated with vectorized Polars/NumPy into Parquet, then a fresh child
process (pinned to ``--threads`` Polars threads) reads them and builds every customer 360 table,
so the reported peak RSS is the build's own, not the generator's.
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
import time
from pathlib import Path

import numpy as np

FRAMES = ("parties", "clusters", "accounts", "account_holders", "events", "consents")
AS_OF = dt.date(2026, 10, 31)

# (source, system, share of persons with a record there)
_PARTY_SOURCES = (
    ("core_customers", "core", 0.80),
    ("card_holders", "card", 0.40),
    ("mortgage_borrowers", "mortgage", 0.10),
    ("digital_users", "digital", 0.45),
)
_FIRST = [f"first{i}" for i in range(700)]
_LAST = [f"last{i}" for i in range(2000)]
_STREETS = [f"street{i} st" for i in range(3000)]
_CITIES = [f"city{i}" for i in range(500)]
_STATES = ["CA", "NY", "TX", "FL", "IL", "PA", "OH", "GA", "NC", "MI"]


def generate(persons: int, out: Path, *, seed: int = 7) -> dict[str, int]:
    """Write synthetic canonical frames for ``persons`` people into ``out`` as Parquet; return row counts."""
    import polars as pl

    rng = np.random.default_rng(seed)
    person = pl.DataFrame(
        {
            "person": np.arange(persons, dtype=np.int64),
            "first": rng.integers(0, len(_FIRST), persons),
            "last": rng.integers(0, len(_LAST), persons),
            "dob_days": rng.integers(-20000, 2000, persons),
            "house": rng.integers(1, 9999, persons),
            "street": rng.integers(0, len(_STREETS), persons),
            "city": rng.integers(0, len(_CITIES), persons),
            "zip": rng.integers(10000, 99999, persons),
            "phone": rng.integers(2_000_000_000, 9_999_999_999, persons, dtype=np.int64),
            "since_days": rng.integers(-9000, 0, persons),
        }
    )
    # A third of people live with the person next to them: shared households.
    partner = np.where(rng.random(persons) < 0.33, np.arange(persons) ^ 1, np.arange(persons))
    partner = np.minimum(partner, persons - 1)
    person = person.with_columns(
        [pl.Series(name, person[name].to_numpy()[partner]) for name in ("house", "street", "city", "zip")]
    )
    parts = []
    for source, system, share in _PARTY_SOURCES:
        take = person.filter(pl.Series(rng.random(persons) < share))
        parts.append(take.with_columns(source=pl.lit(source), source_system=pl.lit(system)))
    dups = parts[0].filter(pl.Series(rng.random(parts[0].height) < 0.05))
    parts.append(dups.with_columns(source=pl.lit("core_customers"), _dup=pl.lit(True)))
    records = pl.concat(
        [part.with_columns(_dup=pl.lit(False)) if "_dup" not in part.columns else part for part in parts],
        how="diagonal",
    )
    n = records.height
    noise = pl.DataFrame(
        {
            "u_email": rng.random(n),
            "u_move": rng.random(n),
            "u_upd": rng.random(n),
            "upd_days": rng.integers(-2000, 0, n),
            "u_mid": rng.random(n),
            "mid": rng.integers(0, 26, n),
        }
    )
    records = pl.concat([records, noise], how="horizontal").with_row_index("_row")
    first = pl.Series(_FIRST).gather(records["first"])
    last = pl.Series(_LAST).gather(records["last"])
    epoch = dt.date(1970, 1, 1)
    parties = records.with_columns(
        record_id=pl.concat_str([pl.lit("R"), pl.col("_row").cast(pl.String())]),
        first_name=first,
        last_name=last,
        middle_name=pl.when(pl.col("u_mid") < 0.3).then(
            pl.Series(list("abcdefghijklmnopqrstuvwxyz")).gather(records["mid"])
        ),
        date_of_birth=pl.lit(epoch) + pl.duration(days=pl.col("dob_days")),
        email=pl.when(pl.col("u_email") < 0.03)
        .then(pl.lit("noemail@bank.com"))
        .when(pl.col("u_email") < 0.15)
        .then(None)
        .otherwise(
            pl.concat_str([first, pl.lit("."), last, pl.col("person").cast(pl.String()), pl.lit("@mail.com")])
        ),
        phone=pl.concat_str([pl.lit("+1"), pl.col("phone").cast(pl.String())]),
        address_line1=pl.concat_str(
            [
                (pl.col("house") + (pl.col("u_move") < 0.1).cast(pl.Int64()) * 7).cast(pl.String()),
                pl.lit(" "),
                pl.Series(_STREETS).gather(records["street"]),
            ]
        ),
        city=pl.Series(_CITIES).gather(records["city"]),
        state=pl.Series(_STATES).gather(records["city"] % len(_STATES)),
        postcode=pl.col("zip").cast(pl.String()),
        country=pl.lit("US"),
        national_id_token=pl.when(pl.col("source_system") != "digital").then(
            pl.col("person").cast(pl.String()).str.zfill(12)
        ),
        customer_since=pl.lit(epoch) + pl.duration(days=pl.col("since_days") + 20000),
        updated_at=pl.when(pl.col("u_upd") < 0.7).then(
            pl.lit(epoch) + pl.duration(days=pl.col("upd_days") + 20000)
        ),
        is_deceased=pl.lit(False),
        do_not_contact=pl.col("u_upd") > 0.97,
        source_file=pl.concat_str([pl.col("source"), pl.lit(".csv")]),
        source_row=pl.col("_row").cast(pl.Int64()) + 2,
    )
    parties.select(
        "source",
        "record_id",
        "source_system",
        "first_name",
        "middle_name",
        "last_name",
        "date_of_birth",
        "email",
        "phone",
        "address_line1",
        "city",
        "state",
        "postcode",
        "country",
        "national_id_token",
        "customer_since",
        "updated_at",
        "is_deceased",
        "do_not_contact",
        "source_file",
        "source_row",
    ).write_parquet(out / "parties.parquet")
    parties.select(
        "source",
        "record_id",
        customer_id=pl.concat_str([pl.lit("C"), pl.col("person").cast(pl.String()).str.zfill(9)]),
    ).write_parquet(out / "clusters.parquet")

    accounts, holders = _accounts(parties, rng)
    accounts.write_parquet(out / "accounts.parquet")
    holders.write_parquet(out / "account_holders.parquet")
    digital = parties.filter(pl.col("source") == "digital_users").select("record_id")
    events = _events(digital, rng)
    events.write_parquet(out / "events.parquet")
    consents = _consents(parties.filter(pl.col("source").is_in(["digital_users", "core_customers"])), rng)
    consents.write_parquet(out / "consents.parquet")
    return {
        "parties": parties.height,
        "accounts": accounts.height,
        "account_holders": holders.height,
        "events": events.height,
        "consents": consents.height,
    }


def _accounts(parties, rng):  # type: ignore[no-untyped-def]
    import polars as pl

    specs = (
        ("core_customers", "deposit", 1.6),
        ("card_holders", "card", 1.5),
        ("mortgage_borrowers", "mortgage", 1.0),
    )
    frames = []
    for source, family, per in specs:
        owners = parties.filter(pl.col("source") == source).select("record_id")
        count = rng.poisson(per, owners.height)
        owners = owners.select(pl.col("record_id").repeat_by(pl.Series(count)).explode()).drop_nulls()
        m = owners.height
        frames.append(
            owners.with_columns(
                party_source=pl.lit(source),
                product_family=pl.lit(family),
                balance=pl.Series(rng.gamma(2.0, 3000.0 if family != "mortgage" else 90000.0, m)),
                credit_limit=pl.Series(rng.choice([1000.0, 5000.0, 10000.0], m))
                if family == "card"
                else pl.lit(None, dtype=pl.Float64()),
                days_past_due=pl.Series(np.where(rng.random(m) < 0.04, rng.integers(1, 120, m), 0)),
                status=pl.Series(np.where(rng.random(m) < 0.1, "closed", "open")),
                opened_date=pl.lit(dt.date(1990, 1, 1))
                + pl.duration(days=pl.Series(rng.integers(0, 12000, m))),
            )
        )
    accounts = (
        pl.concat(frames, how="diagonal")
        .with_row_index("_n")
        .with_columns(
            source=pl.concat_str([pl.col("product_family"), pl.lit("_accounts")]),
            account_id=pl.concat_str([pl.lit("A"), pl.col("_n").cast(pl.String())]),
            source_system=pl.col("product_family"),
        )
    )
    holders = accounts.select(
        account_source="source",
        account_id="account_id",
        party_source="party_source",
        party_record_id="record_id",
        role=pl.lit("primary"),
    )
    return accounts.drop("_n", "record_id", "party_source"), holders


def _events(digital, rng):  # type: ignore[no-untyped-def]
    import polars as pl

    count = rng.poisson(10, digital.height)
    events = digital.select(pl.col("record_id").repeat_by(pl.Series(count)).explode()).drop_nulls()
    m = events.height
    start = dt.datetime(2026, 1, 1)
    return events.with_row_index("_n").select(
        source=pl.lit("digital_events"),
        event_id=pl.concat_str([pl.lit("E"), pl.col("_n").cast(pl.String())]),
        party_source=pl.lit("digital_users"),
        party_record_id=pl.col("record_id"),
        event_time=pl.lit(start) + pl.duration(seconds=pl.Series(rng.integers(0, 340 * 86400, m))),
        event_type=pl.Series(
            rng.choice(["login", "page_view", "application_started"], m, p=[0.5, 0.45, 0.05])
        ),
        channel=pl.Series(rng.choice(["app", "web"], m)),
    )


def _consents(parties, rng):  # type: ignore[no-untyped-def]
    import polars as pl

    m = parties.height
    base = parties.select(party_source="source", party_record_id="record_id")
    one = base.with_columns(purpose=pl.lit("marketing"), channel=pl.lit("email"))
    two = base.with_columns(purpose=pl.lit("marketing"), channel=pl.lit("sms"))
    frame = pl.concat([one, two])
    n = frame.height
    return frame.with_columns(
        source=pl.lit("consents"),
        granted=pl.Series(rng.random(n) < 0.6),
        updated_at=pl.lit(dt.datetime(2020, 1, 1)) + pl.duration(hours=pl.Series(rng.integers(0, 50000, n))),
    ).head(2 * m)


def run_build(workdir: Path) -> dict[str, float | int]:
    """Read the frames and build the customer 360 (in this process); return timings and sizes."""
    import polars as pl

    from cdp.customer360 import build_customer_360, load_survivorship

    frames = {name: pl.read_parquet(workdir / f"{name}.parquet") for name in FRAMES}
    loaded_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    cpu_started = _cpu_seconds()
    result = build_customer_360(
        parties=frames["parties"],
        clusters=frames["clusters"],
        accounts=frames["accounts"],
        account_holders=frames["account_holders"],
        events=frames["events"],
        consents=frames["consents"],
        rules=load_survivorship(),
        as_of=AS_OF,
    )
    seconds = time.perf_counter() - started
    return {
        "seconds": round(seconds, 2),
        "cpu_seconds": round(_cpu_seconds() - cpu_started, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "rss_after_load_mb": round(loaded_rss),
        "customers": result.customer_360.height,
        "lineage_rows": result.lineage.height,
        "consent_rows": result.consent.height,
        "household_members": result.households.height,
        "polars_threads": pl.thread_pool_size(),
    }


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=100_000)
    parser.add_argument(
        "--workdir", type=Path, default=None, help="keep generated Parquet here (default: temp dir)"
    )
    parser.add_argument("--threads", type=int, default=2, help="POLARS_MAX_THREADS of the build process")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_build(args.workdir)))
        return
    with tempfile.TemporaryDirectory(prefix="bench_c360_") as temporary:
        workdir = args.workdir or Path(temporary)
        workdir.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        counts = generate(args.persons, workdir)
        print(f"generated {counts} for {args.persons:,} persons in {time.perf_counter() - started:.1f}s")
        repo = Path(__file__).resolve().parent.parent
        python_path = os.pathsep.join(filter(None, [str(repo), os.environ.get("PYTHONPATH")]))
        env = {**os.environ, "POLARS_MAX_THREADS": str(args.threads), "PYTHONPATH": python_path}
        child = subprocess.run(
            [sys.executable, __file__, "--child", "--workdir", str(workdir)],
            env=env,
            capture_output=True,
            text=True,
        )
        if child.returncode != 0:
            sys.exit(f"build failed:\n{child.stderr}")
        report = json.loads(child.stdout.strip().splitlines()[-1])
        print(
            f"customer 360 build: {report['seconds']}s wall, {report['cpu_seconds']}s CPU, "
            f"peak RSS {report['peak_rss_mb']} MB "
            f"(after loading inputs {report['rss_after_load_mb']} MB), {report['polars_threads']} threads"
        )
        print(json.dumps(report))


if __name__ == "__main__":
    main()
