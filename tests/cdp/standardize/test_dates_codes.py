from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from cdp.standardize import (
    normalized_code,
    parse_bool,
    parsed_amount,
    parsed_date,
    parsed_datetime,
    parsed_integer,
)
from cdp.standardize.codes import CONSENT_CHANNELS, EVENT_TYPES, PRODUCT_FAMILIES


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1980-01-31", dt.date(1980, 1, 31)),
        ("01/31/1980", dt.date(1980, 1, 31)),
        ("1/2/1980", dt.date(1980, 1, 2)),
        ("31-JAN-1980", dt.date(1980, 1, 31)),
        ("31-Jan-1980", dt.date(1980, 1, 31)),
        ("19800131", dt.date(1980, 1, 31)),
        ("1980/01/31", dt.date(1980, 1, 31)),
        ("1980-01-31T08:30:00", dt.date(1980, 1, 31)),
        ("01/31/1980 00:00:00", dt.date(1980, 1, 31)),
        ("31.01.1980", dt.date(1980, 1, 31)),
        (" 1980-01-31 ", dt.date(1980, 1, 31)),
        ("1980-02-30", None),
        ("9999-12-31", None),
        ("0001-01-01", None),
        ("yesterday", None),
        ("", None),
        (None, None),
    ],
)
def test_parsed_date(raw: str | None, expected: dt.date | None) -> None:
    frame = pl.DataFrame({"d": [raw]}, schema={"d": pl.String})
    assert_frame_equal(frame.select(parsed_date("d")), pl.DataFrame({"d": [expected]}, schema={"d": pl.Date}))


def test_parsed_date_accepts_typed_dates_and_timestamps() -> None:
    frame = pl.DataFrame({"d": [dt.date(2020, 1, 2)], "t": [dt.datetime(2020, 1, 2, 23, 59)]})
    expected = pl.DataFrame({"d": [dt.date(2020, 1, 2)], "t": [dt.date(2020, 1, 2)]})
    assert_frame_equal(frame.select(parsed_date("d"), parsed_date("t")), expected)


def test_parsed_date_custom_formats() -> None:
    frame = pl.DataFrame({"d": ["31/01/1980", "01/31/1980"]})
    expected = pl.DataFrame({"d": [dt.date(1980, 1, 31), None]})
    assert_frame_equal(frame.select(parsed_date("d", formats=("%d/%m/%Y",))), expected)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2024-03-01T10:15:00", dt.datetime(2024, 3, 1, 10, 15)),
        ("2024-03-01 10:15:00.250", dt.datetime(2024, 3, 1, 10, 15, 0, 250000)),
        ("2024-03-01T10:15:00Z", dt.datetime(2024, 3, 1, 10, 15)),
        ("2024-03-01T12:15:00+02:00", dt.datetime(2024, 3, 1, 10, 15)),
        ("2024-03-01T05:15:00-0500", dt.datetime(2024, 3, 1, 10, 15)),
        ("2024-03-01 10:15", dt.datetime(2024, 3, 1, 10, 15)),
        ("03/01/2024 10:15:00", dt.datetime(2024, 3, 1, 10, 15)),
        ("03/01/2024 10:15 PM", dt.datetime(2024, 3, 1, 22, 15)),
        ("2024-03-01", dt.datetime(2024, 3, 1)),
        ("01-MAR-2024", dt.datetime(2024, 3, 1)),
        ("1709288100", dt.datetime(2024, 3, 1, 10, 15)),
        ("1709288100000", dt.datetime(2024, 3, 1, 10, 15)),
        ("later", None),
        ("", None),
        (None, None),
    ],
)
def test_parsed_datetime(raw: str | None, expected: dt.datetime | None) -> None:
    frame = pl.DataFrame({"t": [raw]}, schema={"t": pl.String})
    expected_frame = pl.DataFrame({"t": [expected]}, schema={"t": pl.Datetime("us")})
    assert_frame_equal(frame.select(parsed_datetime("t")), expected_frame)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Y", True), ("y", True), ("YES", True), ("true", True), ("T", True), ("1", True),
        ("N", False), ("no", False), ("False", False), ("f", False), ("0", False),
        ("maybe", None), ("", None), (None, None),
    ],
)
def test_parse_bool(raw: str | None, expected: bool | None) -> None:
    frame = pl.DataFrame({"flag": [raw]}, schema={"flag": pl.String})
    expected_frame = pl.DataFrame({"flag": [expected]}, schema={"flag": pl.Boolean})
    assert_frame_equal(frame.select(parse_bool("flag")), expected_frame)


def test_normalized_code_maps_synonyms_and_keeps_unknown_codes() -> None:
    frame = pl.DataFrame(
        {
            "family": ["Credit Card", "DDA", "Mortgages", "Loan", "Crypto Wallet", " ", None],
            "event": ["Page View", "LOG-IN", "app_start", "login", "Chat Opened", "", None],
            "channel": ["E-Mail", "Text", "post", "SMS", "carrier pigeon", None, None],
        }
    )
    expected = pl.DataFrame(
        {
            "family": ["card", "deposit", "mortgage", "loan", "crypto_wallet", None, None],
            "event": ["page_view", "login", "application_started", "login", "chat_opened", None, None],
            "channel": ["email", "sms", "mail", "sms", "carrier_pigeon", None, None],
        }
    )
    out = frame.select(
        normalized_code("family", synonyms=PRODUCT_FAMILIES),
        normalized_code("event", synonyms=EVENT_TYPES),
        normalized_code("channel", synonyms=CONSENT_CHANNELS),
    )
    assert_frame_equal(out, expected)


def test_parsed_amount_and_integer() -> None:
    frame = pl.DataFrame(
        {"v": ["$1,234.50", "(12.50)", "7.25-", "-3", "-$3", "EUR 8", " 42 ", "1.5E+3", "n/a", "", None]}
    )
    expected = pl.DataFrame(
        {
            "amount": [1234.5, -12.5, -7.25, -3.0, -3.0, 8.0, 42.0, 1500.0, None, None, None],
            "integer": [1234, -12, -7, -3, -3, 8, 42, 1500, None, None, None],
        }
    )
    out = frame.select(parsed_amount("v").alias("amount"), parsed_integer("v").alias("integer"))
    assert_frame_equal(out, expected)
