"""The ``cdp`` command line: one Typer app assembled from the stage modules' commands.

Each stage module exposes ``register(app)``; user mistakes (``CdpError``) become a one-line message
and exit code 2 instead of a traceback.
"""

from __future__ import annotations

import logging
import os
import sys

import typer
from rich.console import Console

from cdp.errors import CdpError

app = typer.Typer(
    name="cdp",
    help=(
        "cdp: a customer data platform for banks. Ingest the extracts of core banking, cards, "
        "mortgages and digital channels under contracts, resolve identities with Splink, and publish "
        "an explainable customer 360, features, segments and consent-aware exports."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

_STAGE_COMMAND_MODULES = (
    "cdp.cli.generate_cmd",
    "cdp.cli.run_cmd",
    "cdp.cli.resolve_cmds",
    "cdp.cli.customer_cmds",
    "cdp.cli.sql_cmds",
    "cdp.cli.segment_cmds",
)


def _register_commands() -> None:
    import importlib

    for module_name in _STAGE_COMMAND_MODULES:
        importlib.import_module(module_name).register(app)


_register_commands()


def main() -> None:
    """Entry point of the ``cdp`` console script."""
    logging.basicConfig(
        level=os.environ.get("CDP_LOG_LEVEL", "WARNING").upper(),
        format="%(levelname)s %(name)s: %(message)s",
    )
    code = 0
    try:
        app()
    except CdpError as error:
        Console(stderr=True).print(f"[bold red]error:[/] {error}", highlight=False)
        code = 2
    except SystemExit as exit_:
        if isinstance(exit_.code, str):
            print(exit_.code, file=sys.stderr)
        code = exit_.code if isinstance(exit_.code, int) else int(exit_.code is not None)
    _exit_quietly(code)


def _exit_quietly(code: int) -> None:
    """Exit without the interpreter's final teardown.

    DuckDB's nanobind bindings print hundreds of "leaked instance" lines at shutdown when Dagster
    or Great Expectations still hold a reference to a closed connection. Every write is committed
    and every file closed by now, so the teardown only adds that noise.
    """
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    main()
