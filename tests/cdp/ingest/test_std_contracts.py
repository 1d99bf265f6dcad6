"""The pandera models of the std_* tables (cdp.schemas.standardized) used as asset checks."""

from __future__ import annotations

import datetime as dt

import polars as pl

from cdp.schemas.canonical import ACCOUNT_COLUMNS, CONSENT_COLUMNS, PARTY_COLUMNS, conform, empty_frame
from cdp.schemas.standardized import validate_std_accounts, validate_std_consents, validate_std_parties

TOKEN = "a" * 64


def _parties(**overrides: list[object]) -> pl.DataFrame:
    values: dict[str, list[object]] = {
        "source": ["core", "core"],
        "record_id": ["1", "2"],
        "source_system": ["core", "core"],
        "first_name": ["ann", "jose maria"],
        "last_name": ["lee", "de la cruz"],
        "date_of_birth": [dt.date(1980, 1, 2), None],
        "email": ["ann@x.com", None],
        "phone": ["+15551234567", None],
        "state": ["NY", None],
        "postcode": ["10001", "SW1A"],
        "country": ["US", "GB"],
        "national_id_token": [TOKEN, None],
        "source_file": ["core/a.csv", "core/a.csv"],
        "source_row": [2, 3],
    }
    values.update(overrides)
    return conform(pl.DataFrame(values), PARTY_COLUMNS)


def test_valid_parties_pass() -> None:
    assert validate_std_parties(_parties()) == []
    assert validate_std_parties(empty_frame(PARTY_COLUMNS)) == []


def test_party_failures_name_column_check_and_rows_but_no_values() -> None:
    frame = _parties(
        record_id=["1", "1"],
        first_name=["Ann", "ann"],
        email=["ANN@X.COM", None],
        date_of_birth=[dt.date(1850, 1, 1), None],
        postcode=["1000", "SW1A"],
        national_id_token=["123-45-6789", None],
    )
    failures = validate_std_parties(frame)
    assert sorted(failures) == sorted(
        [
            "first_name: not a normalized name (1 row(s), e.g. row 0)",
            "date_of_birth: date of birth outside 1900-01-01..today (1 row(s), e.g. row 0)",
            "email: not a normalized email (1 row(s), e.g. row 0)",
            "national_id_token: not a national_id token (1 row(s), e.g. row 0)",
            "multiple_fields_uniqueness (2 row(s), e.g. row 0, 1)",
            "postcode: not a 5-digit ZIP for a US address (1 row(s), e.g. row 0)",
        ]
    )
    assert not any("123-45-6789" in failure or "ANN@X.COM" in failure for failure in failures)


def test_wrong_dtype_or_missing_column_is_reported() -> None:
    failures = validate_std_parties(_parties().with_columns(pl.col("source_row").cast(pl.Int32)))
    assert failures == ["source_row: dtype('Int64') (found Int32)"]
    assert validate_std_parties(_parties().drop("email")) != []


def test_accounts_and_consents_vocabularies() -> None:
    accounts = conform(
        pl.DataFrame(
            {
                "source": ["core"],
                "account_id": ["A1"],
                "source_system": ["core"],
                "product_family": ["spaceship"],
                "balance": [float("inf")],
                "source_file": ["a.csv"],
                "source_row": [2],
            }
        ),
        ACCOUNT_COLUMNS,
    )
    assert validate_std_accounts(accounts) == [
        "product_family: unknown product family (1 row(s), e.g. row 0)",
        "balance: not a finite number (1 row(s), e.g. row 0)",
    ]
    consents = conform(
        pl.DataFrame(
            {
                "source": ["web"],
                "party_source": ["web"],
                "party_record_id": ["U1"],
                "purpose": ["marketing"],
                "channel": ["pigeon"],
                "granted": [None],
                "updated_at": [dt.datetime(2024, 1, 1)],
                "source_file": ["c.csv"],
                "source_row": [2],
            }
        ),
        CONSENT_COLUMNS,
    )
    assert validate_std_consents(consents) == [
        "channel: unknown consent channel (1 row(s), e.g. row 0)",
        "granted: not_nullable (1 row(s), e.g. row 0)",
    ]
