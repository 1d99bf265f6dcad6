"""What one system recorded about a person: the true facts at record time plus that system's noise.

A record created before the person's household moved (or before a marriage) holds the old
address (maiden name). Most systems are told and update it later; the update date decides
whether the change is already in the initial load or arrives as a re-sent record in a later
batch. Systems that are never told keep the stale value (``stale_address``/``stale_surname``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from cdp.synth import noise
from cdp.synth.common import Calendar, to_date_series
from cdp.synth.noise import PLACEHOLDER_EMAIL, PLACEHOLDER_SSNS, flags

#: Per week of batches: share of a system's records deleted (duplicates far more often: merged away).
DELETE_RATE = 0.004
DUPLICATE_DELETE_RATE = 0.08
#: Per week of batches: share of records of existing persons that are new (e.g. a new card).
NEW_RECORD_RATE = 0.01
_ADDRESS = ("house_no", "street", "unit", "loc")


@dataclass(frozen=True)
class PartyVersions:
    """A system's party records in two versions plus their batch timeline.

    ``final`` is the state as of the last batch; ``initial`` the state first sent (different only
    where ``change_batch`` is set). Batch numbers are 1-based; 0 means "never".
    """

    final: pl.DataFrame
    initial: pl.DataFrame
    first_batch: np.ndarray
    change_batch: np.ndarray
    delete_batch: np.ndarray


def created_dates(
    rng: np.random.Generator,
    persons: pl.DataFrame,
    person_idx: np.ndarray,
    *,
    calendar: Calendar,
    min_age: int,
    max_years: float,
    new_eligible: np.ndarray | None = None,
) -> np.ndarray:
    """When each record was set up: after the person turned ``min_age``, within ``max_years``, before
    the initial load; records of persons who join later (and some new records) inside the window."""
    dob = persons["dob"].to_numpy()[person_idx].astype("datetime64[D]")
    first_day = np.datetime64(calendar.batch_dates[0], "D")
    lo = np.maximum(dob + np.int64(min_age * 365.25), first_day - np.int64(max_years * 365.25))
    lo = np.minimum(lo, first_day)
    span = (first_day - lo).astype(np.int64)
    # Recent set-ups are more common than old ones (customer bases grow and churn).
    created: np.ndarray = first_day - (span * rng.random(person_idx.size) ** 1.6).astype(np.int64)
    join_batch = persons["join_batch"].to_numpy()[person_idx]
    later = len(calendar.batch_dates) - 1
    if later == 0:
        return created
    ends = np.array(calendar.batch_dates, dtype="datetime64[D]")
    new = np.zeros(person_idx.size, dtype=bool) if new_eligible is None else new_eligible.copy()
    new &= (join_batch == 1) & (rng.random(person_idx.size) < NEW_RECORD_RATE * calendar.later_weeks)
    batch = np.where(join_batch > 1, join_batch, rng.integers(2, later + 2, person_idx.size))
    in_window = ends[batch - 1] - rng.integers(0, int((ends[1] - ends[0]).astype(int)), person_idx.size)
    join_date = persons["join_date"].to_numpy()[person_idx].astype("datetime64[D]")
    dates: np.ndarray = np.where(
        join_batch > 1, np.maximum(join_date, in_window), np.where(new, in_window, created)
    )
    return dates


def _update_batch(
    rng: np.random.Generator, event: np.ndarray, created: np.ndarray, stale: np.ndarray, calendar: Calendar
) -> tuple[np.ndarray, np.ndarray]:
    """(shows old value at the end, batch in which the new value is re-sent or 0)."""
    valid = ~np.isnat(event)
    before = valid & (event > created)
    updated_on = event + rng.integers(0, 21, event.size)
    as_of = np.datetime64(calendar.as_of, "D")
    old_at_end = before & (stale | (updated_on > as_of))
    window = before & ~old_at_end & (updated_on > np.datetime64(calendar.batch_dates[0], "D"))
    batch = np.where(window, calendar.batch_of(np.where(valid, updated_on, as_of)), 0)
    return old_at_end, batch


def party_versions(
    rng: np.random.Generator,
    persons: pl.DataFrame,
    person_idx: np.ndarray,
    created: np.ndarray,
    *,
    system: str,
    calendar: Calendar,
    duplicate: np.ndarray,
) -> PartyVersions:
    """Record-level facts (with value noise) for ``person_idx`` as seen by ``system``.

    Columns of both versions: person, created, first, middle, last, dob, ssn, house_no, street,
    unit, loc, mobile, home, email, age, deceased, duplicate, updated (last maintenance date).
    """
    n = person_idx.size
    p = persons.select(pl.all().gather(pl.Series(person_idx)))
    created_s = to_date_series(created)
    move = p["move_date"].to_numpy().astype("datetime64[D]")
    marriage = p["marriage_date"].to_numpy().astype("datetime64[D]")
    old_addr, addr_batch = _update_batch(rng, move, created, flags(rng, n, "stale_address", system), calendar)
    old_name, name_batch = _update_batch(
        rng, marriage, created, flags(rng, n, "stale_surname", system), calendar
    )
    first_batch = calendar.batch_of(created)
    change = np.where(
        (addr_batch > 0) & (name_batch > 0),
        np.minimum(addr_batch, name_batch),
        np.maximum(addr_batch, name_batch),
    )
    change = np.where(change > first_batch, change, 0)

    first = noise.nickname(p["first"], flags(rng, n, "nickname", system), rng)
    first = noise.typo(first, flags(rng, n, "name_typo", system), rng)
    typo_seed = int(rng.integers(0, 2**31))
    typo_mask = flags(rng, n, "name_typo", system)
    hyphen = flags(rng, n, "hyphenated_surname", system) & p["maiden"].is_not_null().to_numpy()
    married_last = pl.select(
        pl.when(pl.Series(hyphen))
        .then(pl.concat_str([p["maiden"], p["last"]], separator="-"))
        .otherwise(p["last"])
    ).to_series()
    maiden_or_last = p["maiden"].fill_null(p["last"])

    def last_name(show_old: np.ndarray) -> pl.Series:
        value = noise.where(show_old, maiden_or_last, married_last)
        return noise.typo(value, typo_mask, np.random.default_rng(typo_seed))

    dob = noise.swap_day_month(p["dob"], flags(rng, n, "dob_day_month_swap", system))
    dob = noise.where(
        flags(rng, n, "dob_placeholder", system), pl.repeat(dt.date(1900, 1, 1), n, eager=True), dob
    )
    dob = noise.blank(dob, flags(rng, n, "dob_missing", system))
    ssn = noise.transpose_digits(p["ssn"], flags(rng, n, "ssn_transposed", system), rng)
    junk = pl.Series(PLACEHOLDER_SSNS)[rng.integers(0, 2, n)]
    ssn = noise.where(flags(rng, n, "ssn_placeholder", system), junk, ssn)
    ssn = noise.blank(ssn, flags(rng, n, "ssn_missing", system))
    mobile = noise.blank(p["mobile"], flags(rng, n, "phone_missing", system))
    home = noise.where(
        flags(rng, n, "household_phone", system) | mobile.is_null().to_numpy(),
        p["landline"],
        pl.repeat(None, n, dtype=pl.String, eager=True),
    )
    email = noise.where(flags(rng, n, "alternate_email", system), p["alt_email"], p["email"])
    email = noise.where(
        flags(rng, n, "email_placeholder", system), pl.repeat(PLACEHOLDER_EMAIL, n, eager=True), email
    )
    email = noise.blank(email, flags(rng, n, "email_missing", system))
    unit_gone = flags(rng, n, "unit_missing", system)
    common = pl.DataFrame(
        {
            "person": p["person"],
            "created": created_s,
            "first": first,
            "middle": noise.blank(p["middle"], flags(rng, n, "middle_missing", system)),
            "dob": dob,
            "ssn": ssn,
            "mobile": mobile,
            "home": home,
            "email": email,
            "age": p["age"],
            "deceased": p["deceased"],
            "duplicate": pl.Series(duplicate),
        }
    )

    batch_day = np.array(calendar.batch_dates, dtype="datetime64[D]")
    maintained = np.minimum(created + rng.integers(0, 400, n), batch_day[first_batch - 1])
    updated_initial = to_date_series(np.maximum(maintained, created))
    updated_final = to_date_series(np.where(change > 0, batch_day[np.maximum(change, 1) - 1], maintained))

    def version(show_old_addr: np.ndarray, show_old_name: np.ndarray, updated: pl.Series) -> pl.DataFrame:
        address = {col: noise.where(show_old_addr, p[f"prev_{col}"], p[col]) for col in _ADDRESS}
        address["unit"] = noise.blank(address["unit"], unit_gone)
        return common.with_columns(last=last_name(show_old_name), updated=updated, **address)

    initial_old_addr = old_addr | (change > 0) & (addr_batch > 0)
    initial_old_name = old_name | (change > 0) & (name_batch > 0)
    deletes = _delete_batches(rng, first_batch, change, duplicate, calendar)
    return PartyVersions(
        final=version(old_addr, old_name, updated_final),
        initial=version(initial_old_addr, initial_old_name, updated_initial),
        first_batch=first_batch,
        change_batch=change,
        delete_batch=deletes,
    )


def _delete_batches(
    rng: np.random.Generator,
    first_batch: np.ndarray,
    change: np.ndarray,
    duplicate: np.ndarray,
    calendar: Calendar,
) -> np.ndarray:
    count = len(calendar.batch_dates)
    if count == 1:
        return np.zeros(first_batch.size, dtype=np.int64)
    after = np.maximum(first_batch, change) + 1
    rate = np.where(duplicate, DUPLICATE_DELETE_RATE, DELETE_RATE) * calendar.later_weeks
    chosen = (rng.random(first_batch.size) < rate) & (after <= count)
    batch = after + (rng.random(first_batch.size) * (count - after + 1)).astype(np.int64)
    return np.where(chosen, np.minimum(batch, count), 0)
