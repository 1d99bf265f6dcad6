"""What changed between two versions of the standardized tables, by record key.

Rows are compared through 64-bit row hashes computed in one process (Polars' hash is not stable
across versions, so hashes are never stored). A hash collision between a record's old and new
content would hide that one change; at 64 bits that is about one chance in 10^19 per record.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

import polars as pl

from cdp.schemas.canonical import (
    ACCOUNT_COLUMNS,
    ACCOUNT_HOLDER_COLUMNS,
    CONSENT_COLUMNS,
    EVENT_COLUMNS,
    PARTY_COLUMNS,
    conform,
)

if TYPE_CHECKING:
    from cdp.ingest.changes import TableChanges

log = logging.getLogger(__name__)

KEYS: tuple[str, str] = ("source", "record_id")

#: Where a row was read from: not part of what links a record, but shown in lineage.
PROVENANCE_COLUMNS: tuple[str, ...] = ("source_file", "source_row")

_KEY_SCHEMA: dict[str, pl.DataType] = {"source": pl.String(), "record_id": pl.String()}


@dataclass(frozen=True)
class PartyDelta:
    """How ``std_parties`` changed between two runs.

    Attributes:
        new: current rows (all canonical columns) whose key was not there before.
        changed: current rows whose key was there before with different linkage content.
        removed: keys (source, record_id) that were there before and are gone now.
        moved: keys whose content is the same but whose provenance (file, row) changed: identity
            is unaffected, the lineage of the customer 360 is not.
        replaced: the previous rows (all canonical columns) of the changed and removed records.
    """

    new: pl.DataFrame
    changed: pl.DataFrame
    removed: pl.DataFrame
    moved: pl.DataFrame
    replaced: pl.DataFrame

    @property
    def is_empty(self) -> bool:
        """True when no record was added, changed or removed (provenance moves do not count)."""
        return self.new.is_empty() and self.changed.is_empty() and self.removed.is_empty()

    def touched_keys(self) -> pl.DataFrame:
        """Keys of every new, changed, removed or moved record."""
        return pl.concat(
            [
                self.new.select(KEYS),
                self.changed.select(KEYS),
                self.removed.select(KEYS),
                self.moved.select(KEYS),
            ]
        ).unique()


def _hashed(frame: pl.DataFrame) -> pl.DataFrame:
    content = [name for name in PARTY_COLUMNS if name not in KEYS and name not in PROVENANCE_COLUMNS]
    return frame.select(
        *KEYS,
        _content=pl.struct(content).hash(),
        _origin=pl.struct(list(PROVENANCE_COLUMNS)).hash(),
    )


def party_delta(previous_parties: pl.DataFrame, current_parties: pl.DataFrame) -> PartyDelta:
    """Compare two versions of ``std_parties`` by key and by linkage-relevant content.

    Content is every canonical party column except the key and the provenance columns
    (``source_file``, ``source_row``), so re-delivering an unchanged record in a new file is not
    a change for identity resolution (it is reported in ``moved``).

    Args:
        previous_parties: ``std_parties`` the previous run resolved.
        current_parties: ``std_parties`` of this run.

    Returns:
        The delta; ``new`` and ``changed`` hold full canonical rows, in current order.

    Example:
        >>> old = pl.DataFrame({"source": ["s", "s"], "record_id": ["1", "2"], "email": ["a@x", "b@x"]})
        >>> new = pl.DataFrame({"source": ["s", "s"], "record_id": ["2", "3"], "email": ["c@x", "d@x"]})
        >>> delta = party_delta(old, new)
        >>> delta.new["record_id"].to_list(), delta.changed["record_id"].to_list()
        (['3'], ['2'])
        >>> delta.removed["record_id"].to_list()
        ['1']
    """
    keys = list(KEYS)
    previous = conform(previous_parties, PARTY_COLUMNS)
    current = conform(current_parties, PARTY_COLUMNS)
    before = _hashed(previous)
    after = _hashed(current).with_row_index("_row")
    compared = after.join(before, on=keys, how="left", suffix="_before")
    is_new = pl.col("_content_before").is_null()
    is_changed = ~is_new & (pl.col("_content") != pl.col("_content_before"))
    is_moved = ~is_new & ~is_changed & (pl.col("_origin") != pl.col("_origin_before"))
    flags = compared.select("_row", *keys, new=is_new, changed=is_changed, moved=is_moved)
    new_rows = flags.filter("new")["_row"]
    changed_rows = flags.filter("changed")["_row"]
    removed = before.select(keys).join(current.select(keys), on=keys, how="anti").sort(keys)
    changed = current[changed_rows.sort()]
    delta = PartyDelta(
        new=current[new_rows.sort()],
        changed=changed,
        removed=removed,
        moved=flags.filter("moved").select(keys).sort(keys),
        replaced=previous.join(
            pl.concat([changed.select(keys), removed]), on=keys, how="semi", maintain_order="left"
        ),
    )
    log.info(
        "party delta: %d new, %d changed, %d removed, %d moved",
        delta.new.height,
        delta.changed.height,
        delta.removed.height,
        delta.moved.height,
    )
    return delta


def party_delta_from_changes(changes: TableChanges) -> PartyDelta:
    """The party delta of a batch, read from its changes instead of comparing whole tables.

    Only the published rows of the keys the batch touches are read, so the cost follows the
    batch, not the bank. Equal to :func:`party_delta` of the published and the new table.
    """
    previous = changes.previous_rows(changes.replaced_keys())
    return party_delta(previous, changes.upserts)


def _differing_rows(previous: pl.DataFrame, current: pl.DataFrame) -> pl.DataFrame:
    """Rows present in one version and not the other (both already conformed to one schema)."""
    before = previous.hash_rows()
    after = current.hash_rows()
    return pl.concat(
        [
            previous.filter(~before.is_in(after.implode())),
            current.filter(~after.is_in(before.implode())),
        ]
    )


def activity_changes(
    *,
    previous_accounts: pl.DataFrame,
    accounts: pl.DataFrame,
    previous_account_holders: pl.DataFrame,
    account_holders: pl.DataFrame,
    previous_events: pl.DataFrame,
    events: pl.DataFrame,
    previous_consents: pl.DataFrame,
    consents: pl.DataFrame,
) -> pl.DataFrame:
    """Party record keys whose accounts, holder links, events or consents changed.

    An account that changed in any column (balance, status ...) names every party record that
    holds or held it. Rows are compared whole, provenance included (consent lineage shows it).
    A row repeated identically more or fewer times is not detected (ingestion rejects repeats).

    Returns:
        Distinct ``(source, record_id)`` keys.
    """
    holders_before = conform(previous_account_holders, ACCOUNT_HOLDER_COLUMNS)
    holders_after = conform(account_holders, ACCOUNT_HOLDER_COLUMNS)
    changed_accounts = (
        _differing_rows(conform(previous_accounts, ACCOUNT_COLUMNS), conform(accounts, ACCOUNT_COLUMNS))
        .select(account_source="source", account_id="account_id")
        .unique()
    )
    holder_keys = pl.concat([holders_before, holders_after]).join(
        changed_accounts, on=["account_source", "account_id"], how="semi"
    )
    parts = [
        holder_keys,
        _differing_rows(holders_before, holders_after),
        _differing_rows(conform(previous_events, EVENT_COLUMNS), conform(events, EVENT_COLUMNS)),
        _differing_rows(conform(previous_consents, CONSENT_COLUMNS), conform(consents, CONSENT_COLUMNS)),
    ]
    return _party_keys_of(parts)


def _party_keys_of(parts: list[pl.DataFrame]) -> pl.DataFrame:
    """Distinct party record keys named by activity rows (``party_source``, ``party_record_id``)."""
    keys = pl.concat(
        [part.select(source="party_source", record_id="party_record_id") for part in parts]
    ).drop_nulls()
    keys = keys.unique().sort(list(KEYS)) if keys.height else pl.DataFrame(schema=_KEY_SCHEMA)
    log.info("activity delta: %d party records with changed accounts, events or consents", keys.height)
    return keys


def activity_from_changes(
    *,
    accounts: TableChanges,
    account_holders: TableChanges,
    events: TableChanges,
    consents: TableChanges,
) -> pl.DataFrame:
    """:func:`activity_changes` of a batch, read from its changes instead of whole tables.

    Only published rows with a key the batch replaces can differ, so only those are compared.
    """
    holders_before = account_holders.previous_rows(account_holders.replaced_keys())
    changed_accounts = (
        _differing_rows(accounts.previous_rows(accounts.replaced_keys()), accounts.upserts)
        .select(account_source="source", account_id="account_id")
        .unique()
    )
    # Holder rows are keyed by their account: the holders of a changed account, before and after.
    holders_of_changed = pl.concat(
        [
            account_holders.previous_rows(changed_accounts),
            account_holders.upserts.join(changed_accounts, on=["account_source", "account_id"], how="semi"),
        ]
    )
    parts = [
        holders_of_changed,
        _differing_rows(holders_before, account_holders.upserts),
        _differing_rows(events.previous_rows(events.replaced_keys()), events.upserts),
        _differing_rows(consents.previous_rows(consents.replaced_keys()), consents.upserts),
    ]
    return _party_keys_of(parts)
