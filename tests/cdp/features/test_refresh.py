"""Refreshing features for the customers a batch touched gives exactly the full build."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from cdp.features import build_customer_features
from cdp.features.refresh import holders_of_accounts, refresh_customer_features

D = dt.date


def _yesterday(bank) -> None:
    """Four customers; C1 and C2 share a joint account, C3 has a salary, C4 only logs in."""
    bank.customer("C1").customer("C2").customer("C3").customer("C4")
    bank.account(("C1", "C2"), "J1", balance=500.0)
    bank.account("C3", "A3", balance=2000.0)
    for day in bank.monthly(D(2023, 7, 1), 12):
        bank.txn("A3", day, 3000.0, "salary", "Acme corp")
        bank.txn("J1", day, -800.0, "bill", "Power co")
    bank.event("C4", dt.datetime(2024, 6, 20, 9), "login")


def _lazy(frames: dict[str, pl.DataFrame]) -> dict[str, object]:
    """The inputs as a daily run passes them: scans for the standardized tables."""
    scanned = ("transactions", "accounts", "account_holders", "events", "parties")
    return {name: frame.lazy() if name in scanned else frame for name, frame in frames.items()}


def test_a_refresh_of_the_touched_customers_equals_the_full_build(bank) -> None:
    _yesterday(bank)
    previous = bank.build()
    # Today: a deposit on the joint account (both holders change), C4 is gone, a new customer C5
    # opens an account; C3 is untouched.
    bank.txn("J1", D(2024, 6, 29), 25_000.0, "deposit", "Lottery")
    bank.customer_ids.remove("C4")
    bank.clusters = [row for row in bank.clusters if row["customer_id"] != "C4"]
    bank.customer("C5").account("C5", "A5", balance=10.0)
    frames = bank.frames()
    touched = holders_of_accounts(
        pl.DataFrame({"account_source": ["core_accounts"], "account_id": ["J1"]}),
        account_holders=frames["account_holders"].lazy(),
        clusters=frames["clusters"],
    )
    assert sorted(touched.to_list()) == ["C1", "C2"]
    stale = pl.concat([touched, pl.Series(["C4", "C5"])])
    inputs = _lazy(frames)
    refreshed = refresh_customer_features(
        previous,
        stale_customer_ids=stale,
        **inputs,
        as_of=bank.AS_OF,
        max_fraction=1.0,  # three of four customers: a tiny bank
    )
    full = build_customer_features(**frames, as_of=bank.AS_OF)
    assert not refreshed.full_rebuild
    assert refreshed.rebuilt_customers == 3  # C1, C2 and C5; C4 only left
    assert_frame_equal(refreshed.result.features, full.features)
    assert_frame_equal(refreshed.result.life_events, full.life_events)
    assert full.features.filter(pl.col("customer_id") == "C1")["inflow_1m"].item() == 25_000.0
    assert "C4" not in refreshed.result.features["customer_id"].to_list()


def test_customers_left_out_of_the_stale_set_keep_yesterdays_rows(bank) -> None:
    _yesterday(bank)
    previous = bank.build()
    bank.txn("J1", D(2024, 6, 29), 25_000.0, "deposit", "Lottery")
    refreshed = refresh_customer_features(
        previous,
        stale_customer_ids=pl.Series(["C3"]),
        **_lazy(bank.frames()),
        as_of=bank.AS_OF,
    )
    # C1 was not named stale, so the splice kept its previous row: proof that nothing else was rebuilt.
    assert_frame_equal(refreshed.result.features, previous.features)
    assert refreshed.rebuilt_customers == 1


def test_a_refresh_refuses_features_of_another_date(bank) -> None:
    _yesterday(bank)
    previous = bank.build()
    with pytest.raises(ValueError, match="as of"):
        refresh_customer_features(
            previous,
            stale_customer_ids=pl.Series(["C1"]),
            **_lazy(bank.frames()),
            as_of=bank.AS_OF + dt.timedelta(days=1),
        )


def test_too_many_stale_customers_build_everyone(bank) -> None:
    _yesterday(bank)
    previous = bank.build()
    refreshed = refresh_customer_features(
        previous,
        stale_customer_ids=pl.Series(["C1", "C2", "C3"]),
        **_lazy(bank.frames()),
        as_of=bank.AS_OF,
    )
    assert refreshed.full_rebuild
    assert_frame_equal(refreshed.result.features, previous.features)
