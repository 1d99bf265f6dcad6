"""Digital channel: app and web registrations and their devices.

Layout conventions: comma-separated UTF-8; the login email (lower case, as typed), a username,
the name as the person typed it (often a nickname, lower case, or a first name only), a mobile
number in whatever format, optional birth date and ZIP, ISO-8601 UTC timestamps, and
``account_state`` active or deleted. Prospects who hold no product register too.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from cdp.synth import noise
from cdp.synth.common import Calendar, gather, labels
from cdp.synth.extracts import Extract
from cdp.synth.pools import Pools
from cdp.synth.records import PartyVersions, created_dates, party_versions

SOURCE = "digital_users"
ZIP_GIVEN_RATE = 0.6
APP_SHARE = 0.65


def hex_ids(rng: np.random.Generator, n: int, *, uuid: bool) -> pl.Series:
    """Random hexadecimal ids: UUID-like (8-4-4-4-12) or 16 hex characters."""
    width = 32 if uuid else 16
    text = rng.bytes(n * width // 2).hex()
    ids = pl.Series([text[i * width : (i + 1) * width] for i in range(n)], dtype=pl.String)
    if not uuid:
        return ids
    parts = [ids.str.slice(a, b) for a, b in ((0, 8), (8, 4), (12, 4), (16, 4), (20, 12))]
    return pl.select(pl.concat_str(parts, separator="-")).to_series()


def digital_records(
    rng: np.random.Generator, persons: pl.DataFrame, *, calendar: Calendar
) -> tuple[np.ndarray, PartyVersions]:
    """Person index and versions of every registration (one per digital person plus duplicates)."""
    members = np.flatnonzero(persons["in_digital"].to_numpy())
    dups = np.flatnonzero(persons["digital_dups"].to_numpy() > 0)
    person_idx = np.concatenate([members, dups])
    duplicate = np.arange(person_idx.size) >= members.size
    multi = persons.select(pl.sum_horizontal("in_core", "in_card", "in_mortgage") > 0).to_series().to_numpy()
    created = created_dates(
        rng,
        persons,
        person_idx,
        calendar=calendar,
        min_age=13,
        max_years=12,
        new_eligible=duplicate | multi[person_idx],
    )
    versions = party_versions(
        rng, persons, person_idx, created, system="digital", calendar=calendar, duplicate=duplicate
    )
    return person_idx, versions


def _layout(version: pl.DataFrame, ids: pl.Series, pools: Pools, seed: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    n = version.height
    lower = pl.Series(noise.flags(rng, n, "lower_case_name", "digital"))
    upper = pl.Series(noise.flags(rng, n, "upper_case_name", "digital"))
    first_only = pl.Series(noise.flags(rng, n, "first_name_only", "digital"))
    handle_num = pl.Series(rng.integers(1, 9999, n)).cast(pl.String)
    # Everyone needs a login: persons without an email on file make one up for the app.
    made_up = pl.concat_str(
        [
            version["first"].str.to_lowercase(),
            version["last"].str.to_lowercase().str.slice(0, 1),
            handle_num,
            pl.lit("@gmail.com"),
        ]
    ).str.replace_all(r"[^a-z0-9@.]", "")
    email = version["email"].fill_null(made_up).str.to_lowercase().str.strip_chars()
    email = noise.messy_email(email, noise.flags(rng, n, "email_messy", "digital"), rng)
    seconds = pl.Series(rng.integers(0, 86_400, n) * 1_000_000, dtype=pl.Int64).cast(pl.Duration("us"))
    registered = version["created"].cast(pl.Datetime("us")) + seconds
    frame = version.with_columns(
        email=email,
        lower=lower,
        upper=upper,
        first_only=first_only,
        registered=registered,
        handle=pl.concat_str(
            [
                version["first"].str.to_lowercase().str.replace_all(r"[^a-z]", ""),
                version["last"].str.to_lowercase().str.replace_all(r"[^a-z]", "").str.slice(0, 1),
                handle_num,
            ]
        ),
        phone=noise.format_phone(version["mobile"], noise.phone_styles(rng, n, "digital")),
        zip_given=pl.Series(rng.random(n) < ZIP_GIVEN_RATE),
        zip=gather(pools.zips, version["loc"].to_numpy()),
        channel=labels(("web", "app"), (rng.random(n) < APP_SHARE).astype(np.int64)),
    )

    def typed(col: str) -> pl.Expr:
        return (
            pl.when(pl.col("lower"))
            .then(pl.col(col).str.to_lowercase())
            .when(pl.col("upper"))
            .then(pl.col(col).str.to_uppercase())
            .otherwise(pl.col(col))
        )

    return frame.select(
        user_id=ids,
        login_email=pl.col("email"),
        username=pl.when(pl.Series(rng.random(n) < 0.5))
        .then(pl.col("handle"))
        .otherwise(pl.col("email").str.strip_chars().str.to_lowercase().str.split("@").list.first()),
        given_name=typed("first"),
        family_name=pl.when(pl.col("first_only")).then(pl.lit(None, pl.String)).otherwise(typed("last")),
        mobile=pl.col("phone"),
        birth_date=pl.col("dob").dt.strftime("%Y-%m-%d"),
        zip_code=pl.when(pl.col("zip_given")).then(pl.col("zip")),
        signup_channel=pl.col("channel"),
        registered_at=pl.col("registered").dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
        profile_updated_at=pl.max_horizontal(
            pl.col("updated").cast(pl.Datetime("us")) + seconds, pl.col("registered")
        ).dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
        account_state=pl.lit("active"),
    )


def digital_users(
    rng: np.random.Generator, person_idx: np.ndarray, versions: PartyVersions, pools: Pools
) -> tuple[Extract, pl.Series]:
    """The registrations extract and its user ids."""
    ids = hex_ids(rng, person_idx.size, uuid=True)
    seed = int(rng.integers(0, 2**31))
    extract = Extract(
        system="digital",
        stem="users",
        frame=_layout(versions.final, ids, pools, seed),
        initial=_layout(versions.initial, ids, pools, seed),
        batch=versions.first_batch,
        change_batch=versions.change_batch,
        delete_batch=versions.delete_batch,
        status=("account_state", "active", "deleted"),
    )
    return extract, ids


def digital_devices(
    rng: np.random.Generator, users: Extract, ids: pl.Series, *, calendar: Calendar
) -> tuple[Extract, pl.DataFrame]:
    """One to three devices per user (the first on the signup channel); returns the extract and
    the device facts the event generator uses."""
    n = ids.len()
    count = 1 + (rng.random(n) < 0.35) + (rng.random(n) < 0.1)
    owner = np.repeat(np.arange(n), count)
    first = np.concatenate([[True], owner[1:] != owner[:-1]]) if owner.size else np.zeros(0, dtype=bool)
    signup_app = (users.frame["signup_channel"] == "app").to_numpy()[owner]
    app = np.where(first, signup_app, rng.random(owner.size) < 0.5)
    platform = np.where(app, np.where(rng.random(owner.size) < 0.55, 1, 2), 0)
    registered = users.frame["registered_at"].str.strptime(pl.Datetime("us"), "%Y-%m-%dT%H:%M:%SZ")
    first_seen = registered.gather(pl.Series(owner)) + pl.Series(
        np.where(first, 0, rng.integers(1, 400, owner.size)) * 86_400_000_000, dtype=pl.Int64
    ).cast(pl.Duration("us"))
    facts = pl.DataFrame(
        {
            "device_id": hex_ids(rng, owner.size, uuid=False),
            "user_row": owner,
            "user_id": ids.gather(pl.Series(owner)),
            "channel": labels(("web", "app"), app.astype(np.int64)),
            "platform": labels(("web", "ios", "android"), platform),
            "first_seen": first_seen,
        }
    )
    # Devices that would first be seen after the as-of date do not exist yet.
    facts = facts.filter(pl.col("first_seen").dt.date() <= calendar.as_of)
    frame = facts.select(
        "device_id",
        "user_id",
        "platform",
        first_seen_at=pl.col("first_seen").dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    batch = calendar.batch_of(facts["first_seen"].dt.date().to_numpy())
    return Extract(system="digital", stem="devices", frame=frame, batch=batch), facts
