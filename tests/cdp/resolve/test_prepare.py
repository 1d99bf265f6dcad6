from __future__ import annotations

import datetime as dt
import random

import polars as pl
from polars.testing import assert_frame_equal

from cdp.resolve import PlaceholderValues, detect_placeholders, prepare_linkage_input
from cdp.resolve.prepare import LINKAGE_COLUMNS, holding_values, placeholder_flips


def test_prepare_builds_ids_and_derived_columns() -> None:
    parties = pl.DataFrame(
        {
            "source": ["digital_users", "card_holders"],
            "record_id": ["D:1", "H7"],
            "first_name": ["bill", None],
            "last_name": ["smith", None],
            "full_name": [None, "j van dyke"],
            "date_of_birth": [None, dt.date(1980, 3, 9)],
            "email": ["bill.smith@aol.com", "  "],
        }
    )
    expected = pl.DataFrame(
        {
            "unique_id": ["card_holders:H7", "digital_users:D:1"],
            "source": ["card_holders", "digital_users"],
            "record_id": ["H7", "D:1"],
            "first_name": ["j", "bill"],
            "first_name_groups": [["j"], ["bill", "robert", "will", "william", "willis"]],
            "last_name": ["dyke", "smith"],
            "dob": ["1980-03-09", None],
            "email": [None, "bill.smith@aol.com"],
            "email_local": [None, "bill.smith"],
        },
        schema_overrides={"first_name_groups": pl.List(pl.String)},
    )
    prepared = prepare_linkage_input(parties, placeholders=PlaceholderValues())
    assert prepared.columns == list(LINKAGE_COLUMNS)
    assert_frame_equal(prepared.select(expected.columns), expected)
    assert prepared["phone"].null_count() == 2


def test_detect_placeholders_flags_only_implausibly_shared_values() -> None:
    households = [f"+1555000{i:04d}" for i in range(200) for _ in range(3)]  # 3 records per real phone
    branch = ["+15559990000"] * 25
    parties = pl.DataFrame({"phone": households + branch, "email": [None] * 625})
    found = detect_placeholders(parties, columns=("phone", "email"))
    assert found.of("phone") == ["+15559990000"]
    assert found.of("email") == []
    assert found.thresholds["phone"] == 12  # 4 x the 99th percentile (3), above the floor of 10


def test_placeholders_are_nulled_before_matching() -> None:
    token = "f" * 64
    parties = pl.DataFrame(
        {
            "source": ["core"] * 3,
            "record_id": ["1", "2", "3"],
            "national_id_token": [token, token, "a" * 64],
            "date_of_birth": [dt.date(1900, 1, 1), dt.date(1970, 5, 6), dt.date(1900, 1, 1)],
        }
    )
    placeholders = PlaceholderValues(
        values={"national_id_token": frozenset({token}), "date_of_birth": frozenset({"1900-01-01"})}
    )
    prepared = prepare_linkage_input(parties, placeholders=placeholders)
    assert prepared["national_id_token"].to_list() == [None, None, "a" * 64]
    assert prepared["dob"].to_list() == [None, "1970-05-06", None]


def _emails(*groups: tuple[str, int]) -> pl.DataFrame:
    """Ordinary e-mails (one record each) plus the given values shared by that many records."""
    emails = [f"p{i}@mail.com" for i in range(300)]
    for value, records in groups:
        emails += [value] * records
    return pl.DataFrame({"email": emails})


def test_a_value_crossing_the_threshold_with_a_batch_is_a_flip_either_way() -> None:
    today = _emails(("x@bank.com", 10), ("y@bank.com", 9), ("z@bank.com", 30))
    arrived = pl.DataFrame({"email": ["x@bank.com", "z@bank.com", "p1@mail.com"]})
    departed = pl.DataFrame({"email": ["y@bank.com"]})

    placeholders, flips = placeholder_flips(today, arrived=arrived, departed=departed, columns=("email",))

    assert placeholders == detect_placeholders(today, columns=("email",))
    assert placeholders.of("email") == ["x@bank.com", "z@bank.com"]
    # x went from 9 to 10 records (now a placeholder), y from 10 to 9 (no longer one); z was one
    # before and after, p1 never was.
    assert flips == {"email": frozenset({"x@bank.com", "y@bank.com"})}


def test_no_flip_when_nothing_crosses_or_nothing_moved() -> None:
    today = _emails(("x@bank.com", 12))
    _, flips = placeholder_flips(
        today, arrived=pl.DataFrame({"email": ["x@bank.com"]}), departed=None, columns=("email",)
    )
    assert flips == {}
    _, flips = placeholder_flips(today, arrived=None, departed=None, columns=("email",))
    assert flips == {}


def test_holding_values_marks_the_rows_with_a_flipped_value_in_its_column() -> None:
    frame = pl.DataFrame({"email": ["x@bank.com", None, "a@m.com"], "phone": ["+1", "+2", "+2"]})
    held = holding_values(frame, {"email": frozenset({"x@bank.com"}), "phone": frozenset({"+2"})})
    assert held.to_list() == [True, True, True]
    assert holding_values(frame, {"email": frozenset({"a@m.com"})}).to_list() == [False, False, True]
    assert holding_values(frame, {}).to_list() == [False, False, False]


def test_flips_equal_detecting_placeholders_again_on_the_previous_population() -> None:
    rng = random.Random(7)
    flipped = moved_threshold = 0
    for trial in range(30):
        # Ordinary values whose 99th percentile sits between 2 and 3 records (a threshold of 10
        # or 12 that a batch can move), a few values near it and a few far above it.
        counts = {f"v{i}@m.com": rng.choice([1] * 97 + [2] * 2 + [3]) for i in range(1000)}
        counts |= {f"near{i}@m.com": rng.randint(9, 13) for i in range(6)}
        counts |= {f"big{i}@m.com": rng.randint(40, 60) for i in range(rng.randint(0, 3))}
        today = [value for value, records in counts.items() for _ in range(records)]
        rng.shuffle(today)
        arrived = today[: rng.randint(0, 60)]
        # Departed rows of a few values each (some gone today), so shares per value move too.
        pool = [*list(counts)[:40], *(f"gone{j}@m.com" for j in range(8))]
        departed = [rng.choice(pool) for _ in range(rng.randint(0, 60))]
        previous = list(today)
        for value in arrived:
            previous.remove(value)
        previous += departed

        now, flips = placeholder_flips(
            pl.DataFrame({"email": today}),
            arrived=pl.DataFrame({"email": arrived}, schema={"email": pl.String}),
            departed=pl.DataFrame({"email": departed}, schema={"email": pl.String}),
            columns=("email",),
        )
        then = detect_placeholders(pl.DataFrame({"email": previous}), columns=("email",))
        expected = set(now.of("email")) ^ set(then.of("email"))
        assert set(flips.get("email", frozenset())) == expected, trial
        flipped += bool(expected)
        moved_threshold += now.thresholds["email"] != then.thresholds["email"]
    # The draws did exercise both kinds of flip: a count crossing, and the threshold moving.
    assert flipped >= 10 and moved_threshold >= 3
