"""pandera contracts of mapped source rows (after the config's expressions, before standardization).

Ingestion validates each file's mapped rows with ``lazy=True`` and turns every failure case into a
reject (one row may fail several checks; it is still one rejected row). The frames checked here
have the canonical columns of their kind, typed: dates, timestamps, amounts and flags are the
typed probes that ingestion parsed from the source text.

"Today" is read when a check runs, so the contracts never go stale in a long-lived process.
Code values (product family, consent purpose and channel) are compared after the same
normalization and synonyms that standardization applies (``cdp.standardize.codes``), so a
value is only rejected when standardization could not map it either.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping

import pandera.polars as pa
import polars as pl

from cdp.schemas.canonical import (
    ACCOUNT_COLUMNS,
    CONSENT_COLUMNS,
    EVENT_COLUMNS,
    PARTY_COLUMNS,
    TRANSACTION_COLUMNS,
)
from cdp.standardize.codes import CONSENT_CHANNELS, CONSENT_PURPOSES, PRODUCT_FAMILIES, normalized_code

EARLIEST = dt.date(1900, 1, 1)
PRODUCT_FAMILY_CODES = ("deposit", "card", "mortgage", "loan")
CONSENT_PURPOSE_CODES = ("marketing", "credit_offers", "profiling", "third_party")
CONSENT_CHANNEL_CODES = ("email", "sms", "mail", "phone", "app")
HOLDER_ROLE_CODES = ("primary", "joint", "co_borrower", "authorized_user")
TOKEN_PATTERN = r"^[0-9a-f]{64}$"


def row_check(test: Callable[[pl.Expr], pl.Expr], error: str) -> pa.Check:
    """A vectorized column check; nulls pass (nullability is a separate check)."""
    return pa.Check(lambda data: data.lazyframe.select(test(pl.col(data.key)).fill_null(True)), error=error)


def _today() -> dt.date:
    return dt.date.today()


def date_between(error: str, *, earliest: dt.date = EARLIEST, slack_days: int | None = 0) -> pa.Check:
    """Date (or timestamp) not before ``earliest`` and, unless ``slack_days`` is None, not after
    today + ``slack_days`` (slack absorbs time-zone differences of "updated today")."""

    def test(column: pl.Expr) -> pl.Expr:
        as_date = column.cast(pl.Date)
        within = as_date >= earliest
        if slack_days is not None:
            within = within & (as_date <= _today() + dt.timedelta(days=slack_days))
        return within

    return row_check(test, error)


def finite(error: str = "not a finite number") -> pa.Check:
    """Float column without NaN or infinity."""
    return row_check(lambda column: column.is_finite(), error)


def known_code(canonical: tuple[str, ...], synonyms: Mapping[str, str], error: str) -> pa.Check:
    """Text that standardization maps onto one of ``canonical`` codes."""
    return row_check(lambda column: normalized_code(column, synonyms=synonyms).is_in(list(canonical)), error)


def _columns(
    contract: Mapping[str, pl.DataType],
    *,
    required: tuple[str, ...],
    checks: Mapping[str, list[pa.Check]],
) -> dict[str, pa.Column]:
    return {
        name: pa.Column(dtype, nullable=name not in required, checks=checks.get(name, []))
        for name, dtype in contract.items()
    }


_METADATA_REQUIRED = ("source", "source_system", "source_file", "source_row")
_ROW = {"source_row": [row_check(lambda column: column >= 1, "source_row must be >= 1")]}


def raw_parties_schema() -> pa.DataFrameSchema:
    """Contract of mapped party rows: key present, plausible dates, well-formed tokens."""
    return pa.DataFrameSchema(
        _columns(
            PARTY_COLUMNS,
            required=(*_METADATA_REQUIRED, "record_id"),
            checks={
                **_ROW,
                "date_of_birth": [date_between("date of birth outside 1900-01-01..today")],
                "customer_since": [date_between("customer_since outside 1900-01-01..today", slack_days=1)],
                "updated_at": [date_between("updated_at outside 1900-01-01..today", slack_days=1)],
                "national_id_token": [
                    pa.Check.str_matches(TOKEN_PATTERN, error="malformed national_id token")
                ],
                "national_id_last4_token": [
                    pa.Check.str_matches(TOKEN_PATTERN, error="malformed last4 token")
                ],
            },
        ),
        name="raw_parties",
    )


def _closed_after_opened(data: pa.PolarsData) -> pl.LazyFrame:
    closed, opened = pl.col("closed_date"), pl.col("opened_date")
    return data.lazyframe.select((closed >= opened).fill_null(True))


def raw_accounts_schema() -> pa.DataFrameSchema:
    """Contract of mapped account rows: key present, known family, finite amounts, sane dates."""
    return pa.DataFrameSchema(
        _columns(
            ACCOUNT_COLUMNS,
            required=(*_METADATA_REQUIRED, "account_id"),
            checks={
                **_ROW,
                "product_family": [
                    known_code(PRODUCT_FAMILY_CODES, PRODUCT_FAMILIES, "unknown product family")
                ],
                "balance": [finite()],
                "credit_limit": [finite(), pa.Check.ge(0, error="credit_limit is negative")],
                "principal": [finite()],
                "interest_rate": [finite(), pa.Check.in_range(0, 100, error="interest_rate outside 0..100")],
                "term_months": [pa.Check.ge(0, error="term_months is negative")],
                "days_past_due": [pa.Check.ge(0, error="days_past_due is negative")],
                "opened_date": [date_between("opened_date outside 1900-01-01..today", slack_days=1)],
                "closed_date": [date_between("closed_date before 1900-01-01", slack_days=None)],
            },
        ),
        checks=[pa.Check(_closed_after_opened, error="closed_date: before opened_date")],
        name="raw_accounts",
    )


def raw_transactions_schema() -> pa.DataFrameSchema:
    """Contract of mapped transaction rows: keys present, posted date plausible, amount finite."""
    return pa.DataFrameSchema(
        _columns(
            TRANSACTION_COLUMNS,
            required=(
                *_METADATA_REQUIRED,
                "transaction_id",
                "account_source",
                "account_id",
                "posted_date",
                "amount",
            ),
            checks={
                **_ROW,
                "posted_date": [date_between("posted_date outside 1900-01-01..today", slack_days=1)],
                "amount": [finite()],
            },
        ),
        name="raw_transactions",
    )


def raw_events_schema() -> pa.DataFrameSchema:
    """Contract of mapped event rows: keys present, event time plausible, type present."""
    return pa.DataFrameSchema(
        _columns(
            EVENT_COLUMNS,
            required=(
                *_METADATA_REQUIRED,
                "event_id",
                "party_source",
                "party_record_id",
                "event_time",
                "event_type",
            ),
            checks={
                **_ROW,
                "event_time": [date_between("event_time outside 1900-01-01..today", slack_days=1)],
            },
        ),
        name="raw_events",
    )


def raw_consents_schema() -> pa.DataFrameSchema:
    """Contract of mapped consent rows: party, known purpose and channel, decision and time."""
    return pa.DataFrameSchema(
        _columns(
            CONSENT_COLUMNS,
            required=(
                *_METADATA_REQUIRED,
                "party_source",
                "party_record_id",
                "purpose",
                "channel",
                "granted",
                "updated_at",
            ),
            checks={
                **_ROW,
                "purpose": [known_code(CONSENT_PURPOSE_CODES, CONSENT_PURPOSES, "unknown consent purpose")],
                "channel": [known_code(CONSENT_CHANNEL_CODES, CONSENT_CHANNELS, "unknown consent channel")],
                "updated_at": [date_between("updated_at outside 1900-01-01..today", slack_days=1)],
            },
        ),
        name="raw_consents",
    )


RAW_SCHEMAS: Mapping[str, Callable[[], pa.DataFrameSchema]] = {
    "parties": raw_parties_schema,
    "accounts": raw_accounts_schema,
    "transactions": raw_transactions_schema,
    "events": raw_events_schema,
    "consents": raw_consents_schema,
}
