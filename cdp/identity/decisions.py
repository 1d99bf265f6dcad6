"""The data steward's decisions file: must-link and cannot-link overrides with who, when and why.

The file is an append-only journal: when the same pair is decided more than once, the latest
``decided_at`` wins (for equal times, the later line), so a steward changes their mind by adding a
line rather than editing history.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import logging
from collections.abc import Collection
from pathlib import Path

import polars as pl

from cdp.errors import ConfigError
from cdp.identity.graph import canonical_pairs
from cdp.identity.model import (
    DECISION_COLUMNS,
    KEYS,
    PAIR_KEYS,
    REVIEW_COLUMNS,
    UNKNOWN_RECORD,
    Decisions,
    record_key,
)
from cdp.schemas.canonical import conform

log = logging.getLogger(__name__)

DECISION_FILE_COLUMNS: tuple[str, ...] = (
    "decision",
    "source_l",
    "record_id_l",
    "source_r",
    "record_id_r",
    "decided_by",
    "decided_at",
    "reason",
)
DECISION_KINDS: tuple[str, ...] = ("must_link", "cannot_link")
_PAIR = list(PAIR_KEYS)


def load_decisions(path: Path | None, *, sources: Collection[str] | None = None) -> Decisions:
    """Read a decisions CSV; a missing file (or ``None``) means no decisions.

    Pairs are stored in canonical orientation (the smaller record key ``source:record_id`` on the left),
    whatever order the steward wrote them in.

    Args:
        path: the CSV with columns ``decision, source_l, record_id_l, source_r, record_id_r,
            decided_by, decided_at, reason``.
        sources: the party source names of the source config; a row naming another source is
            an error (a typo would otherwise be a decision that silently never applies). None:
            not checked.

    Returns:
        The must-link and cannot-link decisions in force.

    Raises:
        ConfigError: the file has missing columns or a bad row (named by file, line and column).

    Example:
        >>> load_decisions(None).must_link.height
        0
    """
    if path is None or not path.exists():
        return Decisions.none()
    latest: dict[tuple[str, str, str, str], tuple[dt.datetime, int, str, dict[str, str]]] = {}
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = [name for name in DECISION_FILE_COLUMNS if name not in (reader.fieldnames or ())]
        if missing:
            raise ConfigError(f"{path}: line 1: missing column(s) {', '.join(missing)}")
        for row in reader:
            line = reader.line_num
            kind, pair, decided_at, fields = _parse_row(row, path=path, line=line, sources=sources)
            previous = latest.get(pair)
            if previous is None or (decided_at, line) >= (previous[0], previous[1]):
                latest[pair] = (decided_at, line, kind, fields)
    rows = {
        kind: [
            (*pair, f["decided_by"], at, f["reason"]) for pair, (at, _, k, f) in latest.items() if k == kind
        ]
        for kind in DECISION_KINDS
    }
    log.info(
        "decisions loaded: %d must_link, %d cannot_link", len(rows["must_link"]), len(rows["cannot_link"])
    )
    return Decisions(must_link=_frame(rows["must_link"]), cannot_link=_frame(rows["cannot_link"]))


def decisions_version(decisions: Decisions) -> str:
    """A short digest of the pairs in force, so a run can tell whether the steward decided anything
    since the last one (who, when and why do not change a clustering; the pairs do)."""
    pairs = ["source_l", "record_id_l", "source_r", "record_id_r"]
    digest = hashlib.sha256()
    for kind, frame in (("must_link", decisions.must_link), ("cannot_link", decisions.cannot_link)):
        for row in frame.select(pairs).sort(pairs).iter_rows():
            digest.update(repr((kind, *row)).encode())
    return digest.hexdigest()[:12]


def withdrawn_decisions(previous: Decisions | None, current: Decisions) -> pl.DataFrame:
    """Pairs decided in ``previous`` that ``current`` no longer decides the same way.

    A pair whose line was removed, or whose latest decision changed kind, is returned once (the
    four key columns, canonical orientation); None for ``previous`` means nothing was withdrawn.

    Example:
        >>> withdrawn_decisions(None, Decisions.none()).height
        0
    """
    if previous is None:
        return pl.DataFrame(schema={name: pl.String() for name in _PAIR})
    return (
        pl.concat(
            [
                _kinded(previous, kind).join(_kinded(current, kind), on=_PAIR, how="anti")
                for kind in DECISION_KINDS
            ]
        )
        .select(_PAIR)
        .unique(maintain_order=True)
    )


def without_erased_records(decisions: Decisions, erased_keys: pl.DataFrame) -> Decisions:
    """``decisions`` without those naming an erased record (``erased_keys``: ``source, record_id``).

    An erased record is gone for good: a decision about it can never apply again, and keeping it
    would publish the erased key (as an ``unknown_record`` row of the review queue). The warning
    has counts only.

    Example:
        >>> decisions = Decisions(
        ...     must_link=pl.DataFrame(
        ...         {"source_l": ["core"], "record_id_l": ["1"], "source_r": ["card"], "record_id_r": ["9"]}
        ...     ),
        ...     cannot_link=Decisions.none().cannot_link,
        ... )
        >>> erased = pl.DataFrame({"source": ["card"], "record_id": ["9"]})
        >>> without_erased_records(decisions, erased).must_link.height
        0
    """
    from cdp.privacy.erasure import suppress_erased

    if erased_keys.is_empty():
        return decisions

    def kept(frame: pl.DataFrame) -> pl.DataFrame:
        for side in ("l", "r"):
            frame = suppress_erased(
                frame, erased_keys, source_column=f"source_{side}", record_id_column=f"record_id_{side}"
            )
        return frame

    result = Decisions(must_link=kept(decisions.must_link), cannot_link=kept(decisions.cannot_link))
    dropped = (
        decisions.must_link.height
        + decisions.cannot_link.height
        - result.must_link.height
        - result.cannot_link.height
    )
    if dropped:
        log.warning("%d steward decision(s) name an erased record: ignored", dropped)
    return result


def unknown_record_decisions(decisions: Decisions, records: pl.DataFrame) -> pl.DataFrame:
    """Review-queue rows for the decisions naming a record absent from ``records``.

    Such a decision cannot apply (its record was deleted, erased or mistyped); the rest of the
    decisions still do. The steward sees each one (reason ``unknown_record``, ``match_reason``
    the decision's kind) until the line is withdrawn or the record arrives; the log gets counts.

    Args:
        decisions: the decisions in force.
        records: every current record (``source``, ``record_id``).

    Returns:
        Rows with the ``REVIEW_COLUMNS`` schema, in pair order.

    Example:
        >>> unknown_record_decisions(Decisions.none(), pl.DataFrame({"source": [], "record_id": []})).height
        0
    """
    keys = list(KEYS)
    known = records.select(pl.col(name).cast(pl.String) for name in keys)
    unknown = (
        pl.concat(
            [
                _kinded(decisions, kind)
                .with_columns(match_reason=pl.lit(kind))
                .join(known, left_on=side, right_on=keys, how="anti")
                for kind in DECISION_KINDS
                for side in (["source_l", "record_id_l"], ["source_r", "record_id_r"])
            ]
        )
        .unique()
        .sort(_PAIR)
    )
    if unknown.height:
        log.warning(
            "%d steward decision(s) name a record that does not exist (%d must_link, %d cannot_link): "
            "they cannot apply and are in the review queue as %s",
            unknown.height,
            unknown.filter(pl.col("match_reason") == "must_link").height,
            unknown.filter(pl.col("match_reason") == "cannot_link").height,
            UNKNOWN_RECORD,
        )
    return conform(unknown.with_columns(reason=pl.lit(UNKNOWN_RECORD)), REVIEW_COLUMNS)


def _kinded(decisions: Decisions, kind: str) -> pl.DataFrame:
    frame: pl.DataFrame = getattr(decisions, kind)
    return canonical_pairs(frame.select(_PAIR))


def _parse_row(
    row: dict[str, str | None], *, path: Path, line: int, sources: Collection[str] | None
) -> tuple[str, tuple[str, str, str, str], dt.datetime, dict[str, str]]:
    values = {name: (row.get(name) or "").strip() for name in DECISION_FILE_COLUMNS}
    where = f"{path}: line {line}"
    if values["decision"] not in DECISION_KINDS:
        raise ConfigError(
            f"{where}: column decision must be must_link or cannot_link, got {values['decision']!r}"
        )
    for name in ("source_l", "record_id_l", "source_r", "record_id_r", "decided_by", "reason"):
        if not values[name]:
            raise ConfigError(f"{where}: column {name} is empty")
    for name in ("source_l", "source_r"):
        if sources is not None and values[name] not in sources:
            raise ConfigError(
                f"{where}: column {name}: unknown source {values[name]!r}; "
                f"expected one of {', '.join(sorted(sources))}"
            )
    try:
        decided_at = dt.datetime.fromisoformat(values["decided_at"])
    except ValueError:
        raise ConfigError(f"{where}: column decided_at is not an ISO date or timestamp") from None
    if decided_at.tzinfo is not None:
        decided_at = decided_at.astimezone(dt.UTC).replace(tzinfo=None)
    left = (values["source_l"], values["record_id_l"])
    right = (values["source_r"], values["record_id_r"])
    if left == right:
        raise ConfigError(f"{where}: a record cannot be linked to itself")
    low, high = sorted((left, right), key=lambda side: record_key(*side))
    return values["decision"], (*low, *high), decided_at, values


def _frame(rows: list[tuple[str, str, str, str, str, dt.datetime, str]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=dict(DECISION_COLUMNS), orient="row").sort(
        ["source_l", "record_id_l", "source_r", "record_id_r"]
    )
