"""Identity resolution: the trained Splink model, scored edges, and stable customer clusters."""

import datetime as dt

import dagster as dg
import polars as pl

from assets.resources import LinkageBackend, RunOptions, SourcesResource, WarehouseResource
from cdp.config import load_config
from cdp.identity import ClusteringPolicy, load_decisions
from cdp.ingest.changes import TableChanges
from cdp.pipeline import current_model, erased_customers, load_or_train_model, previous_table
from cdp.privacy.erasure import load_erasure_register
from cdp.quality import prefetch_great_expectations
from cdp.runmodes import resolve_identities

GROUP = "resolve"


@dg.asset(group_name=GROUP, kinds={"splink", "duckdb"})
def linkage_model(
    context: dg.AssetExecutionContext,
    std_parties: TableChanges,
    sources: SourcesResource,
    warehouse: WarehouseResource,
    linkage_backend: LinkageBackend,
    run_options: RunOptions,
) -> dg.MaterializeResult:
    """The trained Splink model (versioned JSON in the warehouse), trained only when missing or asked."""
    model = load_or_train_model(
        std_parties,
        warehouse=warehouse.warehouse(),
        config_dir=sources.config_file().parent,
        engine=linkage_backend.engine(),
        retrain=run_options.retrain,
    )
    context.log.info(f"linkage model {model.version} ({model.origin})")
    return dg.MaterializeResult(metadata={"version": model.version, "origin": model.origin, **model.report})


@dg.multi_asset(
    group_name=GROUP,
    deps=[linkage_model],
    outs={
        "identity_edges": dg.AssetOut(description="Scored record pairs with each comparison's match weight."),
        "identity_clusters": dg.AssetOut(
            description="One row per accepted party record with its stable customer_id."
        ),
        "identity_changes": dg.AssetOut(description="Append-only log of identity events per run."),
        "identity_merged_into": dg.AssetOut(
            description="Retired customer IDs and the survivor they resolve to."
        ),
        "identity_review_queue": dg.AssetOut(
            description="Uncertain pairs and guarded clusters for a data steward."
        ),
        "identity_runs": dg.AssetOut(
            description="One row per run: full or incremental, why, and what it touched."
        ),
        "identity_affected": dg.AssetOut(
            description="Customers whose records this run re-clustered (not published)."
        ),
    },
)
def identity(
    context: dg.AssetExecutionContext,
    std_parties: TableChanges,
    sources: SourcesResource,
    warehouse: WarehouseResource,
    linkage_backend: LinkageBackend,
    run_options: RunOptions,
):
    """Score, cluster and keep customer IDs stable: only the new and changed records when possible."""
    # The identity gate runs next; its Great Expectations import overlaps the resolution.
    prefetch_great_expectations()
    published = warehouse.warehouse()
    config = load_config(sources.config_file())
    resolved = resolve_identities(
        std_parties,
        warehouse=published,
        engine=linkage_backend.engine(),
        model=current_model(published),
        policy=ClusteringPolicy(
            threshold=run_options.match_threshold, max_cluster_size=run_options.max_cluster_size
        ),
        decisions=load_decisions(sources.decisions_file(), sources=[spec.name for spec in config.parties]),
        run_id=context.run_id,
        run_time=dt.datetime.now(dt.UTC).replace(tzinfo=None),
        full_refresh=run_options.full_refresh,
        erased_keys=load_erasure_register(config.erasure_register_path).erased_keys,
    )
    summary = resolved.runs.row(-1, named=True)
    context.add_output_metadata(
        {
            key: summary[key]
            for key in (
                "mode",
                "reason",
                "scored_records",
                "affected_customers",
                "customers",
                "identity_events",
            )
        },
        output_name="identity_clusters",
    )
    state = resolved.state
    return (
        resolved.edges,
        state.clusters,
        resolved.published_change_log(),
        state.merged_into,
        resolved.review_queue,
        resolved.runs,
        resolved.affected_customer_ids,
    )


@dg.asset(name="erased_customers", group_name=GROUP, kinds={"polars"})
def erased_customer_ids(
    context: dg.AssetExecutionContext,
    identity_clusters: pl.DataFrame,
    sources: SourcesResource,
    warehouse: WarehouseResource,
) -> dg.Output[pl.DataFrame]:
    """Customers named by the erasure register, and any customer now holding an erased customer's
    other records: excluded from every export and segment list for good."""
    published = warehouse.warehouse()
    register = load_erasure_register(load_config(sources.config_file()).erasure_register_path)
    erased = erased_customers(
        erased_keys=register.erased_keys,
        previous_clusters=previous_table(published, "identity_clusters"),
        previous_erased=previous_table(published, "erased_customers"),
        run_id=context.run_id,
        run_time=dt.datetime.now(dt.UTC).replace(tzinfo=None),
        clusters=identity_clusters,
    )
    return dg.Output(erased, metadata={"erased_customers": erased.height, "register_requests": len(register)})
