"""Identity resolution: the trained Splink model, scored edges, and stable customer clusters."""

import datetime as dt

import dagster as dg
import polars as pl

from assets.resources import LinkageBackend, RunOptions, SourcesResource, WarehouseResource
from cdp.config import load_config
from cdp.identity import ClusteringPolicy, cluster_records, load_decisions
from cdp.pipeline import (
    erased_customers,
    identity_state_from_warehouse,
    load_or_train_model,
    previous_table,
    score_edges,
    stable_identity,
)
from cdp.privacy.erasure import load_erasure_register

GROUP = "resolve"


@dg.asset(group_name=GROUP, kinds={"splink", "duckdb"})
def linkage_model(
    context: dg.AssetExecutionContext,
    std_parties: pl.DataFrame,
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


@dg.asset(group_name=GROUP, kinds={"splink", "polars"}, deps=[linkage_model])
def identity_edges(
    std_parties: pl.DataFrame,
    warehouse: WarehouseResource,
    linkage_backend: LinkageBackend,
    run_options: RunOptions,
) -> dg.Output[pl.DataFrame]:
    """Scored record pairs: Splink match probability and per-comparison weights, plus deterministic links."""
    edges = score_edges(
        std_parties,
        warehouse=warehouse.warehouse(),
        engine=linkage_backend.engine(),
        review_floor=ClusteringPolicy().review_band[0],
    )
    return dg.Output(edges, metadata={"edges": edges.height})


@dg.multi_asset(
    group_name=GROUP,
    outs={
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
    },
)
def identity(
    context: dg.AssetExecutionContext,
    std_parties: pl.DataFrame,
    identity_edges: pl.DataFrame,
    sources: SourcesResource,
    warehouse: WarehouseResource,
    run_options: RunOptions,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Cluster the edges under steward decisions and the over-merge guard, then keep customer IDs stable."""
    policy = ClusteringPolicy(
        threshold=run_options.match_threshold, max_cluster_size=run_options.max_cluster_size
    )
    clustered = cluster_records(
        std_parties, identity_edges, policy=policy, decisions=load_decisions(sources.decisions_file())
    )
    state = stable_identity(
        clustered.assignments,
        previous=identity_state_from_warehouse(warehouse.warehouse()),
        run_id=context.run_id,
    )
    context.add_output_metadata(
        {"customers": state.clusters["customer_id"].n_unique()}, output_name="identity_clusters"
    )
    return state.clusters, state.changes, state.merged_into, clustered.review_queue


@dg.asset(name="erased_customers", group_name=GROUP, kinds={"polars"})
def erased_customer_ids(
    context: dg.AssetExecutionContext, sources: SourcesResource, warehouse: WarehouseResource
) -> dg.Output[pl.DataFrame]:
    """Customers named by the erasure register: excluded from every export and segment list for good."""
    published = warehouse.warehouse()
    register = load_erasure_register(load_config(sources.config_file()).erasure_register_path)
    erased = erased_customers(
        erased_keys=register.erased_keys,
        previous_clusters=previous_table(published, "identity_clusters"),
        previous_erased=previous_table(published, "erased_customers"),
        run_id=context.run_id,
        run_time=dt.datetime.now(dt.UTC).replace(tzinfo=None),
    )
    return dg.Output(erased, metadata={"erased_customers": erased.height, "register_requests": len(register)})
