"""``generate_bank``: a synthetic bank's four systems, their ground truth and their source config.

The same seed gives byte-identical files. Without batches every table is one file dated as of
``as_of`` under ``DIR/<system>/``; with batches the same population arrives as a sequence of
weekly deliveries under ``DIR/batches/NN/<system>/`` and ``sources.yaml`` reads ``DIR/landing/``,
where the user moves one delivery at a time.
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import polars as pl

from cdp.errors import ConfigError
from cdp.synth import card, core, digital, mortgage
from cdp.synth.card_activity import card_transactions
from cdp.synth.cashflow import core_transactions
from cdp.synth.common import Calendar, make_calendar, rng_for
from cdp.synth.consents import branch_consents, digital_consents
from cdp.synth.events import digital_events
from cdp.synth.extracts import Extract, write_frame
from cdp.synth.holdings import assign_holdings
from cdp.synth.pools import build_pools
from cdp.synth.population import build_population
from cdp.synth.sources import sources_yaml

logger = logging.getLogger(__name__)

#: Steps reported to ``on_step`` (in this order).
STEPS = ("population", "core", "card", "mortgage", "digital", "consents", "transactions", "events", "truth")
_OWNED = ("core", "card", "mortgage", "digital", "batches", "landing", "truth.csv", "sources.yaml")


@dataclass(frozen=True)
class GenerationSummary:
    """What ``generate_bank`` wrote.

    Attributes:
        out_dir: the output folder.
        persons: number of true persons (entities).
        seed: the random seed.
        months: months of transaction and event history.
        batches: number of batch deliveries, or None for one file per table.
        files: path relative to ``out_dir`` -> data rows written.
        records: party table -> party records in ``truth.csv``.
        seconds: wall-clock time taken.
    """

    out_dir: Path
    persons: int
    seed: int
    months: int
    batches: int | None
    files: dict[str, int] = field(default_factory=dict)
    records: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def truth_rows(self) -> int:
        return sum(self.records.values())


def _prepare(out_dir: Path) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise ConfigError(f"output path {out_dir} is a file, not a folder")
    if out_dir.exists() and any(out_dir.iterdir()):
        if not ((out_dir / "truth.csv").exists() and (out_dir / "sources.yaml").exists()):
            raise ConfigError(
                f"output folder {out_dir} is not empty and does not hold a generated bank; "
                "choose an empty or new folder"
            )
        for name in _OWNED:
            target = out_dir / name
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
    out_dir.mkdir(parents=True, exist_ok=True)


def _validate(persons: int, months: int, batches: int | None) -> None:
    if persons < 1:
        raise ConfigError(f"--persons must be at least 1, not {persons}")
    if months < 0:
        raise ConfigError(f"--months must be 0 or more, not {months}")
    if batches is not None and not 1 <= batches <= 99:
        raise ConfigError(f"--batches must be between 1 and 99, not {batches}")


def _before_deletion(extract: Extract, key: str, ids: pl.Series, party: Extract) -> Extract:
    """Drop the activity of a party record from the batch that deletes it onwards."""
    if party.delete_batch is None or not party.delete_batch.any():
        return extract
    lookup = pl.DataFrame({key: ids, "_gone": party.delete_batch})
    gone = extract.frame.select(key).join(lookup, on=key, how="left", maintain_order="left")["_gone"]
    keep = ((gone.fill_null(0) == 0) | (pl.Series(extract.batch) < gone)).to_numpy()
    return replace(extract, frame=extract.frame.filter(pl.Series(keep)), batch=extract.batch[keep])


def _write(
    extract: Extract, out_dir: Path, calendar: Calendar, batches: int | None, files: dict[str, int]
) -> None:
    """Write one extract (one file, or one file per batch) and record the rows of each file."""
    for number, day in enumerate(calendar.batch_dates, start=1):
        rows = extract.rows_for_batch(number, batched=batches is not None)
        folder = Path("batches", f"{number:02d}") if batches is not None else Path()
        relative = folder / extract.system / extract.file_name(day)
        write_frame(rows, out_dir / relative, system=extract.system, parquet=extract.parquet)
        files[relative.as_posix()] = rows.height


def generate_bank(
    out_dir: Path,
    *,
    persons: int,
    seed: int,
    months: int = 12,
    batches: int | None = None,
    as_of: dt.date = dt.date(2026, 10, 31),
    on_step: Callable[[str], None] | None = None,
    batch_days: int = 7,
) -> GenerationSummary:
    """Generate the extracts of four bank systems, ``truth.csv`` and ``sources.yaml``.

    Args:
        out_dir: output folder (created; a previous generation in it is replaced).
        persons: number of true persons.
        seed: random seed; the same seed gives byte-identical files.
        months: months of transaction and event history before ``as_of`` (0 = parties, accounts
            and consents only).
        batches: split into this many weekly deliveries ending on ``as_of`` (batch 01 is the
            initial load), or None for one file per table.
        as_of: date of the (last) extract.
        on_step: called with each name in ``STEPS`` as generation reaches it.
        batch_days: days between batches (7: weekly, 1: daily); new persons, moves, new records
            and deletions per batch scale with it.

    Returns:
        A summary with the rows written per file and the party records per table.

    Example:
        >>> summary = generate_bank(Path("/tmp/bank"), persons=300, seed=7)  # doctest: +SKIP
        >>> sorted(summary.records)  # doctest: +SKIP
        ['card_holders', 'core_customers', 'digital_users', 'mortgage_borrowers']
    """
    _validate(persons, months, batches)
    if not 1 <= batch_days <= 31:
        raise ConfigError(f"--batch-days must be between 1 and 31, not {batch_days}")
    started = time.perf_counter()
    step = on_step or (lambda name: None)
    out_dir = Path(out_dir)
    _prepare(out_dir)
    calendar = make_calendar(as_of, months=months, batches=batches, batch_days=batch_days)
    step("population")
    pools = build_pools()
    people = build_population(rng_for(seed, "population"), pools, persons=persons, calendar=calendar)
    people = assign_holdings(rng_for(seed, "holdings"), people)
    parties: dict[str, tuple[pl.Series, np.ndarray]] = {}
    files: dict[str, int] = {}

    def emit(extract: Extract) -> None:
        # Written as soon as it is built, so that large tables do not pile up in memory.
        _write(extract, out_dir, calendar, batches, files)

    step("core")
    core_idx, core_versions = core.core_records(rng_for(seed, "core"), people, calendar=calendar)
    customers, cif = core.core_customers(rng_for(seed, "core-customers"), core_idx, core_versions, pools)
    core_accounts, deposit_facts = core.core_accounts(
        rng_for(seed, "core-accounts"), people, core_idx, core_versions, cif, calendar=calendar
    )
    del core_versions
    emit(customers)
    emit(core_accounts)
    parties[core.SOURCE] = (cif, core_idx)
    step("card")
    card_idx, owner, card_versions = card.card_records(rng_for(seed, "card"), people, calendar=calendar)
    holders, holder_ids = card.card_holders(rng_for(seed, "card-holders"), card_idx, card_versions, pools)
    card_accounts, card_facts = card.card_accounts(
        rng_for(seed, "card-accounts"), card_idx, owner, card_versions, holder_ids, calendar=calendar
    )
    del card_versions
    emit(holders)
    emit(card_accounts)
    parties[card.SOURCE] = (holder_ids, card_idx)
    step("mortgage")
    loans = mortgage.mortgage_loans(rng_for(seed, "mortgage-loans"), people, calendar=calendar)
    mort_idx, loan_row, mort_versions = mortgage.borrower_records(
        rng_for(seed, "mortgage"), people, loans, calendar=calendar
    )
    borrowers, borrower_ids = mortgage.mortgage_borrowers(
        rng_for(seed, "mortgage-borrowers"), people, loans, loan_row, mort_versions, pools
    )
    emit(borrowers)
    emit(
        mortgage.mortgage_loan_extract(
            rng_for(seed, "mortgage-extract"), loans, loan_row, borrower_ids, calendar=calendar
        )
    )
    parties[mortgage.SOURCE] = (borrower_ids, mort_idx)
    step("digital")
    dig_idx, dig_versions = digital.digital_records(rng_for(seed, "digital"), people, calendar=calendar)
    users, user_ids = digital.digital_users(rng_for(seed, "digital-users"), dig_idx, dig_versions, pools)
    del dig_versions
    devices, device_facts = digital.digital_devices(
        rng_for(seed, "digital-devices"), users, user_ids, calendar=calendar
    )
    emit(users)
    emit(devices)
    parties[digital.SOURCE] = (user_ids, dig_idx)
    step("consents")
    branch = branch_consents(rng_for(seed, "core-consents"), customers, calendar=calendar)
    emit(_before_deletion(branch, "cif", cif, customers))
    preferences = digital_consents(rng_for(seed, "digital-consents"), users, calendar=calendar)
    emit(_before_deletion(preferences, "user_id", user_ids, users))
    del customers
    step("transactions")
    if months > 0:
        card_people = np.unique(card_facts["person"].to_numpy())
        emit(
            core_transactions(
                rng_for(seed, "core-transactions"),
                deposit_facts,
                people,
                card_people,
                pools,
                calendar=calendar,
            )
        )
        emit(card_transactions(rng_for(seed, "card-transactions"), card_facts, calendar=calendar))
    step("events")
    if months > 0:
        events = digital_events(
            rng_for(seed, "digital-events"), users, dig_idx, people, device_facts, calendar=calendar
        )
        emit(_before_deletion(events, "user_id", user_ids, users))
    step("truth")
    records = _write_truth(out_dir, parties, people)
    header = (
        f"Generated by: cdp generate --persons {persons} --seed {seed} --months {months}"
        + (f" --batches {batches}" if batches else "")
        + f" (as of {as_of.isoformat()})\n"
        + "Source config for the synthetic bank; see docs/contracts.md for the format."
    )
    (out_dir / "sources.yaml").write_text(
        sources_yaml(landing=batches is not None, header=header, activity=months > 0), encoding="utf-8"
    )
    if batches is not None:
        for system in ("core", "card", "mortgage", "digital"):
            (out_dir / "landing" / system).mkdir(parents=True, exist_ok=True)
    seconds = time.perf_counter() - started
    logger.info(
        "generated %d persons, %d party records, %d files in %.1fs",
        persons,
        sum(records.values()),
        len(files),
        seconds,
    )
    return GenerationSummary(
        out_dir=out_dir,
        persons=persons,
        seed=seed,
        months=months,
        batches=batches,
        files=dict(sorted(files.items())),
        records=records,
        seconds=seconds,
    )


def _write_truth(
    out_dir: Path, parties: dict[str, tuple[pl.Series, np.ndarray]], people: pl.DataFrame
) -> dict[str, int]:
    entity = people["entity_id"]
    truth = pl.concat(
        [
            pl.DataFrame(
                {
                    "source": pl.repeat(source, ids.len(), dtype=pl.String, eager=True),
                    "record_id": ids,
                    "entity_id": entity.gather(pl.Series(idx)),
                }
            )
            for source, (ids, idx) in parties.items()
        ]
    ).sort("source", "record_id")
    truth.write_csv(out_dir / "truth.csv", line_terminator="\n")
    return {source: ids.len() for source, (ids, _) in parties.items()}
