"""Split feature building into batches of customers, so memory stays bounded at any scale.

Every feature is computed per customer, so customers can be processed a batch at a time. A batch
takes its customers' cluster rows, the party records, events and account holdings of those
records, the accounts held and those accounts' transactions. A joint account whose holders fall in
different batches is read by each of their batches, so its cash flow still counts for every holder.

When the inputs are LazyFrames (``pl.scan_parquet``), each batch's transactions and events are
read with Polars' streaming engine, filtered on the way in: only one batch's rows are ever in memory.
"""

from __future__ import annotations

from collections.abc import Iterator

import polars as pl

from cdp.features.linking import EVENT_INPUTS, TRANSACTION_INPUTS, Frame


def _key(*columns: str) -> pl.Expr:
    """One 64-bit hash of text key columns, for cheap pre-filtering (the exact join comes later)."""
    return pl.struct([pl.col(name).cast(pl.String).alias(f"k{i}") for i, name in enumerate(columns)]).hash()


def customer_batches(
    *,
    transactions: Frame,
    accounts: Frame,
    account_holders: Frame,
    events: Frame,
    parties: Frame,
    clusters: Frame,
    customers: Frame,
    size: int,
) -> Iterator[dict[str, pl.DataFrame]]:
    """Yield the inputs of ``build_customer_features`` restricted to successive customer batches.

    The hash pre-filters may let a few foreign rows through on a hash collision; the exact key joins
    of feature building drop them, so the results equal an unbatched run.
    """
    ids = customers.lazy().select(pl.col("customer_id").unique(maintain_order=True)).collect().to_series()
    for start in range(0, ids.len(), size):
        batch = ids.slice(start, size).implode()
        members = customers.lazy().filter(pl.col("customer_id").is_in(batch)).collect()
        cluster_rows = clusters.lazy().filter(pl.col("customer_id").is_in(batch)).collect()
        records = cluster_rows.select(_key("source", "record_id")).to_series().implode()
        holdings = (
            account_holders.lazy().filter(_key("party_source", "party_record_id").is_in(records)).collect()
        )
        held = holdings.select(_key("account_source", "account_id")).to_series().unique().implode()
        yield {
            "customers": members,
            "clusters": cluster_rows,
            "account_holders": holdings,
            "accounts": accounts.lazy().filter(_key("source", "account_id").is_in(held)).collect(),
            "transactions": transactions.lazy()
            .select(TRANSACTION_INPUTS)
            .filter(_key("account_source", "account_id").is_in(held))
            .collect(engine="streaming"),
            "events": events.lazy()
            .select(EVENT_INPUTS)
            .filter(_key("party_source", "party_record_id").is_in(records))
            .collect(engine="streaming"),
            "parties": parties.lazy().filter(_key("source", "record_id").is_in(records)).collect(),
        }
