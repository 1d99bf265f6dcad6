"""Plain connected-components clustering of edges, for evaluation and benchmarks.

The product's clustering (stable customer IDs, overrides, over-merge guard) lives in
``cdp.identity``; this is the unconstrained reference it is measured against.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl
from splink.clustering import cluster_pairwise_predictions_at_threshold

if TYPE_CHECKING:
    from cdp.engine import LinkageEngine


def cluster_edges(
    parties: pl.DataFrame, edges: pl.DataFrame, *, threshold: float, engine: LinkageEngine
) -> pl.DataFrame:
    """Connected components over edges with ``match_probability >= threshold``.

    Args:
        parties: Records to cluster (``source``, ``record_id``); records without edges are singletons.
        edges: ``identity_edges`` rows.
        threshold: Minimum match probability of an edge that joins two records.
        engine: Linkage engine that runs Splink's connected components.

    Returns:
        ``source``, ``record_id``, ``cluster_id`` (the smallest ``source:record_id`` in the
        cluster), sorted by key.
    """
    keys = ["source", "record_id"]
    nodes = parties.select(unique_id=pl.concat_str(keys, separator=":")).unique()
    links = edges.filter(pl.col("match_probability") >= threshold).select(
        unique_id_l=pl.concat_str(["source_l", "record_id_l"], separator=":"),
        unique_id_r=pl.concat_str(["source_r", "record_id_r"], separator=":"),
        match_probability=pl.col("match_probability"),
    )
    db_api = engine.db_api()
    try:
        result = cluster_pairwise_predictions_at_threshold(
            nodes.to_arrow(),
            links.to_arrow(),
            db_api=db_api,
            node_id_column_name="unique_id",
            threshold_match_probability=threshold,
        )
        clusters = pl.from_arrow(result.as_duckdbpyrelation().select("cluster_id", "unique_id").arrow())
    finally:
        db_api.delete_tables_created_by_splink_from_db()
    assert isinstance(clusters, pl.DataFrame)
    parts = pl.col("unique_id").str.splitn(":", 2)
    return clusters.select(
        source=parts.struct.field("field_0"),
        record_id=parts.struct.field("field_1"),
        cluster_id=pl.col("cluster_id").cast(pl.String),
    ).sort(keys)
