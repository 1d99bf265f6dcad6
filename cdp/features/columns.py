"""Column contracts of ``customer_features`` and ``customer_life_events``.

Names deliberately avoid the columns of ``customer_360`` (``n_products``, ``tenure_months``,
``age`` ...) so that a segment rule over the union of both tables is never ambiguous: the 360 holds
the current golden record, these tables hold point-in-time behaviour as of a date.
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

#: Money sums are rounded to cents: the exact sum of amounts in cents is a whole number of cents,
#: and rounding removes the last-bit noise of multithreaded float sums, so the same inputs always
#: give the same features (and the same floor(), thresholds and segment memberships).
CENTS = 2
#: Ratios of such sums (a coefficient of variation) keep this many decimals, for the same reason.
RATIO_DIGITS = 9

#: customer_features: one row per customer of customer_360, as of ``as_of``.
FEATURE_COLUMNS: Mapping[str, pl.DataType] = {
    "customer_id": pl.String(),
    "as_of": pl.Date(),
    # cash flow (deposit accounts, transfers between the customer's own accounts left out)
    "inflow_1m": pl.Float64(),
    "outflow_1m": pl.Float64(),
    "inflow_3m": pl.Float64(),
    "outflow_3m": pl.Float64(),
    "inflow_12m": pl.Float64(),
    "outflow_12m": pl.Float64(),
    "income_trend_3m": pl.Float64(),
    "savings_rate_3m": pl.Float64(),
    "salary_detected": pl.Boolean(),
    "salary_payer": pl.String(),
    "salary_cadence": pl.String(),
    "salary_amount_median": pl.Float64(),
    "salary_amount_cv": pl.Float64(),
    "salary_monthly": pl.Float64(),
    "salary_last_date": pl.Date(),
    "salary_next_expected_date": pl.Date(),
    "n_scheduled_debits": pl.Int64(),
    "scheduled_debits_monthly": pl.Float64(),
    "safe_to_save": pl.Float64(),
    # balances and risk
    "deposit_balance": pl.Float64(),
    "liquid_balance": pl.Float64(),
    "savings_balance": pl.Float64(),
    "negative_balance_days_90d": pl.Int64(),
    "min_balance_90d": pl.Float64(),
    "projected_low_balance": pl.Float64(),
    "overdraft_risk": pl.Boolean(),
    "card_balance": pl.Float64(),
    "card_limit": pl.Float64(),
    "card_utilization": pl.Float64(),
    "card_spend_3m": pl.Float64(),
    "card_payments_3m": pl.Float64(),
    "mortgage_balance": pl.Float64(),
    "loan_balance": pl.Float64(),
    "card_days_past_due": pl.Int64(),
    "mortgage_days_past_due": pl.Int64(),
    "max_days_past_due": pl.Int64(),
    "n_accounts_past_due": pl.Int64(),
    "delinquent": pl.Boolean(),
    # relationship and engagement
    "products_open": pl.Int64(),
    "product_families": pl.String(),
    "has_deposit": pl.Boolean(),
    "has_card": pl.Boolean(),
    "has_mortgage": pl.Boolean(),
    "has_loan": pl.Boolean(),
    "relationship_months": pl.Int64(),
    "logins_30d": pl.Int64(),
    "page_views_30d": pl.Int64(),
    "days_since_last_login": pl.Int64(),
    "days_since_last_activity": pl.Int64(),
    # life events (the latest detection of each kind on or before as_of)
    "days_since_new_salary_payer": pl.Int64(),
    "days_since_salary_stopped": pl.Int64(),
    "days_since_move": pl.Int64(),
    "days_since_large_deposit": pl.Int64(),
    "days_since_mortgage_intent": pl.Int64(),
    "approaching_retirement": pl.Boolean(),
    "n_life_events_90d": pl.Int64(),
}

#: customer_life_events: one row per detected event.
LIFE_EVENT_COLUMNS: Mapping[str, pl.DataType] = {
    "customer_id": pl.String(),
    "event": pl.String(),
    "detected_on": pl.Date(),
    "evidence": pl.String(),
}

#: Life-event kinds, and the feature column that carries the days since the latest one.
LIFE_EVENT_FEATURES: Mapping[str, str] = {
    "new_salary_payer": "days_since_new_salary_payer",
    "salary_stopped": "days_since_salary_stopped",
    "address_change": "days_since_move",
    "large_deposit": "days_since_large_deposit",
    "mortgage_intent": "days_since_mortgage_intent",
}
