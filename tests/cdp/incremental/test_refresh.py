from __future__ import annotations

import datetime as dt
import tempfile
from dataclasses import replace
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from cdp.customer360 import load_survivorship
from cdp.incremental import Customer360Inputs, build_full, refresh_customer_360
from cdp.ingest.changes import TableChanges
from cdp.schemas.canonical import (
    ACCOUNT_COLUMNS,
    ACCOUNT_HOLDER_COLUMNS,
    CONSENT_COLUMNS,
    EVENT_COLUMNS,
    PARTY_COLUMNS,
    conform,
)

RULES = load_survivorship()
AS_OF = dt.date(2026, 6, 30)
TABLES = ("customer_360", "lineage", "source_records", "consent", "households")


def party(record_id, first, *, source="core_customers", email=None, address=None, dob=None, since=None):
    return {
        "source": source,
        "record_id": record_id,
        "source_system": source.split("_")[0],
        "first_name": first,
        "last_name": "doe",
        "full_name": f"{first} doe",
        "email": email,
        "address_line1": address,
        "postcode": "10001" if address else None,
        "date_of_birth": dob,
        "customer_since": since,
        "source_file": "f.csv",
        "source_row": int(record_id[1:]) + 1,
    }


def base_inputs() -> Customer360Inputs:
    """Five customers sharing one email, a two-person household, an account, logins and a consent."""
    parties = [
        party("p1", "ann", email="shared@x.com", address="1 main st", dob=dt.date(1980, 7, 2)),
        party("p2", "ben", email="shared@x.com", address="1 main st"),
        party("p3", "cat", email="shared@x.com", address="9 oak ave"),
        party("p4", "dan", email="shared@x.com"),
        party("p5", "eve", email="shared@x.com", since=dt.date(2020, 7, 1)),
        party("p6", "eve", source="digital_users", email="eve@x.com"),
        party("p7", "fay", source="card_holders", email="fay@x.com"),
    ]
    clusters = pl.DataFrame(
        {
            "source": ["core_customers"] * 5 + ["digital_users", "card_holders"],
            "record_id": ["p1", "p2", "p3", "p4", "p5", "p6", "p7"],
            "customer_id": ["C1", "C2", "C3", "C4", "C5", "C5", "C7"],
        }
    )
    accounts = conform(
        pl.DataFrame(
            {
                "source": ["core_accounts", "core_accounts"],
                "account_id": ["A1", "A2"],
                "product_family": ["deposit", "card"],
                "balance": [100.0, 50.0],
                "credit_limit": [None, 500.0],
                "opened_date": [dt.date(2019, 1, 1), dt.date(2026, 7, 3)],
                "status": ["open", "open"],
            }
        ),
        ACCOUNT_COLUMNS,
    )
    holders = conform(
        pl.DataFrame(
            {
                "account_source": ["core_accounts", "core_accounts"],
                "account_id": ["A1", "A2"],
                "party_source": ["core_customers", "core_customers"],
                "party_record_id": ["p2", "p2"],
                "role": ["primary", "primary"],
            }
        ),
        ACCOUNT_HOLDER_COLUMNS,
    )
    events = conform(
        pl.DataFrame(
            {
                "source": ["web"] * 3,
                "event_id": ["e1", "e2", "e3"],
                "party_source": ["digital_users"] * 3,
                "party_record_id": ["p6"] * 3,
                "event_time": [
                    dt.datetime(2026, 6, 1, 9),
                    dt.datetime(2026, 4, 2, 9),
                    dt.datetime(2026, 7, 2, 9),
                ],
                "event_type": ["login"] * 3,
            }
        ),
        EVENT_COLUMNS,
    )
    consents = conform(
        pl.DataFrame(
            {
                "source": ["digital_consents"],
                "party_source": ["digital_users"],
                "party_record_id": ["p6"],
                "purpose": ["marketing"],
                "channel": ["email"],
                "granted": [True],
                "updated_at": [dt.datetime(2026, 1, 1)],
            }
        ),
        CONSENT_COLUMNS,
    )
    return Customer360Inputs(
        conform(pl.DataFrame(parties, infer_schema_length=None), PARTY_COLUMNS),
        clusters,
        accounts,
        holders,
        events,
        consents,
        AS_OF,
    )


def add_parties(inputs: Customer360Inputs, rows, customers) -> Customer360Inputs:
    parties = pl.concat(
        [inputs.parties, conform(pl.DataFrame(rows, infer_schema_length=None), PARTY_COLUMNS)]
    )
    clusters = pl.concat(
        [
            inputs.clusters,
            pl.DataFrame(
                {
                    "source": [r["source"] for r in rows],
                    "record_id": [r["record_id"] for r in rows],
                    "customer_id": customers,
                }
            ),
        ]
    )
    return replace(inputs, parties=parties, clusters=clusters)


def assert_refresh_equals_full(before: Customer360Inputs, after: Customer360Inputs, affected: list[str]):
    previous = build_full(before, rules=RULES)

    def refresh(**options):
        return refresh_customer_360(
            previous,
            previous_inputs=before,
            inputs=after,
            affected_customer_ids=pl.Series(affected, dtype=pl.String),
            rules=RULES,
            max_fraction=1.0,  # splice even when most of these few customers are stale
            **options,
        )

    refreshed = refresh()
    assert not refreshed.full_rebuild
    expected = build_full(after, rules=RULES)
    for name in TABLES:
        assert_frame_equal(getattr(refreshed.tables, name), getattr(expected, name))
    assert_changes_equal_full(previous, refresh(splice=("customer_360", "source_records")), expected)
    return refreshed


def assert_changes_equal_full(previous, partial, expected) -> None:
    """Lineage and consent left out of the splice, applied as changes to the published files."""
    assert partial.replaced_customer_ids is not None
    deleted = partial.replaced_customer_ids.rename("customer_id").to_frame()
    with tempfile.TemporaryDirectory() as scratch:
        for name in ("lineage", "consent"):
            base = Path(scratch) / f"{name}.parquet"
            getattr(previous, name).write_parquet(base)
            changes = TableChanges(
                name,
                getattr(partial.tables, name),
                deleted,
                base,
                key=("customer_id",),
                order=("customer_id",),
            )
            assert getattr(partial.tables, name).height <= getattr(expected, name).height
            assert_frame_equal(changes.collect(), getattr(expected, name))


def golden(refreshed, column: str) -> dict[str, object]:
    frame = refreshed.tables.customer_360
    return dict(zip(frame["customer_id"].to_list(), frame[column].to_list(), strict=True))


def test_new_customer_makes_an_email_too_shared_for_everyone():
    before = base_inputs()
    assert golden(assert_refresh_equals_full(before, before, []), "email")["C1"] == "shared@x.com"
    after = add_parties(before, [party("p8", "gus", email="shared@x.com")], ["C8"])
    refreshed = assert_refresh_equals_full(before, after, ["C8"])
    assert golden(refreshed, "email")["C1"] is None
    assert golden(refreshed, "email")["C5"] == "eve@x.com"


def test_a_move_updates_the_neighbours_household():
    before = base_inputs()
    parties = before.parties.with_columns(
        address_line1=pl.when(pl.col("record_id") == "p3")
        .then(pl.lit("1 main st"))
        .otherwise("address_line1")
    )
    refreshed = assert_refresh_equals_full(before, replace(before, parties=parties), ["C3"])
    assert golden(refreshed, "household_size") == {
        "C1": 3,
        "C2": 3,
        "C3": 3,
        "C4": None,
        "C5": None,
        "C7": None,
    }


def test_merged_away_customer_disappears():
    before = base_inputs()
    clusters = before.clusters.with_columns(customer_id=pl.col("customer_id").replace({"C2": "C1"}))
    refreshed = assert_refresh_equals_full(before, replace(before, clusters=clusters), ["C1", "C2"])
    assert "C2" not in golden(refreshed, "email")
    assert golden(refreshed, "n_source_records")["C1"] == 2


@pytest.mark.parametrize("days", [3, 40, -5])
def test_moving_the_as_of_date_refreshes_time_dependent_columns(days):
    before = base_inputs()
    after = replace(before, as_of=AS_OF + dt.timedelta(days=days))
    refreshed = assert_refresh_equals_full(before, after, [])
    if days == 3:
        assert golden(refreshed, "age")["C1"] == 46
        assert golden(refreshed, "card_accounts")["C2"] == 1
        assert golden(refreshed, "logins_30d")["C5"] == 1


def test_a_rebuilt_customer_still_counts_every_holder_of_its_values():
    before = add_parties(base_inputs(), [party("p8", "gus", email="shared@x.com")], ["C8"])
    parties = before.parties.with_columns(
        first_name=pl.when(pl.col("record_id") == "p3").then(pl.lit("kat")).otherwise("first_name")
    )
    refreshed = assert_refresh_equals_full(before, replace(before, parties=parties), ["C3"])
    assert golden(refreshed, "email")["C3"] is None


def test_a_source_that_starts_emitting_events_registers_its_customers():
    before = add_parties(base_inputs(), [party("p9", "hal", source="card_holders")], ["C9"])
    card_event = before.events.head(1).with_columns(
        event_id=pl.lit("e9"), party_source=pl.lit("card_holders"), party_record_id=pl.lit("p7")
    )
    after = replace(before, events=pl.concat([before.events, card_event]))
    refreshed = assert_refresh_equals_full(before, after, [])
    assert golden(refreshed, "digital_registered")["C9"] is True
    assert refreshed.rebuilt_customers == 1


def test_too_many_stale_customers_fall_back_to_the_full_build():
    before = base_inputs()
    refreshed = refresh_customer_360(
        build_full(before, rules=RULES),
        previous_inputs=before,
        inputs=before,
        affected_customer_ids=pl.Series(["C1", "C2", "C3", "C4"]),
        rules=RULES,
    )
    assert refreshed.full_rebuild
    assert refreshed.rebuilt_customers == 6
