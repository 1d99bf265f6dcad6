from __future__ import annotations

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from cdp.standardize import e164_phone, normalized_email


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("john.smith@example.com", "john.smith@example.com"),
        ("  John.Smith@Example.COM ", "john.smith@example.com"),
        ("john+newsletter@example.com", "john@example.com"),
        ("John+a+b@Example.com", "john@example.com"),
        ("mailto:jane@example.org", "jane@example.org"),
        ("first_last-1@sub.example.co.uk", "first_last-1@sub.example.co.uk"),
        ("noemail@bank.com", "noemail@bank.com"),
        ("+tag@example.com", None),
        ("john@@example.com", None),
        ("john@example", None),
        ("john..smith@example.com", None),
        (".john@example.com", None),
        ("john smith@example.com", None),
        ("john@-example.com", None),
        ("josé@example.com", None),
        ("not an email", None),
        ("", None),
        (None, None),
    ],
)
def test_normalized_email(raw: str | None, expected: str | None) -> None:
    frame = pl.DataFrame({"email": [raw]}, schema={"email": pl.String})
    expected_frame = pl.DataFrame({"email": [expected]}, schema={"email": pl.String})
    assert_frame_equal(frame.select(normalized_email("email")), expected_frame)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("(555) 123-4567", "+15551234567"),
        ("555.123.4567", "+15551234567"),
        ("+1 555 123 4567", "+15551234567"),
        ("1-555-123-4567", "+15551234567"),
        ("5551234567", "+15551234567"),
        ("15551234567", "+15551234567"),
        ("555-123-4567 ext. 89", "+15551234567"),
        ("555-123-4567x89", "+15551234567"),
        ("+44 20 7946 0958", "+442079460958"),
        ("0044 20 7946 0958", "+442079460958"),
        ("011 44 20 7946 0958", "+442079460958"),
        ("+33 1 42 68 53 00", "+33142685300"),
        ("+44 (0)20 7946 0958", "+442079460958"),
        ("+49 30 1234567", "+49301234567"),
        ("+81-3-1234-5678", "+81312345678"),
        ("1-800-FLOWERS", "+18003569377"),
        ("+1 555 123", None),
        ("+999 1234 5678", None),
        ("555-1234", None),
        ("garbage", None),
        ("123", None),
        ("0000000000", None),
        ("5555555555", None),
        ("(055) 123-4567", None),
        ("911-555-1234", None),
        ("+44 12", None),
        ("", None),
        (None, None),
    ],
)
def test_e164_phone(raw: str | None, expected: str | None) -> None:
    frame = pl.DataFrame({"phone": [raw]}, schema={"phone": pl.String})
    expected_frame = pl.DataFrame({"phone": [expected]}, schema={"phone": pl.String})
    assert_frame_equal(frame.select(e164_phone("phone")), expected_frame)


def test_e164_phone_reads_integers_and_mixed_columns_in_order() -> None:
    frame = pl.DataFrame({"phone": [5551234567, None, 2125550101]})
    expected = pl.DataFrame({"phone": ["+15551234567", None, "+12125550101"]})
    assert_frame_equal(frame.select(e164_phone("phone")), expected)


def test_e164_phone_default_region_applies_to_national_numbers() -> None:
    frame = pl.DataFrame({"phone": ["020 7946 0958", "+1 555 123 4567", "0044 20 7946 0958", "12"]})
    expected = pl.DataFrame({"phone": ["+442079460958", "+15551234567", "+442079460958", None]})
    assert_frame_equal(frame.select(e164_phone("phone", default_region="GB")), expected)
