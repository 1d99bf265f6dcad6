"""Every suppression rule, each exclusion with its reason."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from cdp.errors import CdpError, ConfigError
from cdp.exports import apply_eligibility, holdout_score, in_holdout

AS_OF = dt.date(2024, 6, 30)

CUSTOMERS = pl.DataFrame(
    {
        "customer_id": [
            "ok",
            "dead",
            "dnc",
            "arrears",
            "late",
            "minor",
            "ageless",
            "noconsent",
            "noemail",
            "erased",
            "revoked",
        ],
        "email": [
            "ok@x.com",
            "d@x.com",
            "n@x.com",
            "a@x.com",
            "l@x.com",
            "m@x.com",
            "g@x.com",
            "c@x.com",
            None,
            "e@x.com",
            "r@x.com",
        ],
        "date_of_birth": [dt.date(1980, 1, 1)] * 5 + [dt.date(2006, 7, 1), None] + [dt.date(1980, 1, 1)] * 4,
        "age": [44, 44, 44, 44, 44, 18, None, 44, 44, 44, 44],  # the 360's age is stale for "minor"
        "is_deceased": [False, True, False, False, False, False, False, False, False, False, None],
        "do_not_contact": [False, False, True, False, False, False, False, False, False, False, None],
        "in_arrears": [False, False, False, True, False, False, False, False, False, False, False],
    }
)
FEATURES = pl.DataFrame(
    {
        "customer_id": ["late", "ok"],
        "max_days_past_due": [15, 0],
        "delinquent": [False, False],
    }
)
CONSENT = pl.DataFrame(
    {
        "customer_id": [c for c in CUSTOMERS["customer_id"] if c != "noconsent"] + ["revoked", "ok"],
        "purpose": ["credit_offers"] * 10 + ["credit_offers", "marketing"],
        "channel": ["email"] * 12,
        "granted": [True] * 10 + [False, True],
        "updated_at": [dt.datetime(2024, 1, 1)] * 10 + [dt.datetime(2024, 5, 1), dt.datetime(2024, 1, 1)],
    }
)
ERASED = pl.DataFrame({"customer_id": ["erased"]})


def _reasons(purpose: str, *, credit: bool = False, channel: str = "email") -> dict[str, str | None]:
    decided = apply_eligibility(
        CUSTOMERS.select("customer_id"),
        channel=channel,
        purpose=purpose,
        customers=CUSTOMERS,
        consent=CONSENT.with_columns(purpose=pl.lit(purpose)),
        features=FEATURES,
        erased=ERASED,
        credit=credit,
        as_of=AS_OF,
    )
    return dict(decided.select("customer_id", "exclusion_reason").iter_rows())


def test_credit_offers_apply_every_rule() -> None:
    assert _reasons("credit_offers") == {
        "ok": None,
        "dead": "deceased",
        "dnc": "do_not_contact",
        "arrears": "arrears_or_delinquent",
        "late": "arrears_or_delinquent",
        "minor": "under_18",
        "ageless": "age_unknown",
        "noconsent": "no_consent",
        "noemail": "no_contact_details",
        "erased": "erased",
        "revoked": "no_consent",
    }


def test_marketing_skips_the_credit_rules_unless_the_segment_is_credit() -> None:
    marketing = _reasons("marketing")
    assert (marketing["arrears"], marketing["late"], marketing["minor"], marketing["ageless"]) == (None,) * 4
    assert marketing["dead"] == "deceased" and marketing["erased"] == "erased"
    credit_segment = _reasons("marketing", credit=True)
    assert (credit_segment["arrears"], credit_segment["minor"]) == ("arrears_or_delinquent", "under_18")


def test_consent_is_per_channel_and_the_latest_decision_wins() -> None:
    sms = _reasons("marketing", channel="sms")  # consents above are for email only
    assert set(sms.values()) == {"erased", "deceased", "do_not_contact", "no_consent"}
    # "revoked" granted marketing by email in January, then withdrew it in May
    assert _reasons("marketing")["revoked"] == "no_consent"


def test_all_reasons_are_listed_in_order_and_members_outside_the_360_are_excluded() -> None:
    decided = apply_eligibility(
        pl.DataFrame({"customer_id": ["erased", "ghost"]}),
        channel="email",
        purpose="credit_offers",
        customers=CUSTOMERS.with_columns(is_deceased=pl.col("customer_id") == "erased"),
        consent=CONSENT.head(0),
        erased=ERASED,
        as_of=AS_OF,
    )
    expected = pl.DataFrame(
        {
            "customer_id": ["erased", "ghost"],
            "reasons": [
                ["erased", "deceased", "no_consent"],
                ["not_in_customer_360", "age_unknown", "no_consent", "no_contact_details"],
            ],
            "exclusion_reason": ["erased", "not_in_customer_360"],
        }
    )
    assert_frame_equal(decided, expected)


def test_unknown_channel_or_purpose_is_refused() -> None:
    with pytest.raises(ConfigError, match="unknown channel 'fax'"):
        apply_eligibility(
            CUSTOMERS.select("customer_id"),
            channel="fax",
            purpose="marketing",
            customers=CUSTOMERS,
            consent=CONSENT,
        )
    with pytest.raises(ConfigError, match="unknown purpose 'spam'"):
        apply_eligibility(
            CUSTOMERS.select("customer_id"),
            channel="email",
            purpose="spam",
            customers=CUSTOMERS,
            consent=CONSENT,
        )


def test_holdout_is_stable_per_campaign_and_respects_the_share() -> None:
    ids = pl.Series([f"C{i:06d}" for i in range(20000)])
    first = in_holdout(ids, campaign_id="spring", pct=10)
    assert first.equals(in_holdout(ids, campaign_id="spring", pct=10))  # same call, same groups
    assert first.equals(in_holdout(ids.reverse(), campaign_id="spring", pct=10).reverse())  # order-free
    other = in_holdout(ids, campaign_id="autumn", pct=10)
    assert not first.equals(other)
    assert 0.09 < first.mean() < 0.11 and 0.09 < other.mean() < 0.11  # type: ignore[operator]
    assert (first & other).mean() < 0.02  # type: ignore[operator]
    # a larger holdout only adds customers: the 10% group stays inside the 20% group
    assert (first & ~in_holdout(ids, campaign_id="spring", pct=20)).sum() == 0
    assert holdout_score("spring", "C000001") == holdout_score("spring", "C000001")
    assert in_holdout(ids, campaign_id=None, pct=0).sum() == 0


@pytest.mark.parametrize(
    ("campaign", "pct", "problem"),
    [(None, 5, "needs a campaign id"), ("c", 100, "percentage"), ("c", -1, "percentage")],
)
def test_bad_holdouts_are_refused(campaign: str | None, pct: float, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        in_holdout(pl.Series(["a"]), campaign_id=campaign, pct=pct)


def _consent_rows(*rows: tuple[str, str, bool, dt.datetime | None]) -> pl.DataFrame:
    return pl.DataFrame(
        [(customer, purpose, "email", granted, at) for customer, purpose, granted, at in rows],
        schema={
            "customer_id": pl.String,
            "purpose": pl.String,
            "channel": pl.String,
            "granted": pl.Boolean,
            "updated_at": pl.Datetime("us"),
        },
        orient="row",
    )


def _eligible(consent: pl.DataFrame, *, purpose: str = "marketing", credit: bool = False) -> list[str]:
    people = pl.DataFrame({"customer_id": ["a", "b"], "email": ["a@x.com", "b@x.com"], "age": [40, 40]})
    decided = apply_eligibility(
        people.select("customer_id"),
        channel="email",
        purpose=purpose,
        customers=people,
        consent=consent,
        credit=credit,
        as_of=AS_OF,
    )
    return decided.filter(pl.col("exclusion_reason").is_null())["customer_id"].to_list()


def test_a_refusal_wins_a_consent_tie_whatever_the_row_order() -> None:
    at = dt.datetime(2024, 1, 1)
    rows = [("a", "marketing", True, at), ("a", "marketing", False, at), ("b", "marketing", True, at)]

    assert _eligible(_consent_rows(*rows)) == ["b"]
    assert _eligible(_consent_rows(*reversed(rows))) == ["b"]
    undated = _consent_rows(*rows).with_columns(updated_at=None)
    assert _eligible(undated) == ["b"]


def test_a_credit_segment_needs_consent_to_credit_offers_whatever_purpose_is_named() -> None:
    at = dt.datetime(2024, 1, 1)
    consent = _consent_rows(
        ("a", "marketing", True, at),
        ("a", "credit_offers", False, at),
        ("b", "marketing", True, at),
        ("b", "credit_offers", True, at),
    )

    assert _eligible(consent) == ["a", "b"]
    assert _eligible(consent, credit=True) == ["b"]
    assert _eligible(consent, purpose="credit_offers") == ["b"]


def test_a_table_with_a_customer_twice_is_refused_not_counted_twice() -> None:
    twice = pl.concat([CUSTOMERS, CUSTOMERS.filter(pl.col("customer_id") == "ok")])
    with pytest.raises(CdpError, match=r"customer_360 must hold one row per customer: 1 .*\(e\.g\. ok\)"):
        apply_eligibility(
            CUSTOMERS.select("customer_id"),
            channel="email",
            purpose="marketing",
            customers=twice,
            consent=CONSENT,
            as_of=AS_OF,
        )
    with pytest.raises(CdpError, match="customer_features must hold one row per customer"):
        apply_eligibility(
            CUSTOMERS.select("customer_id"),
            channel="email",
            purpose="marketing",
            customers=CUSTOMERS,
            consent=CONSENT,
            features=pl.concat([FEATURES, FEATURES]),
            as_of=AS_OF,
        )


def test_numeric_ids_match_text_ids_and_a_consent_table_without_granted_is_named() -> None:
    customers = pl.DataFrame({"customer_id": [7, 8], "email": ["a@x.com", "b@x.com"]})
    consent = pl.DataFrame(
        {"customer_id": ["7"], "purpose": ["marketing"], "channel": ["email"], "granted": [True]}
    )
    result = apply_eligibility(
        pl.DataFrame({"customer_id": ["7", "8"]}),
        channel="email",
        purpose="marketing",
        customers=customers,
        consent=consent,
        as_of=AS_OF,
    )
    assert result["exclusion_reason"].to_list() == [None, "no_consent"]
    with pytest.raises(CdpError, match="customer_consent lacks column"):
        apply_eligibility(
            pl.DataFrame({"customer_id": ["7"]}),
            channel="email",
            purpose="marketing",
            customers=customers,
            consent=consent.drop("granted"),
            as_of=AS_OF,
        )
