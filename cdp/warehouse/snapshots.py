"""Parquet snapshots of the warehouse and the symlink that points readers at the current one.

Layout under the warehouse root::

    parquet -> parquet_snapshots/000007-<run_id>     (symlink, swapped with one rename)
    parquet_snapshots/000006-<run_id>/<table>.parquet
    parquet_snapshots/000007-<run_id>/<table>.parquet + _manifest.json

A snapshot is complete once its ``_manifest.json`` exists (written last, fsynced); folders without
one are leftovers of a killed publish and are pruned. Names start with the publish sequence number
so that re-publishing the same run id never overwrites the snapshot readers are using.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from cdp.warehouse.files import fsync_path

log = logging.getLogger(__name__)

SNAPSHOTS_DIR = "parquet_snapshots"
PARQUET_LINK = "parquet"
MANIFEST = "_manifest.json"


@dataclass(frozen=True)
class Manifest:
    """What a complete snapshot holds."""

    run_id: str
    seq: int
    rows: dict[str, int]


def snapshot_name(seq: int, run_id: str) -> str:
    """Folder name of the snapshot of publish number ``seq``."""
    return f"{seq:06d}-{run_id}"


def snapshot_seq(name: str) -> int | None:
    """The publish sequence number a snapshot folder name starts with, or None if it is not one."""
    head, _, _ = name.partition("-")
    return int(head) if head.isdigit() else None


def snapshots_root(root: Path) -> Path:
    return root / SNAPSHOTS_DIR


def current_snapshot(root: Path) -> str | None:
    """Name of the snapshot ``root/parquet`` points at, or None when there is no link yet."""
    link = root / PARQUET_LINK
    if not link.is_symlink():
        return None
    return Path(os.readlink(link)).name


def read_manifest(snapshot_dir: Path) -> Manifest | None:
    """The manifest of a snapshot, or None when the snapshot is incomplete or missing."""
    path = snapshot_dir / MANIFEST
    if not path.exists():
        return None
    data = json.loads(path.read_text())
    return Manifest(
        run_id=data["run_id"], seq=int(data["seq"]), rows={k: int(v) for k, v in data["rows"].items()}
    )


def write_manifest(snapshot_dir: Path, manifest: Manifest) -> None:
    """Mark a snapshot complete: every table file must already be written and fsynced."""
    fsync_path(snapshot_dir)
    text = json.dumps(
        {"run_id": manifest.run_id, "seq": manifest.seq, "rows": dict(sorted(manifest.rows.items()))},
        indent=2,
    )
    temporary = snapshot_dir / f".{MANIFEST}.tmp"
    with open(temporary, "w") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, snapshot_dir / MANIFEST)
    fsync_path(snapshot_dir)


def point_parquet_at(root: Path, name: str) -> None:
    """Atomically swap ``root/parquet`` to ``parquet_snapshots/<name>`` (a relative symlink).

    A plain ``parquet`` folder left by an older layout is first moved into the snapshots folder;
    only in that one-time migration is there a moment without ``root/parquet``.
    """
    link = root / PARQUET_LINK
    if link.exists() and not link.is_symlink():
        legacy = snapshots_root(root) / snapshot_name(0, "legacy")
        log.warning("moving a plain parquet folder aside to %s before the first snapshot swap", legacy)
        os.replace(link, legacy)
    temporary = root / f".{PARQUET_LINK}.{os.getpid()}.tmp"
    temporary.unlink(missing_ok=True)
    os.symlink(Path(SNAPSHOTS_DIR) / name, temporary)
    os.replace(temporary, link)
    fsync_path(root)


def list_snapshots(root: Path) -> list[str]:
    """Snapshot folder names, oldest publish first (complete or not)."""
    folder = snapshots_root(root)
    if not folder.is_dir():
        return []
    names = [
        entry.name for entry in folder.iterdir() if entry.is_dir() and snapshot_seq(entry.name) is not None
    ]
    return sorted(names, key=lambda name: (snapshot_seq(name), name))


def prune_snapshots(root: Path, *, keep: set[str]) -> list[str]:
    """Delete every snapshot folder not named in ``keep`` (complete or left by a killed publish).

    Publishing keeps the new snapshot and the one it replaced, so a reader that resolved the link just
    before the swap can finish. Call only while holding the publish lock, so no folder being written
    is deleted.

    Returns:
        The names of the deleted snapshots.
    """
    removed = [name for name in list_snapshots(root) if name not in keep]
    for name in removed:
        shutil.rmtree(snapshots_root(root) / name, ignore_errors=True)
    if removed:
        log.info("pruned %d old or incomplete parquet snapshots", len(removed))
    return removed


def link_or_copy(source: Path, destination: Path) -> None:
    """Carry a file into a new snapshot: a hard link (no copy, same bytes) or a copy across devices."""
    try:
        os.link(source, destination)
    except OSError:
        shutil.copyfile(source, destination)
        with open(destination, "rb") as handle:
            os.fsync(handle.fileno())
