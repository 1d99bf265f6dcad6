"""Looking up customer IDs that may have been merged away."""

from __future__ import annotations

import polars as pl


def resolve_customer_id(customer_id: str, merged_into: pl.DataFrame) -> str:
    """Follow ``merged_into`` from a (possibly retired) customer ID to its current survivor.

    An ID that was never merged resolves to itself.

    Example:
        >>> m = pl.DataFrame({"customer_id": ["Ca", "Cb"], "merged_into": ["Cb", "Cc"]})
        >>> resolve_customer_id("Ca", m)
        'Cc'
    """
    hops = dict(zip(merged_into["customer_id"].to_list(), merged_into["merged_into"].to_list(), strict=True))
    seen = {customer_id}
    current = customer_id
    while current in hops:
        current = hops[current]
        if current in seen:
            raise ValueError(f"identity_merged_into has a cycle through {customer_id}")
        seen.add(current)
    return current


def resolve_customer_ids(customer_ids: pl.Series, merged_into: pl.DataFrame) -> pl.Series:
    """Vectorized :func:`resolve_customer_id`: each ID mapped to its current survivor.

    Example:
        >>> m = pl.DataFrame({"customer_id": ["Ca", "Cb"], "merged_into": ["Cb", "Cc"]})
        >>> resolve_customer_ids(pl.Series(["Ca", "Cx"]), m).to_list()
        ['Cc', 'Cx']
    """
    hops = merged_into.select(pl.col("customer_id").cast(pl.String), pl.col("merged_into").cast(pl.String))
    current = pl.DataFrame(
        {"start": customer_ids.cast(pl.String), "customer_id": customer_ids.cast(pl.String)}
    )
    for _ in range(hops.height + 1):
        stepped = current.join(hops, on="customer_id", how="left", maintain_order="left")
        if stepped["merged_into"].null_count() == stepped.height:
            return current["customer_id"].rename(customer_ids.name)
        current = stepped.select("start", customer_id=pl.coalesce("merged_into", "customer_id"))
    raise ValueError("identity_merged_into has a cycle")
