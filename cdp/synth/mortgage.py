"""Mortgage platform: borrowers and co-borrowers (one record per person per loan) and loans.

Layout conventions: comma-separated Latin-1 (Spanish names keep their accents), Title case names
with full middle names, ISO dates, ONLY the last four SSN digits, and a property address next to a
mailing address that is left empty when it is the same. A household that moved but kept its old
home as a rental has the old address as the property; if the platform was never told about the
move, that old address is all it knows.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from cdp.synth import noise
from cdp.synth.common import Calendar, gather, labels, padded, to_date_series, unique_ints
from cdp.synth.extracts import Extract
from cdp.synth.pools import Pools
from cdp.synth.records import PartyVersions, party_versions

SOURCE = "mortgage_borrowers"
KEPT_OLD_HOME_RATE = 0.5  # of households with a loan that moved: the loan is on the old home
MAILING_FILLED_RATE = 0.2  # mailing address repeated although it equals the property address
PRODUCTS = ("FIXED30", "FIXED15", "FIXED20", "ARM51")
PRODUCT_WEIGHTS = np.array([0.6, 0.25, 0.05, 0.1])
TERMS = np.array([360, 180, 240, 360])
HOME, OLD_HOME, OTHER = 0, 1, 2


def _rates(year: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    base = np.select([year <= 2008, year <= 2019, year <= 2021, year == 2022], [6.0, 4.2, 3.0, 5.2], 6.8)
    return np.round((base + rng.normal(0, 0.35, year.size)) * 8) / 8


def mortgage_loans(rng: np.random.Generator, persons: pl.DataFrame, *, calendar: Calendar) -> pl.DataFrame:
    """One row per loan: household head, co-borrower (or -1), property kind (``HOME``, ``OLD_HOME``,
    ``OTHER``) and origination date."""
    count = persons["mortgage_loans"].to_numpy()
    heads = np.repeat(np.arange(persons.height), count)
    second = np.concatenate([[False], heads[1:] == heads[:-1]]) if heads.size else np.zeros(0, dtype=bool)
    n = heads.size
    moved = persons["moved"].to_numpy()[heads]
    old_home = ~second & moved & (rng.random(n) < KEPT_OLD_HOME_RATE)
    prop = np.select([second, old_home], [OTHER, OLD_HOME], HOME)
    age = persons["age"].to_numpy()[heads]
    move = persons["move_date"].to_numpy()[heads].astype("datetime64[D]")
    first_day = np.datetime64(calendar.batch_dates[0], "D")
    years_back = np.minimum(np.maximum(age - 24, 1), 28)
    originated = first_day - (years_back * 365 * rng.random(n) ** 1.5).astype(np.int64) - 1
    # Buying the current home is what the move was; the kept old home was bought before it.
    originated = np.where((prop == HOME) & moved, np.minimum(move, first_day), originated)
    originated = np.where(old_home, move - rng.integers(365, 8 * 365, n), originated)
    join = persons["join_batch"].to_numpy()[heads]
    join_date = persons["join_date"].to_numpy()[heads].astype("datetime64[D]")
    originated = np.where(join > 1, join_date, originated)
    spouse = persons.filter(pl.col("co_borrower")).select("household", "person")
    lookup = pl.DataFrame({"household": persons["household"].to_numpy()[heads]}).join(
        spouse, on="household", how="left", maintain_order="left"
    )
    co = lookup["person"].fill_null(-1).to_numpy()
    return pl.DataFrame(
        {
            "loan": padded(unique_ints(rng, n, 10**9, 10**10), 10),
            "head": heads,
            "co": co,
            "prop": prop,
            "originated": to_date_series(originated),
        }
    )


def borrower_records(
    rng: np.random.Generator, persons: pl.DataFrame, loans: pl.DataFrame, *, calendar: Calendar
) -> tuple[np.ndarray, np.ndarray, PartyVersions]:
    """Person index, loan row and versions of every borrower record (primary first, then co)."""
    co = loans["co"].to_numpy()
    person_idx = np.concatenate([loans["head"].to_numpy(), co[co >= 0]])
    loan_row = np.concatenate([np.arange(loans.height), np.flatnonzero(co >= 0)])
    created = loans["originated"].to_numpy().astype("datetime64[D]")[loan_row]
    versions = party_versions(
        rng,
        persons,
        person_idx,
        created,
        system="mortgage",
        calendar=calendar,
        duplicate=np.zeros(person_idx.size, dtype=bool),
    )
    return person_idx, loan_row, versions


def _layout(
    version: pl.DataFrame,
    ids: pl.Series,
    loans: pl.DataFrame,
    loan_row: np.ndarray,
    persons: pl.DataFrame,
    pools: Pools,
    seed: int,
) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    n = version.height
    street_pool = pl.Series(pools.streets)
    prop_kind = loans["prop"].to_numpy()[loan_row]
    heads = loans["head"].to_numpy()[loan_row]
    other: dict[str, pl.Series] = {  # a second home somewhere else
        "house_no": pl.Series(rng.integers(1, 9999, n)).cast(pl.String),
        "street": pl.Series(rng.integers(0, len(pools.streets), n)),
        "unit": pl.repeat(None, n, dtype=pl.String, eager=True),
        "loc": pl.Series(rng.integers(0, len(pools.cities), n)),
    }
    prop: dict[str, pl.Series] = {}
    for col in ("house_no", "street", "unit", "loc"):
        home = persons[col].gather(pl.Series(heads))
        old = persons[f"prev_{col}"].gather(pl.Series(heads))
        prop[col] = noise.where(
            prop_kind == OTHER,
            other[col].cast(home.dtype),
            noise.where(prop_kind == OLD_HOME, old, home),
        )
    same = np.ones(n, dtype=bool)
    for col in ("house_no", "street", "loc"):
        same &= (prop[col] == version[col]).fill_null(False).to_numpy()
    mailing = ~same | (rng.random(n) < MAILING_FILLED_RATE)
    accent = noise.flags(rng, n, "accented_name", "mortgage")
    phone_styles = noise.phone_styles(rng, n, "mortgage")
    frame = version.with_columns(
        first=noise.accented(version["first"], accent),
        last=noise.accented(version["last"], accent),
        email=noise.messy_email(version["email"], noise.flags(rng, n, "email_messy", "mortgage"), rng),
        home=noise.format_phone(version["home"], phone_styles),
        mobile=noise.format_phone(version["mobile"], phone_styles),
        mail=pl.Series(mailing),
        mail_street=pl.concat_str(
            [version["house_no"], street_pool.gather(version["street"])], separator=" "
        ),
        mail_unit=pl.concat_str([pl.lit("Apt "), version["unit"]]),
        mail_city=gather(pools.cities, version["loc"].to_numpy()),
        mail_state=gather(pools.states, version["loc"].to_numpy()),
        mail_zip=gather(pools.zips, version["loc"].to_numpy()),
        prop_street=pl.concat_str(
            [prop["house_no"], street_pool.gather(pl.Series(prop["street"]))], separator=" "
        ),
        prop_unit=pl.concat_str([pl.lit("Unit "), prop["unit"]]),
        prop_city=gather(pools.cities, prop["loc"].to_numpy()),
        prop_state=gather(pools.states, prop["loc"].to_numpy()),
        prop_zip=gather(pools.zips, prop["loc"].to_numpy()),
        loan=loans["loan"].gather(pl.Series(loan_row)),
        kind=labels(("PRIMARY", "CO-BORROWER"), (np.arange(n) >= loans.height).astype(np.int64)),
        last4=version["ssn"].str.slice(5, 4),
    )

    def mail(col: str) -> pl.Expr:
        return pl.when(pl.col("mail")).then(pl.col(col))

    return frame.select(
        BorrowerID=ids,
        LoanNumber=pl.col("loan"),
        BorrowerType=pl.col("kind"),
        FirstName=pl.col("first"),
        MiddleName=pl.col("middle"),
        LastName=pl.col("last"),
        DateOfBirth=pl.col("dob").dt.strftime("%Y-%m-%d"),
        SSNLast4=pl.col("last4"),
        PropertyStreet=pl.col("prop_street"),
        PropertyUnit=pl.col("prop_unit"),
        PropertyCity=pl.col("prop_city"),
        PropertyState=pl.col("prop_state"),
        PropertyZip=pl.col("prop_zip"),
        MailingStreet=mail("mail_street"),
        MailingUnit=mail("mail_unit"),
        MailingCity=mail("mail_city"),
        MailingState=mail("mail_state"),
        MailingZip=mail("mail_zip"),
        HomePhone=pl.col("home"),
        CellPhone=pl.col("mobile"),
        EmailAddress=pl.col("email"),
        CreatedDate=pl.col("created").dt.strftime("%Y-%m-%d"),
        LastModified=pl.col("updated").dt.strftime("%Y-%m-%d"),
        RecordStatus=pl.lit("Active"),
    )


def mortgage_borrowers(
    rng: np.random.Generator,
    persons: pl.DataFrame,
    loans: pl.DataFrame,
    loan_row: np.ndarray,
    versions: PartyVersions,
    pools: Pools,
) -> tuple[Extract, pl.Series]:
    """The borrower extract and its borrower ids."""
    ids = padded(unique_ints(rng, loan_row.size, 1, 10**8), 8, "B")
    seed = int(rng.integers(0, 2**31))
    extract = Extract(
        system="mortgage",
        stem="borrowers",
        frame=_layout(versions.final, ids, loans, loan_row, persons, pools, seed),
        initial=_layout(versions.initial, ids, loans, loan_row, persons, pools, seed),
        batch=versions.first_batch,
        change_batch=versions.change_batch,
        delete_batch=versions.delete_batch,
        status=("RecordStatus", "Active", "Deleted"),
    )
    return extract, ids


def mortgage_loan_extract(
    rng: np.random.Generator, loans: pl.DataFrame, loan_row: np.ndarray, ids: pl.Series, *, calendar: Calendar
) -> Extract:
    """Loans with primary and co-borrower ids, principal, rate, term, balance and arrears."""
    n = loans.height
    product = rng.choice(len(PRODUCTS), size=n, p=PRODUCT_WEIGHTS)
    term = TERMS[product]
    originated = loans["originated"].to_numpy().astype("datetime64[D]")
    year = originated.astype("datetime64[Y]").astype(np.int64) + 1970
    rate = _rates(year, rng)
    principal = np.round(np.exp(rng.normal(12.4, 0.45, n)) / 1000) * 1000
    elapsed = ((np.datetime64(calendar.as_of, "D") - originated).astype(np.int64) // 30.44).astype(np.int64)
    monthly = rate / 1200
    growth = (1 + monthly) ** np.minimum(elapsed, term)
    upb = principal * ((1 + monthly) ** term - growth) / ((1 + monthly) ** term - 1)
    paid_off = (elapsed >= term) | (rng.random(n) < 0.04)
    upb = np.where(paid_off, 0.0, np.round(upb, 2))
    u = rng.random(n)
    arrears = np.where(paid_off, 0, np.select([u < 0.005, u < 0.015, u < 0.045], [120, 60, 30], 0))
    status = np.select([paid_off, arrears >= 120, arrears > 0], [0, 1, 2], 3)
    co_row = np.full(n, -1, dtype=np.int64)
    co_row[loan_row[n:]] = np.arange(n, loan_row.size)
    co_id = pl.select(
        pl.when(pl.Series(co_row >= 0)).then(ids.gather(pl.Series(np.maximum(co_row, 0))))
    ).to_series()
    frame = pl.DataFrame(
        {
            "LoanNumber": loans["loan"],
            "PrimaryBorrowerID": ids.gather(pl.Series(np.arange(n))),
            "CoBorrowerID": co_id,
            "ProductCode": labels(PRODUCTS, product),
            "OriginalPrincipal": pl.Series(principal).cast(pl.Int64).cast(pl.String),
            "CurrentUPB": pl.Series(upb).cast(pl.String),
            "NoteRate": pl.Series(rate).cast(pl.String),
            "TermMonths": pl.Series(term).cast(pl.String),
            "OriginationDate": to_date_series(originated).dt.strftime("%Y-%m-%d"),
            "DaysDelinquent": pl.Series(arrears).cast(pl.String),
            "LoanStatus": labels(("Paid Off", "Foreclosure", "Delinquent", "Current"), status),
            "PropertyUse": labels(
                ("Primary Residence", "Investment", "Second Home"), loans["prop"].to_numpy()
            ),
        }
    )
    return Extract(system="mortgage", stem="loans", frame=frame, batch=calendar.batch_of(originated))
