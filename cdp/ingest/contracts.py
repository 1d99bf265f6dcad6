"""Decide, per file, which mapped rows are accepted and why the others are rejected.

A row is rejected when any of these holds (each gives one reject reason; a row with several
problems is ONE rejected row in the reconciliation but has several rows in ``rejects``):

- the CSV row was malformed (wrong number of fields, broken quoting): reason from the reader;
- an expression failed on a present value, or a typed field is not a valid date / number / flag;
- a pandera contract of :mod:`cdp.schemas.raw` fails (missing key, implausible date, ...);
- a holder role is unknown;
- its key repeats an earlier row's key in the same file: ``duplicate record_id`` (the first
  occurrence is kept, unless it fails on its own).

Rows marked by ``deleted_when`` only need their key: their other fields are not checked.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl
from pandera.errors import SchemaErrors

from cdp.ingest.mapping import CANONICAL, DELETED, INVALID_NATIONAL_IDS, PROBLEMS, TYPED_PREFIX, holder_column
from cdp.ingest.readers import LINE_COLUMN, RawFile
from cdp.ingest.specs import KEY_COLUMN, SourceSpec
from cdp.schemas.canonical import REJECT_COLUMNS
from cdp.schemas.raw import HOLDER_ROLE_CODES, RAW_SCHEMAS
from cdp.standardize.codes import HOLDER_ROLES, normalized_code

INDEX = "__cdp_index"
DUPLICATE_REASON = "duplicate record_id"
#: Consents without a record_id: a decision is a duplicate only when everything about it repeats;
#: two different decisions at the same time are both kept (``source_row`` orders them).
CONSENT_KEY: tuple[str, ...] = (
    "party_record_id",
    "purpose",
    "channel",
    f"{TYPED_PREFIX}updated_at",
    f"{TYPED_PREFIX}granted",
)
_REASONS_SCHEMA = {INDEX: pl.Int64(), "column": pl.String(), "reason": pl.String()}


@dataclass(frozen=True)
class CheckedFile:
    """The outcome of one file: accepted mapped rows, rejects and counts (rows, not reasons)."""

    source: str
    label: str
    accepted: pl.DataFrame
    rejects: pl.DataFrame
    rows_read: int
    rows_rejected: int
    rows_deleted: int
    invalid_national_ids: int

    @property
    def rows_accepted(self) -> int:
        return self.rows_read - self.rows_rejected


def record_key(spec: SourceSpec) -> tuple[str, ...]:
    """Columns that identify a record of ``spec`` for duplicates and upserts."""
    key = KEY_COLUMN[spec.kind]
    if spec.kind == "consents" and spec.record_id is None:
        return CONSENT_KEY
    return (key or "record_id",)


def with_metadata(spec: SourceSpec, mapped: pl.DataFrame, *, label: str) -> pl.DataFrame:
    """Add source, system, file, row and the referenced-table columns every kind carries."""
    extra = {
        "source": pl.lit(spec.name),
        "source_system": pl.lit(spec.system),
        "source_file": pl.lit(label),
        "source_row": pl.col(LINE_COLUMN).cast(pl.Int64),
    }
    if spec.account is not None:
        extra["account_source"] = pl.lit(spec.account)
    if spec.party is not None:
        extra["party_source"] = pl.lit(spec.party)
    return mapped.with_columns(**extra).with_row_index(INDEX).with_columns(pl.col(INDEX).cast(pl.Int64))


def _expression_problems(frame: pl.DataFrame) -> pl.DataFrame:
    exploded = frame.select(INDEX, PROBLEMS).filter(pl.col(PROBLEMS).list.len() > 0).explode(PROBLEMS)
    parts = pl.col(PROBLEMS).str.split_exact("\t", 1)
    return exploded.select(
        INDEX, parts.struct.field("field_0").alias("column"), parts.struct.field("field_1").alias("reason")
    )


def contract_frame(spec: SourceSpec, frame: pl.DataFrame) -> pl.DataFrame:
    """The canonical columns with typed probes in place of produced values, for the contracts."""
    columns = CANONICAL[spec.kind]
    selected = [
        (
            pl.col(f"{TYPED_PREFIX}{name}")
            if f"{TYPED_PREFIX}{name}" in frame.columns
            else pl.col(name)
            if name in frame.columns
            else pl.lit(None)
        )
        .cast(dtype)
        .alias(name)
        for name, dtype in columns.items()
    ]
    return frame.select(selected)


def _contract_problems(spec: SourceSpec, frame: pl.DataFrame) -> pl.DataFrame:
    checked = frame.filter(~pl.col(DELETED))
    try:
        RAW_SCHEMAS[spec.kind]().validate(contract_frame(spec, checked), lazy=True)
        return pl.DataFrame(schema=_REASONS_SCHEMA)
    except SchemaErrors as err:
        cases = err.failure_cases.select("column", "check", "index")
    if cases["index"].null_count():
        # A schema-level failure (dtype, missing column) is a bug in ingestion, not in the data.
        failed = cases.filter(pl.col("index").is_null())["check"].to_list()
        raise RuntimeError(f"mapped {spec.kind} frame breaks its own schema: {failed}")
    prefixed = pl.col("check").str.contains(": ", literal=True) & ~pl.col("column").is_in(
        list(CANONICAL[spec.kind])
    )
    named = cases.with_columns(
        column=pl.when(prefixed)
        .then(pl.col("check").str.split(": ").list.first())
        .otherwise(pl.col("column")),
        reason=pl.when(pl.col("check") == "not_nullable")
        .then(pl.lit("missing ") + pl.col("column"))
        .when(prefixed)
        .then(pl.col("check").str.split(": ").list.last())
        .otherwise(pl.col("check")),
    )
    # pandera's index is the position in the validated (non-deletion) rows.
    positions = checked.select(INDEX).with_row_index("index").with_columns(pl.col("index").cast(pl.Int64))
    return (
        named.with_columns(pl.col("index").cast(pl.Int64))
        .join(positions, on="index", how="left")
        .select(INDEX, "column", "reason")
    )


def _key_problems(spec: SourceSpec, frame: pl.DataFrame) -> pl.DataFrame:
    key = record_key(spec)
    deleted_without_key = frame.filter(pl.col(DELETED) & pl.any_horizontal(pl.col(c).is_null() for c in key))
    missing = deleted_without_key.select(
        INDEX, pl.lit(key[0]).alias("column"), pl.lit(f"missing {key[0]}").alias("reason")
    )
    keyed = frame.filter(pl.all_horizontal(pl.col(c).is_not_null() for c in key))
    repeated = keyed.filter(~pl.struct(key).is_first_distinct())
    reason = DUPLICATE_REASON if key != CONSENT_KEY else "duplicate consent decision"
    duplicates = repeated.select(INDEX, pl.lit(key[0]).alias("column"), pl.lit(reason).alias("reason"))
    return pl.concat([missing, duplicates])


def _role_problems(spec: SourceSpec, frame: pl.DataFrame) -> pl.DataFrame:
    problems = []
    for index in range(len(spec.holders)):
        role = pl.col(holder_column(index, "role"))
        known = normalized_code(role, synonyms=HOLDER_ROLES).is_in(list(HOLDER_ROLE_CODES))
        bad = frame.filter(~pl.col(DELETED) & role.is_not_null() & ~known)
        problems.append(
            bad.select(
                INDEX,
                pl.lit(f"holders[{index}].role").alias("column"),
                pl.lit("unknown holder role").alias("reason"),
            )
        )
    return pl.concat(problems) if problems else pl.DataFrame(schema=_REASONS_SCHEMA)


def check_file(spec: SourceSpec, raw: RawFile, mapped: pl.DataFrame) -> CheckedFile:
    """Split one file's mapped rows into accepted rows and rejects.

    Args:
        spec: The config entry.
        raw: The file as read (for its label and malformed CSV rows).
        mapped: :func:`cdp.ingest.mapping.map_rows` output for the file.

    Returns:
        Accepted rows (mapped columns plus metadata) and the file's rejects and counts.
    """
    frame = with_metadata(spec, mapped, label=raw.label)
    expression = _expression_problems(frame)
    deleted = frame.filter(pl.col(DELETED)).select(INDEX)
    # Only the key matters on a deletion row: drop its other problems.
    expression = pl.concat(
        [
            expression.join(deleted, on=INDEX, how="anti"),
            expression.join(deleted, on=INDEX, how="semi").filter(pl.col("column").is_in(record_key(spec))),
        ]
    )
    contract = _contract_problems(spec, frame)
    # A value that failed to parse is also null for the contract: report the parse failure only.
    contract = contract.join(expression.select(INDEX, "column"), on=[INDEX, "column"], how="anti")
    reasons = pl.concat(
        [expression, contract, _key_problems(spec, frame), _role_problems(spec, frame)],
        how="vertical_relaxed",
    ).unique(maintain_order=True)
    rejected = reasons.select(INDEX).unique()
    lines = frame.select(INDEX, pl.col("source_row").alias("line"))
    row_rejects = reasons.join(lines, on=INDEX, how="left").select("line", "column", "reason")
    rejects = pl.concat(
        [row_rejects, raw.malformed.select("line", "column", "reason")], how="vertical_relaxed"
    )
    rejects = rejects.with_columns(source=pl.lit(spec.name), file=pl.lit(raw.label)).select(
        list(REJECT_COLUMNS)
    )
    rejects = rejects.cast(pl.Schema(REJECT_COLUMNS)).sort("line", "column", "reason", nulls_last=True)
    # Typed probes served the contracts; only key parts are still needed (for upserts).
    key = record_key(spec)
    dropped = [
        c
        for c in frame.columns
        if c in (PROBLEMS, INDEX, LINE_COLUMN) or (c.startswith(TYPED_PREFIX) and c not in key)
    ]
    accepted = frame.join(rejected, on=INDEX, how="anti").drop(dropped)
    invalid = int(accepted[INVALID_NATIONAL_IDS].sum()) if INVALID_NATIONAL_IDS in accepted.columns else 0
    return CheckedFile(
        source=spec.name,
        label=raw.label,
        accepted=accepted,
        rejects=rejects,
        rows_read=raw.rows_read,
        rows_rejected=rejected.height + raw.malformed.height,
        rows_deleted=int(accepted[DELETED].sum()),
        invalid_national_ids=invalid,
    )
