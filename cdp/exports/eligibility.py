"""Eligibility and suppression, enforced at export, every exclusion with a reason.

Rules, in the order a customer's first (reported) reason is chosen:

====================  =====================================================================
reason                applies when
====================  =====================================================================
erased                the customer is in ``erased_customers`` (right to erasure): everything
not_in_customer_360   the member is no longer in the customer 360 (merged away, removed)
deceased              ``is_deceased``: everything
do_not_contact        ``do_not_contact``: everything
arrears_or_delinquent credit offers only: ``in_arrears`` (a charged-off debt counts), or any account past due
under_18              credit offers only: younger than 18 on the export date
age_unknown           credit offers only: no age or date of birth, so adulthood is unproven
no_consent            no granted consent for the campaign's purpose on its channel
no_contact_details    the channel's contact field (email, phone, postal address) is missing
====================  =====================================================================

A campaign is a credit offer when its purpose is ``credit_offers`` or its segment is flagged
``credit``; a credit offer needs consent to ``credit_offers`` as well as to its own purpose.
Consent is the latest decision per customer, purpose and channel (a refusal wins a tie); no
decision means no consent. Missing compliance flags (null) are read as not set.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import polars as pl

from cdp.customer360.consent import decision_time
from cdp.errors import CdpError, ConfigError

CHANNELS: tuple[str, ...] = ("email", "sms", "mail", "app")
PURPOSES: tuple[str, ...] = ("marketing", "credit_offers", "profiling", "third_party")
CREDIT_PURPOSES: tuple[str, ...] = ("credit_offers",)
#: Contact fields that must be present for a channel to reach the customer.
REQUIRED_CONTACT: Mapping[str, tuple[str, ...]] = {
    "email": ("email",),
    "sms": ("phone",),
    "mail": ("address_line1", "postcode"),
    "app": (),
}
REASONS: tuple[str, ...] = (
    "erased",
    "not_in_customer_360",
    "deceased",
    "do_not_contact",
    "arrears_or_delinquent",
    "under_18",
    "age_unknown",
    "no_consent",
    "no_contact_details",
)
ADULT_AGE = 18


def check_campaign(*, channel: str, purpose: str) -> None:
    """Raise ``ConfigError`` for an unknown channel or purpose."""
    if channel not in CHANNELS:
        raise ConfigError(f"unknown channel {channel!r}; use one of {', '.join(CHANNELS)}")
    if purpose not in PURPOSES:
        raise ConfigError(f"unknown purpose {purpose!r}; use one of {', '.join(PURPOSES)}")


def _flag(frame: pl.DataFrame, name: str) -> pl.Expr:
    return pl.col(name).fill_null(False) if name in frame.columns else pl.lit(False)


def apply_eligibility(
    members: pl.DataFrame,
    *,
    channel: str,
    purpose: str,
    customers: pl.DataFrame,
    consent: pl.DataFrame,
    features: pl.DataFrame | None = None,
    erased: pl.DataFrame | None = None,
    credit: bool = False,
    as_of: dt.date | None = None,
) -> pl.DataFrame:
    """Decide, for every member, whether the campaign may contact them, and if not why.

    Args:
        members: ``customer_id`` of the segment's current members.
        channel: email | sms | mail | app.
        purpose: The consent purpose of the campaign (marketing, credit_offers ...).
        customers: ``customer_360``.
        consent: ``customer_consent`` (customer_id, purpose, channel, granted, updated_at ...).
        features: ``customer_features`` (``max_days_past_due``, ``delinquent``), optional.
        erased: ``erased_customers`` (customer_id), optional.
        credit: The segment is flagged as credit.
        as_of: Date ages are computed on (default today).

    Returns:
        ``customer_id``, ``reasons`` (every rule that excludes the customer, in the order above)
        and ``exclusion_reason`` (the first of them; null when the customer is eligible).

    Example:
        >>> people = pl.DataFrame({"customer_id": ["a", "b"], "email": ["a@x.com", "b@x.com"]})
        >>> consent = pl.DataFrame({"customer_id": ["a"], "purpose": ["marketing"], "channel": ["email"],
        ...                         "granted": [True]})
        >>> apply_eligibility(people.select("customer_id"), channel="email", purpose="marketing",
        ...                   customers=people, consent=consent)["exclusion_reason"].to_list()
        [None, 'no_consent']
    """
    check_campaign(channel=channel, purpose=purpose)
    as_of = as_of or dt.date.today()
    is_credit = credit or purpose in CREDIT_PURPOSES
    ids = _keyed(members, "members", unique=False).select("customer_id").unique(maintain_order=True)
    people = _keyed(customers, "customer_360", unique=True).with_columns(_in_360=pl.lit(True))
    frame = ids.join(people, on="customer_id", how="left")
    if features is not None:
        risk = [name for name in ("max_days_past_due", "delinquent") if name in features.columns]
        frame = frame.join(
            _keyed(features, "customer_features", unique=True).select("customer_id", *risk),
            on="customer_id",
            how="left",
        )
    erased_ids = (
        _keyed(erased, "erased_customers", unique=False).select("customer_id")
        if erased is not None
        else pl.DataFrame(schema={"customer_id": pl.String})
    )
    missing = [name for name in CONSENT_COLUMNS if name not in consent.columns]
    if missing:
        raise CdpError(f"customer_consent lacks column(s) {', '.join(missing)}")
    consent = consent.with_columns(pl.col("customer_id").cast(pl.String))
    # A credit offer needs consent to credit offers too, whatever purpose the campaign names.
    purposes = (purpose, *(name for name in CREDIT_PURPOSES if is_credit and name != purpose))
    consented = _consented(consent, channel=channel, purposes=purposes)
    frame = frame.with_columns(
        _erased=pl.col("customer_id").is_in(erased_ids["customer_id"].implode()),
        _consented=pl.col("customer_id").is_in(consented.implode()),
        _age=_age(frame, as_of),
    )
    past_due = (
        (pl.col("max_days_past_due").fill_null(0) > 0)
        if "max_days_past_due" in frame.columns
        else pl.lit(False)
    )
    contact = [
        pl.col(name).is_not_null() & (pl.col(name).cast(pl.String).str.strip_chars() != "")
        if name in frame.columns
        else pl.lit(False)
        for name in REQUIRED_CONTACT[channel]
    ]
    checks = {
        "erased": pl.col("_erased"),
        "not_in_customer_360": pl.col("_in_360").is_null(),
        "deceased": _flag(frame, "is_deceased"),
        "do_not_contact": _flag(frame, "do_not_contact"),
        "arrears_or_delinquent": pl.lit(is_credit)
        & (_flag(frame, "in_arrears") | _flag(frame, "delinquent") | past_due),
        "under_18": pl.lit(is_credit) & (pl.col("_age") < ADULT_AGE).fill_null(False),
        "age_unknown": pl.lit(is_credit) & pl.col("_age").is_null(),
        "no_consent": ~pl.col("_consented"),
        "no_contact_details": ~pl.all_horizontal(contact) if contact else pl.lit(False),
    }
    reasons = pl.concat_list(
        [pl.when(check).then(pl.lit(name)) for name, check in checks.items()]
    ).list.drop_nulls()
    return frame.select(
        "customer_id",
        reasons.alias("reasons"),
    ).with_columns(exclusion_reason=pl.col("reasons").list.first())


#: Columns ``apply_eligibility`` needs in ``customer_consent`` (``updated_at`` orders decisions when present).
CONSENT_COLUMNS = ("customer_id", "purpose", "channel", "granted")


def _keyed(frame: pl.DataFrame, table: str, *, unique: bool) -> pl.DataFrame:
    """``frame`` with ``customer_id`` as text, checked: a table joined per customer must hold one
    row per customer, or its members would be counted (and exported) twice."""
    if "customer_id" not in frame.columns:
        raise CdpError(f"{table} has no customer_id column")
    keyed = frame.with_columns(pl.col("customer_id").cast(pl.String))
    if unique:
        repeated = keyed.filter(pl.col("customer_id").is_duplicated())["customer_id"]
        if repeated.len():
            raise CdpError(
                f"{table} must hold one row per customer: {repeated.n_unique()} customer_id(s) "
                f"appear more than once (e.g. {repeated.sort()[0]})"
            )
    return keyed


def _consented(consent: pl.DataFrame, *, channel: str, purposes: tuple[str, ...]) -> pl.Series:
    """Customers whose latest decision on ``channel`` is a grant for every one of ``purposes``.

    Decisions at the same time (or without ``updated_at``, or on the day of a decision recorded by
    date only: :func:`~cdp.customer360.consent.decision_time`) resolve to the refusal, as
    ``customer_consent`` does: when in doubt, the customer is not contacted.
    """
    decided = consent.filter(pl.col("purpose").is_in(list(purposes)) & (pl.col("channel") == channel))
    granted = pl.col("granted").fill_null(False)
    if "updated_at" in decided.columns:
        decided = decided.with_columns(_decided=decision_time(("customer_id", "purpose")))
        latest = pl.col("_decided") == pl.col("_decided").max().over("customer_id", "purpose")
        decided = decided.filter(
            latest.fill_null(pl.col("_decided").is_null().all().over("customer_id", "purpose"))
        )
    per_purpose = decided.group_by("customer_id", "purpose").agg(granted.all().alias("granted"))
    allowed = per_purpose.group_by("customer_id").agg(
        pl.col("granted").all() & (pl.col("purpose").n_unique() == len(set(purposes)))
    )
    return allowed.filter(pl.col("granted"))["customer_id"].cast(pl.String)


def _age(frame: pl.DataFrame, as_of: dt.date) -> pl.Expr:
    """Age on ``as_of`` from the date of birth, else the 360's ``age``; null when neither is known."""
    parts = []
    if "date_of_birth" in frame.columns:
        dob = pl.col("date_of_birth").cast(pl.Date)
        before_birthday = (as_of.month * 100 + as_of.day) < (
            dob.dt.month().cast(pl.Int64) * 100 + dob.dt.day()
        )
        parts.append(as_of.year - dob.dt.year().cast(pl.Int64) - before_birthday.cast(pl.Int64))
    if "age" in frame.columns:
        parts.append(pl.col("age").cast(pl.Int64))
    return pl.coalesce(parts) if parts else pl.lit(None, dtype=pl.Int64)
