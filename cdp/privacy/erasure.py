"""The right-to-erasure register: party records the bank must forget.

The register is a CSV kept by the data-protection team, by default ``erasure_requests.csv`` next
to ``sources.yaml`` (``erasure_register:`` in the config moves it), with the columns

``source, record_id, requested_at, reference``

- ``source`` is a party entry's ``name`` in the source config and ``record_id`` that system's key,
  so one row erases one party record (a person known to four systems needs four rows: erasure is
  decided per system of record, and the customer 360 shows all of them).
- ``requested_at`` (ISO date, optional) and ``reference`` (ticket number, optional) are for the
  audit trail; they do not change what is erased.

Behaviour at ingestion (:func:`cdp.ingest.ingest_sources`):

- an erased party record is removed after reading and before standardization, on every run, so
  it stays erased even when a later extract delivers it again; it is counted as ``erased`` in the
  source's summary, never as a reject;
- account-holder links, events and consents that point at an erased record are removed too
  (also counted as ``erased``); accounts and transactions stay, because they belong to the bank's
  books and may have other holders, but they no longer link to the erased person;
- a register row naming a source that is not a party entry is a :class:`~cdp.errors.ConfigError`
  (a typo must not silently skip an erasure);
- a missing register file is an empty register.

Later stages call :func:`suppress_erased` with :attr:`ErasureRegister.erased_keys` to drop the
records from anything they carry over from earlier runs (identity state, published tables).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from cdp.errors import ConfigError

log = logging.getLogger(__name__)

DEFAULT_REGISTER_FILE = "erasure_requests.csv"
REGISTER_COLUMNS: tuple[str, ...] = ("source", "record_id", "requested_at", "reference")
_REQUIRED = ("source", "record_id")
_SCHEMA: dict[str, pl.DataType] = {
    "source": pl.String(),
    "record_id": pl.String(),
    "requested_at": pl.Date(),
    "reference": pl.String(),
    "line": pl.Int64(),
}


def _empty_requests() -> pl.DataFrame:
    return pl.DataFrame(schema=_SCHEMA)


@dataclass(frozen=True)
class ErasureRegister:
    """Erasure requests: one row per party record to forget, with the register's line number."""

    requests: pl.DataFrame = field(default_factory=_empty_requests)
    path: Path | None = None

    @classmethod
    def empty(cls) -> ErasureRegister:
        """A register with no requests (ingestion then erases nothing)."""
        return cls()

    def __len__(self) -> int:
        return self.erased_keys.height

    @property
    def erased_keys(self) -> pl.DataFrame:
        """Distinct ``(source, record_id)`` keys to suppress, sorted."""
        return self.requests.select("source", "record_id").unique().sort("source", "record_id")

    def check_sources(self, party_sources: Iterable[str]) -> None:
        """Fail when a request names a source that is not a party entry of the config.

        Raises:
            ConfigError: Naming the register file, the line and the unknown source.
        """
        known = set(party_sources)
        unknown = self.requests.filter(~pl.col("source").is_in(sorted(known))).sort("line")
        if unknown.height:
            row = unknown.row(0, named=True)
            raise ConfigError(
                f"{self.path or 'erasure register'}: line {row['line']}: source '{row['source']}' is not a "
                f"party entry of the source config (known: {', '.join(sorted(known))})"
            )


def load_erasure_register(path: str | Path) -> ErasureRegister:
    """Read an erasure register CSV; a missing file is an empty register.

    Args:
        path: The register CSV (columns ``source, record_id, requested_at, reference``).

    Returns:
        The register; record ids are trimmed like ingestion trims keys.

    Raises:
        ConfigError: The file is not a CSV with ``source`` and ``record_id`` columns, a row lacks
            either, or ``requested_at`` is not an ISO date.

    Example:
        >>> load_erasure_register("/nonexistent/erasure_requests.csv").erased_keys.height
        0
    """
    path = Path(path)
    if not path.exists() or path.stat().st_size == 0:
        return ErasureRegister(path=path)
    try:
        raw = pl.read_csv(path, infer_schema=False, encoding="utf8")
    except (pl.exceptions.PolarsError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path}: not a readable CSV erasure register ({type(err).__name__})") from None
    missing = [name for name in _REQUIRED if name not in raw.columns]
    if missing:
        raise ConfigError(
            f"{path}: missing column(s) {', '.join(missing)}; expected {', '.join(REGISTER_COLUMNS)}"
        )
    stripped = raw.with_columns(
        [pl.col(name).str.strip_chars().replace("", None) for name in REGISTER_COLUMNS if name in raw.columns]
    )
    requests = stripped.with_row_index("line", offset=2).select(
        pl.col("source"),
        pl.col("record_id"),
        (pl.col("requested_at") if "requested_at" in raw.columns else pl.lit(None, dtype=pl.String)).alias(
            "raw_at"
        ),
        (pl.col("reference") if "reference" in raw.columns else pl.lit(None, dtype=pl.String)).alias(
            "reference"
        ),
        pl.col("line").cast(pl.Int64),
    )
    incomplete = requests.filter(pl.col("source").is_null() | pl.col("record_id").is_null())
    if incomplete.height:
        raise ConfigError(f"{path}: line {incomplete['line'][0]}: source and record_id are both required")
    parsed = requests.with_columns(
        requested_at=pl.col("raw_at").str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False)
    )
    unparsed = parsed.filter(pl.col("raw_at").is_not_null() & pl.col("requested_at").is_null())
    if unparsed.height:
        raise ConfigError(f"{path}: line {unparsed['line'][0]}: requested_at is not an ISO date (YYYY-MM-DD)")
    register = ErasureRegister(requests=parsed.select(list(_SCHEMA)).cast(pl.Schema(_SCHEMA)), path=path)
    log.info("erasure register %s: %d request(s)", path, register.requests.height)
    return register


def suppress_erased(
    frame: pl.DataFrame,
    erased: ErasureRegister | pl.DataFrame,
    *,
    source_column: str = "source",
    record_id_column: str = "record_id",
) -> pl.DataFrame:
    """``frame`` without the rows whose ``(source_column, record_id_column)`` key was erased.

    Args:
        frame: Any frame keyed by party record (e.g. ``std_events`` with ``party_source``,
            ``party_record_id``).
        erased: A register, or its :attr:`ErasureRegister.erased_keys` frame.
        source_column: The column holding the party source.
        record_id_column: The column holding the party record id.

    Example:
        >>> frame = pl.DataFrame({"source": ["core", "core"], "record_id": ["1", "2"]})
        >>> keys = pl.DataFrame({"source": ["core"], "record_id": ["2"]})
        >>> suppress_erased(frame, keys)["record_id"].to_list()
        ['1']
    """
    keys = erased.erased_keys if isinstance(erased, ErasureRegister) else erased
    if keys.height == 0 or frame.height == 0:
        return frame
    renamed = keys.select(
        pl.col("source").cast(pl.String).alias(source_column),
        pl.col("record_id").cast(pl.String).alias(record_id_column),
    )
    return frame.join(renamed, on=[source_column, record_id_column], how="anti", nulls_equal=False)


def newly_erased_customers(
    erased: pl.DataFrame | pl.LazyFrame | Path, *, published: pl.DataFrame | None
) -> pl.DataFrame:
    """Customer IDs whose erasure a run applies: its ``erased_customers`` holds them and the
    published version does not, or counts more ``erased_records`` for them (another of an erased
    person's records was erased). The run's publish must then purge their values from disk.

    Args:
        erased: The run's ``erased_customers`` (a frame, or its staged Parquet file).
        published: The published ``erased_customers``, or None when there is none yet.

    Example:
        >>> run = pl.DataFrame({"customer_id": ["C1", "C2", "C3"], "erased_records": [1, 1, 2]})
        >>> newly_erased_customers(run, published=run.head(2).with_columns(erased_records=1))[
        ...     "customer_id"
        ... ].to_list()
        ['C3']
        >>> newly_erased_customers(run, published=run.with_columns(erased_records=1))["customer_id"].to_list()
        ['C3']
        >>> successor = pl.DataFrame({"customer_id": ["C9"], "erased_records": [0]})
        >>> newly_erased_customers(pl.concat([run, successor]), published=run)["customer_id"].to_list()
        []
    """
    frame = pl.scan_parquet(erased) if isinstance(erased, Path) else erased.lazy()
    counted = "erased_records" in frame.collect_schema().names() and (
        published is None or "erased_records" in published.columns
    )
    records = pl.col("erased_records").cast(pl.Int64) if counted else pl.lit(1, dtype=pl.Int64)
    ids = frame.group_by(pl.col("customer_id").cast(pl.String)).agg(records.max().alias("erased_records"))
    before = pl.lit(0, dtype=pl.Int64)
    if published is not None:
        ids = ids.join(
            published.lazy()
            .group_by(pl.col("customer_id").cast(pl.String))
            .agg(records.max().alias("before")),
            on="customer_id",
            how="left",
        )
        # A customer added for holding an erased customer's other records (0 erased records of
        # its own) brings nothing new to remove from disk.
        before = (
            pl.col("before").fill_null(0)
            if counted
            else pl.when(pl.col("before").is_null()).then(0).otherwise(1)
        )
    return ids.filter(pl.col("erased_records") > before).select("customer_id").sort("customer_id").collect()


def redact_erased_records(frame: pl.DataFrame, erased: ErasureRegister | pl.DataFrame) -> pl.DataFrame | None:
    """``frame`` with the ``record_id`` of every erased party record blanked, or None if it names none.

    For an append-only log (``identity_changes``): its events stay, so the log still adds up, but
    no longer point at the erased records. The ``source`` stays: it names a system, not a person.

    Example:
        >>> log = pl.DataFrame({"source": ["core", "core"], "record_id": ["1", "2"]})
        >>> keys = pl.DataFrame({"source": ["core"], "record_id": ["2"]})
        >>> redact_erased_records(log, keys)["record_id"].to_list()
        ['1', None]
        >>> redact_erased_records(log, keys.clear()) is None
        True
    """
    keys = erased.erased_keys if isinstance(erased, ErasureRegister) else erased
    if keys.height == 0 or frame.height == 0:
        return None
    # A one-column prefilter: the log has millions of rows and the register a handful.
    record_ids = keys["record_id"].cast(pl.String).unique().implode()
    candidates = frame.with_row_index("_row").filter(pl.col("record_id").is_in(record_ids))
    named = candidates.join(
        keys.select(pl.col("source").cast(pl.String), pl.col("record_id").cast(pl.String)),
        on=["source", "record_id"],
        how="semi",
    )["_row"]
    if named.is_empty():
        return None
    return frame.with_columns(
        record_id=pl.when(pl.int_range(pl.len()).is_in(named.implode()))
        .then(None)
        .otherwise(pl.col("record_id"))
    )
