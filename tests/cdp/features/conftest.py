"""A tiny hand-built bank: customers, accounts, transactions and events with known answers."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import polars as pl
import pytest

from cdp.features import FeatureResult, build_customer_features
from cdp.schemas.canonical import (
    ACCOUNT_COLUMNS,
    ACCOUNT_HOLDER_COLUMNS,
    CLUSTER_COLUMNS,
    EVENT_COLUMNS,
    PARTY_COLUMNS,
    TRANSACTION_COLUMNS,
    conform,
    empty_frame,
)

AS_OF = dt.date(2024, 6, 30)


def _frame(rows: list[dict[str, Any]], columns: Any) -> pl.DataFrame:
    if not rows:
        return empty_frame(columns)
    keys = sorted({key for row in rows for key in row})
    return conform(
        pl.DataFrame([{key: row.get(key) for key in keys} for row in rows], infer_schema_length=None), columns
    )


@dataclass
class Bank:
    """Builder for canonical frames; every customer gets one core party record."""

    AS_OF = AS_OF

    parties: list[dict[str, Any]] = field(default_factory=list)
    clusters: list[dict[str, Any]] = field(default_factory=list)
    accounts: list[dict[str, Any]] = field(default_factory=list)
    holders: list[dict[str, Any]] = field(default_factory=list)
    transactions: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    customer_ids: list[str] = field(default_factory=list)
    dobs: dict[str, dt.date | None] = field(default_factory=dict)

    def customer(self, customer_id: str, *, dob: dt.date | None = None, **party: Any) -> Bank:
        self.customer_ids.append(customer_id)
        self.dobs[customer_id] = dob
        self.record(customer_id, f"R-{customer_id}", **party)
        return self

    def record(self, customer_id: str, record_id: str, *, source: str = "core", **party: Any) -> Bank:
        self.parties.append({"source": source, "record_id": record_id, **party})
        if not any(c["source"] == source and c["record_id"] == record_id for c in self.clusters):
            self.clusters.append({"source": source, "record_id": record_id, "customer_id": customer_id})
        return self

    def account(
        self,
        customer_id: str | tuple[str, ...],
        account_id: str,
        *,
        family: str = "deposit",
        product_type: str = "checking",
        balance: float = 0.0,
        opened: dt.date = dt.date(2020, 1, 1),
        role: str = "primary",
        **extra: Any,
    ) -> Bank:
        self.accounts.append(
            {
                "source": "core_accounts",
                "account_id": account_id,
                "product_family": family,
                "product_type": product_type,
                "balance": balance,
                "opened_date": opened,
                "status": "open",
                **extra,
            }
        )
        for cid in (customer_id,) if isinstance(customer_id, str) else customer_id:
            self.holders.append(
                {
                    "account_source": "core_accounts",
                    "account_id": account_id,
                    "party_source": "core",
                    "party_record_id": f"R-{cid}",
                    "role": role,
                }
            )
        return self

    def holder(self, customer_id: str, account_id: str, *, role: str) -> Bank:
        self.holders.append(
            {
                "account_source": "core_accounts",
                "account_id": account_id,
                "party_source": "core",
                "party_record_id": f"R-{customer_id}",
                "role": role,
            }
        )
        return self

    def txn(
        self,
        account_id: str,
        day: dt.date,
        amount: float,
        category: str | None = None,
        counterparty: str | None = None,
    ) -> Bank:
        self.transactions.append(
            {
                "source": "core_tx",
                "transaction_id": f"T{len(self.transactions)}",
                "account_source": "core_accounts",
                "account_id": account_id,
                "posted_date": day,
                "amount": float(amount),
                "category": category,
                "counterparty": counterparty,
            }
        )
        return self

    def event(self, customer_id: str, when: dt.datetime, event_type: str, page: str | None = None) -> Bank:
        self.events.append(
            {
                "source": "digital_events",
                "event_id": f"E{len(self.events)}",
                "party_source": "core",
                "party_record_id": f"R-{customer_id}",
                "event_time": when,
                "event_type": event_type,
                "page": page,
                "channel": "app",
            }
        )
        return self

    def frames(self) -> dict[str, pl.DataFrame]:
        return {
            "transactions": _frame(self.transactions, TRANSACTION_COLUMNS),
            "accounts": _frame(self.accounts, ACCOUNT_COLUMNS),
            "account_holders": _frame(self.holders, ACCOUNT_HOLDER_COLUMNS),
            "events": _frame(self.events, EVENT_COLUMNS),
            "parties": _frame(self.parties, PARTY_COLUMNS),
            "clusters": _frame(self.clusters, CLUSTER_COLUMNS),
            "customers": pl.DataFrame(
                {
                    "customer_id": self.customer_ids,
                    "date_of_birth": [self.dobs[c] for c in self.customer_ids],
                },
                schema={"customer_id": pl.String, "date_of_birth": pl.Date},
            ),
        }

    def build(self, as_of: dt.date = AS_OF) -> FeatureResult:
        return build_customer_features(**self.frames(), as_of=as_of)

    @staticmethod
    def row(result: FeatureResult, customer_id: str) -> dict[str, Any]:
        """The feature row of one customer as a dict."""
        return result.features.filter(pl.col("customer_id") == customer_id).to_dicts()[0]

    @staticmethod
    def events_of(result: FeatureResult, customer_id: str) -> list[tuple[str, dt.date]]:
        """(event, detected_on) of one customer, in date order."""
        frame = result.life_events.filter(pl.col("customer_id") == customer_id)
        return list(zip(frame["event"].to_list(), frame["detected_on"].to_list(), strict=True))

    @staticmethod
    def monthly(start: dt.date, months: int, day_of_month: int = 28) -> list[dt.date]:
        """One date per month, shifted off weekends to the previous Friday like real pay days."""
        days = []
        for i in range(months):
            year, month = start.year + (start.month - 1 + i) // 12, (start.month - 1 + i) % 12 + 1
            day = dt.date(year, month, day_of_month)
            while day.weekday() >= 5:
                day -= dt.timedelta(days=1)
            days.append(day)
        return days


@pytest.fixture
def bank() -> Bank:
    return Bank()
