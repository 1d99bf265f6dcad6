from __future__ import annotations

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from cdp.standardize import normalized_full_name, normalized_name, split_full_name


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("José", "jose"),
        ("Zoë", "zoe"),
        ("Ørsted", "orsted"),
        ("Nguyễn", "nguyen"),
        ("  MARY-JANE  ", "mary jane"),
        ("O'Neil", "oneil"),
        ("O’Neil", "oneil"),
        ("St. John", "st john"),
        ("Smith Jr.", "smith"),
        ("Smith III", "smith"),
        ("Dr. Alan", "alan"),
        ("Mrs Smith", "smith"),
        ("Müller-Lüdenscheidt", "muller ludenscheidt"),
        ("", None),
        ("   ", None),
        ("N/A", None),
        ("UNKNOWN", None),
        ("test", None),
        ("Mr", None),
        ("12345", None),
        (None, None),
    ],
)
def test_normalized_name(raw: str | None, expected: str | None) -> None:
    frame = pl.DataFrame({"name": [raw]}, schema={"name": pl.String})
    assert_frame_equal(
        frame.select(normalized_name("name")), pl.DataFrame({"name": [expected]}, schema={"name": pl.String})
    )


def test_normalized_name_over_a_column_keeps_row_order_and_repeats() -> None:
    frame = pl.DataFrame({"name": ["Zoë", None, "zoe", "José", "Zoë", ""]})
    expected = pl.DataFrame({"name": ["zoe", None, "zoe", "jose", "zoe", None]})
    assert_frame_equal(frame.select(normalized_name("name")), expected)


@pytest.mark.parametrize(
    ("full", "first", "middle", "last"),
    [
        ("SMITH, JOHN A", "john", "a", "smith"),
        ("Smith,John", "john", None, "smith"),
        ("J SMITH", "j", None, "smith"),
        ("John A. Smith", "john", "a", "smith"),
        ("Mary-Jane O'Neil", "mary jane", None, "oneil"),
        ("Dr. John A. Smith III", "john", "a", "smith"),
        ("John Smith, Jr.", "john", None, "smith"),
        ("Smith Jr, John", "john", None, "smith"),
        ("SMITH, MR JOHN", "john", None, "smith"),
        ("Juan Carlos de la Cruz", "juan", "carlos", "de la cruz"),
        ("Ludwig van Beethoven", "ludwig", None, "van beethoven"),
        ("José María García López", "jose", "maria garcia", "lopez"),
        ("Zoë Ørsted", "zoe", None, "orsted"),
        ("Madonna", None, None, "madonna"),
        ("Mr. Smith", None, None, "smith"),
        ("N/A", None, None, None),
        ("TEST TEST", None, None, None),
        ("", None, None, None),
        (None, None, None, None),
    ],
)
def test_split_full_name(full: str | None, first: str | None, middle: str | None, last: str | None) -> None:
    frame = pl.DataFrame({"full_name": [full]}, schema={"full_name": pl.String})
    expected = pl.DataFrame(
        {"first_name": [first], "middle_name": [middle], "last_name": [last]},
        schema={"first_name": pl.String, "middle_name": pl.String, "last_name": pl.String},
    )
    assert_frame_equal(frame.select(split_full_name("full_name")).unnest("full_name"), expected)


def test_normalized_full_name_reorders_to_first_middle_last() -> None:
    frame = pl.DataFrame({"full_name": ["SMITH, JOHN A", "John A. Smith", "Mrs. Zoë  O'Neil", None, "n/a"]})
    expected = pl.DataFrame({"full_name": ["john a smith", "john a smith", "zoe oneil", None, None]})
    assert_frame_equal(frame.select(normalized_full_name("full_name")), expected)


def test_builders_accept_expressions_and_keep_their_names() -> None:
    frame = pl.DataFrame({"raw": ["José"]})
    out = frame.select(normalized_name(pl.col("raw")), normalized_name(pl.col("raw")).alias("other"))
    assert_frame_equal(out, pl.DataFrame({"raw": ["jose"], "other": ["jose"]}))
