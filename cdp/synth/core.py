"""Core banking: the customer master (CIF) and deposit accounts.

Layout conventions: comma-separated UTF-8; dates of birth and open dates as MM/DD/YYYY,
maintenance and account dates ISO; SSN formatted three ways; house number and street in separate
columns; a home and a mobile phone; Y/N flags for do-not-contact and deceased; ``record_status``
A (active) or D (deleted).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from cdp.synth import noise
from cdp.synth.common import Calendar, gather, labels, padded, to_date_series, unique_ints
from cdp.synth.extracts import Extract
from cdp.synth.pools import Pools
from cdp.synth.records import PartyVersions, created_dates, party_versions

SOURCE = "core_customers"
DO_NOT_CONTACT_RATE = 0.03
BRANCHES = 40
#: Account product mix per adult customer record (teens get one teen savings account).
CHECKING_RATE, SECOND_CHECKING_RATE, SAVINGS_RATE, CD_RATE = 0.88, 0.08, 0.5, 0.1
JOINT_RATE = 0.5
CLOSED_RATE = 0.07
OVERDRAWN_RATE = 0.04
ACCOUNT_TYPES = ("DDA", "SAV", "CD")


def core_records(
    rng: np.random.Generator, persons: pl.DataFrame, *, calendar: Calendar
) -> tuple[np.ndarray, PartyVersions]:
    """Person index and the two versions of every CIF (one per core person plus duplicates)."""
    members = np.flatnonzero(persons["in_core"].to_numpy())
    dups = np.flatnonzero(persons["core_dups"].to_numpy() > 0)
    person_idx = np.concatenate([members, dups])
    duplicate = np.arange(person_idx.size) >= members.size
    multi = (
        persons.select(pl.sum_horizontal("in_card", "in_digital", "in_mortgage") > 0).to_series().to_numpy()
    )
    created = created_dates(
        rng,
        persons,
        person_idx,
        calendar=calendar,
        min_age=13,
        max_years=35,
        new_eligible=duplicate | multi[person_idx],
    )
    versions = party_versions(
        rng, persons, person_idx, created, system="core", calendar=calendar, duplicate=duplicate
    )
    return person_idx, versions


def _layout(version: pl.DataFrame, cif: pl.Series, pools: Pools, seed: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    n = version.height
    upper = pl.Series(noise.flags(rng, n, "upper_case_name", "core"))
    initial = pl.Series(noise.flags(rng, n, "first_initial", "core"))
    street = noise.typo(
        gather(pools.streets, version["street"].to_numpy()), noise.flags(rng, n, "address_typo", "core"), rng
    )
    unit_style = pl.Series(rng.integers(0, 3, n))
    zip4 = pl.Series(rng.random(n) < 0.1)
    branch = labels(pools.branch_phones, rng.integers(0, len(pools.branch_phones), n))
    at_branch = pl.Series(noise.flags(rng, n, "branch_phone", "core"))
    dnc = pl.Series(rng.random(n) < DO_NOT_CONTACT_RATE)
    frame = version.with_columns(
        street=street,
        unit_style=unit_style,
        zip4=zip4,
        branch=branch,
        at_branch=at_branch,
        dnc=dnc,
        plus4=padded(rng.integers(1, 9999, n), 4),
        branch_cd=padded(rng.integers(1, BRANCHES + 1, n), 3),
        mobile=noise.format_phone(version["mobile"], noise.phone_styles(rng, n, "core")),
        home=noise.format_phone(version["home"], noise.phone_styles(rng, n, "core")),
        email=noise.messy_email(version["email"], noise.flags(rng, n, "email_messy", "core"), rng),
        ssn=noise.format_ssn(version["ssn"], rng.choice(3, size=n, p=[0.7, 0.25, 0.05])),
        city=gather(pools.cities, version["loc"].to_numpy()),
        state=gather(pools.states, version["loc"].to_numpy()),
        zip=gather(pools.zips, version["loc"].to_numpy()),
    )

    def name(col: str) -> pl.Expr:
        return pl.when(upper).then(pl.col(col).str.to_uppercase()).otherwise(pl.col(col))

    first = pl.when(initial).then(pl.col("first").str.slice(0, 1)).otherwise(pl.col("first"))
    unit = pl.col("unit")
    return frame.select(
        cif_no=cif,
        first_nm=pl.when(upper).then(first.str.to_uppercase()).otherwise(first),
        mid_init=name("middle").str.slice(0, 1),
        last_nm=name("last"),
        birth_dt=pl.col("dob").dt.strftime("%m/%d/%Y"),
        ssn=pl.col("ssn"),
        house_no=pl.col("house_no"),
        street=pl.col("street"),
        apt=pl.when(pl.col("unit_style") == 0)
        .then(pl.concat_str([pl.lit("APT "), unit]))
        .when(pl.col("unit_style") == 1)
        .then(pl.concat_str([pl.lit("#"), unit]))
        .otherwise(pl.concat_str([pl.lit("Unit "), unit])),
        city=pl.col("city"),
        state=pl.col("state"),
        zip=pl.when(pl.col("zip4"))
        .then(pl.concat_str([pl.col("zip"), pl.col("plus4")], separator="-"))
        .otherwise(pl.col("zip")),
        home_phone=pl.when(pl.col("at_branch")).then(pl.lit(None, pl.String)).otherwise(pl.col("home")),
        mobile_phone=pl.when(pl.col("at_branch")).then(pl.col("branch")).otherwise(pl.col("mobile")),
        email_addr=pl.col("email"),
        cust_open_dt=pl.col("created").dt.strftime("%m/%d/%Y"),
        dnc_flag=pl.when(pl.col("dnc")).then(pl.lit("Y")).otherwise(pl.lit("N")),
        deceased_ind=pl.when(pl.col("deceased")).then(pl.lit("Y")).otherwise(pl.lit("N")),
        branch_cd=pl.col("branch_cd"),
        last_maint_dt=pl.col("updated").dt.strftime("%Y-%m-%d"),
        record_status=pl.lit("A"),
    )


def core_customers(
    rng: np.random.Generator, person_idx: np.ndarray, versions: PartyVersions, pools: Pools
) -> tuple[Extract, pl.Series]:
    """The customer master extract and its CIF numbers."""
    cif = padded(unique_ints(rng, person_idx.size, 10_000_000, 999_999_999), 10)
    seed = int(rng.integers(0, 2**31))
    extract = Extract(
        system="core",
        stem="customers",
        frame=_layout(versions.final, cif, pools, seed),
        initial=_layout(versions.initial, cif, pools, seed),
        batch=versions.first_batch,
        change_batch=versions.change_batch,
        delete_batch=versions.delete_batch,
        status=("record_status", "A", "D"),
    )
    return extract, cif


def core_accounts(
    rng: np.random.Generator,
    persons: pl.DataFrame,
    person_idx: np.ndarray,
    versions: PartyVersions,
    cif: pl.Series,
    *,
    calendar: Calendar,
) -> tuple[Extract, pl.DataFrame]:
    """Deposit accounts (checking, savings, CDs), some joint; returns the extract and the facts
    (account, holder person, type, dates, overdrawn) that transactions are generated from."""
    n = person_idx.size
    age = persons["age"].to_numpy()[person_idx]
    adult = age >= 18
    dup = versions.final["duplicate"].to_numpy()
    sav_dup = dup & (rng.random(n) < 0.4)
    counts = (
        np.where(adult & ~dup, (rng.random(n) < CHECKING_RATE) + (rng.random(n) < SECOND_CHECKING_RATE), 0),
        np.where(adult, (rng.random(n) < SAVINGS_RATE) & ~dup, 1) + sav_dup,
        np.where(adult & ~dup, rng.random(n) < CD_RATE, 0) + (dup & ~sav_dup),
    )
    holder = np.concatenate([np.repeat(np.arange(n), c.astype(np.int64)) for c in counts])
    code = np.concatenate([np.full(int(c.sum()), k) for k, c in enumerate(counts)])
    checking, saving, cd = code == 0, code == 1, code == 2
    kind = labels(ACCOUNT_TYPES, code)
    m = holder.size
    # Joint owner: the spouse's (or, for a teen, the head's) first CIF in the household.
    primary_cif = pl.DataFrame(
        {"person": person_idx, "cif": cif, "dup": dup, "joint_row": np.arange(n)}
    ).filter(~pl.col("dup"))
    members = persons.select("person", "household", "role").join(primary_cif.drop("dup"), on="person")
    is_head = (persons["role"] == "head").to_numpy()[person_idx[holder]]
    is_spouse = (persons["role"] == "spouse").to_numpy()[person_idx[holder]]
    teen = age[holder] < 18
    partner_role = labels(("head", "spouse"), (is_head & ~teen).astype(np.int64))
    wants_joint = checking & (is_head | is_spouse) & (rng.random(m) < JOINT_RATE) | saving & teen
    lookup = pl.DataFrame(
        {
            "household": persons["household"].to_numpy()[person_idx[holder]],
            "role": partner_role,
        }
    ).join(members, on=["household", "role"], how="left", maintain_order="left")
    joint = pl.select(pl.when(pl.Series(wants_joint)).then(lookup["cif"])).to_series()
    joint_row = lookup["joint_row"].fill_null(0).to_numpy()
    created = versions.final["created"].to_numpy()[holder].astype("datetime64[D]")
    as_of = np.datetime64(calendar.as_of, "D")
    first_day = np.datetime64(calendar.batch_dates[0], "D")
    horizon = np.where(created > first_day, 0, (first_day - created).astype(np.int64))
    opened = created + (horizon * rng.random(m) ** 3).astype(np.int64)
    closed = (rng.random(m) < CLOSED_RATE) & (opened < as_of - 30)
    closed_on = opened + ((as_of - opened).astype(np.int64) * rng.random(m)).astype(np.int64)
    overdrawn = checking & ~closed & (rng.random(m) < OVERDRAWN_RATE)
    balance = np.select(
        [closed, overdrawn, checking, saving],
        [0.0, -rng.uniform(5, 900, m), np.exp(rng.normal(7.6, 1.2, m)), np.exp(rng.normal(8.4, 1.6, m))],
        np.round(rng.uniform(1, 20, m)) * 5000,
    )
    term = np.where(cd, rng.choice([6, 12, 18, 24, 60], m), 0)
    tier = labels(("STD", "PREM", "STD"), rng.integers(0, 3, m))
    product = pl.select(
        pl.when(pl.Series(checking))
        .then(pl.concat_str([pl.lit("CHK-"), tier]))
        .when(pl.Series(saving & teen))
        .then(pl.lit("SAV-TEEN"))
        .when(pl.Series(saving))
        .then(pl.lit("SAV-REG"))
        .otherwise(pl.concat_str([pl.lit("CD-"), pl.Series(term).cast(pl.String), pl.lit("M")]))
    ).to_series()
    acct = padded(unique_ints(rng, m, 10**11, 10**12 - 1), 12)
    facts = pl.DataFrame(
        {
            "acct_no": acct,
            "record": holder,
            "person": person_idx[holder],
            "kind": kind,
            "opened": to_date_series(opened),
            "closed": pl.select(pl.when(pl.Series(closed)).then(to_date_series(closed_on))).to_series(),
            "overdrawn": overdrawn,
            "joint_cif": joint,
        }
    )
    frame = facts.select(
        acct_no=pl.col("acct_no"),
        cif_no=cif.gather(pl.Series(holder)),
        joint_cif_no=pl.col("joint_cif"),
        acct_type=pl.col("kind"),
        prod_cd=pl.Series(product),
        currency_cd=pl.lit("USD"),
        cur_bal=pl.Series(np.round(balance, 2)).cast(pl.String),
        int_rate=pl.when(pl.col("kind") == "CD").then(
            pl.Series(np.round(rng.uniform(2.5, 4.6, m), 2)).cast(pl.String)
        ),
        term_mo=pl.when(pl.col("kind") == "CD").then(pl.Series(term).cast(pl.String)),
        open_dt=pl.col("opened").dt.strftime("%Y-%m-%d"),
        close_dt=pl.col("closed").dt.strftime("%Y-%m-%d"),
        acct_status=pl.when(pl.col("closed").is_null()).then(pl.lit("O")).otherwise(pl.lit("C")),
    )
    # An account is delivered no earlier than the customer records it refers to.
    joint_batch = np.where(joint.is_not_null().to_numpy(), versions.first_batch[joint_row], 1)
    batch = np.maximum.reduce([calendar.batch_of(opened), versions.first_batch[holder], joint_batch])
    close_batch = np.where(closed, calendar.batch_of(closed_on), 0)
    initial = frame.with_columns(close_dt=pl.lit(None, pl.String), acct_status=pl.lit("O"))
    extract = Extract(
        system="core",
        stem="accounts",
        frame=frame,
        batch=batch,
        initial=initial,
        change_batch=np.where(close_batch > batch, close_batch, 0),
    )
    return extract, facts
