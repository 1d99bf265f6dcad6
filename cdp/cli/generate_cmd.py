"""``cdp generate``: write a synthetic bank (four systems' extracts, truth.csv, sources.yaml)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from cdp.errors import ConfigError

if TYPE_CHECKING:
    from cdp.synth import GenerationSummary


def _summary_table(summary: GenerationSummary) -> Table:
    table = Table(
        title=f"Synthetic bank in {summary.out_dir} ({summary.persons:,} persons, seed {summary.seed})"
    )
    table.add_column("file")
    table.add_column("rows", justify="right")
    for path, rows in summary.files.items():
        table.add_row(path, f"{rows:,}")
    table.add_section()
    for source, records in summary.records.items():
        table.add_row(f"truth.csv: {source}", f"{records:,}")
    return table


def register(app: typer.Typer) -> None:
    """Add the ``generate`` command to ``app``."""

    @app.command("generate")
    def generate(
        persons: Annotated[int, typer.Option("--persons", "-n", help="Number of true persons.")],
        seed: Annotated[
            int, typer.Option("--seed", "-s", help="Random seed; same seed, byte-identical files.")
        ],
        out: Annotated[Path, typer.Option("--out", "-o", help="Output folder (created).")],
        months: Annotated[
            int, typer.Option(help="Months of transaction and event history (0: parties and accounts only).")
        ] = 12,
        batches: Annotated[
            int | None,
            typer.Option(
                help="Split into this many weekly batch deliveries under OUT/batches (incremental loads)."
            ),
        ] = None,
        as_of: Annotated[str, typer.Option(help="Date of the (last) extract, YYYY-MM-DD.")] = "2026-10-31",
        batch_days: Annotated[
            int,
            typer.Option(help="Days between batches (7: weekly, 1: daily); change volume scales with it."),
        ] = 7,
    ) -> None:
        """Generate the extracts of four bank systems with ground truth (truth.csv) and sources.yaml."""
        from cdp.synth import STEPS, generate_bank

        try:
            as_of_date = dt.date.fromisoformat(as_of)
        except ValueError:
            raise ConfigError(f"--as-of must be a date like 2026-10-31, not {as_of!r}") from None
        console = Console(stderr=True, highlight=False)
        with Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        ) as progress:
            task = progress.add_task("generating", total=len(STEPS))

            def on_step(name: str) -> None:
                progress.update(task, completed=STEPS.index(name), description=f"generating: {name}")

            summary = generate_bank(
                out,
                persons=persons,
                seed=seed,
                months=months,
                batches=batches,
                as_of=as_of_date,
                on_step=on_step,
                batch_days=batch_days,
            )
            progress.update(task, completed=len(STEPS))
        Console().print(_summary_table(summary))
        console.print(
            f"[bold green]done[/] in {summary.seconds:.1f}s; run it with "
            f"[bold]cdp run --config {out / 'sources.yaml'}[/]"
        )
