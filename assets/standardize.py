"""Standardization: mapped source rows become canonical party, account and activity records."""

import dagster as dg
import polars as pl

from assets.ingest import RAW_TABLES
from cdp.ingest import standardize_frame

GROUP = "standardize"


def _standardized_asset(kind: str) -> dg.AssetsDefinition:
    @dg.asset(
        name=f"std_{kind}",
        group_name=GROUP,
        ins={"mapped": dg.AssetIn(f"raw_{kind}")},
        kinds={"polars"},
        description=f"Canonical {kind}: names, dates, codes, phones, emails and addresses normalized.",
    )
    def _standardize(mapped: pl.DataFrame) -> dg.Output[pl.DataFrame]:
        standardized = standardize_frame(kind, mapped)
        return dg.Output(standardized, metadata={"rows": standardized.height})

    return _standardize


STANDARDIZED_ASSETS = [_standardized_asset(kind) for kind in RAW_TABLES]
