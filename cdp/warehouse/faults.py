"""Fault injection for the publish crash tests.

A publish calls :func:`fault_point` at the moments where a crash matters. When the environment
variable ``CDP_PUBLISH_FAULT`` is ``"<point>:<action>"`` and ``<point>`` matches, the process either
raises :class:`InjectedFault` (``raise``), exits at once without cleanup (``exit``, ``os._exit``), or
writes the file named by ``CDP_PUBLISH_FAULT_MARKER`` and sleeps (``pause``) so a test can SIGKILL it
at a known place. Unset (always, outside tests), a fault point costs one dictionary lookup.

Points: ``parquet`` (after the first table file of the new snapshot), ``duckdb`` (after the first
table inside the open DuckDB transaction), ``swap`` (after the DuckDB commit, before the symlink swap),
``compact`` (the rewritten DuckDB file is complete, before it replaces the old one).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

FAULT_ENV = "CDP_PUBLISH_FAULT"
MARKER_ENV = "CDP_PUBLISH_FAULT_MARKER"
POINTS: tuple[str, ...] = ("parquet", "duckdb", "swap", "compact")
_PAUSE_SECONDS = 600


class InjectedFault(RuntimeError):
    """Raised at a fault point by ``CDP_PUBLISH_FAULT=<point>:raise``."""


def fault_point(point: str) -> None:
    """Crash, raise or pause here if the fault-injection variable names this point."""
    spec = os.environ.get(FAULT_ENV)
    if not spec:
        return
    where, _, action = spec.partition(":")
    if where != point:
        return
    if action == "raise":
        raise InjectedFault(f"injected fault at publish point {point!r}")
    if action == "exit":
        os._exit(70)
    if action == "pause":
        marker = os.environ.get(MARKER_ENV)
        if marker:
            Path(marker).write_text(point)
        time.sleep(_PAUSE_SECONDS)
