"""Cash-flow features: windows, internal transfers, salary detection, scheduled debits, safe-to-save."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from polars.testing import assert_frame_equal

D = dt.date
AS_OF = D(2024, 6, 30)


def _weekday_back(day: D) -> D:
    while day.weekday() >= 5:
        day -= dt.timedelta(days=1)
    return day


def _monthly(day_of_month: int) -> list[D]:
    return [_weekday_back(D(2023 + (6 + i) // 12, (6 + i) % 12 + 1, day_of_month)) for i in range(12)]


def test_windows_trend_and_savings_rate_leave_out_internal_transfers(bank) -> None:
    bank.customer("C1").account("C1", "A1", balance=0.0).account("C1", "S1", product_type="savings")
    (
        bank.txn("A1", D(2024, 6, 15), 1000, "deposit", "Employer")
        .txn("A1", D(2024, 5, 10), 500, "deposit", "Refund co")
        .txn("A1", D(2024, 2, 1), 300, "deposit", "Gift")  # 6..3 months back: the prior window
        .txn("A1", D(2023, 5, 1), 999, "deposit", "Too old")  # outside 12 months
        .txn("A1", D(2024, 6, 20), -200, "purchase", "Shop")
        .txn("A1", D(2024, 4, 15), -100, "purchase", "Shop 2")
        .txn("A1", D(2024, 6, 10), -400, "transfer", None)  # to own savings: not spending
        .txn("S1", D(2024, 6, 10), 400, "transfer", None)
    )
    bank.customer("C2")  # nothing at all
    features = bank.build().features.select(
        "customer_id",
        "inflow_1m",
        "outflow_1m",
        "inflow_3m",
        "outflow_3m",
        "inflow_12m",
        "outflow_12m",
        "income_trend_3m",
        "savings_rate_3m",
    )
    expected = pl.DataFrame(
        {
            "customer_id": ["C1", "C2"],
            "inflow_1m": [1000.0, 0.0],
            "outflow_1m": [200.0, 0.0],
            "inflow_3m": [1500.0, 0.0],
            "outflow_3m": [300.0, 0.0],
            "inflow_12m": [1800.0, 0.0],
            "outflow_12m": [300.0, 0.0],
            "income_trend_3m": [4.0, None],
            "savings_rate_3m": [0.8, None],
        }
    )
    assert_frame_equal(features, expected)


def _semi_monthly(start: D, months: int) -> list[D]:
    """15th and last day of each month, moved back to Friday when on a weekend."""
    days = []
    for i in range(months):
        month_start = D(start.year + (start.month - 1 + i) // 12, (start.month - 1 + i) % 12 + 1, 1)
        next_month = (month_start + dt.timedelta(days=32)).replace(day=1)
        for day in (month_start.replace(day=15), next_month - dt.timedelta(days=1)):
            while day.weekday() >= 5:
                day -= dt.timedelta(days=1)
            days.append(day)
    return [day for day in days if day <= AS_OF]


def _every(first: D, step: int, shifts: dict[int, int] | None = None) -> list[D]:
    days, day, i = [], first, 0
    while day <= AS_OF:
        days.append(day + dt.timedelta(days=(shifts or {}).get(i, 0)))
        day, i = day + dt.timedelta(days=step), i + 1
    return days


@pytest.mark.parametrize(
    ("cadence", "dates"),
    [
        ("monthly", _monthly(28)),
        ("semi_monthly", _semi_monthly(D(2023, 7, 1), 12)),
        # biweekly Fridays; two pay days moved a day early for public holidays
        ("biweekly", _every(D(2023, 7, 7), 14, shifts={5: -1, 12: -1})),
        ("weekly", _every(D(2024, 1, 5), 7, shifts={3: -1})),
    ],
)
def test_salary_detected_from_recurrence_with_shifted_dates(bank, cadence: str, dates: list[D]) -> None:
    bank.customer("C1").account("C1", "A1")
    for i, day in enumerate(dates):
        # no salary category: the cadence and steady amount alone identify it
        bank.txn("A1", day, 1500 + (i % 3) * 5, "deposit", "ACME Payroll ")
    result = bank.row(bank.build(), "C1")
    assert result["salary_detected"] is True
    assert result["salary_payer"] == "acme payroll"
    assert result["salary_cadence"] == cadence
    assert result["salary_amount_median"] == 1505.0
    assert result["salary_amount_cv"] < 0.01
    assert result["salary_last_date"] == max(dates)


def test_salary_needs_regular_dates_and_steady_amounts(bank) -> None:
    irregular = [D(2024, 1, 3), D(2024, 1, 6), D(2024, 2, 20), D(2024, 3, 2), D(2024, 5, 1), D(2024, 6, 25)]
    bank.customer("IRREGULAR").account("IRREGULAR", "A1")
    for day in irregular:
        bank.txn("A1", day, 2000, "salary", "Gig platform")
    bank.customer("ALLOWANCE").account("ALLOWANCE", "A2")
    for day in _monthly(5):
        bank.txn("A2", day, 300, "transfer", "Mom")  # monthly, steady, but a transfer
    bank.customer("VARIABLE").account("VARIABLE", "A3")
    bank.customer("HINTED").account("HINTED", "A4")
    for i, day in enumerate(_monthly(28)):
        amount = [1000, 2200, 1400, 3000][i % 4]  # commission pay: CV ~0.4
        bank.txn("A3", day, amount, "deposit", "Broker")
        bank.txn("A4", day, amount, "salary", "Broker")  # the salary category tolerates it
    result = bank.build()
    assert [
        bank.row(result, c)["salary_detected"] for c in ("IRREGULAR", "ALLOWANCE", "VARIABLE", "HINTED")
    ] == [
        False,
        False,
        False,
        True,
    ]


def test_scheduled_debits_projected_low_balance_and_safe_to_save(bank) -> None:
    for customer, balance in (("RICH", 2000.0), ("TIGHT", 500.0)):
        account = f"A-{customer}"
        bank.customer(customer).account(customer, account, balance=balance)
        for day in _monthly(28):
            bank.txn(account, day, 3000, "salary", "Employer")
        for day in _monthly(1):
            bank.txn(account, day, -1000, "rent", "Landlord")
        for day in _monthly(15):
            bank.txn(account, day, -50, "bill", "Phone co")
        for i, day in enumerate((D(2024, 4, 20), D(2024, 5, 9), D(2024, 6, 3))):
            bank.txn(account, day, -200, "purchase", f"Shop {i}")
    result = bank.build()
    rich, tight = bank.row(result, "RICH"), bank.row(result, "TIGHT")
    assert (rich["n_scheduled_debits"], rich["scheduled_debits_monthly"]) == (2, 1050.0)
    assert rich["salary_next_expected_date"] == D(2024, 7, 28)
    # outflow_3m = 3 rents + 3 bills + 600 = 3750; discretionary = 3750 / 3 - 1050 = 200 a month;
    # due before 28 July: rent (1 July) + phone (14 July); 28 days of discretionary spending.
    expected_low = 2000 - 1050 - 200 * 28 / 30.44
    assert rich["projected_low_balance"] == pytest.approx(expected_low)
    assert rich["overdraft_risk"] is False
    # surplus 3000 - 1050 - 200 = 1750 is more than the cash headroom (projected low - 10% of 1250)
    assert rich["safe_to_save"] == float(int(expected_low - 125))
    assert tight["projected_low_balance"] == pytest.approx(expected_low - 1500)
    assert (tight["overdraft_risk"], tight["safe_to_save"]) == (True, 0.0)
