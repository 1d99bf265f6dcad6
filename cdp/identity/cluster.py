"""Constrained clustering of scored match edges into record clusters, with the over-merge guard.

Connected components are computed in bulk; only components that break a rule (two national-ID
tokens, a cannot-link pair inside, or more records than the cap) are re-clustered by a greedy
union-find that adds links strongest first and refuses the merges that would break a rule. The
refused merges and the uncertain pairs go to the review queue.
"""

from __future__ import annotations

import logging

import numpy as np
import polars as pl

from cdp.identity.decisions import unknown_record_decisions
from cdp.identity.graph import connected_components, constrained_union, index_records, map_pairs
from cdp.identity.model import (
    ASSIGNMENT_COLUMNS,
    CANNOT_LINK,
    GUARD_FLAG_COLUMNS,
    MAX_CLUSTER_SIZE,
    NATIONAL_ID_CONFLICT,
    PAIR_KEYS,
    REVIEW_BAND,
    REVIEW_COLUMNS,
    ClusteringPolicy,
    ClusterResult,
    Decisions,
)
from cdp.schemas.canonical import conform

log = logging.getLogger(__name__)

#: Match weights closer than this (in bits) are a tie for the order of the guard's greedy merge.
WEIGHT_DECIMALS = 9

_EDGE_FIELDS: dict[str, pl.DataType] = {
    "match_probability": pl.Float64(),
    "match_weight": pl.Float64(),
    "match_reason": pl.String(),
}


def cluster_records(
    records: pl.DataFrame,
    edges: pl.DataFrame,
    *,
    policy: ClusteringPolicy = ClusteringPolicy(),  # noqa: B008 - frozen, so sharing is safe
    decisions: Decisions | None = None,
) -> ClusterResult:
    """Cluster party records from their scored pairs, honouring steward decisions and the guard.

    Links are edges with ``match_probability >= policy.threshold`` plus every must-link. Records
    with different non-null national-ID tokens never share a cluster through model links (a
    steward's must-link overrides that guard), cannot-link pairs never do; a cluster never grows
    past ``policy.max_cluster_size`` through model links. The result is
    deterministic: ties are broken by record keys. A decision naming a record absent from
    ``records`` cannot apply: it goes to the review queue (reason ``unknown_record``).

    Args:
        records: party records with ``source``, ``record_id`` and (optionally)
            ``national_id_token``.
        edges: scored pairs (``identity_edges``); pairs naming unknown records are ignored.
        policy: threshold, review band and size cap.
        decisions: the steward's must-link and cannot-link decisions.

    Returns:
        Assignments (one row per record), the review queue and the guard flags.

    Example:
        >>> records = pl.DataFrame({"source": ["a", "a"], "record_id": ["1", "2"]})
        >>> edges = pl.DataFrame({"source_l": ["a"], "record_id_l": ["1"], "source_r": ["a"],
        ...     "record_id_r": ["2"], "match_probability": [0.99], "match_weight": [9.0],
        ...     "match_reason": ["splink"]})
        >>> cluster_records(records, edges).assignments["cluster_key"].to_list()
        ['a:1', 'a:1']
    """
    decisions = decisions or Decisions.none()
    index = index_records(records)
    scored = map_pairs(edges.select(*PAIR_KEYS, *_edge_fields(edges)), index)
    must = map_pairs(decisions.must_link.select(PAIR_KEYS), index).unique(["a", "b"])
    cannot = map_pairs(decisions.cannot_link.select(PAIR_KEYS), index).unique(["a", "b"])
    decided = pl.concat([must, cannot]).select("a", "b")
    links = pl.concat(
        [
            must.join(scored, on=["a", "b"], how="left").with_columns(
                is_must=pl.lit(True), match_reason=pl.lit("must_link")
            ),
            scored.filter(pl.col("match_probability") >= policy.threshold)
            .join(decided, on=["a", "b"], how="anti")
            .with_columns(is_must=pl.lit(False)),
        ],
        how="diagonal",
    )
    labels = connected_components(index.height, links["a"].to_numpy(), links["b"].to_numpy())
    reasons = _violations(index, labels, cannot, max_size=policy.max_cluster_size)
    components = labels.copy()
    refused = _empty_refused()
    if reasons.height:
        labels, refused = _split_violators(
            index, labels, links, cannot, reasons, max_size=policy.max_cluster_size
        )
    band = scored.filter(pl.col("match_probability").is_between(*policy.review_band, closed="left"))
    band = (
        band.filter(pl.Series(labels[band["a"].to_numpy()] != labels[band["b"].to_numpy()]))
        .join(decided, on=["a", "b"], how="anti")
        .with_columns(reason=pl.lit(REVIEW_BAND))
    )
    keys = index.select("source", "record_id")
    assignments = keys.with_columns(cluster_key=index["key"].gather(labels))
    review = pl.concat(
        [
            _review_rows(pl.concat([refused, band], how="diagonal_relaxed"), keys),
            unknown_record_decisions(decisions, keys),
        ]
    )
    flags = _guard_flags(reasons, keys, components, labels, refused)
    log.info(
        "identity clustering: %d records, %d links, %d clusters, %d guarded components, %d review rows",
        index.height,
        links.height,
        int((labels == np.arange(index.height)).sum()),
        flags.height,
        review.height,
    )
    return ClusterResult(
        assignments=conform(assignments, ASSIGNMENT_COLUMNS), review_queue=review, guard_flags=flags
    )


def _edge_fields(edges: pl.DataFrame) -> list[pl.Expr]:
    return [
        (pl.col(name) if name in edges.columns else pl.lit(None)).cast(dtype).alias(name)
        for name, dtype in _EDGE_FIELDS.items()
    ]


def _empty_refused() -> pl.DataFrame:
    return pl.DataFrame(
        schema={
            "a": pl.Int64(),
            "b": pl.Int64(),
            **_EDGE_FIELDS,
            "reason": pl.String(),
            "component": pl.Int64(),
        }
    )


def _violations(
    index: pl.DataFrame, labels: np.ndarray, cannot: pl.DataFrame, *, max_size: int
) -> pl.DataFrame:
    """Components that break a rule, with the comma-joined rules they break."""
    component = pl.Series("component", labels)
    nodes = index.select("national_id_token").with_columns(component)
    conflicting = (
        nodes.drop_nulls("national_id_token")
        .group_by("component")
        .agg(pl.col("national_id_token").n_unique().alias("tokens"))
        .filter(pl.col("tokens") > 1)
        .select("component", reason=pl.lit(NATIONAL_ID_CONFLICT))
    )
    sizes = np.bincount(labels, minlength=index.height)
    oversized = pl.DataFrame({"component": np.flatnonzero(sizes > max_size).astype(np.int64)}).with_columns(
        reason=pl.lit(MAX_CLUSTER_SIZE)
    )
    inside = labels[cannot["a"].to_numpy()] == labels[cannot["b"].to_numpy()]
    split = pl.DataFrame({"component": labels[cannot["a"].to_numpy()][inside].astype(np.int64)}).with_columns(
        reason=pl.lit(CANNOT_LINK)
    )
    frame = (
        pl.concat([conflicting, oversized, split])
        .unique()
        .sort("component", "reason")
        .group_by("component", maintain_order=True)
        .agg(pl.col("reason").str.join(","))
    )
    return frame.with_columns(records=pl.Series(sizes[frame["component"].to_numpy()].astype(np.int64)))


def _split_violators(
    index: pl.DataFrame,
    labels: np.ndarray,
    links: pl.DataFrame,
    cannot: pl.DataFrame,
    reasons: pl.DataFrame,
    *,
    max_size: int,
) -> tuple[np.ndarray, pl.DataFrame]:
    """Re-cluster the rule-breaking components greedily; return new labels and refused links."""
    bad = reasons["component"].to_numpy()
    in_bad = np.isin(labels, bad)
    nodes = np.flatnonzero(in_bad).astype(np.int64)
    link_a = links["a"].to_numpy()
    # Strongest first: must-links, certain links, then by weight. Weights are compared at 1e-9
    # bits, so float noise (an edge re-weighed on a later day differs from a fresh score by
    # ~1e-14) cannot reorder links that tie, and record keys break ties on every path alike.
    ordered = (
        links.filter(pl.Series(in_bad[link_a]))
        .with_columns(component=pl.Series(labels[link_a][in_bad[link_a]]))
        .sort(
            [
                pl.col("is_must"),
                pl.col("match_probability") >= 1.0,
                pl.col("match_weight").round(WEIGHT_DECIMALS),
                pl.col("a"),
                pl.col("b"),
            ],
            descending=[True, True, True, False, False],
            nulls_last=True,
        )
    )
    cannot_a, cannot_b = cannot["a"].to_numpy(), cannot["b"].to_numpy()
    inside = cannot.filter(pl.Series(in_bad[cannot_a] & (labels[cannot_a] == labels[cannot_b])))
    tokens = index["national_id_token"].gather(nodes).to_list()
    new_labels, refused_rows = constrained_union(nodes, tokens, ordered, inside, max_size=max_size)
    labels = labels.copy()
    labels[nodes] = new_labels
    refused = ordered.with_row_index("row").join(
        pl.DataFrame(refused_rows, schema={"row": pl.UInt32(), "reason": pl.String()}, orient="row"),
        on="row",
        how="inner",
    )
    return labels, refused.select(_empty_refused().columns)


def _review_rows(rows: pl.DataFrame, keys: pl.DataFrame) -> pl.DataFrame:
    named = rows.with_columns(
        source_l=keys["source"].gather(rows["a"]),
        record_id_l=keys["record_id"].gather(rows["a"]),
        source_r=keys["source"].gather(rows["b"]),
        record_id_r=keys["record_id"].gather(rows["b"]),
    ).sort("a", "b", "reason")
    return conform(named, REVIEW_COLUMNS)


def _guard_flags(
    reasons: pl.DataFrame,
    keys: pl.DataFrame,
    components: np.ndarray,
    labels: np.ndarray,
    refused: pl.DataFrame,
) -> pl.DataFrame:
    if reasons.is_empty():
        return pl.DataFrame(schema=dict(GUARD_FLAG_COLUMNS))
    clusters = (
        pl.DataFrame({"component": components, "label": labels})
        .join(reasons.select("component"), on="component", how="semi")
        .group_by("component")
        .agg(clusters=pl.col("label").n_unique().cast(pl.Int64))
    )
    refusals = refused.group_by("component").agg(refused_merges=pl.len().cast(pl.Int64))
    flags = (
        reasons.join(clusters, on="component", how="left")
        .join(refusals, on="component", how="left")
        .with_columns(
            pl.col("refused_merges").fill_null(0),
            source=keys["source"].gather(reasons["component"]),
            record_id=keys["record_id"].gather(reasons["component"]),
            reasons=pl.col("reason"),
        )
        .sort("component")
    )
    return conform(flags, GUARD_FLAG_COLUMNS)
