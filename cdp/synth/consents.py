"""Consent records: paper forms signed at a branch (core) and the app's preference centre (digital).

Both are histories: a later decision for the same (person, purpose, channel) supersedes the
earlier one, so the current state is the latest row. Customers flagged do-not-contact in the core
refuse everything on their branch forms.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from cdp.synth.common import Calendar, labels, segment_ids
from cdp.synth.extracts import Extract

#: (purpose code, channel code, probability of Y) on the branch consent form. Purposes are the
#: canonical ones (cdp.schemas.raw.CONSENT_PURPOSE_CODES) under the core's own codes: MKT
#: marketing, PRE prescreened credit offers, PRF profiling, 3PS sharing with third parties.
BRANCH_FORM = (
    ("MKT", "MAIL", 0.6),
    ("MKT", "PHONE", 0.3),
    ("MKT", "EMAIL", 0.5),
    ("MKT", "SMS", 0.25),
    ("PRE", "MAIL", 0.4),
    ("PRF", "MAIL", 0.45),
    ("3PS", "MAIL", 0.1),
)
BRANCH_FORM_RATE = 0.55
RESIGNED_RATE = 0.15
#: (purpose, channel, probability of opting in at signup) in the app's preference centre.
PREFERENCES = (
    ("marketing", "email", 0.55),
    ("marketing", "sms", 0.3),
    ("marketing", "mail", 0.4),
    ("marketing", "phone", 0.15),
    ("marketing", "app", 0.6),
    ("credit_offers", "email", 0.35),
    ("credit_offers", "mail", 0.3),
    ("profiling", "app", 0.65),
    ("third_party", "email", 0.1),
)
CHANGED_RATE = 0.25


def _forms(
    rng: np.random.Generator, start: np.ndarray, end: np.datetime64, count: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Owner row and date of each form: the first within two weeks of ``start``, a re-signed one
    later; forms that would be dated after ``end`` have not been signed yet and are dropped."""
    owner, nth = segment_ids(count)
    span = (end - start[owner]).astype(np.int64)
    days = np.where(
        nth == 0,
        rng.integers(0, 15, owner.size),
        15 + ((span - 15) * rng.uniform(0.1, 1.0, owner.size)).astype(np.int64),
    )
    keep = days <= span
    return owner[keep], (start[owner] + days)[keep]


def branch_consents(rng: np.random.Generator, customers: Extract, *, calendar: Calendar) -> Extract:
    """Core branch consent forms: one row per form line (cif, purpose, channel, Y/N, signed date)."""
    frame = customers.frame
    n = frame.height
    opened = frame["cust_open_dt"].str.strptime(pl.Date, "%m/%d/%Y").to_numpy().astype("datetime64[D]")
    has_form = rng.random(n) < BRANCH_FORM_RATE
    count = has_form.astype(np.int64) * (1 + (rng.random(n) < RESIGNED_RATE))
    owner, signed = _forms(rng, opened, np.datetime64(calendar.as_of, "D"), count)
    lines = len(BRANCH_FORM)
    row = np.repeat(owner, lines)
    line = np.tile(np.arange(lines), owner.size)
    p_yes = np.array([p for *_, p in BRANCH_FORM])[line]
    dnc = (frame["dnc_flag"] == "Y").to_numpy()[row]
    yes = (rng.random(row.size) < p_yes) & ~dnc
    out = pl.DataFrame(
        {
            "cif": frame["cif_no"].gather(pl.Series(row)),
            "purpose_cd": labels([p for p, _, _ in BRANCH_FORM], line),
            "channel_cd": labels([c for _, c, _ in BRANCH_FORM], line),
            "consent_yn": labels(("N", "Y"), yes.astype(np.int64)),
            "signed_dt": pl.Series(np.repeat(signed, lines)).cast(pl.Date).dt.strftime("%m/%d/%Y"),
            "branch_cd": frame["branch_cd"].gather(pl.Series(row)),
        }
    )
    return Extract(
        system="core", stem="branch_consents", frame=out, batch=calendar.batch_of(np.repeat(signed, lines))
    )


def digital_consents(rng: np.random.Generator, users: Extract, *, calendar: Calendar) -> Extract:
    """Preference-centre history: every preference at signup, then some changes over time."""
    frame = users.frame
    n = frame.height
    registered = frame["registered_at"].str.strptime(pl.Datetime("us"), "%Y-%m-%dT%H:%M:%SZ").to_numpy()
    k = len(PREFERENCES)
    owner = np.repeat(np.arange(n), k)
    pref = np.tile(np.arange(k), n)
    p_in = np.array([p for *_, p in PREFERENCES])[pref]
    opt_in = rng.random(owner.size) < p_in
    when = registered[owner]
    changes = (rng.random(n) < CHANGED_RATE) * rng.integers(1, 4, n)
    c_owner, nth = segment_ids(changes)
    end = np.datetime64(calendar.as_of, "us") + np.timedelta64(86_399, "s")
    span = (end - registered[c_owner]).astype(np.int64)
    c_when = registered[c_owner] + (span * rng.random(c_owner.size)).astype("timedelta64[us]")
    c_pref = rng.integers(0, k, c_owner.size)
    # A change flips the preference (opt-outs are the common case).
    c_in = rng.random(c_owner.size) < 0.35
    out = pl.DataFrame(
        {
            "user_id": frame["user_id"].gather(pl.Series(np.concatenate([owner, c_owner]))),
            "purpose": labels([p for p, _, _ in PREFERENCES], np.concatenate([pref, c_pref])),
            "channel": labels([c for _, c, _ in PREFERENCES], np.concatenate([pref, c_pref])),
            "opt_in": labels(("false", "true"), np.concatenate([opt_in, c_in]).astype(np.int64)),
            "changed_at": pl.Series(np.concatenate([when, c_when]))
            .cast(pl.Datetime("us"))
            .dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "source": labels(("signup", "preference_centre"), np.repeat([0, 1], [owner.size, c_owner.size])),
        }
    )
    dates = pl.concat([pl.Series(when), pl.Series(c_when)]).cast(pl.Datetime("us")).dt.date().to_numpy()
    out = out.with_columns(_day=pl.Series(dates)).sort("_day", maintain_order=True)
    return Extract(
        system="digital",
        stem="consents",
        frame=out.drop("_day"),
        batch=calendar.batch_of(out["_day"].to_numpy()),
    )
