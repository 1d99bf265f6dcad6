"""Consent-aware segment exports: the file, and a manifest that reconciles every member."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from cdp.errors import ConfigError, NotFoundError
from cdp.exports.eligibility import REASONS, apply_eligibility, check_campaign
from cdp.exports.holdout import check_holdout, in_holdout
from cdp.exports.writer import CSV_ENCODING, export_format, write_export_file, write_text_atomic
from cdp.segments.definitions import SegmentDefinition

log = logging.getLogger(__name__)

#: The only columns each channel receives: data minimisation.
CHANNEL_FIELDS: Mapping[str, tuple[str, ...]] = {
    "email": ("customer_id", "first_name", "email"),
    "sms": ("customer_id", "first_name", "phone"),
    "mail": ("customer_id", "full_name", "address_line1", "address_line2", "city", "state", "postcode"),
    "app": ("customer_id",),
}


@dataclass(frozen=True)
class ExportManifest:
    """What an export contains and why; written as JSON next to the file.

    ``members == excluded_total + holdout + exported`` always holds.
    """

    segment: str
    segment_version: int
    run_id: str
    campaign_id: str | None
    purpose: str
    channel: str
    credit: bool
    file: str
    format: str
    encoding: str | None
    columns: tuple[str, ...]
    members: int
    excluded: dict[str, int]
    excluded_total: int
    holdout: int
    holdout_pct: float
    exported: int
    sha256: str
    created_at: str
    as_of: str
    #: The pipeline run that published the data the export read (segment membership, 360, consent).
    data_run_id: str | None = None
    manifest_path: str = field(default="", compare=False)

    def to_dict(self) -> dict[str, Any]:
        """The manifest as JSON-ready data (without its own path)."""
        data = asdict(self)
        data.pop("manifest_path")
        data["columns"] = list(self.columns)
        return data


def manifest_path_for(out: Path) -> Path:
    """``offers.csv`` -> ``offers.csv.manifest.json`` (beside the file, never clashing across formats)."""
    return out.with_name(f"{out.name}.manifest.json")


def build_export(
    segment: SegmentDefinition | str,
    *,
    channel: str,
    purpose: str,
    customers: pl.DataFrame,
    consent: pl.DataFrame,
    features: pl.DataFrame | None,
    membership: pl.DataFrame,
    holdout_pct: float = 0.0,
    campaign_id: str | None = None,
    run_id: str,
    out: Path,
    erased: pl.DataFrame | None = None,
    as_of: dt.date | None = None,
    data_run_id: str | None = None,
) -> ExportManifest:
    """Export a segment's eligible, consented members for one channel, with a reconciling manifest.

    Args:
        segment: The definition (its ``credit`` flag and version are used), or just a segment name.
        channel: email | sms | mail | app; decides the columns written and the consent needed.
        purpose: Consent purpose of the campaign (marketing, credit_offers, ...).
        customers: ``customer_360``.
        consent: ``customer_consent`` (latest decision per customer, purpose, channel).
        features: ``customer_features`` (arrears signals), or None.
        membership: ``segment_membership`` history (open stays are used) or current membership.
        holdout_pct: Percentage of eligible members held out of the file (stable per campaign).
        campaign_id: Campaign id; required for a holdout.
        run_id: Id recorded in the manifest.
        out: Target ``.csv`` or ``.parquet`` file; the manifest is ``<out>.manifest.json``.
        erased: ``erased_customers`` (customer_id), excluded from everything.
        as_of: Date ages are computed on (default today).
        data_run_id: The pipeline run that published the input tables, recorded for audit.

    Returns:
        The :class:`ExportManifest` (also written to disk).

    Raises:
        ConfigError: Unknown channel/purpose, bad holdout, bad file type, or a membership of another
            version than the definition.
        NotFoundError: The segment has no rows in ``membership``.
    """
    check_campaign(channel=channel, purpose=purpose)
    check_holdout(campaign_id=campaign_id, pct=holdout_pct)
    file_format = export_format(out)
    name = segment if isinstance(segment, str) else segment.name
    credit = False if isinstance(segment, str) else segment.credit
    members, version = _members(membership, segment)
    as_of = as_of or dt.date.today()

    decided = apply_eligibility(
        members,
        channel=channel,
        purpose=purpose,
        customers=customers,
        consent=consent,
        features=features,
        erased=erased,
        credit=credit,
        as_of=as_of,
    )
    eligible = decided.filter(pl.col("exclusion_reason").is_null()).select("customer_id")
    held = eligible.with_columns(
        in_holdout(eligible["customer_id"], campaign_id=campaign_id, pct=holdout_pct)
    )
    exported_ids = held.filter(~pl.col("holdout")).select("customer_id")
    columns = CHANNEL_FIELDS[channel]
    rows = (
        exported_ids.join(customers, on="customer_id", how="left")
        .select(
            [
                pl.col(c).cast(pl.String)
                if c in customers.columns
                else pl.lit(None, dtype=pl.String).alias(c)
                for c in columns
            ]
        )
        .sort("customer_id")
    )
    digest = write_export_file(rows, out)

    counts = decided.group_by("exclusion_reason").len().drop_nulls("exclusion_reason")
    by_reason = {reason: 0 for reason in REASONS} | dict(counts.iter_rows())
    manifest = ExportManifest(
        segment=name,
        segment_version=version,
        run_id=run_id,
        campaign_id=campaign_id,
        purpose=purpose,
        channel=channel,
        credit=credit or purpose == "credit_offers",
        file=out.name,
        format=file_format,
        encoding=CSV_ENCODING if file_format == "csv" else None,
        columns=columns,
        members=decided.height,
        excluded={reason: int(count) for reason, count in by_reason.items()},
        excluded_total=int(decided["exclusion_reason"].is_not_null().sum()),
        holdout=int(held["holdout"].sum()),
        holdout_pct=float(holdout_pct),
        exported=rows.height,
        sha256=digest,
        created_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        as_of=as_of.isoformat(),
        data_run_id=data_run_id,
    )
    if manifest.members != manifest.excluded_total + manifest.holdout + manifest.exported:
        raise RuntimeError("export counts do not reconcile")  # an invariant of this function, not user input
    path = manifest_path_for(out)
    write_text_atomic(json.dumps(manifest.to_dict(), indent=2) + "\n", path)
    log.info(
        "export %s v%d %s/%s: %d members, %d excluded, %d held out, %d exported",
        name,
        version,
        channel,
        purpose,
        manifest.members,
        manifest.excluded_total,
        manifest.holdout,
        manifest.exported,
    )
    return ExportManifest(**{**asdict(manifest), "manifest_path": str(path)})


def _members(membership: pl.DataFrame, segment: SegmentDefinition | str) -> tuple[pl.DataFrame, int]:
    """Current members of the segment and the version they qualified under."""
    name, declared = (segment, None) if isinstance(segment, str) else (segment.name, segment.version)
    history = membership.filter(pl.col("segment") == name)
    if history.is_empty() and declared is None:
        raise NotFoundError(f"segment {name!r} has no membership; is it declared and has the pipeline run?")
    rows = history.filter(pl.col("exited_on").is_null()) if "exited_on" in history.columns else history
    versions = sorted(set(rows["segment_version"].to_list()))
    if declared is None:
        declared = versions[-1] if versions else int(history["segment_version"].cast(pl.Int64).max())  # type: ignore[arg-type]
    if versions and versions != [declared]:
        raise ConfigError(
            f"segment {name!r}: current membership is for version(s) {versions} but the definition is "
            f"version {declared}; run the pipeline with this definition first"
        )
    return rows.select(pl.col("customer_id").cast(pl.String)).unique().sort("customer_id"), declared
