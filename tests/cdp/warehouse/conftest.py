from __future__ import annotations

import datetime as dt

import polars as pl
import pytest


@pytest.fixture
def people() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "source": ["core", "card", "digital"],
            "record_id": ["1", "2", "3"],
            "first_name": ["maria", "José", None],
            "last_name": ["garcia", "o'neil", "lee"],
            "email": ["maria.garcia@example.com", None, "no-at-sign"],
            "phone": ["+15551234567", None, "+15557654321"],
            "date_of_birth": [dt.date(1980, 5, 17), None, dt.date(2001, 1, 2)],
            "address_line1": ["12 main st", None, "9 elm ave"],
            "postcode": ["02139", None, "10001"],
            "national_id_token": ["a" * 64, None, "b" * 64],
            "national_id_last4_token": ["c" * 64, None, None],
            "mw_first_name": [2.5, None, -1.0],
            "balance": [10.5, None, 0.0],
        }
    )


@pytest.fixture
def counts() -> pl.DataFrame:
    return pl.DataFrame(
        {"source": ["core", "card"], "rows": [3, None]}, schema={"source": pl.String, "rows": pl.Int64}
    )
