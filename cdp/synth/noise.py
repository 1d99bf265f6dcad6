"""Data-quality noise of the four source systems, calibrated per system, applied vectorized.

``NOISE_RATES`` is the calibration table: the share of a system's party records that get each kind
of noise. Rates reflect how each system captures data: the branch-keyed core ledger has typos,
stale contacts and legacy placeholders; the card processor embosses upper-case names with
initials; the mortgage platform keeps names from underwriting, often before a marriage or move;
people type whatever they like into the app (nicknames, lower case, first name only).

The rates live in one table, ``NOISE_TABLE`` below (parsed into ``NOISE_RATES``), so the
documentation and the generator cannot drift apart.

Phone formats also differ per system (``PHONE_STYLE_WEIGHTS``).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from cdp.synth.vocabulary import ACCENTED, NICKNAMES

SYSTEMS = ("core", "card", "mortgage", "digital")

#: The calibration table: share of each system's party records that get each kind of noise.
NOISE_TABLE = """
kind                 core  card  mortg digit  what it does
name_typo            .020  .012  .010  .030   one keying error in the first or last name
nickname             .050  .120  .020  .300   first name replaced by a nickname (Robert -> Bob)
first_initial        .010  .350  .000  .000   first name reduced to its initial (J SMITH)
first_name_only      .000  .000  .000  .080   last name left empty
lower_case_name      .000  .000  .000  .350   name typed in lower case
upper_case_name      .150  1.00  .000  .030   name in capitals (legacy screens, embossing)
accented_name        .000  .000  .500  .000   Spanish spelling kept (García), Latin-1 extract
hyphenated_surname   .030  .010  .020  .010   married name written Maiden-Married
middle_missing       .300  .500  .200  1.00   middle name absent
dob_missing          .010  .200  .000  .500   date of birth absent
dob_day_month_swap   .015  .003  .005  .020   day and month swapped (only when day <= 12)
dob_placeholder      .003  .000  .000  .000   01/01/1900 keyed instead of the date of birth
ssn_missing          .030  .000  .020  .000   SSN (mortgage: its last 4 digits) absent
ssn_placeholder      .006  .000  .000  .000   junk SSN 000-00-0000 or 123-45-6789
ssn_transposed       .005  .000  .003  .000   two adjacent SSN digits swapped
stale_address        .300  .350  .500  .300   record predates the household's move, never updated
stale_surname        .300  .450  .500  .150   record predates a marriage, surname not updated
address_typo         .010  .010  .008  .000   typo in the street name
unit_missing         .100  .150  .050  .000   apartment / unit dropped
phone_missing        .060  .050  .100  .030   no phone number
household_phone      .300  .150  .300  .000   shared household landline instead of the mobile
branch_phone         .012  .000  .000  .000   a branch's phone number keyed for the customer
email_missing        .300  .450  .150  .000   no email
email_placeholder    .015  .000  .010  .000   junk email noemail@bank.com
email_messy          .150  .000  .100  .050   odd capitalization and stray whitespace
alternate_email      .100  .100  .100  .150   the person's other (older) email address
duplicate_record     .020  .012  .000  .030   the person has a second record in the same system
"""

_ROWS = [line.split(maxsplit=5) for line in NOISE_TABLE.strip().splitlines()[1:]]

#: noise kind -> system -> share of that system's party records affected (see module docstring).
NOISE_RATES: dict[str, dict[str, float]] = {
    row[0]: dict(zip(SYSTEMS, (float(v) for v in row[1:5]), strict=True)) for row in _ROWS
}
#: noise kind -> what it does.
NOISE_DESCRIPTIONS: dict[str, str] = {row[0]: row[5] for row in _ROWS}

#: Phone layouts: (555) 123-4567, 555-123-4567, 555.123.4567, +1 555 123 4567, 5551234567, +15551234567.
PHONE_STYLE_WEIGHTS: dict[str, tuple[float, ...]] = {
    "core": (0.60, 0.25, 0.05, 0.02, 0.08, 0.00),
    "card": (0.00, 0.00, 0.00, 0.00, 0.90, 0.10),
    "mortgage": (0.35, 0.15, 0.40, 0.05, 0.05, 0.00),
    "digital": (0.10, 0.15, 0.05, 0.35, 0.15, 0.20),
}

PLACEHOLDER_SSNS = ("000000000", "123456789")
PLACEHOLDER_EMAIL = "noemail@bank.com"


def flags(rng: np.random.Generator, n: int, kind: str, system: str) -> np.ndarray:
    """A boolean mask marking the rows that get noise ``kind`` in ``system``."""
    return rng.random(n) < NOISE_RATES[kind][system]


def _mask(mask: np.ndarray) -> pl.Series:
    return pl.Series(mask, dtype=pl.Boolean)


def where(mask: np.ndarray, then: pl.Series, otherwise: pl.Series) -> pl.Series:
    """Row-wise ``then`` where ``mask`` else ``otherwise`` (nulls kept)."""
    frame = pl.DataFrame({"m": _mask(mask), "a": then, "b": otherwise})
    return frame.select(pl.when(pl.col("m")).then(pl.col("a")).otherwise(pl.col("b")))["a"].alias(
        otherwise.name
    )


def blank(values: pl.Series, mask: np.ndarray) -> pl.Series:
    """Null out the masked rows."""
    return where(mask, pl.repeat(None, len(values), dtype=values.dtype, eager=True), values)


def typo(values: pl.Series, mask: np.ndarray, rng: np.random.Generator) -> pl.Series:
    """One keying error per masked row: a dropped, doubled, swapped or wrong letter."""
    n = len(values)
    u, op, letter = rng.random(n), rng.integers(0, 4, n), rng.integers(0, 10, n)
    rows = np.flatnonzero(mask)
    if rows.size == 0:
        return values
    # Only the masked rows are edited, so the cost follows the noise rate, not the column size.
    frame = pl.DataFrame(
        {
            "v": values.gather(pl.Series(rows)),
            "u": u[rows],
            "op": op[rows],
            "c": pl.Series(list("aeinorstlu"), dtype=pl.String).gather(pl.Series(letter[rows])),
        }
    )
    length = pl.col("v").str.len_chars()
    # Keep the first letter: people rarely mistype the initial, and blocking keys rely on it.
    pos = (
        (1 + (pl.col("u") * (length - 1).clip(lower_bound=1)).floor())
        .cast(pl.Int64)
        .clip(upper_bound=length - 1)
    )
    head = pl.col("v").str.slice(0, pos)
    here = pl.col("v").str.slice(pos, 1)
    after = pl.col("v").str.slice(pos + 1)
    nxt = pl.col("v").str.slice(pos + 1, 1)
    rest2 = pl.col("v").str.slice(pos + 2)
    changed = (
        pl.when(pl.col("op") == 0)
        .then(pl.concat_str([head, after]))
        .when(pl.col("op") == 1)
        .then(pl.concat_str([head, here, here, after]))
        .when(pl.col("op") == 2)
        .then(pl.concat_str([head, nxt, here, rest2]))
        .otherwise(pl.concat_str([head, pl.col("c"), after]))
    )
    edited = frame.select(pl.when(length >= 3).then(changed).otherwise(pl.col("v"))).to_series()
    return values.scatter(pl.Series(rows), edited)


def nickname(first: pl.Series, mask: np.ndarray, rng: np.random.Generator) -> pl.Series:
    """Replace masked first names that have a nickname (Robert -> Bob) with one of them."""
    nick = pl.DataFrame(
        {"v": list(NICKNAMES), "nicks": [list(v) for v in NICKNAMES.values()]},
        schema={"v": pl.String, "nicks": pl.List(pl.String)},
    )
    frame = pl.DataFrame({"v": first, "m": _mask(mask), "u": rng.random(len(first))})
    joined = frame.join(nick, on="v", how="left", maintain_order="left")
    pick = (pl.col("u") * pl.col("nicks").list.len()).floor().cast(pl.Int64)
    out = pl.when(pl.col("m") & pl.col("nicks").is_not_null()).then(
        pl.col("nicks").list.get(pick, null_on_oob=True)
    )
    return joined.select(out.otherwise(pl.col("v")).alias(first.name or "v")).to_series()


def accented(values: pl.Series, mask: np.ndarray) -> pl.Series:
    """Spanish spelling (Garcia -> García) for masked rows that have one."""
    mapped = values.replace(ACCENTED)
    return where(mask, mapped, values)


def phone_styles(rng: np.random.Generator, n: int, system: str) -> np.ndarray:
    weights = np.array(PHONE_STYLE_WEIGHTS[system])
    return rng.choice(weights.size, size=n, p=weights / weights.sum())


def format_phone(digits: pl.Series, styles: np.ndarray) -> pl.Series:
    """Render 10-digit US numbers in the given layouts (see ``PHONE_STYLE_WEIGHTS``)."""
    frame = pl.DataFrame({"d": digits, "s": styles})
    a, e, last = (pl.col("d").str.slice(0, 3), pl.col("d").str.slice(3, 3), pl.col("d").str.slice(6, 4))
    layouts = [
        pl.concat_str([pl.lit("("), a, pl.lit(") "), e, pl.lit("-"), last]),
        pl.concat_str([a, e, last], separator="-"),
        pl.concat_str([a, e, last], separator="."),
        pl.concat_str([pl.lit("+1"), a, e, last], separator=" "),
        pl.col("d"),
        pl.concat_str([pl.lit("+1"), pl.col("d")]),
    ]
    style = pl.col("s")
    expr = (
        pl.when(style == 0).then(layouts[0])
        .when(style == 1).then(layouts[1])
        .when(style == 2).then(layouts[2])
        .when(style == 3).then(layouts[3])
        .when(style == 4).then(layouts[4])
        .otherwise(layouts[5])
    )  # fmt: skip
    return frame.select(expr.alias(digits.name or "phone")).to_series()


def format_ssn(ssn: pl.Series, styles: np.ndarray) -> pl.Series:
    """Render 9-digit SSNs as 123-45-6789, 123456789 or 123 45 6789."""
    frame = pl.DataFrame({"d": ssn, "s": styles})
    parts = [pl.col("d").str.slice(0, 3), pl.col("d").str.slice(3, 2), pl.col("d").str.slice(5, 4)]
    expr = (
        pl.when(pl.col("s") == 0)
        .then(pl.concat_str(parts, separator="-"))
        .when(pl.col("s") == 1)
        .then(pl.col("d"))
        .otherwise(pl.concat_str(parts, separator=" "))
    )
    return frame.select(expr.alias(ssn.name or "ssn")).to_series()


def transpose_digits(ssn: pl.Series, mask: np.ndarray, rng: np.random.Generator) -> pl.Series:
    """Swap two adjacent digits of masked identifiers."""
    frame = pl.DataFrame({"d": ssn, "p": rng.integers(0, 8, len(ssn))})
    d, p = pl.col("d"), pl.col("p")
    swapped = pl.concat_str([d.str.slice(0, p), d.str.slice(p + 1, 1), d.str.slice(p, 1), d.str.slice(p + 2)])
    return where(mask, frame.select(swapped).to_series(), ssn)


def messy_email(email: pl.Series, mask: np.ndarray, rng: np.random.Generator) -> pl.Series:
    """Odd capitalization and stray spaces, the way emails get keyed at a counter."""
    n = len(email)
    frame = pl.DataFrame({"e": email, "k": rng.integers(0, 3, n)})
    styled = (
        pl.when(pl.col("k") == 0)
        .then(pl.col("e").str.to_uppercase())
        .when(pl.col("k") == 1)
        .then(pl.concat_str([pl.lit(" "), pl.col("e").str.to_titlecase(), pl.lit(" ")]))
        .otherwise(pl.concat_str([pl.col("e"), pl.lit("  ")]))
    )
    return where(mask, frame.select(styled).to_series(), email)


def swap_day_month(dates: pl.Series, mask: np.ndarray) -> pl.Series:
    """Swap day and month where the result is still a valid, different date."""
    frame = pl.DataFrame({"d": dates, "m": _mask(mask)})
    d = pl.col("d")
    ok = pl.col("m") & (d.dt.day() <= 12) & (d.dt.day() != d.dt.month())
    swapped = pl.date(d.dt.year(), d.dt.day(), d.dt.month())
    return frame.select(pl.when(ok).then(swapped).otherwise(d).alias(dates.name or "d")).to_series()
