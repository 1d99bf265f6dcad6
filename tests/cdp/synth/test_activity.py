"""Schedules, the calendar, and the activity (transactions, events, consents) of a generated bank."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from cdp.synth import GenerationSummary
from cdp.synth.common import make_calendar, segment_ids, us_bank_holidays
from cdp.synth.schedules import business_day, every_n_days, month_starts, monthly


def _days(*values: str) -> np.ndarray:
    return np.array(values, dtype="datetime64[D]")


def test_segment_ids() -> None:
    parents, nth = segment_ids(np.array([2, 0, 3]))
    assert parents.tolist() == [0, 0, 2, 2, 2]
    assert nth.tolist() == [0, 1, 0, 1, 2]


def test_calendar_batches_are_weekly_and_end_on_as_of() -> None:
    calendar = make_calendar(dt.date(2026, 10, 31), months=12, batches=3)
    assert calendar.start == dt.date(2025, 11, 1)
    assert calendar.batch_dates == (dt.date(2026, 10, 17), dt.date(2026, 10, 24), dt.date(2026, 10, 31))
    batch = calendar.batch_of(_days("2020-01-01", "2026-10-17", "2026-10-18", "2026-10-31"))
    assert batch.tolist() == [1, 1, 2, 3]


def test_holidays_and_business_day_rolls() -> None:
    holidays = us_bank_holidays(2026, 2026)
    assert np.datetime64("2026-11-26") in holidays  # Thanksgiving
    assert np.datetime64("2026-01-19") in holidays  # Martin Luther King Jr. Day
    # Saturday 2026-10-31 -> Friday before (credits) / Monday after (debits).
    assert business_day(_days("2026-10-31"), holidays, earlier=True).tolist() == [dt.date(2026, 10, 30)]
    assert business_day(_days("2026-10-31"), holidays, earlier=False).tolist() == [dt.date(2026, 11, 2)]
    assert business_day(_days("2026-01-19"), holidays, earlier=True).tolist() == [dt.date(2026, 1, 16)]


def test_every_n_days_and_monthly_schedules() -> None:
    owner, dates = every_n_days(_days("2026-01-02"), np.array([14]), _days("2026-01-10"), _days("2026-02-14"))
    assert owner.tolist() == [0, 0, 0]
    assert dates.astype("datetime64[D]").tolist() == [
        dt.date(2026, 1, 16),
        dt.date(2026, 1, 30),
        dt.date(2026, 2, 13),
    ]
    months = month_starts(np.datetime64("2026-01-15"), np.datetime64("2026-03-01"))
    owner, dates = monthly(
        np.array([31, 15]), _days("2026-01-20", "2026-01-01"), _days("2026-03-01", "2026-02-20"), months
    )
    assert sorted(zip(owner.tolist(), dates.tolist(), strict=True)) == [
        (0, dt.date(2026, 1, 31)),
        (0, dt.date(2026, 2, 28)),
        (1, dt.date(2026, 1, 15)),
        (1, dt.date(2026, 2, 15)),
    ]


def _core_transactions(bank: GenerationSummary) -> pl.DataFrame:
    return pl.read_parquet(next((bank.out_dir / "core").glob("transactions_*.parquet")))


def test_salary_lands_on_business_days_with_job_changes_and_stops(bank: GenerationSummary) -> None:
    txns = _core_transactions(bank)
    window_end = dt.date(2026, 10, 31)
    assert txns["post_dt"].min() >= dt.date(2026, 9, 1) and txns["post_dt"].max() <= window_end
    salary = txns.filter(pl.col("txn_cat") == "PAYROLL")
    assert (salary["dr_cr"] == "C").all()
    days = salary["post_dt"].to_numpy().astype("datetime64[D]")
    assert np.is_busday(days, holidays=us_bank_holidays(2025, 2027)).all()
    payers = salary.group_by("acct_no").agg(pl.col("cpty_name").n_unique().alias("payers"))
    assert payers["payers"].max() >= 2, "someone changed jobs"
    per_account = salary.group_by("acct_no").len()["len"]
    assert per_account.min() <= 2 < per_account.max(), "monthly and biweekly cadences"
    amounts = (
        salary.group_by("acct_no").agg((pl.col("amt").std() / pl.col("amt").mean()).alias("cv")).drop_nulls()
    )
    assert amounts["cv"].median() < 0.1, "small jitter around a regular salary"
    categories = set(txns["txn_cat"])
    assert {"RENT", "MTGPMT", "BILLPAY", "CARDPMT", "XFER", "POS", "ATM", "P2P", "FEE"} <= categories


def test_accounts_include_overdrafts_joint_and_teen_savings(bank: GenerationSummary) -> None:
    accounts = pl.read_csv(next((bank.out_dir / "core").glob("accounts_*.csv")), infer_schema=False)
    balances = accounts["cur_bal"].cast(pl.Float64)
    assert (balances < 0).any()
    assert accounts["joint_cif_no"].drop_nulls().len() > 0
    assert (accounts["prod_cd"] == "SAV-TEEN").any()
    assert set(accounts["acct_status"]) == {"O", "C"}


def test_card_transactions_have_merchant_categories(bank: GenerationSummary) -> None:
    txns = pl.read_parquet(next((bank.out_dir / "card").glob("transactions_*.parquet")))
    purchases = txns.filter(pl.col("TXN_TYPE") == "PUR")
    assert purchases["MCC_DESC"].null_count() == 0 and purchases["MCC_DESC"].n_unique() > 5
    assert (purchases["AMOUNT_CENTS"] > 0).all()
    assert (txns.filter(pl.col("TXN_TYPE") == "PMT")["AMOUNT_CENTS"] < 0).all()
    assert (txns["POST_DATE"] >= txns["TXN_DATE"]).all()


def test_events_show_browsing_and_applications(bank: GenerationSummary) -> None:
    events = pl.read_parquet(next((bank.out_dir / "digital").glob("events_*.parquet")))
    kinds = set(events["event_name"])
    assert {"LOGIN", "PAGE_VIEW", "APPLICATION_START"} <= kinds
    assert kinds & {"APPLICATION_SUBMIT", "APPLICATION_ABANDON"}
    assert (events["page_path"] == "/mortgages/rates").any()
    assert set(events["channel"]) == {"app", "web"}
    assert events["event_id"].is_unique().all()
    users = pl.read_csv(next((bank.out_dir / "digital").glob("users_*.csv")), infer_schema=False)
    assert events["user_id"].is_in(users["user_id"].implode()).all()
    assert events["event_ts"].max() < dt.datetime(2026, 11, 1)


def test_consents_change_over_time(bank: GenerationSummary) -> None:
    consents = pl.read_csv(next((bank.out_dir / "digital").glob("consents_*.csv")), infer_schema=False)
    changed = consents.group_by("user_id", "purpose", "channel").len().filter(pl.col("len") > 1)
    assert changed.height > 0
    branch = pl.read_csv(next((bank.out_dir / "core").glob("branch_consents_*.csv")), infer_schema=False)
    assert set(branch["consent_yn"]) == {"Y", "N"}
    customers = pl.read_csv(next((bank.out_dir / "core").glob("customers_*.csv")), infer_schema=False)
    refused = branch.join(customers.filter(pl.col("dnc_flag") == "Y"), left_on="cif", right_on="cif_no")
    assert (refused["consent_yn"] == "N").all()
