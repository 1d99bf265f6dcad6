"""Merge a standardized increment into the previously published table of the same kind.

:func:`apply_increment` is what makes incremental ingestion equal a full one: rows of the
increment replace previous rows with the same key (upsert), keys the increment deletes go,
and the *current* erasure register is applied to everything, so a person erased today also
leaves yesterday's rows. Output rows are sorted by :data:`SORT_COLUMNS`, so a full ingest
passed through :func:`sort_table` (or ``apply_increment(None, ...)``) gives identical frames.

Keys per table (:data:`TABLE_KEYS`) are the standardized keys. ``account_holders`` is keyed by
its account: an account in the increment brings its complete, current set of links, so all
previous links of that account are replaced (or removed when the account was deleted).
``rejects``, ``reconciliation`` and ``files`` accumulate per file: a file's rows replace any
previous rows of the same ``(source, file)``.
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from cdp.ingest.manifest import FILES_COLUMNS
from cdp.privacy.erasure import suppress_erased
from cdp.schemas.canonical import (
    ACCOUNT_COLUMNS,
    ACCOUNT_HOLDER_COLUMNS,
    CONSENT_COLUMNS,
    EVENT_COLUMNS,
    PARTY_COLUMNS,
    RECONCILIATION_COLUMNS,
    REJECT_COLUMNS,
    TRANSACTION_COLUMNS,
    conform,
)

#: Column contract of every table an increment updates.
CONTRACTS: Mapping[str, Mapping[str, pl.DataType]] = {
    "parties": PARTY_COLUMNS,
    "accounts": ACCOUNT_COLUMNS,
    "account_holders": ACCOUNT_HOLDER_COLUMNS,
    "transactions": TRANSACTION_COLUMNS,
    "events": EVENT_COLUMNS,
    "consents": CONSENT_COLUMNS,
    "rejects": REJECT_COLUMNS,
    "reconciliation": RECONCILIATION_COLUMNS,
    "files": FILES_COLUMNS,
}
#: Columns whose values identify the rows an increment replaces or deletes.
TABLE_KEYS: Mapping[str, tuple[str, ...]] = {
    "parties": ("source", "record_id"),
    "accounts": ("source", "account_id"),
    "account_holders": ("account_source", "account_id"),
    "transactions": ("source", "transaction_id"),
    "events": ("source", "event_id"),
    # A consent decision has no id of its own: the decision itself is the key.
    "consents": ("source", "party_source", "party_record_id", "purpose", "channel", "updated_at", "granted"),
    "rejects": ("source", "file"),
    "reconciliation": ("source", "file"),
    "files": ("source", "file"),
}
#: Output order: the key, then enough columns to order rows that share it.
SORT_COLUMNS: Mapping[str, tuple[str, ...]] = {
    **TABLE_KEYS,
    "account_holders": ("account_source", "account_id", "party_source", "party_record_id", "role"),
    "consents": (*TABLE_KEYS["consents"], "source_file", "source_row"),
    "rejects": ("source", "file", "line", "column", "reason"),
}
_MERGE_KEY = "__cdp_merge_key"
#: Tables that carry party records, and the columns naming the party: erasure applies to them.
ERASED_BY: Mapping[str, tuple[str, str]] = {
    "parties": ("source", "record_id"),
    "account_holders": ("party_source", "party_record_id"),
    "events": ("party_source", "party_record_id"),
    "consents": ("party_source", "party_record_id"),
}


def _table(table: str) -> Mapping[str, pl.DataType]:
    if table not in CONTRACTS:
        raise ValueError(f"unknown table {table!r}; expected one of {', '.join(CONTRACTS)}")
    return CONTRACTS[table]


def sort_table(table: str, frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` conformed to the table's contract and sorted by :data:`SORT_COLUMNS` (nulls first).

    Example:
        >>> frame = pl.DataFrame({"source": ["b", "a"], "file": ["f", "g"]})
        >>> sort_table("reconciliation", frame)["source"].to_list()
        ['a', 'b']
    """
    return conform(frame, _table(table)).sort(list(SORT_COLUMNS[table]))


def apply_increment(
    previous: pl.DataFrame | None,
    increment: pl.DataFrame,
    *,
    table: str,
    deleted_keys: pl.DataFrame | None = None,
    erased_keys: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Upsert a standardized increment into the previous table, delete keys, re-apply erasure.

    Args:
        previous: The previously published table (``std_parties`` ...), or None for a full
            ingest (then the result is the sorted increment).
        increment: The increment's rows of the same table, standardized
            (:func:`cdp.ingest.standardize_frame`), already upserted and erased among themselves.
        table: ``parties``, ``accounts``, ``account_holders``, ``transactions``, ``events``,
            ``consents``, ``rejects``, ``reconciliation`` or ``files``.
        deleted_keys: Keys (:data:`TABLE_KEYS` columns) the increment deletes.
        erased_keys: ``(source, record_id)`` of every erased party record: the whole current
            register, not only new requests.

    Returns:
        The new table, conformed to its contract and sorted by :data:`SORT_COLUMNS`.

    Example:
        >>> previous = pl.DataFrame({"source": ["core"] * 3, "account_id": ["1", "2", "3"],
        ...                          "balance": [1.0, 2.0, 3.0]})
        >>> increment = pl.DataFrame({"source": ["core"], "account_id": ["2"], "balance": [20.0]})
        >>> deleted = pl.DataFrame({"source": ["core"], "account_id": ["3"]})
        >>> merged = apply_increment(previous, increment, table="accounts", deleted_keys=deleted)
        >>> merged.select("account_id", "balance").rows()
        [('1', 1.0), ('2', 20.0)]
    """
    contract = _table(table)
    key = list(TABLE_KEYS[table])
    merged = conform(increment, contract)
    kept = None
    if previous is not None:
        replaced = merged.select(key)
        if deleted_keys is not None and deleted_keys.height:
            dtypes = {name: contract[name] for name in key}
            replaced = pl.concat([replaced, deleted_keys.select(key).cast(pl.Schema(dtypes))])
        kept = conform(previous, contract).join(
            replaced.unique(), on=key, how="anti", nulls_equal=True, maintain_order="left"
        )
    if table in ERASED_BY and erased_keys is not None:
        source_column, record_id_column = ERASED_BY[table]
        columns = {"source_column": source_column, "record_id_column": record_id_column}
        merged = suppress_erased(merged, erased_keys, **columns)
        kept = None if kept is None else suppress_erased(kept, erased_keys, **columns)
    return _sorted_union(table, kept, merged)


def _sorted_union(table: str, kept: pl.DataFrame | None, new: pl.DataFrame) -> pl.DataFrame:
    """``kept`` + ``new`` in :data:`SORT_COLUMNS` order.

    When the sort columns are non-null text, ``kept`` (the previous output minus replaced rows)
    is usually still sorted: then a linear merge replaces the O(n log n) sort of the whole table.
    Joining the columns with NUL (which sorts before every other character) keeps tuple order.
    """
    columns = list(SORT_COLUMNS[table])
    if kept is None:
        return new.sort(columns)
    contract = CONTRACTS[table]
    if all(contract[name] == pl.String for name in columns):
        joined = pl.concat_str(columns, separator="\x00").alias(_MERGE_KEY)
        previous = kept.with_columns(joined)
        if previous[_MERGE_KEY].null_count() == 0 and previous[_MERGE_KEY].is_sorted():
            added = new.with_columns(joined)
            if added[_MERGE_KEY].null_count() == 0:
                return previous.merge_sorted(added.sort(_MERGE_KEY), _MERGE_KEY).drop(_MERGE_KEY)
    return pl.concat([kept, new]).sort(columns)
