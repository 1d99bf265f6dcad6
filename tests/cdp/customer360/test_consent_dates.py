"""A consent decision recorded by date only (a branch form) against one timed the same day."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from cdp.customer360.consent import current_consent
from cdp.customer360.golden import CID
from cdp.exports import apply_eligibility
from cdp.schemas.canonical import CONSENT_COLUMNS, conform

SIGNED = dt.datetime(2026, 3, 14)  # the branch form's date, as its extract gives it
AFTERNOON = dt.datetime(2026, 3, 14, 15, 30)


def _decisions(*rows: tuple[str, bool, dt.datetime]) -> pl.DataFrame:
    return conform(
        pl.DataFrame(
            [
                {
                    "source": source,
                    "party_source": "core_customers",
                    "party_record_id": "1",
                    "purpose": "marketing",
                    "channel": "email",
                    "granted": granted,
                    "updated_at": at,
                }
                for source, granted, at in rows
            ]
        ),
        CONSENT_COLUMNS,
    )


def _current(consents: pl.DataFrame) -> pl.DataFrame:
    keys = pl.LazyFrame({"source": ["core_customers"], "record_id": ["1"], CID: [0]})
    return current_consent(consents, keys, pl.DataFrame({CID: [0], "customer_id": ["C1"]}))


def _eligible(consents: pl.DataFrame) -> bool:
    decided = apply_eligibility(
        pl.DataFrame({"customer_id": ["C1"]}),
        channel="email",
        purpose="marketing",
        customers=pl.DataFrame({"customer_id": ["C1"], "email": ["c1@x.com"]}),
        # Every decision of the customer, as a library caller may pass them, not only the current one.
        consent=consents.drop("party_record_id").with_columns(customer_id=pl.lit("C1")),
        as_of=dt.date(2026, 3, 31),
    )
    return decided["exclusion_reason"].item() is None


@pytest.mark.parametrize(
    ("branch_granted", "digital_granted"),
    [(False, True), (True, False)],
    ids=["branch_refusal", "app_refusal"],
)
def test_a_date_only_decision_ties_with_the_same_days_timed_one_and_the_refusal_wins(
    branch_granted: bool, digital_granted: bool
) -> None:
    consents = _decisions(
        ("core_branch_consents", branch_granted, SIGNED), ("digital_consents", digital_granted, AFTERNOON)
    )

    state = _current(consents)
    assert state["granted"].to_list() == [False]
    assert not _eligible(consents)


def test_a_timed_decision_on_a_later_day_still_wins() -> None:
    consents = _decisions(
        ("core_branch_consents", False, SIGNED), ("digital_consents", True, AFTERNOON + dt.timedelta(days=1))
    )

    state = _current(consents)
    assert state.select("granted", "consent_source").row(0) == (True, "digital_consents")
    assert _eligible(consents)


def test_two_timed_decisions_the_same_day_keep_their_order() -> None:
    consents = _decisions(
        ("digital_consents", False, SIGNED + dt.timedelta(hours=9)), ("digital_consents", True, AFTERNOON)
    )

    assert _current(consents)["granted"].to_list() == [True]
    assert _eligible(consents)
