"""The true population behind the extracts: persons in households, with the facts every system
sees a (noisy, possibly stale) version of.

Households share an address and often a landline; spouses usually share a surname (one of them
changed it at marriage, so older records carry the maiden name); children carry the household's
surname, and some are twins (same surname, date of birth and address; different first names and
SSNs). Everyone is at least 13: the youngest are teens with savings accounts.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from cdp.synth.common import Calendar, choice_index, labels, padded, segment_ids, to_date_series, unique_ints
from cdp.synth.pools import Pools
from cdp.synth.vocabulary import AREA_CODES, EMAIL_DOMAIN_WEIGHTS, EMAIL_DOMAINS

#: Household sizes 1..5 (only members aged 13+ count).
HOUSEHOLD_SIZE_WEIGHTS = np.array([0.36, 0.33, 0.15, 0.11, 0.05])
#: Relative weight of each adult age band for household heads (note the bump before retirement).
_AGE_BANDS = (
    (18, 24, 0.5),
    (25, 34, 1.0),
    (35, 44, 1.0),
    (45, 54, 1.0),
    (55, 64, 1.2),
    (65, 74, 0.9),
    (75, 84, 0.45),
    (85, 95, 0.12),
)
ROLES = ("head", "spouse", "child", "other")
SPOUSE_RATE = 0.78
SPOUSE_TOOK_SURNAME = 0.65
TWIN_RATE = 0.25  # of households with two children aged 13+
MOVED_RATE = 0.18  # households that moved in the last five years
LANDLINE_RATE = 0.35
#: Per week of batches: share of persons joining the bank, of households moving, of marriages.
NEW_PERSON_RATE = 0.025
MOVE_IN_WINDOW_RATE = 0.015
MARRIAGE_IN_WINDOW_RATE = 0.004


def _ages(rng: np.random.Generator, n: int) -> np.ndarray:
    ages = np.concatenate([np.arange(lo, hi + 1) for lo, hi, _ in _AGE_BANDS])
    weights = np.concatenate([np.repeat(w, hi - lo + 1) for lo, hi, w in _AGE_BANDS])
    drawn: np.ndarray = ages[choice_index(rng, weights, n)]
    return drawn


def _households(rng: np.random.Generator, persons: int) -> tuple[np.ndarray, np.ndarray]:
    sizes = rng.choice(np.arange(1, 6), size=persons // 2 + 8, p=HOUSEHOLD_SIZE_WEIGHTS)
    total = np.cumsum(sizes)
    count = int(np.searchsorted(total, persons)) + 1
    sizes = sizes[:count].copy()
    sizes[-1] -= total[count - 1] - persons
    return segment_ids(sizes)


def _names(rng: np.random.Generator, pools: Pools, female: np.ndarray) -> pl.Series:
    woman = labels(pools.female_names, choice_index(rng, pools.female_weights, female.size))
    man = labels(pools.male_names, choice_index(rng, pools.male_weights, female.size))
    return pl.select(pl.when(pl.Series(female)).then(woman).otherwise(man)).to_series()


def _ssns(rng: np.random.Generator, n: int) -> pl.Series:
    # Valid SSNs only: area 001-899 except 666, group 01-99, serial 0001-9999.
    index = unique_ints(rng, n, 0, 898 * 99 * 9999)
    area, rest = np.divmod(index, 99 * 9999)
    group, serial = np.divmod(rest, 9999)
    area = area + 1
    area = np.where(area >= 666, area + 1, area)
    digits = area * 1_000_000 + (group + 1) * 10_000 + serial + 1
    digits = np.where(digits == 123456789, 123456788, digits)
    return padded(digits, 9)


def _phones(rng: np.random.Generator, n: int) -> pl.Series:
    area = labels(AREA_CODES, rng.integers(0, len(AREA_CODES), n))
    exchange = rng.integers(200, 1000, n)
    exchange = np.where((exchange % 100 == 11) | (exchange == 555), exchange + 1, exchange)
    return area + padded(exchange, 3) + padded(rng.integers(0, 10_000, n), 4)


def _emails(rng: np.random.Generator, first: pl.Series, last: pl.Series, birth_year: np.ndarray) -> pl.Series:
    n = len(first)
    frame = pl.DataFrame(
        {
            "f": first.str.to_lowercase().str.replace_all(r"[^a-z]", ""),
            "l": last.str.to_lowercase().str.replace_all(r"[^a-z]", ""),
            "k": rng.integers(0, 6, n),
            "num": pl.Series(np.where(rng.random(n) < 0.5, birth_year % 100, rng.integers(1, 999, n))).cast(
                pl.String
            ),
            "use_num": rng.random(n) < 0.5,
            "dom": labels(EMAIL_DOMAINS, choice_index(rng, EMAIL_DOMAIN_WEIGHTS, n)),
        }
    )
    f, lst, num = (
        pl.col("f"),
        pl.col("l"),
        pl.when(pl.col("use_num")).then(pl.col("num")).otherwise(pl.lit("")),
    )
    local = (
        pl.when(pl.col("k") == 0)
        .then(pl.concat_str([f, pl.lit("."), lst, num]))
        .when(pl.col("k") == 1)
        .then(pl.concat_str([f, lst, num]))
        .when(pl.col("k") == 2)
        .then(pl.concat_str([f.str.slice(0, 1), lst, num]))
        .when(pl.col("k") == 3)
        .then(pl.concat_str([f, pl.lit("_"), lst]))
        .when(pl.col("k") == 4)
        .then(pl.concat_str([lst, pl.lit("."), f]))
        .otherwise(pl.concat_str([f, pl.col("num")]))
    )
    return frame.select(pl.concat_str([local, pl.lit("@"), pl.col("dom")]).alias("email")).to_series()


def _addresses(rng: np.random.Generator, pools: Pools, n: int, prefix: str) -> pl.DataFrame:
    house = np.minimum(np.exp(rng.normal(6.3, 1.2, n)).astype(np.int64) + 1, 29999)
    has_unit = rng.random(n) < 0.22
    unit_no = pl.Series(rng.integers(1, 40, n)).cast(pl.String) + labels(
        ("", "", "A", "B", "C"), rng.integers(0, 5, n)
    )
    return pl.DataFrame(
        {
            f"{prefix}house_no": pl.Series(house).cast(pl.String),
            f"{prefix}street": choice_index(rng, pools.street_weights, n),
            f"{prefix}unit": pl.select(pl.when(pl.Series(has_unit)).then(unit_no)).to_series(),
            f"{prefix}loc": choice_index(rng, pools.location_weights, n),
        }
    )


def build_population(
    rng: np.random.Generator, pools: Pools, *, persons: int, calendar: Calendar
) -> pl.DataFrame:
    """One row per person with the true identity facts, household, address history and life events.

    Args:
        rng: random stream of the population.
        pools: value pools.
        persons: number of persons (everyone aged 13 or more).
        calendar: as-of date and batch dates; in batch mode some persons join, move or marry
            inside the batch window so that later batches carry new and changed records.

    Returns:
        The persons frame; ``entity_id`` is the ground-truth identity.
    """
    household, pos = _households(rng, persons)
    n_households = int(household[-1]) + 1
    as_of = np.datetime64(calendar.as_of, "D")
    head_age = _ages(rng, n_households)[household]
    spouse = (pos == 1) & (rng.random(persons) < SPOUSE_RATE) & (head_age >= 20)
    child_ok = head_age >= 33
    child = (pos >= 2) & child_ok | (pos == 1) & ~spouse & child_ok & (rng.random(persons) < 0.6)
    role = labels(ROLES, np.select([pos == 0, spouse, child], [0, 1, 2], 3))
    age = np.where(
        spouse,
        np.clip(head_age + np.rint(rng.normal(0, 4, persons)), 18, 98),
        np.where(
            child,
            rng.integers(13, np.maximum(np.minimum(31, head_age - 19), 14)),
            np.where(pos == 0, head_age, np.clip(head_age + rng.integers(-8, 9, persons), 18, 95)),
        ),
    ).astype(np.int64)
    head_male = (rng.random(n_households) < 0.55)[household]
    female = np.where(
        pos == 0,
        ~head_male,
        np.where(spouse, head_male ^ (rng.random(persons) < 0.04), rng.random(persons) < 0.5),
    )
    birth_surname = labels(pools.last_names, choice_index(rng, pools.last_weights, persons))
    house_surname = birth_surname.gather(pl.Series(np.flatnonzero(pos == 0))[household])
    took = spouse & (rng.random(persons) < SPOUSE_TOOK_SURNAME)
    kept_parent_name = child & (rng.random(persons) < 0.9)
    last = pl.select(
        pl.when(pl.Series(took | kept_parent_name)).then(house_surname).otherwise(birth_surname)
    ).to_series()
    maiden = pl.select(
        pl.when(pl.Series(took) & (birth_surname != house_surname)).then(birth_surname)
    ).to_series()
    dob = as_of - (age * 365.25).astype(np.int64) - rng.integers(0, 365, persons)
    # Twins: the second child (pos 3) of a household copies the first child's (pos 2) birth date.
    twin_hh = rng.random(n_households) < TWIN_RATE
    is_twin = (pos == 3) & child & np.roll(child & (pos == 2), 1) & twin_hh[household]
    dob = np.where(is_twin, np.roll(dob, 1), dob)
    age = np.where(is_twin, np.roll(age, 1), age)
    last = pl.select(pl.when(pl.Series(is_twin)).then(last.shift(1)).otherwise(last)).to_series()
    first = _names(rng, pools, female)
    redraw = _names(rng, pools, female)
    prev_first = first.shift(1)
    first = pl.select(
        pl.when(pl.Series(is_twin) & (first == prev_first)).then(redraw).otherwise(first)
    ).to_series()
    twin_of = np.where(is_twin, np.arange(persons) - 1, -1)
    middle = _names(rng, pools, female)
    middle = pl.select(pl.when(middle == first).then(redraw).otherwise(middle)).to_series()
    married_years = np.maximum(age - rng.integers(22, 36, persons), 0)
    marriage = as_of - (married_years * 365.25).astype(np.int64) - rng.integers(1, 365, persons)
    moved = (rng.random(n_households) < MOVED_RATE)[household]
    move_date = (as_of - rng.integers(30, 5 * 365, n_households))[household]
    deceased = rng.random(persons) < np.where(age >= 75, 0.03, np.where(age >= 60, 0.008, 0.001))
    landline = _phones(rng, n_households).gather(pl.Series(household))
    # Older households keep a landline more often; every member shares it.
    has_landline = (rng.random(n_households) < LANDLINE_RATE)[household] | (head_age >= 70)
    mobile_ok = (age >= 16) & (rng.random(persons) < 0.97) | (age < 16) & (rng.random(persons) < 0.6)
    frame = pl.DataFrame(
        {
            "person": np.arange(persons, dtype=np.int64),
            "entity_id": padded(np.arange(1, persons + 1), 7, "P"),
            "household": household,
            "role": role,
            "sex": labels(("M", "F"), female.astype(np.int64)),
            "age": age,
            "first": first,
            "middle": middle,
            "last": last,
            "maiden": maiden,
            "marriage_date": pl.select(
                pl.when(maiden.is_not_null()).then(to_date_series(marriage))
            ).to_series(),
            "dob": to_date_series(dob),
            "twin_of": pl.Series(twin_of).replace(-1, None),
            "ssn": _ssns(rng, persons),
            "mobile": pl.select(pl.when(pl.Series(mobile_ok)).then(_phones(rng, persons))).to_series(),
            "landline": pl.select(pl.when(pl.Series(has_landline)).then(landline)).to_series(),
            "moved": moved,
            "move_date": pl.select(pl.when(pl.Series(moved)).then(to_date_series(move_date))).to_series(),
            "deceased": deceased,
        }
    )
    home = _addresses(rng, pools, n_households, "").gather(pl.Series(household))
    prev = _addresses(rng, pools, n_households, "prev_").gather(pl.Series(household))
    frame = pl.concat([frame, home, prev], how="horizontal")
    birth_year = frame["dob"].dt.year().to_numpy()
    emails = _emails(rng, frame["first"], frame["last"], birth_year)
    alt = _emails(rng, frame["first"], birth_surname, birth_year)
    email_ok = (age >= 18) | (rng.random(persons) < 0.5)
    frame = frame.with_columns(
        email=pl.when(pl.Series(email_ok)).then(emails),
        alt_email=pl.when(pl.Series(email_ok)).then(alt),
        middle=pl.when(pl.Series(rng.random(persons) < 0.8)).then(middle),
    )
    return _retime_for_batches(rng, frame, calendar)


def _period_dates(rng: np.random.Generator, calendar: Calendar, batch: np.ndarray) -> pl.Series:
    """A random date inside the period of each (1-based, >= 2) batch number."""
    ends = np.array(calendar.batch_dates, dtype="datetime64[D]")
    span = int((ends[1] - ends[0]).astype(int)) if ends.size > 1 else 1
    return to_date_series(ends[np.maximum(batch - 1, 0)] - rng.integers(0, span, batch.size))


def _retime_for_batches(rng: np.random.Generator, frame: pl.DataFrame, calendar: Calendar) -> pl.DataFrame:
    later = len(calendar.batch_dates) - 1
    n = frame.height
    if later == 0 or n == 0:
        return frame.with_columns(join_batch=pl.lit(1, pl.Int64), join_date=pl.lit(None, pl.Date))
    pick = rng.integers(2, later + 2, n)
    joins = rng.random(n) < NEW_PERSON_RATE * calendar.later_weeks
    households = frame["household"].to_numpy()
    move_rate = MOVE_IN_WINDOW_RATE * calendar.later_weeks
    moves = (rng.random(int(households.max()) + 1) < move_rate)[households]
    move_batch = rng.integers(2, later + 2, int(households.max()) + 1)[households]
    marries = (rng.random(n) < MARRIAGE_IN_WINDOW_RATE * calendar.later_weeks / 0.2) & frame[
        "maiden"
    ].is_not_null().to_numpy()
    return frame.with_columns(
        join_batch=pl.Series(np.where(joins, pick, 1)),
        join_date=pl.when(pl.Series(joins)).then(_period_dates(rng, calendar, pick)),
        moved=pl.col("moved") | pl.Series(moves),
        move_date=pl.when(pl.Series(moves))
        .then(_period_dates(rng, calendar, move_batch))
        .otherwise("move_date"),
        marriage_date=pl.when(pl.Series(marries))
        .then(_period_dates(rng, calendar, pick))
        .otherwise("marriage_date"),
    )
