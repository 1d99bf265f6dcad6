"""Evaluating segments only for customers whose rows changed gives the same history as everyone."""

from __future__ import annotations

import datetime as dt

import polars as pl
from polars.testing import assert_frame_equal

from cdp.segments import SegmentDefinition, evaluate_segments, update_membership_history
from cdp.segments.refresh import changed_customers, definitions_version, refresh_segment_membership

D1, D2 = dt.date(2024, 1, 31), dt.date(2024, 2, 29)
SEGMENTS = [
    SegmentDefinition("adults", "18 or over", "marketing", 1, "age >= 18"),
    SegmentDefinition("earners", "a salary", "marketing", 2, "salary_detected"),
]


def _customers(ages: dict[str, int]) -> pl.DataFrame:
    return pl.DataFrame({"customer_id": list(ages), "age": list(ages.values())})


def _features(salaries: dict[str, bool]) -> pl.DataFrame:
    return pl.DataFrame({"customer_id": list(salaries), "salary_detected": list(salaries.values())})


def _run(customers: pl.DataFrame, features: pl.DataFrame, previous: pl.DataFrame | None, run_id: str, as_of):
    current = evaluate_segments(SEGMENTS, customers=customers, features=features, as_of=as_of)
    return update_membership_history(previous, current, run_id=run_id, as_of=as_of)


def test_refreshing_changed_customers_equals_evaluating_everyone() -> None:
    ids = [f"c{i}" for i in range(20)]
    customers = _customers({cid: 30 for cid in ids} | {"c0": 17})
    features = _features({cid: cid in {"c1", "c2"} for cid in ids})
    first = _run(customers, features, None, "r1", D1)
    # c0 turns 18, c1 loses its salary, c2 is merged away, c99 is new; the other 16 are untouched.
    today_customers = _customers({cid: 30 for cid in ids if cid != "c2"} | {"c0": 18, "c99": 40})
    today_features = _features({cid: cid == "c99" for cid in today_customers["customer_id"]})
    refreshed = refresh_segment_membership(
        first,
        segments=SEGMENTS,
        customers=today_customers,
        features=today_features,
        previous_customers=customers,
        previous_features=features,
        as_of=D2,
        run_id="r2",
    )
    everyone = _run(today_customers, today_features, first, "r2", D2)
    assert not refreshed.full_rebuild
    assert refreshed.evaluated_customers == 3  # c0, c1, c99 (c2 is gone: its stays close)
    assert_frame_equal(refreshed.history, everyone)
    assert everyone.filter(pl.col("customer_id") == "c2")["exited_on"].to_list() == [D2, D2]


def test_an_unchanged_customer_is_not_re_evaluated() -> None:
    customers, features = (
        _customers({"a": 30, "b": 30, "c": 30}),
        _features({"a": False, "b": False, "c": False}),
    )
    first = _run(customers, features, None, "r1", D1)
    # Hand the refresh a rule set that would drop everyone: only changed customers may be judged by it.
    stricter = [SegmentDefinition("adults", "18 or over", "marketing", 1, "age >= 99")]
    refreshed = refresh_segment_membership(
        first,
        segments=stricter,
        customers=customers,
        features=features,
        previous_customers=customers,
        previous_features=features,
        as_of=D2,
        run_id="r2",
    )
    assert refreshed.evaluated_customers == 0
    assert_frame_equal(refreshed.history, first)


def test_changed_customers_include_new_gone_and_differing_rows() -> None:
    before = pl.DataFrame({"customer_id": ["a", "b", "c"], "x": [1, 2, None]})
    after = pl.DataFrame({"customer_id": ["a", "c", "d"], "x": [1, 5, None]})
    assert sorted(changed_customers(before, after, columns=["x"]).to_list()) == ["b", "c", "d"]


def test_the_definitions_version_changes_with_a_rule() -> None:
    changed = [SEGMENTS[0], SegmentDefinition("earners", "a salary", "marketing", 2, "not salary_detected")]
    assert definitions_version(SEGMENTS) != definitions_version(changed)
    assert definitions_version(SEGMENTS) == definitions_version(list(reversed(SEGMENTS)))
