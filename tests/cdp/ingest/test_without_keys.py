"""``without_keys``: the anti-join ``TableChanges`` merges with, on a prefiltered few rows."""

from __future__ import annotations

import polars as pl
from polars.testing import assert_frame_equal

from cdp.ingest.changes import without_keys

ROWS = pl.DataFrame(
    {
        "source": ["core", "card", "core", "card", None, "core", "mortgage"],
        "record_id": ["1", "1", "2", "3", "4", None, "9"],
        "email": ["a", "b", "c", "d", "e", "f", "g"],
    }
)


def test_only_rows_matching_the_whole_key_are_dropped_in_order() -> None:
    # "card"/"1" shares its record id with "core"/"1", which stays; a null key part matches a null.
    keys = pl.DataFrame({"source": ["card", None, "core", "core"], "record_id": ["1", "4", None, "7"]})

    kept = without_keys(ROWS, keys, ["source", "record_id"])

    expected = ROWS.join(
        keys, on=["source", "record_id"], how="anti", nulls_equal=True, maintain_order="left"
    )
    assert_frame_equal(kept, expected)
    assert kept["email"].to_list() == ["a", "c", "d", "g"]


def test_no_keys_or_no_match_keeps_every_row() -> None:
    empty = pl.DataFrame(schema={"source": pl.String(), "record_id": pl.String()})
    assert_frame_equal(without_keys(ROWS, empty, ["source", "record_id"]), ROWS)
    unknown = pl.DataFrame({"source": ["core"], "record_id": ["3"]})
    assert_frame_equal(without_keys(ROWS, unknown, ["source", "record_id"]), ROWS)
    assert without_keys(ROWS, pl.DataFrame({"email": ["c"]}), ["email"])["email"].to_list() == [
        "a",
        "b",
        "d",
        "e",
        "f",
        "g",
    ]
