"""Membership history across runs: enter, stay, exit, re-enter, new versions."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from cdp.errors import ConfigError
from cdp.segments import membership_trend, update_membership_history
from cdp.segments.columns import MEMBERSHIP_COLUMNS

D1, D2, D3 = dt.date(2024, 1, 31), dt.date(2024, 2, 29), dt.date(2024, 3, 31)


def _current(*rows: tuple[str, int, str]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={"segment": pl.String, "segment_version": pl.Int64, "customer_id": pl.String},
        orient="row",
    )


def _history(*rows: tuple) -> pl.DataFrame:  # type: ignore[type-arg]
    return pl.DataFrame(rows, schema=dict(MEMBERSHIP_COLUMNS), orient="row")


def test_two_runs_record_entries_stays_and_exits() -> None:
    first = update_membership_history(
        None, _current(("new_job", 1, "a"), ("new_job", 1, "b")), run_id="r1", as_of=D1
    )
    second = update_membership_history(
        first, _current(("new_job", 1, "b"), ("new_job", 1, "c")), run_id="r2", as_of=D2
    )
    expected = _history(
        ("new_job", 1, "a", D1, D2, "r1", "r2"),  # exited
        ("new_job", 1, "b", D1, None, "r1", None),  # stayed
        ("new_job", 1, "c", D2, None, "r2", None),  # entered
    )
    assert_frame_equal(second, expected)


def test_leaving_and_coming_back_opens_a_second_stay_and_reruns_change_nothing() -> None:
    history = _history(("moved", 1, "a", D1, D2, "r1", "r2"))
    third = update_membership_history(history, _current(("moved", 1, "a")), run_id="r3", as_of=D3)
    expected = _history(("moved", 1, "a", D1, D2, "r1", "r2"), ("moved", 1, "a", D3, None, "r3", None))
    assert_frame_equal(third, expected)
    rerun = update_membership_history(third, _current(("moved", 1, "a")), run_id="r3-retry", as_of=D3)
    assert_frame_equal(rerun, expected)


def test_a_new_rule_version_closes_the_old_stays_and_opens_new_ones() -> None:
    history = update_membership_history(None, _current(("rich", 1, "a")), run_id="r1", as_of=D1)
    bumped = update_membership_history(history, _current(("rich", 2, "a")), run_id="r2", as_of=D2)
    expected = _history(("rich", 1, "a", D1, D2, "r1", "r2"), ("rich", 2, "a", D2, None, "r2", None))
    assert_frame_equal(bumped, expected)


def test_history_cannot_be_rewound() -> None:
    history = update_membership_history(None, _current(("rich", 1, "a")), run_id="r1", as_of=D2)
    with pytest.raises(ConfigError, match="cannot update it as of 2024-01-31"):
        update_membership_history(history, _current(), run_id="r0", as_of=D1)


def test_trend_gives_the_size_on_every_date_it_changed() -> None:
    history = _history(
        ("s", 1, "a", D1, D2, "r1", "r2"),
        ("s", 1, "b", D1, None, "r1", None),
        ("s", 1, "c", D2, None, "r2", None),
        ("s", 1, "d", D3, None, "r3", None),
        ("other", 1, "a", D1, None, "r1", None),
    )
    expected = pl.DataFrame(
        {"date": [D1, D2, D3], "entered": [2, 1, 1], "exited": [0, 1, 0], "size": [2, 2, 3]}
    )
    assert_frame_equal(membership_trend(history, "s"), expected)
