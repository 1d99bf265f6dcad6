"""Digital engagement events: sessions of logins and page views, and product applications.

Most users browse their accounts; some develop an intent (a mortgage, a personal loan, a card,
a savings product) for a few weeks, visit more often, read that product's pages (for example
/mortgages/rates) and may start an application that they submit or abandon. Renters aged 25-50
are the likeliest to shop for a mortgage.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from cdp.synth.common import Calendar, choice_index, labels, padded, segment_ids
from cdp.synth.extracts import Extract
from cdp.synth.schedules import random_days

GENERAL_PAGES = (
    "/accounts/summary",
    "/accounts/activity",
    "/transfers",
    "/bill-pay",
    "/cards/rewards",
    "/profile/settings",
    "/help/contact",
    "/offers",
    "/savings/cd-rates",
    "/mortgages/rates",
    "/loans/personal",
    "/investments",
)
GENERAL_WEIGHTS = np.array([30, 20, 10, 8, 5, 4, 3, 3, 3, 2, 2, 2], dtype=np.float64)
#: intent -> (pages read while shopping, application page, probability of submitting).
INTENTS: dict[str, tuple[tuple[str, ...], str, float]] = {
    "mortgage": (
        ("/mortgages/rates", "/mortgages/calculator", "/mortgages/first-time-buyers"),
        "/apply/mortgage",
        0.35,
    ),
    "personal_loan": (("/loans/personal", "/loans/personal/rates"), "/apply/personal-loan", 0.5),
    "card": (("/cards/compare", "/cards/rewards"), "/apply/credit-card", 0.55),
    "savings": (("/savings/cd-rates", "/savings/high-yield"), "/apply/savings", 0.6),
}
SESSIONS_PER_MONTH = 4.0
INTENT_FOCUS = 0.7
APPLY_RATE = 0.5
PAGES = (
    *GENERAL_PAGES,
    *(p for pages, _, _ in INTENTS.values() for p in pages if p not in GENERAL_PAGES),
    *(page for _, page, _ in INTENTS.values()),
    "/login",
)
EVENT_KINDS = ("LOGIN", "PAGE_VIEW", "APPLICATION_START", "APPLICATION_SUBMIT", "APPLICATION_ABANDON")


def _intents(rng: np.random.Generator, persons: pl.DataFrame, person_idx: np.ndarray) -> np.ndarray:
    """Intent index (into ``INTENTS``) per user, or -1."""
    n = person_idx.size
    age = persons["age"].to_numpy()[person_idx]
    renter = persons["housing"].to_numpy()[person_idx] == "rent"
    mortgage_p = np.where(renter & (age >= 25) & (age <= 50), 0.12, np.where(age >= 22, 0.02, 0.0))
    u = rng.random(n)
    cuts = np.cumsum(np.stack([mortgage_p, np.full(n, 0.04), np.full(n, 0.05), np.full(n, 0.06)]), axis=0)
    intent = np.full(n, -1)
    for k in range(cuts.shape[0] - 1, -1, -1):
        intent = np.where(u < cuts[k], k, intent)
    return np.where(age >= 18, intent, -1)


def digital_events(
    rng: np.random.Generator,
    users: Extract,
    person_idx: np.ndarray,
    persons: pl.DataFrame,
    devices: pl.DataFrame,
    *,
    calendar: Calendar,
) -> Extract:
    """Events of every user in the window as a Parquet extract (one row per event)."""
    n = users.frame.height
    registered = users.frame["registered_at"].str.strptime(pl.Datetime("us"), "%Y-%m-%dT%H:%M:%SZ")
    start = np.maximum(registered.dt.date().to_numpy(), np.datetime64(calendar.start, "D"))
    end = np.full(n, np.datetime64(calendar.as_of, "D"))
    customer = persons.select(pl.any_horizontal("in_core", "in_card", "in_mortgage")).to_series().to_numpy()
    dormant = rng.random(n) < 0.15
    rate = SESSIONS_PER_MONTH * np.exp(rng.normal(0, 0.6, n)) * np.where(customer[person_idx], 1.0, 0.3)
    rate = np.where(dormant | persons["deceased"].to_numpy()[person_idx], 0.2, rate) / 30.4
    intent = _intents(rng, persons, person_idx)
    span = np.maximum((end - start).astype(np.int64), 1)
    i_start = start + (span * rng.random(n)).astype(np.int64)
    i_end = np.minimum(i_start + rng.integers(14, 60, n), end)
    shoppers = np.flatnonzero(intent >= 0)
    owner_a, day_a = random_days(rng, rate, start, end)
    owner_b, day_b = random_days(rng, np.full(shoppers.size, 6.0 / 30.4), i_start[shoppers], i_end[shoppers])
    owner = np.concatenate([owner_a, shoppers[owner_b]])
    day = np.concatenate([day_a, day_b])
    focused = np.concatenate([np.zeros(owner_a.size, dtype=bool), np.ones(owner_b.size, dtype=bool)])
    second = (day.astype("datetime64[s]") - np.datetime64("1970-01-01T00:00:00", "s")).astype(np.int64)
    hour = np.clip(np.rint(rng.normal(15, 4.5, owner.size)), 0, 23).astype(np.int64)
    session_start = second + hour * 3600 + rng.integers(0, 3600, owner.size)
    views = 1 + rng.poisson(np.where(focused, 2.5, 1.2))
    s_idx, nth = segment_ids(views + 1)
    elapsed = np.cumsum(rng.integers(4, 90, s_idx.size))
    offset = elapsed - np.repeat(elapsed[np.cumsum(views + 1) - (views + 1)], views + 1)
    general = choice_index(rng, GENERAL_WEIGHTS, s_idx.size)
    user_intent = intent[owner[s_idx]]
    pick = rng.random(s_idx.size)
    sizes = np.array([len(pages) for pages, _, _ in INTENTS.values()])
    codes = np.zeros((sizes.size, sizes.max()), dtype=np.int64)
    for k, (pages, _, _) in enumerate(INTENTS.values()):
        codes[k, : len(pages)] = [PAGES.index(page) for page in pages]
    known = np.maximum(user_intent, 0)
    targeted = codes[known, (pick * sizes[known]).astype(np.int64)]
    use_target = focused[s_idx] & (rng.random(s_idx.size) < INTENT_FOCUS) & (user_intent >= 0)
    page = np.where(nth == 0, PAGES.index("/login"), np.where(use_target, targeted, general))
    kind = np.where(nth == 0, 0, 1)
    ts = session_start[s_idx] + offset
    # The last intent session of a shopper may turn into an application.
    last_focus = (
        pl.DataFrame({"s": np.flatnonzero(focused), "u": owner[focused]})
        .group_by("u")
        .agg(pl.col("s").max())
        .sort("u")["s"]
        .to_numpy()
    )
    applies = last_focus[rng.random(last_focus.size) < APPLY_RATE]
    a_intent = intent[owner[applies]]
    submit_p = np.array([p for _, _, p in INTENTS.values()])[a_intent]
    submitted = rng.random(applies.size) < submit_p
    a_start = session_start[applies] + 600 + rng.integers(0, 600, applies.size)
    a_page = np.array([PAGES.index(page) for _, page, _ in INTENTS.values()])[a_intent]
    app_session = np.concatenate([applies, applies])
    sessions = np.concatenate([s_idx, app_session])
    frame = pl.DataFrame(
        {
            "session": sessions,
            "ts": np.concatenate([ts, a_start, a_start + rng.integers(120, 1800, applies.size)]),
            "kind": np.concatenate([kind, np.full(applies.size, 2), np.where(submitted, 3, 4)]),
            "page": np.concatenate([page, a_page, a_page]),
        }
    ).with_columns(user=pl.Series(owner[sessions]))
    end_second = (np.datetime64(calendar.as_of, "D") + 1 - np.datetime64("1970-01-01", "D")).astype(
        np.int64
    ) * 86_400
    device = _session_devices(rng, devices, owner)
    frame = frame.with_columns(device=pl.Series(device[frame["session"].to_numpy()], dtype=pl.Int64))
    frame = frame.filter(pl.col("ts") < int(end_second))
    frame = frame.sort("ts", maintain_order=True)
    out = frame.select(
        event_id=padded(np.arange(1, frame.height + 1), 12, "EV"),
        user_id=users.frame["user_id"].gather(frame["user"]),
        session_id=padded(frame["session"].to_numpy() + 1, 10, "S"),
        event_ts=(pl.col("ts") * 1_000_000).cast(pl.Datetime("us")),
        event_name=labels(EVENT_KINDS, frame["kind"].to_numpy()),
        page_path=labels(PAGES, frame["page"].to_numpy()),
        channel=devices["channel"].gather(frame["device"]),
        device_id=devices["device_id"].gather(frame["device"]),
    )
    return Extract(
        system="digital",
        stem="events",
        frame=out,
        batch=calendar.batch_of(out["event_ts"].dt.date().to_numpy()),
        parquet=True,
    )


def _session_devices(rng: np.random.Generator, devices: pl.DataFrame, owner: np.ndarray) -> np.ndarray:
    """A device row of the session's user: the signup device most of the time."""
    user_row = devices["user_row"].to_numpy()
    first = np.searchsorted(user_row, owner, side="left")
    count = np.searchsorted(user_row, owner, side="right") - first
    extra = np.where(rng.random(owner.size) < 0.7, 0, (rng.random(owner.size) * count).astype(np.int64))
    device: np.ndarray = first + np.minimum(extra, count - 1)
    return device
