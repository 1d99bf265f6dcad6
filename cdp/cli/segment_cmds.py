"""``cdp segments list|show|explain`` and ``cdp export``: segments and consent-aware exports.

Everything is read from the published warehouse (``customer_360``, ``customer_features``,
``segment_membership``, ``customer_consent``, ``erased_customers``) through one private reader; an
export reads only the rows of the segment's current members.
"""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path
from typing import Annotated

import polars as pl
import typer
from rich.console import Console
from rich.table import Column, Table

from cdp.errors import ConfigError, NotFoundError
from cdp.segments import SegmentDefinition, explain_membership, load_segments, membership_trend

DEFAULT_WAREHOUSE = Path("warehouse")
#: Tables that may legitimately be absent (nobody erased yet): read as empty.
_OPTIONAL_TABLES = {"erased_customers": {"customer_id": pl.String()}}
_MEMBERS_SQL = (
    "SELECT t.* FROM main.{table} t WHERE t.customer_id IN (SELECT customer_id FROM main.segment_membership "
    "WHERE segment = ? AND exited_on IS NULL)"
)

WarehouseOption = Annotated[
    Path, typer.Option("--warehouse", "-w", help="Warehouse folder: cdp.duckdb plus Parquet of every table.")
]
SegmentsOption = Annotated[
    Path | None, typer.Option("--segments", "-s", help="Segments YAML; default: the packaged starter set.")
]

segments_app = typer.Typer(help="Declared segments: list, show, explain.", no_args_is_help=True)


def _read_table(
    warehouse_dir: Path, name: str, *, members_of: str | None = None, customer_id: str | None = None
) -> pl.DataFrame:
    """A published table, optionally only the rows of one segment's members or of one customer."""
    from cdp.warehouse import Warehouse
    from cdp.warehouse.masking import quote

    warehouse = Warehouse(warehouse_dir)
    if not warehouse.exists(name):
        if name in _OPTIONAL_TABLES:
            return pl.DataFrame(schema=_OPTIONAL_TABLES[name])
        raise NotFoundError(
            f"table {name!r} is not published in warehouse {warehouse_dir}; run `cdp run` first"
        )
    if members_of is not None:
        return warehouse.query(_MEMBERS_SQL.format(table=quote(name)), params=[members_of])
    if customer_id is not None:
        return warehouse.query(
            f"SELECT * FROM main.{quote(name)} WHERE customer_id = ?", params=[customer_id]
        )
    return warehouse.read(name)


def _last_publish_run(warehouse_dir: Path) -> str | None:
    from cdp.warehouse import Warehouse

    log_rows = Warehouse(warehouse_dir).publish_log()
    return None if log_rows.is_empty() else str(log_rows["run_id"][-1])


def _date(text: str | None) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"--as-of must be a date like 2024-06-30, got {text!r}") from None


def _segment_rows(warehouse_dir: Path, segment: str) -> pl.DataFrame:
    from cdp.warehouse import Warehouse

    warehouse = Warehouse(warehouse_dir)
    if not warehouse.duckdb_path.exists() or not warehouse.exists("segment_membership"):
        raise NotFoundError(
            f"table 'segment_membership' is not published in warehouse {warehouse_dir}; run `cdp run` first"
        )
    return warehouse.query(
        "SELECT * FROM main.segment_membership WHERE segment = ? ORDER BY customer_id", params=[segment]
    )


def _definition(segments_file: Path | None, name: str) -> SegmentDefinition:
    for segment in load_segments(segments_file):
        if segment.name == name:
            return segment
    where = segments_file or "the packaged starter segments"
    raise NotFoundError(f"segment {name!r} is not declared in {where}")


def _check_same_definitions(warehouse_dir: Path, segments_file: Path | None) -> None:
    """Fail unless ``segments_file`` declares the segments the published membership was built with.

    The definition decides the export's rules (a ``credit`` segment gets the credit suppressions),
    so it must be the pipeline's, not whichever file the person exporting points at.
    """
    from cdp.segments.refresh import definitions_version
    from cdp.warehouse import Warehouse

    warehouse = Warehouse(warehouse_dir)
    if not warehouse.duckdb_path.exists() or not warehouse.exists("segment_runs"):
        return
    runs = warehouse.query("SELECT definitions_version FROM main.segment_runs")
    if runs.is_empty():
        return
    built_with = runs["definitions_version"][-1]
    given = definitions_version(load_segments(segments_file))
    if given != built_with:
        where = segments_file or "the packaged starter segments"
        raise ConfigError(
            f"the segment definitions in {where} (version {given}) are not the ones the published "
            f"membership was built with (version {built_with}); export with the segments file the "
            "pipeline used (--segments)"
        )


def _sizes(warehouse_dir: Path) -> dict[str, int]:
    from cdp.warehouse import Warehouse

    warehouse = Warehouse(warehouse_dir)
    if not warehouse.duckdb_path.exists() or not warehouse.exists("segment_membership"):
        return {}
    counts = warehouse.query(
        "SELECT segment, count(*) AS n FROM main.segment_membership WHERE exited_on IS NULL GROUP BY segment"
    )
    return {row[0]: int(row[1]) for row in counts.iter_rows()}


@segments_app.command("list")
def list_segments(warehouse: WarehouseOption = DEFAULT_WAREHOUSE, segments: SegmentsOption = None) -> None:
    """Declared segments with their owner, version and current size."""
    sizes = _sizes(warehouse)
    table = Table(
        "segment",
        "v",
        "owner",
        "credit",
        Column("members", justify="right"),
        "description",
        header_style="bold",
    )
    for segment in load_segments(segments):
        size = sizes.get(segment.name)
        table.add_row(
            segment.name,
            str(segment.version),
            segment.owner,
            "yes" if segment.credit else "",
            "-" if size is None else f"{size:,}",
            segment.description,
        )
    Console().print(table)


@segments_app.command("show")
def show_segment(
    name: Annotated[str, typer.Argument(help="Segment name.")],
    warehouse: WarehouseOption = DEFAULT_WAREHOUSE,
    segments: SegmentsOption = None,
    last: Annotated[int, typer.Option(help="How many change dates of the trend to show.")] = 12,
) -> None:
    """A segment's definition, current size and its size over past runs."""
    segment = _definition(segments, name)
    console = Console(highlight=False)
    console.print(
        f"[bold]{segment.name}[/] v{segment.version}  owner: {segment.owner}"
        f"{'  [yellow]credit[/]' if segment.credit else ''}"
    )
    console.print(segment.description)
    console.print(f"rule: {segment.rule}")
    history = _segment_rows(warehouse, name)
    if history.is_empty():
        console.print("no membership recorded yet")
        return
    current = history.filter(pl.col("exited_on").is_null())
    versions = ", ".join(map(str, current["segment_version"].unique().sort()))
    console.print(f"members now: {current.height:,} (version {versions})")
    table = Table(
        "date",
        *(Column(name, justify="right") for name in ("entered", "exited", "size")),
        header_style="bold",
        title="size on each date it changed",
    )
    for date, entered, exited, size in membership_trend(history, name).tail(last).iter_rows():
        table.add_row(str(date), f"{entered:,}", f"{exited:,}", f"{size:,}")
    console.print(table)


@segments_app.command("explain")
def explain_segment(
    name: Annotated[str, typer.Argument(help="Segment name.")],
    customer_id: Annotated[str, typer.Argument(help="Customer id.")],
    warehouse: WarehouseOption = DEFAULT_WAREHOUSE,
    segments: SegmentsOption = None,
) -> None:
    """Why a customer is or is not in a segment: each condition with the values that decided it."""
    segment = _definition(segments, name)
    if not _read_table(warehouse, "erased_customers", customer_id=customer_id).is_empty():
        # Their rule values are not shown either: the person asked to be forgotten.
        Console(highlight=False).print(
            f"{customer_id} is NOT in {name}: the customer is erased (right to erasure), "
            "in no segment and in no export",
            markup=False,
        )
        return
    customers = _read_table(warehouse, "customer_360", customer_id=customer_id)
    features = _read_table(warehouse, "customer_features", customer_id=customer_id)
    explanation = explain_membership(segment, customer_id, customers=customers, features=features)
    Console(highlight=False).print(explanation.describe(), markup=False)


def register(app: typer.Typer) -> None:
    app.add_typer(segments_app, name="segments")

    @app.command("export")
    def export(
        segment: Annotated[str, typer.Argument(help="Segment name.")],
        channel: Annotated[str, typer.Option(help="email | sms | mail | app.")],
        purpose: Annotated[str, typer.Option(help="Consent purpose: marketing | credit_offers | ...")],
        out: Annotated[Path, typer.Option(help="Output FILE.csv or FILE.parquet (manifest beside it).")],
        holdout: Annotated[
            float, typer.Option(help="Percent of eligible members held out (needs --campaign).")
        ] = 0.0,
        campaign: Annotated[str | None, typer.Option(help="Campaign id; keys the stable holdout.")] = None,
        warehouse: WarehouseOption = DEFAULT_WAREHOUSE,
        segments: SegmentsOption = None,
        as_of: Annotated[
            str | None, typer.Option(help="Date ages are computed on (YYYY-MM-DD); default today.")
        ] = None,
    ) -> None:
        """Write a segment's eligible, consented members for one channel, with a manifest."""
        from cdp.exports import build_export

        definition = _definition(segments, segment)
        _check_same_definitions(warehouse, segments)
        membership = _segment_rows(warehouse, segment)
        if membership.is_empty():
            raise NotFoundError(f"segment {segment!r} has no membership in {warehouse}; run `cdp run` first")
        run_id = f"export-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
        manifest = build_export(
            definition,
            channel=channel,
            purpose=purpose,
            customers=_read_table(warehouse, "customer_360", members_of=segment),
            consent=_read_table(warehouse, "customer_consent", members_of=segment),
            features=_read_table(warehouse, "customer_features", members_of=segment),
            membership=membership,
            holdout_pct=holdout,
            campaign_id=campaign,
            run_id=run_id,
            out=out,
            erased=_read_table(warehouse, "erased_customers"),
            as_of=_date(as_of),
            data_run_id=_last_publish_run(warehouse),
        )
        console = Console(highlight=False)
        excluded = ", ".join(f"{reason} {n:,}" for reason, n in manifest.excluded.items() if n) or "none"
        console.print(
            f"[bold green]exported[/] {manifest.exported:,} of {manifest.members:,} members of "
            f"{manifest.segment} v{manifest.segment_version} to {out}"
        )
        console.print(f"excluded {manifest.excluded_total:,} ({excluded}); held out {manifest.holdout:,}")
        console.print(f"manifest {manifest.manifest_path}  sha256 {manifest.sha256}")
