"""The files manifest (table ``ingest_files``): which extract files have been ingested, and how.

One row per ingested file (see :data:`FILES_COLUMNS`). Incremental ingestion
(:func:`cdp.ingest.incremental.map_increment`) reads only the files of an entry that are not in
the manifest, so files in a landing folder are **immutable once landed**: a delivery that must
be corrected arrives as a new, later file (upserts and ``deleted_when`` markers do the rest).

Before an increment is mapped, :func:`plan_increment` checks that the manifest still describes
the folder. Anything it cannot merge exactly is reported as a reason for a full ingest instead
of being guessed at:

- an ingested file is gone, or its content changed (size differs; or size is the same but the
  modification time differs and the SHA-256 differs);
- a new file sorts before an already-ingested file of its entry (a late delivery: upserts are
  applied in path order, so it would have to go underneath newer rows);
- a manifest source is no longer a config entry, or an entry's mapping (or the token key)
  changed since its files were ingested (``entry_fingerprint``);
- a consents entry declares ``record_id``, which ``std_consents`` does not carry, so its upserts
  cannot be applied to the published table.

Cost: SHA-256 runs at about 1.8 GB/s on this machine's CPU (SHA extensions). New files are
always hashed; an ingested file is re-hashed only when its size is unchanged but its
modification time is not, or on every run with ``verify_content=True``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from cdp.errors import SourceFileError
from cdp.ingest.readers import extract_files, file_label
from cdp.ingest.specs import SourceConfig, SourceSpec

#: ingest_files: one row per ingested extract file.
FILES_COLUMNS: Mapping[str, pl.DataType] = {
    "source": pl.String(),  # config entry name
    "file": pl.String(),  # path relative to the config folder (as in rejects / reconciliation)
    "size_bytes": pl.Int64(),
    "modified_ns": pl.Int64(),  # file modification time, ns since the epoch (a cheap change check)
    "sha256": pl.String(),  # hex SHA-256 of the file's bytes
    "entry_fingerprint": pl.String(),  # HMAC of the entry's mapping: changes with the config or key
    "rows_read": pl.Int64(),
    "rows_accepted": pl.Int64(),
    "rows_rejected": pl.Int64(),
    "ingested_at": pl.Datetime("us"),  # UTC
}
_HASH_CHUNK = 8 << 20
_MAX_REASONS = 3


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes, read in chunks."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def entry_fingerprint(spec: SourceSpec, key: bytes) -> str:
    """HMAC-SHA256 (keyed by the token key) of everything in ``spec`` that shapes its rows.

    The glob is left out: which files it matches is checked file by file. Keying by the token
    key means a new key (new national ID tokens) also asks for a full ingest, without storing
    anything derived from the key alone.
    """
    described = {
        "kind": spec.kind,
        "name": spec.name,
        "system": spec.system,
        "format": spec.format,
        "csv": [spec.csv.delimiter, spec.csv.encoding],
        "record_id": None if spec.record_id is None else spec.record_id.text,
        "fields": {name: expression.text for name, expression in spec.fields.items()},
        "deleted_when": None if spec.deleted_when is None else spec.deleted_when.text,
        "holders": [[holder.party, holder.key.text, holder.role.text] for holder in spec.holders],
        "account": spec.account,
        "party": spec.party,
    }
    message = json.dumps(described, sort_keys=True, separators=(",", ":")).encode("utf-8")
    return hmac.digest(key, b"cdp-ingest-entry:" + message, "sha256").hex()


@dataclass(frozen=True)
class FileStat:
    """What the manifest records about a file before its rows are read."""

    path: Path
    label: str
    size_bytes: int
    modified_ns: int
    sha256: str


def stat_file(path: Path, label: str) -> FileStat:
    """Size, modification time and SHA-256 of one file."""
    info = path.stat()
    return FileStat(path, label, info.st_size, info.st_mtime_ns, file_sha256(path))


@dataclass(frozen=True)
class IncrementPlan:
    """Which files of each entry to read.

    Attributes:
        new_files: Entry name -> its files not in the manifest, oldest first (entries without
            new files are absent).
        fingerprints: Entry name -> :func:`entry_fingerprint`.
        requires_full_reason: Why the manifest cannot be extended (None when it can).
    """

    new_files: dict[str, list[FileStat]] = field(default_factory=dict)
    fingerprints: dict[str, str] = field(default_factory=dict)
    requires_full_reason: str | None = None


def _matched(spec: SourceSpec, base_dir: Path) -> list[Path]:
    try:
        return extract_files(spec, base_dir)
    except SourceFileError:
        return []


def _changed(path: Path, row: Mapping[str, object], *, verify_content: bool) -> bool:
    info = path.stat()
    if info.st_size != row["size_bytes"]:
        return True
    if info.st_mtime_ns == row["modified_ns"] and not verify_content:
        return False
    return file_sha256(path) != row["sha256"]


def _entry_reasons(
    spec: SourceSpec, base_dir: Path, prior: pl.DataFrame, fingerprint: str, *, verify_content: bool
) -> tuple[list[str], list[Path]]:
    """Reasons against extending this entry, and its new files in path order."""
    if prior.height == 0:
        # Nothing ingested yet: like a full ingest, an entry must match at least one file.
        return [], extract_files(spec, base_dir)
    paths = _matched(spec, base_dir)
    labels = [file_label(path, base_dir) for path in paths]
    reasons: list[str] = []
    if (prior["entry_fingerprint"] != fingerprint).any():
        reasons.append(
            f"the config entry of '{spec.name}' (or the token key) changed since its files were ingested"
        )
    if spec.kind == "consents" and spec.record_id is not None:
        reasons.append(f"consents entry '{spec.name}' has a record_id, which std_consents cannot upsert by")
    position = {label: index for index, label in enumerate(labels)}
    for row in prior.iter_rows(named=True):
        index = position.get(row["file"])
        if index is None:
            reasons.append(f"ingested file {row['file']} of '{spec.name}' is gone")
        elif _changed(paths[index], row, verify_content=verify_content):
            reasons.append(f"ingested file {row['file']} of '{spec.name}' changed since it was ingested")
    known = set(prior["file"].to_list())
    last_known = max((position[label] for label in known if label in position), default=-1)
    new = [index for index, label in enumerate(labels) if label not in known]
    late = [labels[index] for index in new if index < last_known]
    if late:
        reasons.append(
            f"new file {late[0]} of '{spec.name}' sorts before already-ingested {labels[last_known]} "
            "(a late delivery cannot be upserted underneath newer rows)"
        )
    return reasons, [paths[index] for index in new]


def plan_increment(
    config: SourceConfig,
    manifest: pl.DataFrame,
    *,
    kinds: Sequence[str],
    key: bytes,
    verify_content: bool = False,
) -> IncrementPlan:
    """Compare the config's files with the manifest: what is new, and whether it can be merged.

    Args:
        config: The source config.
        manifest: The previous ``ingest_files`` table (may be empty).
        kinds: The kinds being ingested; manifest rows of other kinds are ignored.
        key: The token key (for :func:`entry_fingerprint`).
        verify_content: Re-hash every ingested file instead of trusting size + mtime.

    Returns:
        The plan; new files are hashed on the way (their manifest rows need it anyway).
    """
    missing = sorted(set(FILES_COLUMNS) - set(manifest.columns))
    if missing:
        raise ValueError(f"the files manifest lacks column(s) {missing}; expected {list(FILES_COLUMNS)}")
    specs = [spec for spec in config.all_specs() if spec.kind in kinds]
    names = {spec.name for spec in config.all_specs()}
    reasons = [
        f"source '{source}' has ingested files but is no longer in the config"
        for source in sorted(set(manifest["source"].to_list()) - names)
    ]
    plan = IncrementPlan()
    for spec in specs:
        fingerprint = entry_fingerprint(spec, key)
        plan.fingerprints[spec.name] = fingerprint
        prior = manifest.filter(pl.col("source") == spec.name)
        entry_reasons, new = _entry_reasons(
            spec, config.base_dir, prior, fingerprint, verify_content=verify_content
        )
        reasons.extend(entry_reasons)
        if new and not reasons:
            plan.new_files[spec.name] = [stat_file(path, file_label(path, config.base_dir)) for path in new]
    if reasons:
        more = f" (and {len(reasons) - _MAX_REASONS} more)" if len(reasons) > _MAX_REASONS else ""
        return IncrementPlan(
            fingerprints=plan.fingerprints, requires_full_reason="; ".join(reasons[:_MAX_REASONS]) + more
        )
    return plan


def manifest_rows(
    stats: Sequence[FileStat],
    counts: Mapping[str, tuple[int, int, int]],
    *,
    source: str,
    fingerprint: str,
    ingested_at: dt.datetime,
) -> pl.DataFrame:
    """``FILES_COLUMNS`` rows for one entry's files; ``counts`` maps label -> (read, accepted, rejected)."""
    return pl.DataFrame(
        {
            "source": [source] * len(stats),
            "file": [stat.label for stat in stats],
            "size_bytes": [stat.size_bytes for stat in stats],
            "modified_ns": [stat.modified_ns for stat in stats],
            "sha256": [stat.sha256 for stat in stats],
            "entry_fingerprint": [fingerprint] * len(stats),
            "rows_read": [counts[stat.label][0] for stat in stats],
            "rows_accepted": [counts[stat.label][1] for stat in stats],
            "rows_rejected": [counts[stat.label][2] for stat in stats],
            "ingested_at": [ingested_at] * len(stats),
        },
        schema=dict(FILES_COLUMNS),
    )
