"""Data-quality gates: pandera contracts on the standardized tables, Great Expectations on the 360.

The gates are blocking: a failure stops every downstream asset, so nothing bad is published.
"""

import dagster as dg
import polars as pl

from assets.resources import WarehouseResource
from cdp.ingest.changes import TableChanges
from cdp.pipeline import contract_failures, quality_gate

_SAMPLE = 10


def _result(failures: list[str], **metadata: object) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        passed=not failures,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={"failures": len(failures), "sample": "\n".join(failures[:_SAMPLE]) or "none", **metadata},
    )


def _contract_check(table: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=table,
        name=f"{table}_contract",
        blocking=True,
        description=f"pandera contract of {table}'s new and changed rows (the rest passed before)",
    )
    def _check(changes: TableChanges) -> dg.AssetCheckResult:
        checked = changes.upserts
        return _result(contract_failures(table, checked), rows=checked.height)

    return _check


CONTRACT_CHECKS = [
    _contract_check(table)
    for table in (
        "std_parties",
        "std_accounts",
        "std_account_holders",
        "std_transactions",
        "std_events",
        "std_consents",
    )
]


@dg.asset_check(
    asset="ingest_reconciliation", blocking=True, description="rows read = accepted + rejected, per file"
)
def ingest_counts_reconcile(ingest_reconciliation: pl.DataFrame) -> dg.AssetCheckResult:
    broken = ingest_reconciliation.filter(
        pl.col("rows_read") != pl.col("rows_accepted") + pl.col("rows_rejected")
    )
    failures = [
        f"{row['file']}: read {row['rows_read']} != {row['rows_accepted']} + {row['rows_rejected']}"
        for row in broken.iter_rows(named=True)
    ]
    return _result(failures, files=ingest_reconciliation.height)


@dg.asset_check(
    asset="identity_clusters",
    blocking=True,
    additional_ins={"std_parties": dg.AssetIn()},
    description="Great Expectations identity suite: every accepted party record in exactly one customer",
)
def identity_quality(
    identity_clusters: pl.DataFrame, std_parties: TableChanges, warehouse: WarehouseResource
) -> dg.AssetCheckResult:
    report = quality_gate(
        # Lazy: the suite reads three columns of std_parties, not the whole table.
        {"identity_clusters": identity_clusters, "std_parties": std_parties.scan()},
        suites=("identity",),
        warehouse=warehouse.warehouse(),
    )
    return _result([str(failure) for failure in report.failures()], expectations=len(report.results))


@dg.asset_check(
    asset="customer_360",
    blocking=True,
    additional_ins={"identity_clusters": dg.AssetIn(), "std_parties": dg.AssetIn()},
    description="Great Expectations customer_360 suite: unique customer_id, coverage, ranges and null rates",
)
def customer_360_quality(
    customer_360: pl.DataFrame,
    identity_clusters: pl.DataFrame,
    std_parties: TableChanges,
    warehouse: WarehouseResource,
) -> dg.AssetCheckResult:
    report = quality_gate(
        {
            "customer_360": customer_360,
            "identity_clusters": identity_clusters,
            "std_parties": std_parties.scan(),
        },
        suites=("customer_360",),
        warehouse=warehouse.warehouse(),
    )
    return _result([str(failure) for failure in report.failures()], expectations=len(report.results))


ALL_CHECKS = [*CONTRACT_CHECKS, ingest_counts_reconcile, identity_quality, customer_360_quality]
