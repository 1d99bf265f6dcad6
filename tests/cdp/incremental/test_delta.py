from __future__ import annotations

import datetime as dt

import polars as pl
from polars.testing import assert_frame_equal

from cdp.incremental import activity_changes, party_delta
from cdp.schemas.canonical import (
    ACCOUNT_COLUMNS,
    ACCOUNT_HOLDER_COLUMNS,
    CONSENT_COLUMNS,
    EVENT_COLUMNS,
    PARTY_COLUMNS,
    conform,
)

KEY_SCHEMA = {"source": pl.String, "record_id": pl.String}


def parties(rows: list[tuple[str, str, str | None, str | None, str]]) -> pl.DataFrame:
    frame = pl.DataFrame(
        rows, schema=["source", "record_id", "email", "last_name", "source_file"], orient="row"
    )
    return conform(frame, PARTY_COLUMNS)


def test_party_delta_splits_new_changed_removed_and_moved():
    previous = parties(
        [
            ("core", "1", "a@x.com", "smith", "f1"),
            ("core", "2", "b@x.com", None, "f1"),
            ("core", "3", "c@x.com", "lee", "f1"),
            ("card", "9", None, "king", "f1"),
        ]
    )
    current = parties(
        [
            ("core", "1", "a@x.com", "smith", "f1"),  # same
            ("core", "2", "b@x.com", "brown", "f1"),  # a null became a value: changed
            ("card", "9", None, "king", "f2"),  # re-delivered in another file: moved only
            ("card", "7", "n@x.com", None, "f2"),  # new
        ]
    )
    delta = party_delta(previous, current)
    assert_frame_equal(
        delta.new.select("source", "record_id", "email"),
        pl.DataFrame({"source": ["card"], "record_id": ["7"], "email": ["n@x.com"]}),
    )
    assert_frame_equal(
        delta.changed.select("source", "record_id", "last_name"),
        pl.DataFrame({"source": ["core"], "record_id": ["2"], "last_name": ["brown"]}),
    )
    assert_frame_equal(
        delta.removed, pl.DataFrame({"source": ["core"], "record_id": ["3"]}, schema=KEY_SCHEMA)
    )
    assert_frame_equal(delta.moved, pl.DataFrame({"source": ["card"], "record_id": ["9"]}, schema=KEY_SCHEMA))
    assert not delta.is_empty


def test_party_delta_of_identical_tables_is_empty():
    frame = parties([("core", "1", "a@x.com", None, "f1")])
    delta = party_delta(frame, frame)
    assert delta.is_empty
    assert delta.touched_keys().is_empty()


def test_activity_changes_names_the_party_records_behind_changed_rows():
    accounts_before = conform(
        pl.DataFrame({"source": ["acct", "acct"], "account_id": ["A", "B"], "balance": [10.0, 5.0]}),
        ACCOUNT_COLUMNS,
    )
    accounts_after = accounts_before.with_columns(
        balance=pl.when(pl.col("account_id") == "A").then(99.0).otherwise(pl.col("balance"))
    )
    holders = conform(
        pl.DataFrame(
            {
                "account_source": ["acct", "acct", "acct"],
                "account_id": ["A", "A", "B"],
                "party_source": ["core", "card", "core"],
                "party_record_id": ["1", "4", "2"],
            }
        ),
        ACCOUNT_HOLDER_COLUMNS,
    )
    event = conform(
        pl.DataFrame(
            {
                "source": ["web"],
                "event_id": ["e1"],
                "party_source": ["digital"],
                "party_record_id": ["8"],
                "event_time": [dt.datetime(2026, 1, 1)],
            }
        ),
        EVENT_COLUMNS,
    )
    no_events = event.clear()
    consent = conform(
        pl.DataFrame(
            {
                "source": ["c"],
                "party_source": ["core"],
                "party_record_id": ["3"],
                "purpose": ["marketing"],
                "granted": [True],
            }
        ),
        CONSENT_COLUMNS,
    )
    keys = activity_changes(
        previous_accounts=accounts_before,
        accounts=accounts_after,
        previous_account_holders=holders,
        account_holders=holders,
        previous_events=no_events,
        events=event,
        previous_consents=consent,
        consents=consent.with_columns(granted=pl.lit(False)),
    )
    expected = pl.DataFrame(
        {"source": ["card", "core", "core", "digital"], "record_id": ["4", "1", "3", "8"]}, schema=KEY_SCHEMA
    )
    assert_frame_equal(keys, expected)
