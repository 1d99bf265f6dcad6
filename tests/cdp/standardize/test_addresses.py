from __future__ import annotations

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from cdp.standardize import (
    normalized_address,
    normalized_city,
    normalized_country,
    normalized_postcode,
    normalized_state,
)


def _one(column: str, value: str | int | None, dtype: type[pl.DataType] = pl.String) -> pl.DataFrame:
    return pl.DataFrame({column: [value]}, schema={column: dtype})


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("123 Main Street", "123 main st"),
        ("123 MAIN ST.", "123 main st"),
        ("45 North Oak Avenue", "45 n oak ave"),
        ("9 W. Elm Rd", "9 w elm rd"),
        ("500 Sunset Boulevard", "500 sunset blvd"),
        ("12 Cedar Drive", "12 cedar dr"),
        ("7 Park Lane", "7 park ln"),
        ("3 Kings Court", "3 kings ct"),
        ("1 Union Place", "1 union pl"),
        ("88 Southwest Highway", "88 sw hwy"),
        ("10 South West Parkway", "10 sw pkwy"),
        ("1 Fifth Avenue", "1 5th ave"),
        ("123 Main St, Apartment 4B", "123 main st apt 4b"),
        ("123 Main St Apt. #4B", "123 main st apt 4b"),
        ("123 Main St #4B", "123 main st apt 4b"),
        ("123 Main St Unit 4", "123 main st apt 4"),
        ("200 Market St., Suite #300", "200 market st ste 300"),
        ("P.O. Box 12", "po box 12"),
        ("Post Office Box 12", "po box 12"),
        ("12 Rue de l'Église", "12 rue de leglise"),
        ("N/A", None),
        ("", None),
        (None, None),
    ],
)
def test_normalized_address(raw: str | None, expected: str | None) -> None:
    assert_frame_equal(_one("line", raw).select(normalized_address("line")), _one("line", expected))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Saint Louis", "st louis"),
        ("ST. LOUIS", "st louis"),
        ("North Las Vegas", "n las vegas"),
        ("Fort Worth", "ft worth"),
        ("Coeur d'Alène", "coeur dalene"),
        ("  New   York ", "new york"),
        ("Park Street", "park street"),
        ("", None),
        (None, None),
    ],
)
def test_normalized_city(raw: str | None, expected: str | None) -> None:
    assert_frame_equal(_one("city", raw).select(normalized_city("city")), _one("city", expected))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("12345", "12345"),
        ("12345-6789", "12345"),
        ("12345 6789", "12345"),
        ("123456789", "12345"),
        ("2134", "02134"),
        ("2134-5678", "02134"),
        ("21345678", "02134"),
        ("501", "00501"),
        (" 02134 ", "02134"),
        ("00000", None),
        ("1234567", None),
        ("ABCDE", None),
        ("", None),
        (None, None),
    ],
)
def test_normalized_postcode_us(raw: str | None, expected: str | None) -> None:
    out = _one("postcode", raw).select(normalized_postcode("postcode"))
    assert_frame_equal(out, _one("postcode", expected))


def test_normalized_postcode_reads_integers_that_lost_leading_zeros() -> None:
    frame = pl.DataFrame({"postcode": [2134, 90210, None]})
    expected = pl.DataFrame({"postcode": ["02134", "90210", None]})
    assert_frame_equal(frame.select(normalized_postcode("postcode")), expected)


def test_normalized_postcode_keeps_local_codes_outside_zip_countries() -> None:
    frame = pl.DataFrame(
        {
            "postcode": ["sw1a-1aa", "k1a 0b6", "2134", "00907", "12345-6789"],
            "country": ["GB", "CA", "US", "PR", None],
        }
    )
    expected = pl.DataFrame({"postcode": ["SW1A 1AA", "K1A 0B6", "02134", "00907", "12345"]})
    assert_frame_equal(frame.select(normalized_postcode("postcode", country=pl.col("country"))), expected)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("California", "CA"),
        ("ca", "CA"),
        ("C.A.", "CA"),
        ("Calif.", "CA"),
        ("new york", "NY"),
        ("N.Y.", "NY"),
        ("District of Columbia", "DC"),
        ("Washington, D.C.", "DC"),
        ("Puerto Rico", "PR"),
        ("Québec", "QC"),
        ("ontario", "ON"),
        ("zz", "ZZ"),
        ("Atlantis", None),
        ("", None),
        (None, None),
    ],
)
def test_normalized_state(raw: str | None, expected: str | None) -> None:
    assert_frame_equal(_one("state", raw).select(normalized_state("state")), _one("state", expected))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("US", "US"),
        ("usa", "US"),
        ("U.S.A.", "US"),
        ("United States", "US"),
        ("United States of America", "US"),
        ("ca", "CA"),
        ("Canada", "CA"),
        ("MEX", "MX"),
        ("UK", "GB"),
        ("United Kingdom", "GB"),
        ("Great Britain", "GB"),
        ("Deutschland", "DE"),
        ("Côte d'Ivoire", "CI"),
        ("Bosnia & Herzegovina", "BA"),
        ("The Netherlands", "NL"),
        ("South Korea", "KR"),
        ("Narnia", None),
        ("", "US"),
        (None, "US"),
    ],
)
def test_normalized_country(raw: str | None, expected: str | None) -> None:
    assert_frame_equal(_one("country", raw).select(normalized_country("country")), _one("country", expected))


def test_normalized_country_default_can_be_switched_off() -> None:
    frame = pl.DataFrame({"country": [None, "usa"]}, schema={"country": pl.String})
    expected = pl.DataFrame({"country": [None, "US"]}, schema={"country": pl.String})
    assert_frame_equal(frame.select(normalized_country("country", default=None)), expected)
