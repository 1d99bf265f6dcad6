"""Features are point-in-time: rows dated after as_of change nothing."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from polars.testing import assert_frame_equal

from cdp.features import build_customer_features

D = dt.date


def _history(bank) -> None:  # type: ignore[no-untyped-def]
    """Customers exercising every feature family up to 30 June 2024."""
    bank.customer(
        "C1", dob=D(1960, 5, 5), address_line1="1 main st", postcode="10001", updated_at=D(2020, 1, 1)
    )
    bank.customer(
        "C2", dob=D(2008, 1, 1), address_line1="2 oak st", postcode="10002", updated_at=D(2021, 1, 1)
    )
    (
        bank.account("C1", "A1", balance=900.0)
        .account("C1", "S1", product_type="savings", balance=5000.0)
        .account("C1", "K1", family="card", product_type="credit_card", balance=800.0, credit_limit=2000.0)
        .account(("C1", "C2"), "J1", balance=300.0, role="joint")
    )
    for day in bank.monthly(D(2023, 7, 1), 8):
        bank.txn("A1", day, 2000, "salary", "Old Co")
    for day in bank.monthly(D(2024, 3, 1), 4):
        bank.txn("A1", day, 2600, "salary", "New Co")
    for day in bank.monthly(D(2023, 7, 1), 12, day_of_month=2):
        bank.txn("A1", day, -900, "rent", "Landlord").txn("K1", day, -250, "purchase", "Shop")
    bank.txn("A1", D(2024, 6, 10), 15000, "deposit", "Title co")
    bank.txn("A1", D(2024, 6, 30), -100, "transfer", None).txn("S1", D(2024, 6, 30), 100, "transfer", None)
    bank.txn("J1", D(2024, 6, 3), -60, "bill", "Power co")
    for day in (18, 20, 24):
        bank.event("C1", dt.datetime(2024, 6, day, 10), "page_view", "/mortgages/rates")
    bank.event("C2", dt.datetime(2024, 6, 29, 10), "login")


def _future(bank) -> None:  # type: ignore[no-untyped-def]
    """Everything that happens after 30 June 2024, with snapshot balances that include it."""
    later: dict[str, float] = defaultdict(float)
    for account, day, amount, category, party in (
        ("A1", D(2024, 7, 1), -900, "rent", "Landlord"),
        ("A1", D(2024, 7, 26), 2600, "salary", "New Co"),
        ("A1", D(2024, 7, 3), 50000, "deposit", "Lottery"),
        ("A1", D(2024, 8, 30), 9000, "salary", "Third Co"),
        ("K1", D(2024, 7, 4), -1500, "purchase", "Shop"),
        ("J1", D(2024, 7, 9), -5000, "purchase", "Car dealer"),
        ("NEW", D(2024, 8, 2), 100, "deposit", "Bank"),
    ):
        bank.txn(account, day, amount, category, party)
        later[account] += amount
    for account in bank.accounts:
        account["balance"] += later[account["account_id"]] * (
            1 if account["product_family"] == "deposit" else -1
        )
    bank.account("C2", "NEW", family="loan", product_type="personal", opened=D(2024, 8, 1), balance=100.0)
    for day in (1, 2, 3, 4):
        bank.event("C2", dt.datetime(2024, 7, day, 10), "page_view", "/mortgages/rates")
        bank.event("C1", dt.datetime(2024, 7, day, 10), "login")
    bank.event("C2", dt.datetime(2024, 7, 1, 0, 0), "login")  # midnight after as_of: the next day
    bank.record("C1", "R-C1", address_line1="77 new rd", postcode="10077", updated_at=D(2024, 7, 15))
    bank.record(
        "C2",
        "C2-card",
        source="card",
        address_line1="3 far rd",
        postcode="90000",
        updated_at=D(2024, 7, 9),
        customer_since=D(2001, 1, 1),
    )


def test_rows_after_as_of_leave_features_and_life_events_unchanged(bank) -> None:
    _history(bank)
    before = bank.build()
    assert not before.life_events.is_empty()  # the history does produce events
    _future(bank)
    after = bank.build()
    assert_frame_equal(after.features, before.features)
    assert_frame_equal(after.life_events, before.life_events)


def test_the_future_rows_do_matter_at_a_later_date(bank) -> None:
    """Guards the test above: the same future rows change the features once as_of reaches them."""
    _history(bank)
    _future(bank)
    before = bank.build()
    later = bank.build(as_of=D(2024, 9, 30))
    assert before.features["inflow_3m"].to_list() != later.features["inflow_3m"].to_list()
    assert later.life_events.height > before.life_events.height


def test_batches_and_lazy_inputs_give_the_same_result(bank) -> None:
    """One customer per batch (the joint account J1 spans two batches), inputs as LazyFrames."""
    _history(bank)
    _future(bank)
    whole = bank.build()
    frames = {name: frame.lazy() for name, frame in bank.frames().items()}
    batched = build_customer_features(**frames, as_of=bank.AS_OF, batch_size=1)
    assert_frame_equal(batched.features, whole.features)
    assert_frame_equal(batched.life_events, whole.life_events)
