"""Card processor: cardholders and card accounts.

Layout conventions: pipe-delimited, upper case, the name as embossed on the plastic
("J SMITH", "JOHN A SMITH", at most 26 characters), USPS-abbreviated street, ZIP+4 without a
dash, dates as YYYYMMDD, phone as bare digits, ``RECORD_STATUS`` A or D. A spouse can be an
authorized user with a cardholder record of their own.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from cdp.synth import noise
from cdp.synth.common import Calendar, gather, labels, padded, to_date_series, unique_ints
from cdp.synth.extracts import Extract
from cdp.synth.pools import Pools
from cdp.synth.records import PartyVersions, created_dates, party_versions

SOURCE = "card_holders"
AUTHORIZED_USER_RATE = 0.12
EMBOSS_WIDTH = 26
PRODUCTS = ("CASHBK", "PLAT", "GOLD", "SECURED", "STUDENT")
PRODUCT_WEIGHTS = np.array([0.40, 0.25, 0.20, 0.08, 0.07])
STATUS = ("A", "C", "CO")
DELINQUENT_RATE, CHARGED_OFF_RATE, CLOSED_RATE, REVOLVER_RATE = 0.06, 0.01, 0.05, 0.4


def card_records(
    rng: np.random.Generator, persons: pl.DataFrame, *, calendar: Calendar
) -> tuple[np.ndarray, np.ndarray, PartyVersions]:
    """Person index, owner (-1 for a primary cardholder, else the primary record an authorized user
    was added for) and the versions of every cardholder record."""
    members = np.flatnonzero(persons["in_card"].to_numpy())
    dups = np.flatnonzero(persons["card_dups"].to_numpy() > 0)
    primary = np.concatenate([members, dups])
    is_head = (persons["role"] == "head").to_numpy()[primary]
    is_spouse = (persons["role"] == "spouse").to_numpy()[primary]
    partner_role = labels(("head", "spouse"), is_head.astype(np.int64))
    couples = (is_head | is_spouse) & (rng.random(primary.size) < AUTHORIZED_USER_RATE)
    lookup = pl.DataFrame({"household": persons["household"].to_numpy()[primary], "role": partner_role}).join(
        persons.select("household", "role", "person", "age"),
        on=["household", "role"],
        how="left",
        maintain_order="left",
    )
    partner = lookup["person"].fill_null(-1).to_numpy()
    authorized = couples & (partner >= 0)
    person_idx = np.concatenate([primary, partner[authorized]])
    owner = np.concatenate([np.full(primary.size, -1, dtype=np.int64), np.flatnonzero(authorized)])
    duplicate = np.zeros(person_idx.size, dtype=bool)
    duplicate[members.size : primary.size] = True
    multi = (
        persons.select(pl.sum_horizontal("in_core", "in_digital", "in_mortgage") > 0).to_series().to_numpy()
    )
    created = created_dates(
        rng,
        persons,
        person_idx,
        calendar=calendar,
        min_age=18,
        max_years=25,
        new_eligible=duplicate | multi[person_idx],
    )
    # An authorized user is set up together with the account they are added to.
    au_rows = np.flatnonzero(owner >= 0)
    created[au_rows] = np.maximum(created[au_rows], created[owner[au_rows]])
    versions = party_versions(
        rng, persons, person_idx, created, system="card", calendar=calendar, duplicate=duplicate
    )
    return person_idx, owner, versions


def _layout(version: pl.DataFrame, holder: pl.Series, pools: Pools, seed: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    n = version.height
    initial = pl.Series(noise.flags(rng, n, "first_initial", "card"))
    with_middle = pl.Series(rng.random(n) < 0.5)
    street = noise.typo(
        gather(pools.streets_abbreviated, version["street"].to_numpy()),
        noise.flags(rng, n, "address_typo", "card"),
        rng,
    )
    frame = version.with_columns(
        street=street,
        initial=initial,
        with_middle=with_middle,
        plus4=pl.when(pl.Series(rng.random(n) < 0.6))
        .then(padded(rng.integers(1, 9999, n), 4))
        .otherwise(pl.lit("")),
        phone=noise.format_phone(
            version["mobile"].fill_null(version["home"]), noise.phone_styles(rng, n, "card")
        ),
        city=gather(pools.cities, version["loc"].to_numpy()),
        state=gather(pools.states, version["loc"].to_numpy()),
        zip=gather(pools.zips, version["loc"].to_numpy()),
    )
    first = pl.when(pl.col("initial")).then(pl.col("first").str.slice(0, 1)).otherwise(pl.col("first"))
    middle = pl.when(pl.col("with_middle")).then(pl.col("middle").str.slice(0, 1))
    emboss = pl.concat_str([first, middle, pl.col("last")], separator=" ", ignore_nulls=True)
    return frame.select(
        HOLDER_ID=holder,
        EMBOSS_NAME=emboss.str.to_uppercase().str.slice(0, EMBOSS_WIDTH).str.strip_chars(),
        DOB=pl.col("dob").dt.strftime("%Y%m%d"),
        ADDR_LINE_1=pl.concat_str([pl.col("house_no"), pl.col("street")], separator=" ").str.to_uppercase(),
        ADDR_LINE_2=pl.concat_str([pl.lit("APT "), pl.col("unit")]).str.to_uppercase(),
        CITY=pl.col("city").str.to_uppercase(),
        STATE=pl.col("state"),
        ZIP=pl.concat_str([pl.col("zip"), pl.col("plus4")]),
        PHONE=pl.col("phone"),
        EMAIL=pl.col("email").str.to_uppercase(),
        SETUP_DATE=pl.col("created").dt.strftime("%Y%m%d"),
        MAINT_DATE=pl.col("updated").dt.strftime("%Y%m%d"),
        RECORD_STATUS=pl.lit("A"),
    )


def card_holders(
    rng: np.random.Generator, person_idx: np.ndarray, versions: PartyVersions, pools: Pools
) -> tuple[Extract, pl.Series]:
    """The cardholder extract and its holder ids."""
    holder = padded(unique_ints(rng, person_idx.size, 1, 10**10), 10, "CH")
    seed = int(rng.integers(0, 2**31))
    extract = Extract(
        system="card",
        stem="cardholders",
        frame=_layout(versions.final, holder, pools, seed),
        initial=_layout(versions.initial, holder, pools, seed),
        batch=versions.first_batch,
        change_batch=versions.change_batch,
        delete_batch=versions.delete_batch,
        status=("RECORD_STATUS", "A", "D"),
    )
    return extract, holder


def card_accounts(
    rng: np.random.Generator,
    person_idx: np.ndarray,
    owner: np.ndarray,
    versions: PartyVersions,
    holder: pl.Series,
    *,
    calendar: Calendar,
) -> tuple[Extract, pl.DataFrame]:
    """One card account per primary cardholder record, with its authorized user if any."""
    primary = np.flatnonzero(owner < 0)
    m = primary.size
    au_rows = np.flatnonzero(owner >= 0)
    au_holder = pl.repeat(None, m, dtype=pl.String, eager=True).scatter(
        pl.Series(owner[au_rows]), holder.gather(pl.Series(au_rows))
    )
    opened = versions.final["created"].to_numpy()[primary].astype("datetime64[D]")
    as_of = np.datetime64(calendar.as_of, "D")
    product = rng.choice(len(PRODUCTS), size=m, p=PRODUCT_WEIGHTS)
    limit = np.where(
        product >= 3,
        rng.choice([500, 1000, 1500], m),
        np.round(np.exp(rng.normal(8.9, 0.6, m)) / 500) * 500 + 500,
    )
    u = rng.random(m)
    status = np.select([u < CHARGED_OFF_RATE, u < CHARGED_OFF_RATE + CLOSED_RATE], [2, 1], 0)  # A, C, CO
    revolver = rng.random(m) < REVOLVER_RATE
    balance = np.where(
        status == 1,
        0.0,
        np.round(limit * np.where(revolver, rng.uniform(0.2, 0.95, m), rng.uniform(0.0, 0.15, m)), 2),
    )
    dpd = np.where(
        status == 2,
        180,
        np.where(
            (status == 0) & (rng.random(m) < DELINQUENT_RATE),
            rng.choice([30, 60, 90, 120], m, p=[0.55, 0.25, 0.12, 0.08]),
            0,
        ),
    )
    closed_on = opened + ((as_of - opened).astype(np.int64) * rng.uniform(0.3, 1.0, m)).astype(np.int64)
    closed = pl.select(pl.when(pl.Series(status > 0)).then(to_date_series(closed_on))).to_series()
    acct = padded(unique_ints(rng, m, 10**12, 10**13), 13, "")
    facts = pl.DataFrame(
        {
            "acct_nbr": acct,
            "person": person_idx[primary],
            "opened": to_date_series(opened),
            "closed": closed,
            "status": labels(STATUS, status),
            "limit": limit,
            "revolver": revolver,
            "dpd": dpd,
        }
    )
    frame = facts.select(
        ACCT_NBR=pl.col("acct_nbr"),
        HOLDER_ID=holder.gather(pl.Series(primary)),
        AUTH_USER_ID=au_holder,
        PRODUCT_CD=labels(PRODUCTS, product),
        CREDIT_LIMIT=pl.Series(limit.astype(np.int64)).cast(pl.String),
        CUR_BALANCE=pl.Series(balance).cast(pl.String),
        DAYS_PAST_DUE=pl.Series(dpd).cast(pl.String),
        OPEN_DATE=pl.col("opened").dt.strftime("%Y%m%d"),
        CLOSE_DATE=pl.col("closed").dt.strftime("%Y%m%d"),
        STATUS_CD=pl.col("status"),
    )
    au_batch = np.ones(m, dtype=np.int64)
    au_batch[owner[au_rows]] = versions.first_batch[au_rows]
    # An account is delivered no earlier than the cardholder records it refers to.
    batch = np.maximum(calendar.batch_of(opened), au_batch)
    close_batch = np.where(status > 0, calendar.batch_of(closed_on), 0)
    initial = frame.with_columns(CLOSE_DATE=pl.lit(None, pl.String), STATUS_CD=pl.lit("A"))
    extract = Extract(
        system="card",
        stem="accounts",
        frame=frame,
        batch=batch,
        initial=initial,
        change_batch=np.where(close_batch > batch, close_batch, 0),
    )
    return extract, facts
