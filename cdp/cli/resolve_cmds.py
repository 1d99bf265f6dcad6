"""``cdp explain`` and ``cdp evaluate``: why two records match, and how good the clusters are.

Both read the published warehouse (``<warehouse>/cdp.duckdb``) and the stored model
(``<warehouse>/models/linkage_model.json``). Output names record keys and weights only.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import polars as pl
import typer
from rich.console import Console
from rich.table import Table

from cdp.errors import NotFoundError

if TYPE_CHECKING:
    from cdp.resolve import EvaluationReport

DEFAULT_WAREHOUSE = Path("warehouse")
MODEL_PATH = Path("models") / "linkage_model.json"

WarehouseOption = Annotated[
    Path, typer.Option("--warehouse", "-w", help="Warehouse folder: cdp.duckdb plus Parquet of every table.")
]


def _read_table(warehouse_dir: Path, name: str) -> pl.DataFrame:
    """A published table, through cdp.warehouse when present, else straight from cdp.duckdb."""
    try:
        from cdp.warehouse import Warehouse
    except ImportError:
        return _read_duckdb_table(warehouse_dir, name)
    warehouse = Warehouse(warehouse_dir)
    if not warehouse.exists(name):
        raise NotFoundError(f"table {name} is not published in {warehouse_dir}; run `cdp run` first")
    frame: pl.DataFrame = warehouse.read(name)
    return frame


def _read_duckdb_table(warehouse_dir: Path, name: str) -> pl.DataFrame:
    import duckdb

    database = warehouse_dir / "cdp.duckdb"
    if not database.exists():
        raise NotFoundError(f"no warehouse at {database}; run `cdp run` first")
    with duckdb.connect(str(database), read_only=True) as connection:
        found = connection.execute(
            "select count(*) from information_schema.tables where table_schema = 'main' and table_name = ?",
            [name],
        ).fetchone()
        if not found or not found[0]:
            raise NotFoundError(f"table {name} is not published in {database}; run `cdp run` first")
        quoted = '"' + name.replace('"', '""') + '"'
        return connection.sql(f"select * from {quoted}").pl()


def _read_model(warehouse_dir: Path, *, records: int) -> str:
    """The warehouse's model with its prior set for ``records`` records, exactly as the run scored."""
    from cdp.pipeline import current_model
    from cdp.warehouse import Warehouse

    path = warehouse_dir / MODEL_PATH
    if not path.exists():
        raise NotFoundError(f"no linkage model at {path}; run `cdp train` or `cdp run` first")
    return current_model(Warehouse(warehouse_dir)).for_population(records)


def _read_truth(path: Path) -> pl.DataFrame:
    if not path.exists():
        raise NotFoundError(f"truth file {path} does not exist")
    truth = pl.read_csv(
        path, schema_overrides={"source": pl.String, "record_id": pl.String, "entity_id": pl.String}
    )
    missing = {"source", "record_id", "entity_id"} - set(truth.columns)
    if missing:
        raise NotFoundError(f"truth file {path} lacks column(s) {sorted(missing)}")
    return truth


def register(app: typer.Typer) -> None:
    @app.command("explain")
    def explain(
        left: Annotated[str, typer.Argument(help="First record as SOURCE:RECORD_ID.")],
        right: Annotated[str, typer.Argument(help="Second record as SOURCE:RECORD_ID.")],
        warehouse: WarehouseOption = DEFAULT_WAREHOUSE,
        html: Annotated[
            Path | None,
            typer.Option("--html", help="Also write the match-weights and waterfall charts here."),
        ] = None,
    ) -> None:
        """Why two records did (or did not) match: each comparison's level and weight, and the total."""
        from cdp.engine import DuckDBEngine
        from cdp.resolve import explain_pair, explanation_rows, parse_record_key, write_model_charts

        keys = (parse_record_key(left), parse_record_key(right))
        parties = _read_table(warehouse, "std_parties")
        model_json = _read_model(warehouse, records=parties.height)
        engine = DuckDBEngine()
        explanation = explain_pair(parties, model_json=model_json, left=keys[0], right=keys[1], engine=engine)
        table = Table(title=f"{left}  vs  {right}")
        table.add_column("comparison")
        table.add_column("level")
        table.add_column("match weight", justify="right")
        for name, label, weight in explanation_rows(explanation):
            table.add_row(name, label, f"{weight:+.2f}")
        table.add_section()
        table.add_row(
            "total", f"probability {explanation.match_probability:.6f}", f"{explanation.match_weight:+.2f}"
        )
        console = Console()
        console.print(table)
        if html is not None:
            paths = write_model_charts(parties, model_json=model_json, out_dir=html, pair=keys, engine=engine)
            for path in paths:
                console.print(f"wrote {path}")

    @app.command("evaluate")
    def evaluate(
        truth: Annotated[
            Path, typer.Option("--truth", help="Ground truth CSV: source, record_id, entity_id.")
        ],
        warehouse: WarehouseOption = DEFAULT_WAREHOUSE,
        as_json: Annotated[
            bool, typer.Option("--json", help="Print one JSON object with the headline metrics.")
        ] = False,
    ) -> None:
        """Precision, recall and F1 (pairwise and B-cubed) of identity_clusters against ground truth."""
        from cdp.resolve import baseline_clusters, evaluate_clusters

        clusters = _read_table(warehouse, "identity_clusters")
        parties = _read_table(warehouse, "std_parties")
        report = evaluate_clusters(clusters, _read_truth(truth), baseline=baseline_clusters(parties))
        if as_json:
            typer.echo(json.dumps(report.summary()))
            return
        _print_report(report)


def _print_report(report: EvaluationReport) -> None:
    console = Console()
    table = Table(
        title=f"identity_clusters vs truth ({report.records:,} records, {report.true_entities:,} persons)"
    )
    table.add_column("metric")
    table.add_column("cdp", justify="right")
    table.add_column("baseline (exact name + DOB)", justify="right")
    base = report.baseline
    for label, attribute in (
        ("pairwise precision", "pairwise_precision"),
        ("pairwise recall", "pairwise_recall"),
        ("pairwise F1", "pairwise_f1"),
        ("B-cubed precision", "bcubed_precision"),
        ("B-cubed recall", "bcubed_recall"),
        ("B-cubed F1", "bcubed_f1"),
    ):
        baseline_value = "" if base is None else f"{getattr(base, attribute):.4f}"
        table.add_row(label, f"{getattr(report, attribute):.4f}", baseline_value)
    table.add_row("clusters", f"{report.clusters:,}", "" if base is None else f"{base.clusters:,}")
    table.add_row(
        "over-merged clusters",
        f"{report.over_merged_clusters:,}",
        "" if base is None else f"{base.over_merged_clusters:,}",
    )
    table.add_row(
        "under-merged persons",
        f"{report.under_merged_entities:,}",
        "" if base is None else f"{base.under_merged_entities:,}",
    )
    console.print(table)
    for title, examples in (
        ("over-merged (one cluster, several persons)", report.over_merged_examples),
        ("under-merged (one person, several clusters)", report.under_merged_examples),
    ):
        if examples:
            console.print(f"[bold]{title}[/] e.g.:")
            for keys in examples:
                console.print("  " + ", ".join(keys), highlight=False)
