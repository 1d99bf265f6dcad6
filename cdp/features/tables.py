"""Documentation of the tables the features stage publishes (for docs/data_dictionary.md)."""

from __future__ import annotations

from cdp.schemas.docs import TableDoc

_WINDOW = "calendar months back from as_of, deposit accounts, transfers between own accounts left out"

TABLE_DOCS: tuple[TableDoc, ...] = (
    TableDoc(
        name="customer_features",
        description=(
            "Point-in-time behaviour of every customer as of a date: cash flow, detected salary and "
            "scheduled payments, balances and risk, relationship and engagement, and life-event "
            "recency. Only rows dated on or before as_of are used, so a backfill reproduces what was "
            "known then. Balances are rebuilt backwards from the extract's snapshot balance; liability "
            "balances count as amounts owed. Sums and counts are 0 and flags false when there is "
            "nothing to count; ratios, dates and 'days since' columns are null when unknown or never."
        ),
        grain="one row per customer_360 customer",
        columns={
            "customer_id": "The customer (customer_360.customer_id).",
            "as_of": "Feature date: nothing dated after it was used.",
            "inflow_1m": f"Money in over the last month ({_WINDOW}).",
            "outflow_1m": "Money out over the last month, as a positive amount.",
            "inflow_3m": "Money in over the last 3 months.",
            "outflow_3m": "Money out over the last 3 months, positive.",
            "inflow_12m": "Money in over the last 12 months.",
            "outflow_12m": "Money out over the last 12 months, positive.",
            "income_trend_3m": (
                "Inflow of the last 3 months relative to the 3 before: (last - prior) / prior; null without "
                "prior inflow."
            ),
            "savings_rate_3m": "(inflow_3m - outflow_3m) / inflow_3m; null without inflow.",
            "salary_detected": (
                "A salary is running: a recurring credit from one payer on a weekly, biweekly, semi-monthly "
                "or monthly cadence, steady in amount, not overdue."
            ),
            "salary_payer": "The main salary's payer (counterparty, lower-case).",
            "salary_cadence": "weekly | biweekly | semi_monthly | monthly.",
            "salary_amount_median": "Median salary payment over the last 12 months.",
            "salary_amount_cv": "Coefficient of variation of the salary payments (stability; 0 = identical).",
            "salary_monthly": "Salary per month: median payment x payments per month of the cadence.",
            "salary_last_date": "Date of the last salary payment.",
            "salary_next_expected_date": "Next expected pay day (last + one period).",
            "n_scheduled_debits": (
                "Active recurring debits (rent, bills, loan and card payments) from day-to-day accounts."
            ),
            "scheduled_debits_monthly": "Their total per month.",
            "safe_to_save": (
                "What can be put aside this month without missing a scheduled payment: floor(max(0, "
                "min(monthly surplus, projected_low_balance - 10% of monthly outflow))); see "
                "cdp.features.cashflow."
            ),
            "deposit_balance": "Balance of all deposit accounts as of the date.",
            "liquid_balance": "Balance of day-to-day deposit accounts (not savings, CDs, money market).",
            "savings_balance": "deposit_balance - liquid_balance.",
            "negative_balance_days_90d": (
                "Days of the last 90 ending with the day-to-day accounts below zero (end-of-day balances)."
            ),
            "min_balance_90d": "Lowest end-of-day day-to-day balance in the last 90 days.",
            "projected_low_balance": (
                "liquid_balance minus scheduled debits and typical spending until the next salary (30 days "
                "without one); null without a day-to-day account."
            ),
            "overdraft_risk": "projected_low_balance < 0.",
            "card_balance": "Amount owed on open cards.",
            "card_limit": "Total credit limit of open cards.",
            "card_utilization": "Owed / limit over open cards with a limit; null without one.",
            "card_spend_3m": "Card purchases over the last 3 months, positive.",
            "card_payments_3m": "Payments into card accounts over the last 3 months.",
            "mortgage_balance": "Amount owed on open mortgages.",
            "loan_balance": "Amount owed on open loans.",
            "card_days_past_due": (
                "Highest days past due among open cards (extract snapshot); null without a card."
            ),
            "mortgage_days_past_due": "Highest days past due among open mortgages; null without one.",
            "max_days_past_due": "Highest days past due among all open accounts.",
            "n_accounts_past_due": "Open accounts more than 0 days past due.",
            "delinquent": "max_days_past_due >= 30.",
            "products_open": (
                "Accounts open as of the date that the customer owns (authorized users excluded)."
            ),
            "product_families": (
                "Families of those accounts, sorted, comma-separated (card,deposit,loan,mortgage)."
            ),
            "has_deposit": "Holds an open deposit account.",
            "has_card": "Holds an open card.",
            "has_mortgage": "Holds an open mortgage.",
            "has_loan": "Holds an open loan.",
            "relationship_months": (
                "Whole months since the first account opened or the earliest customer_since."
            ),
            "logins_30d": "Digital logins in the last 30 days.",
            "page_views_30d": "Digital page views in the last 30 days.",
            "days_since_last_login": "Days since the last login; null if never.",
            "days_since_last_activity": (
                "Days since the last login, page view or own transaction (not fees, interest or salary) "
                "within 12 months; null if none."
            ),
            "days_since_new_salary_payer": (
                "Days since the latest new-salary-payer (new job) event; null if none."
            ),
            "days_since_salary_stopped": "Days since the latest salary-stopped event; null if none.",
            "days_since_move": "Days since the latest address change; null if none.",
            "days_since_large_deposit": "Days since the latest large one-off deposit; null if none.",
            "days_since_mortgage_intent": "Days since the latest mortgage-intent signal; null if none.",
            "approaching_retirement": "Within 5 years of age 67.",
            "n_life_events_90d": "Life events detected in the last 90 days.",
        },
        contains_pii=False,
    ),
    TableDoc(
        name="customer_life_events",
        description=(
            "Life events detected from behaviour, each with the day it was detected and the evidence "
            "(JSON naming the rows or payers behind it, never raw contact details): new_salary_payer, "
            "salary_stopped, address_change, large_deposit, mortgage_intent (events of the 12 months "
            "up to as_of) and approaching_retirement (while it lasts). Definitions and thresholds are in "
            "cdp.features.life_events."
        ),
        grain="one row per detected event",
        columns={
            "customer_id": "The customer.",
            "event": (
                "new_salary_payer | salary_stopped | address_change | large_deposit | mortgage_intent | "
                "approaching_retirement."
            ),
            "detected_on": (
                "The day the data first showed the event (first new pay day, missed pay day + grace, record "
                "update, deposit day, the view that reached the count, the birthday that began the period)."
            ),
            "evidence": (
                "JSON object with what decided it (payer, dates, counts, amounts, source record keys)."
            ),
        },
        contains_pii=False,
    ),
)
