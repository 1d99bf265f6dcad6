"""pandera contracts of the standardized ``std_*`` tables (exact columns of ``canonical.py``).

Each ``validate_std_<table>(frame)`` returns human-readable failure descriptions (empty when the
table passes); the Dagster asset checks publish them as metadata. Descriptions name the column,
the check and row positions, never values: the tables hold PII.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import pandera.polars as pa
import polars as pl
from pandera.errors import SchemaErrors

from cdp.schemas.canonical import (
    ACCOUNT_COLUMNS,
    ACCOUNT_HOLDER_COLUMNS,
    CONSENT_COLUMNS,
    EVENT_COLUMNS,
    PARTY_COLUMNS,
    TRANSACTION_COLUMNS,
)
from cdp.schemas.raw import (
    CONSENT_CHANNEL_CODES,
    CONSENT_PURPOSE_CODES,
    HOLDER_ROLE_CODES,
    PRODUCT_FAMILY_CODES,
    TOKEN_PATTERN,
    date_between,
    finite,
    row_check,
)

_SAMPLE_ROWS = 5
_NAME = r"^[a-z0-9]+( [a-z0-9]+)*$"
_CODE = r"^[a-z0-9]+(_[a-z0-9]+)*$"


def _matches(pattern: str, error: str) -> pa.Check:
    return pa.Check.str_matches(pattern, error=error)


def _isin(values: tuple[str, ...], error: str) -> pa.Check:
    return pa.Check.isin(list(values), error=error)


def _schema(
    name: str,
    contract: Mapping[str, pl.DataType],
    *,
    required: tuple[str, ...],
    unique: tuple[str, ...] = (),
    checks: Mapping[str, list[pa.Check]] | None = None,
    frame_checks: tuple[pa.Check, ...] = (),
) -> pa.DataFrameSchema:
    column_checks = checks or {}
    columns = {
        column: pa.Column(dtype, nullable=column not in required, checks=column_checks.get(column, []))
        for column, dtype in contract.items()
    }
    return pa.DataFrameSchema(
        columns,
        checks=list(frame_checks),
        unique=list(unique) or None,
        strict=True,
        ordered=True,
        name=name,
    )


_META = ("source", "source_system", "source_file", "source_row")
_ROW = [row_check(lambda column: column >= 1, "source_row must be >= 1")]


def _us_postcode(data: pa.PolarsData) -> pl.LazyFrame:
    postcode, country = pl.col("postcode"), pl.col("country")
    ok = postcode.is_null() | (country != "US") | postcode.str.contains(r"^[0-9]{5}$")
    return data.lazyframe.select(ok.fill_null(True))


def std_parties_schema() -> pa.DataFrameSchema:
    """``std_parties``: one row per party record, matching-form text, tokens only."""
    names = {
        col: [_matches(_NAME, "not a normalized name")]
        for col in ("first_name", "middle_name", "last_name", "full_name")
    }
    return _schema(
        "std_parties",
        PARTY_COLUMNS,
        required=(*_META, "record_id"),
        unique=("source", "record_id"),
        checks={
            **names,
            "source_row": _ROW,
            "date_of_birth": [date_between("date of birth outside 1900-01-01..today")],
            "email": [_matches(r"^[^@\sA-Z]+@[^@\sA-Z]+\.[^@\sA-Z]+$", "not a normalized email")],
            "phone": [_matches(r"^\+[1-9][0-9]{6,14}$", "not an E.164 phone")],
            "state": [_matches(r"^[A-Z]{2}$", "not a 2-letter state code")],
            "country": [_matches(r"^[A-Z]{2}$", "not an ISO alpha-2 country")],
            "national_id_token": [_matches(TOKEN_PATTERN, "not a national_id token")],
            "national_id_last4_token": [_matches(TOKEN_PATTERN, "not a last4 token")],
            "customer_since": [date_between("customer_since outside 1900-01-01..today", slack_days=1)],
        },
        frame_checks=(pa.Check(_us_postcode, error="postcode: not a 5-digit ZIP for a US address"),),
    )


def std_accounts_schema() -> pa.DataFrameSchema:
    """``std_accounts``: one row per account, canonical product family, finite amounts."""
    return _schema(
        "std_accounts",
        ACCOUNT_COLUMNS,
        required=(*_META, "account_id"),
        unique=("source", "account_id"),
        checks={
            "source_row": _ROW,
            "product_family": [_isin(PRODUCT_FAMILY_CODES, "unknown product family")],
            "product_type": [_matches(_CODE, "not a snake_case code")],
            "status": [_matches(_CODE, "not a snake_case code")],
            "currency": [_matches(r"^[A-Z]{3}$", "not an ISO 4217 currency")],
            "balance": [finite()],
            "credit_limit": [finite()],
            "principal": [finite()],
            "interest_rate": [finite()],
            "term_months": [pa.Check.ge(0, error="negative")],
            "days_past_due": [pa.Check.ge(0, error="negative")],
        },
    )


def std_account_holders_schema() -> pa.DataFrameSchema:
    """``std_account_holders``: distinct links from accounts to party records with a known role."""
    keys = tuple(ACCOUNT_HOLDER_COLUMNS)
    return _schema(
        "std_account_holders",
        ACCOUNT_HOLDER_COLUMNS,
        required=keys[:4],
        unique=keys,
        checks={"role": [_isin(HOLDER_ROLE_CODES, "unknown holder role")]},
    )


def std_transactions_schema() -> pa.DataFrameSchema:
    """``std_transactions``: one row per transaction with a date and a finite amount."""
    return _schema(
        "std_transactions",
        TRANSACTION_COLUMNS,
        required=(
            "source",
            "transaction_id",
            "account_source",
            "account_id",
            "posted_date",
            "amount",
            "source_file",
            "source_row",
        ),
        unique=("source", "transaction_id"),
        checks={
            "source_row": _ROW,
            "amount": [finite()],
            "category": [_matches(_CODE, "not a snake_case code")],
        },
    )


def std_events_schema() -> pa.DataFrameSchema:
    """``std_events``: one row per event of a party record, with a time and a type."""
    return _schema(
        "std_events",
        EVENT_COLUMNS,
        required=(
            "source",
            "event_id",
            "party_source",
            "party_record_id",
            "event_time",
            "event_type",
            "source_file",
            "source_row",
        ),
        unique=("source", "event_id"),
        checks={
            "source_row": _ROW,
            "event_type": [_matches(_CODE, "not a snake_case code")],
            "channel": [_matches(_CODE, "not a snake_case code")],
        },
    )


def std_consents_schema() -> pa.DataFrameSchema:
    """``std_consents``: consent decisions with a known purpose and channel, a decision and a time."""
    return _schema(
        "std_consents",
        CONSENT_COLUMNS,
        required=(
            "source",
            "party_source",
            "party_record_id",
            "purpose",
            "channel",
            "granted",
            "updated_at",
            "source_file",
            "source_row",
        ),
        checks={
            "source_row": _ROW,
            "purpose": [_isin(CONSENT_PURPOSE_CODES, "unknown consent purpose")],
            "channel": [_isin(CONSENT_CHANNEL_CODES, "unknown consent channel")],
        },
    )


def describe_failures(schema: pa.DataFrameSchema, frame: pl.DataFrame) -> list[str]:
    """Validate ``frame`` and describe each failing (column, check): count and first row positions.

    Example:
        >>> frame = pl.DataFrame({"account_source": ["a"], "account_id": ["1"], "party_source": ["p"],
        ...                       "party_record_id": ["9"], "role": ["owner"]})
        >>> describe_failures(std_account_holders_schema(), frame)
        ['role: unknown holder role (1 row(s), e.g. row 0)']
    """
    try:
        schema.validate(frame, lazy=True)
    except SchemaErrors as err:
        cases = err.failure_cases
    else:
        return []
    failures: list[str] = []
    structural = cases.filter(pl.col("index").is_null())
    for row in structural.iter_rows(named=True):
        # Schema-level cases carry a dtype or column name as failure_case, never a cell value.
        failures.append(f"{row['column'] or schema.name}: {row['check']} (found {row['failure_case']})")
    grouped = (
        cases.filter(pl.col("index").is_not_null())
        .group_by("column", "check", maintain_order=True)
        .agg(pl.len().alias("rows"), pl.col("index").sort().head(_SAMPLE_ROWS).alias("sample"))
    )
    for row in grouped.iter_rows(named=True):
        column = row["column"] if row["column"] in schema.columns else None
        label = f"{column}: {row['check']}" if column else str(row["check"])
        sample = ", ".join(str(index) for index in row["sample"])
        failures.append(f"{label} ({row['rows']} row(s), e.g. row {sample})")
    return failures


def _validator(factory: Callable[[], pa.DataFrameSchema]) -> Callable[[pl.DataFrame], list[str]]:
    def validate(frame: pl.DataFrame) -> list[str]:
        return describe_failures(factory(), frame)

    validate.__doc__ = f"Failure descriptions of {factory.__name__.removesuffix('_schema')} (empty = passes)."
    return validate


validate_std_parties = _validator(std_parties_schema)
validate_std_accounts = _validator(std_accounts_schema)
validate_std_account_holders = _validator(std_account_holders_schema)
validate_std_transactions = _validator(std_transactions_schema)
validate_std_events = _validator(std_events_schema)
validate_std_consents = _validator(std_consents_schema)

STD_SCHEMAS: Mapping[str, Callable[[], pa.DataFrameSchema]] = {
    "std_parties": std_parties_schema,
    "std_accounts": std_accounts_schema,
    "std_account_holders": std_account_holders_schema,
    "std_transactions": std_transactions_schema,
    "std_events": std_events_schema,
    "std_consents": std_consents_schema,
}
