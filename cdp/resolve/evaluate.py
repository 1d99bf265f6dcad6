"""Measure clusters against ground truth: pairwise and B-cubed precision/recall/F1, merge errors.

Pairwise metrics count record pairs placed together; B-cubed averages, per record, how much of
its cluster is its true entity (precision) and how much of its entity is in its cluster (recall),
so a few giant wrong clusters cannot hide behind many right pairs. Examples of errors list record
keys only (``source:record_id``), never personal data.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import polars as pl

from cdp.errors import CdpError

_MAX_EXAMPLES = 5


@dataclass(frozen=True)
class EvaluationReport:
    """Accuracy of one clustering against the truth (and, optionally, of a baseline).

    Attributes:
        pairwise_precision, pairwise_recall, pairwise_f1: Over record pairs.
        bcubed_precision, bcubed_recall, bcubed_f1: Per-record averages.
        records: Records evaluated (those in the truth).
        true_entities: Distinct entities in the truth.
        clusters: Distinct predicted clusters over those records.
        over_merged_clusters: Clusters holding records of more than one entity.
        under_merged_entities: Entities split over more than one cluster.
        over_merged_examples: A few over-merged clusters, as lists of record keys.
        under_merged_examples: A few split entities, as lists of record keys.
        baseline: The same report for the baseline clustering, when given.
    """

    pairwise_precision: float
    pairwise_recall: float
    pairwise_f1: float
    bcubed_precision: float
    bcubed_recall: float
    bcubed_f1: float
    records: int
    true_entities: int
    clusters: int
    over_merged_clusters: int
    under_merged_entities: int
    over_merged_examples: list[list[str]] = field(default_factory=list)
    under_merged_examples: list[list[str]] = field(default_factory=list)
    baseline: EvaluationReport | None = None

    def summary(self) -> dict[str, float | None]:
        """The headline numbers, baseline F1s included (None without a baseline)."""
        return {
            "pairwise_precision": self.pairwise_precision,
            "pairwise_recall": self.pairwise_recall,
            "pairwise_f1": self.pairwise_f1,
            "bcubed_precision": self.bcubed_precision,
            "bcubed_recall": self.bcubed_recall,
            "bcubed_f1": self.bcubed_f1,
            "baseline_pairwise_f1": None if self.baseline is None else self.baseline.pairwise_f1,
            "baseline_bcubed_f1": None if self.baseline is None else self.baseline.bcubed_f1,
        }

    def to_dict(self) -> dict[str, Any]:
        """Everything, nested baseline included, as plain JSON-ready values."""
        return asdict(self)


def _f1(precision: float, recall: float) -> float:
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


def _cluster_column(clusters: pl.DataFrame) -> str:
    for name in ("cluster_id", "customer_id"):
        if name in clusters.columns:
            return name
    raise CdpError("clusters need a cluster_id or customer_id column next to source and record_id")


def _pairs(counts: pl.Expr) -> pl.Expr:
    return (counts * (counts - 1) / 2).sum()


def _examples(frame: pl.DataFrame, group: str, other: str) -> list[list[str]]:
    bad = (
        frame.group_by(group)
        .agg(pl.col(other).n_unique().alias("n"), pl.col("key").sort().alias("keys"))
        .filter(pl.col("n") > 1)
        .sort([pl.col("n"), pl.col("keys").list.first()], descending=[True, False])
    )
    return [list(keys) for keys in bad.head(_MAX_EXAMPLES)["keys"].to_list()]


def evaluate_clusters(
    clusters: pl.DataFrame, truth: pl.DataFrame, *, baseline: pl.DataFrame | None = None
) -> EvaluationReport:
    """Compare predicted clusters with the truth.

    Records of the truth missing from ``clusters`` count as singletons; records not in the truth
    are ignored.

    Args:
        clusters: ``source``, ``record_id`` and ``cluster_id`` (or ``customer_id``).
        truth: ``source``, ``record_id``, ``entity_id`` (``truth.csv``).
        baseline: Another clustering in the same shape, evaluated the same way.

    Returns:
        The report.

    Example:
        >>> truth = pl.DataFrame(
        ...     {"source": ["a"] * 3, "record_id": ["1", "2", "3"], "entity_id": ["x", "x", "y"]}
        ... )
        >>> clusters = truth.select("source", "record_id", cluster_id=pl.lit("c"))
        >>> evaluate_clusters(clusters, truth).pairwise_precision
        0.3333333333333333
    """
    keys = ["source", "record_id"]
    column = _cluster_column(clusters)
    frame = (
        truth.select(*keys, pl.col("entity_id").cast(pl.String))
        .unique(keys)
        .join(clusters.select(*keys, cluster=pl.col(column).cast(pl.String)), on=keys, how="left")
        .with_columns(key=pl.concat_str(keys, separator=":"))
        .with_columns(cluster=pl.coalesce("cluster", pl.lit("record:") + pl.col("key")))
    )
    if frame.is_empty():
        raise CdpError("the truth has no records to evaluate")
    cells = frame.group_by("cluster", "entity_id").agg(n=pl.len())
    cells = cells.join(frame.group_by("cluster").agg(n_cluster=pl.len()), on="cluster").join(
        frame.group_by("entity_id").agg(n_entity=pl.len()), on="entity_id"
    )
    predicted = frame.group_by("cluster").len().select(_pairs(pl.col("len"))).item()
    actual = frame.group_by("entity_id").len().select(_pairs(pl.col("len"))).item()
    totals = cells.select(
        true_positive=_pairs(pl.col("n")),
        bcubed_precision=(pl.col("n") * pl.col("n") / pl.col("n_cluster")).sum() / frame.height,
        bcubed_recall=(pl.col("n") * pl.col("n") / pl.col("n_entity")).sum() / frame.height,
    ).row(0, named=True)
    precision = 1.0 if not predicted else totals["true_positive"] / predicted
    recall = 1.0 if not actual else totals["true_positive"] / actual
    return EvaluationReport(
        pairwise_precision=precision,
        pairwise_recall=recall,
        pairwise_f1=_f1(precision, recall),
        bcubed_precision=totals["bcubed_precision"],
        bcubed_recall=totals["bcubed_recall"],
        bcubed_f1=_f1(totals["bcubed_precision"], totals["bcubed_recall"]),
        records=frame.height,
        true_entities=frame["entity_id"].n_unique(),
        clusters=frame["cluster"].n_unique(),
        over_merged_clusters=cells.group_by("cluster").len().filter(pl.col("len") > 1).height,
        under_merged_entities=cells.group_by("entity_id").len().filter(pl.col("len") > 1).height,
        over_merged_examples=_examples(frame, "cluster", "entity_id"),
        under_merged_examples=_examples(frame, "entity_id", "cluster"),
        baseline=None if baseline is None else evaluate_clusters(baseline, truth),
    )


def baseline_clusters(parties: pl.DataFrame) -> pl.DataFrame:
    """The naive deterministic baseline: same exact first name, last name and birth date.

    Records missing any of the three stay alone. The cluster id is the group's smallest key.

    Args:
        parties: ``std_parties`` rows.

    Returns:
        ``source``, ``record_id``, ``cluster_id`` for every record.
    """
    keys = ["source", "record_id"]
    rule = ["first_name", "last_name", "date_of_birth"]
    frame = parties.select(*keys, *rule).with_columns(key=pl.concat_str(keys, separator=":"))
    complete = pl.all_horizontal([pl.col(name).is_not_null() for name in rule])
    grouped = pl.when(complete).then(pl.col("key").min().over(rule)).otherwise(pl.col("key"))
    return frame.select(*keys, cluster_id=grouped).sort(keys)
