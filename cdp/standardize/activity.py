"""Mapped account, holder, transaction, event and consent rows -> the canonical activity tables.

Amounts become floats, dates and timestamps are parsed, and codes are lower-case snake_case
mapped onto the vocabularies in ``cdp/schemas/canonical.py`` (unknown codes are kept). Keys are
trimmed text, so that ``account_id`` " 0042" in one extract joins "0042" in another.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import polars as pl

from cdp.schemas.canonical import (
    ACCOUNT_COLUMNS,
    ACCOUNT_HOLDER_COLUMNS,
    CONSENT_COLUMNS,
    EVENT_COLUMNS,
    TRANSACTION_COLUMNS,
    conform,
)
from cdp.standardize import _columns as c
from cdp.standardize._text import null_if_blank, staged
from cdp.standardize.codes import (
    ACCOUNT_STATUSES,
    CONSENT_CHANNELS,
    CONSENT_PURPOSES,
    EVENT_CHANNELS,
    EVENT_TYPES,
    HOLDER_ROLES,
    PRODUCT_FAMILIES,
    PRODUCT_TYPES,
    TRANSACTION_CATEGORIES,
    normalized_code,
)

log = logging.getLogger(__name__)

#: Product types whose family is unambiguous, used when a source maps only the type.
FAMILY_OF_TYPE: dict[str, str] = {
    "checking": "deposit", "savings": "deposit", "cd": "deposit", "mmda": "deposit",
    "credit_card": "card", "debit_card": "card", "fixed_15": "mortgage", "fixed_30": "mortgage",
    "arm": "mortgage", "heloc": "mortgage", "personal_loan": "loan", "auto_loan": "loan",
}


CURRENCY_SYMBOLS: dict[str, str] = {"$": "USD", "US$": "USD", "€": "EUR", "£": "GBP"}


def _code(frame: pl.DataFrame, name: str, synonyms: Mapping[str, str] | None = None) -> pl.Expr:
    if name not in frame.columns:
        return pl.lit(None, dtype=pl.String).alias(name)
    return normalized_code(c.text(frame, name), synonyms=synonyms).alias(name)


def _currency(frame: pl.DataFrame) -> pl.Expr:
    """ISO 4217 code, upper-case; the three common symbols are read as their codes, junk is null."""
    code = c.identifier(frame, "currency").str.to_uppercase().replace(CURRENCY_SYMBOLS)
    return pl.when(code.str.contains(r"^[A-Z]{3}$")).then(code).alias("currency")


def _lower_text(frame: pl.DataFrame, name: str) -> pl.Expr:
    """Descriptive text compared case-insensitively (a merchant category): trimmed lower-case."""
    return c.plain_text(frame, name).str.to_lowercase().alias(name)


def _page(frame: pl.DataFrame) -> pl.Expr:
    """A page as a lower-case path: scheme, host, query string, fragment and trailing "/" dropped."""
    if "page" not in frame.columns:
        return pl.lit(None, dtype=pl.String).alias("page")
    path = (
        pl.col("value")
        .str.strip_chars()
        .str.to_lowercase()
        .str.replace(r"^[a-z][a-z0-9+.\-]*://[^/?#]*", "")
        .str.replace(r"[?#].*$", "")
    )
    page = pl.col("path")
    trimmed = pl.when(page == "/").then(page).otherwise(page.str.strip_chars_end("/"))
    return staged(
        c.text(frame, "page"),
        [{"path": path}, {"result": null_if_blank(trimmed)}],
        return_dtype=pl.String(),
    ).alias("page")


def _finish(frame: pl.LazyFrame, columns: Mapping[str, pl.DataType], table: str) -> pl.DataFrame:
    result = conform(frame.collect(), columns)
    log.info("standardized %d %s rows", result.height, table, extra={"table": table, "rows": result.height})
    return result


def standardize_accounts(mapped: pl.DataFrame) -> pl.DataFrame:
    """Mapped account rows -> ``std_accounts``.

    ``product_family`` is one of deposit | card | mortgage | loan where a synonym is known (and
    is derived from ``product_type`` when the source maps only that); ``currency`` is an
    upper-case ISO 4217 code or null; balances, limits and principal are floats;
    ``interest_rate`` keeps the source's scale.

    Example:
        >>> mapped = pl.DataFrame({"source": ["core_accounts"], "account_id": [" 42 "],
        ...                        "product_type": ["Savings"], "balance": ["$1,200.50"],
        ...                        "status": ["ACTIVE"]})
        >>> standardize_accounts(mapped).select("account_id", "product_family", "balance", "status").row(0)
        ('42', 'deposit', 1200.5, 'open')
    """
    frame = mapped
    lazy = frame.lazy().with_columns(
        c.identifier(frame, "source"),
        c.identifier(frame, "account_id"),
        c.identifier(frame, "source_system"),
        _code(frame, "product_family", PRODUCT_FAMILIES),
        _code(frame, "product_type", PRODUCT_TYPES),
        _currency(frame),
        c.number(frame, "balance"),
        c.number(frame, "credit_limit"),
        c.number(frame, "principal"),
        c.rate(frame, "interest_rate"),
        c.integer(frame, "term_months"),
        c.integer(frame, "days_past_due"),
        c.date(frame, "opened_date"),
        c.date(frame, "closed_date"),
        _code(frame, "status", ACCOUNT_STATUSES),
        c.text(frame, "source_file"),
        c.integer(frame, "source_row"),
    )
    lazy = lazy.with_columns(
        pl.coalesce(
            pl.col("product_family"), pl.col("product_type").replace_strict(FAMILY_OF_TYPE, default=None)
        )
    )
    return _finish(lazy, ACCOUNT_COLUMNS, "std_accounts")


def standardize_account_holders(mapped: pl.DataFrame) -> pl.DataFrame:
    """Mapped holder links -> ``std_account_holders``; links missing either key are dropped.

    ``role`` is one of primary | joint | co_borrower | authorized_user where a synonym is known.

    Example:
        >>> mapped = pl.DataFrame({"account_source": ["core_accounts"] * 2, "account_id": ["1", "1"],
        ...                        "party_source": ["core_customers"] * 2, "party_record_id": ["7", None],
        ...                        "role": ["Primary Owner", "joint"]})
        >>> standardize_account_holders(mapped).rows()
        [('core_accounts', '1', 'core_customers', '7', 'primary')]
    """
    frame = mapped
    lazy = frame.lazy().with_columns(
        c.identifier(frame, "account_source"),
        c.identifier(frame, "account_id"),
        c.identifier(frame, "party_source"),
        c.identifier(frame, "party_record_id"),
        _code(frame, "role", HOLDER_ROLES),
    )
    lazy = lazy.filter(pl.col("account_id").is_not_null() & pl.col("party_record_id").is_not_null())
    return _finish(lazy, ACCOUNT_HOLDER_COLUMNS, "std_account_holders")


def standardize_transactions(mapped: pl.DataFrame) -> pl.DataFrame:
    """Mapped transactions -> ``std_transactions`` (signed float amounts, parsed posting dates).

    Example:
        >>> mapped = pl.DataFrame({"transaction_id": ["t1"], "amount": ["(45.10)"], "category": ["Payroll"],
        ...                        "posted_date": ["2024-01-31"], "counterparty": ["  ACME   Corp "]})
        >>> std = standardize_transactions(mapped)
        >>> std.select("amount", "category", "posted_date", "counterparty").rows()
        [(-45.1, 'salary', datetime.date(2024, 1, 31), 'ACME Corp')]
    """
    frame = mapped
    lazy = frame.lazy().with_columns(
        c.identifier(frame, "source"),
        c.identifier(frame, "transaction_id"),
        c.identifier(frame, "account_source"),
        c.identifier(frame, "account_id"),
        c.date(frame, "posted_date"),
        c.number(frame, "amount"),
        _code(frame, "category", TRANSACTION_CATEGORIES),
        c.plain_text(frame, "counterparty"),
        _lower_text(frame, "merchant_category"),
        c.text(frame, "source_file"),
        c.integer(frame, "source_row"),
    )
    return _finish(lazy, TRANSACTION_COLUMNS, "std_transactions")


def standardize_events(mapped: pl.DataFrame) -> pl.DataFrame:
    """Mapped digital events -> ``std_events`` (UTC timestamps, canonical event types and channels).

    Example:
        >>> mapped = pl.DataFrame({"event_id": ["e1"], "event_time": ["2024-03-01T10:15:00Z"],
        ...                        "event_type": ["Page View"], "channel": ["iOS"],
        ...                        "page": ["https://bank.example/Mortgages/Rates/?x=1"]})
        >>> standardize_events(mapped).select("event_type", "page", "channel").row(0)
        ('page_view', '/mortgages/rates', 'app')
    """
    frame = mapped
    lazy = frame.lazy().with_columns(
        c.identifier(frame, "source"),
        c.identifier(frame, "event_id"),
        c.identifier(frame, "party_source"),
        c.identifier(frame, "party_record_id"),
        c.timestamp(frame, "event_time"),
        _code(frame, "event_type", EVENT_TYPES),
        _page(frame),
        _code(frame, "channel", EVENT_CHANNELS),
        c.identifier(frame, "device_id"),
        c.text(frame, "source_file"),
        c.integer(frame, "source_row"),
    )
    return _finish(lazy, EVENT_COLUMNS, "std_events")


def standardize_consents(mapped: pl.DataFrame) -> pl.DataFrame:
    """Mapped consent decisions -> ``std_consents`` (purpose and channel codes, boolean grant).

    Example:
        >>> mapped = pl.DataFrame({"party_record_id": ["u1"], "purpose": ["Marketing"], "channel": ["E-Mail"],
        ...                        "granted": ["Y"], "updated_at": ["2024-01-02 03:04:05"]})
        >>> standardize_consents(mapped).select("purpose", "channel", "granted").row(0)
        ('marketing', 'email', True)
    """
    frame = mapped
    lazy = frame.lazy().with_columns(
        c.identifier(frame, "source"),
        c.identifier(frame, "party_source"),
        c.identifier(frame, "party_record_id"),
        _code(frame, "purpose", CONSENT_PURPOSES),
        _code(frame, "channel", CONSENT_CHANNELS),
        c.flag(frame, "granted"),
        c.timestamp(frame, "updated_at"),
        c.text(frame, "source_file"),
        c.integer(frame, "source_row"),
    )
    return _finish(lazy, CONSENT_COLUMNS, "std_consents")
