"""The decisions each identity run applied are kept for the next run, which needs them to undo a
decision withdrawn since."""

from __future__ import annotations

import datetime as dt

import polars as pl
from polars.testing import assert_frame_equal

from cdp.identity import DECISION_COLUMNS, Decisions, decisions_version
from cdp.runmodes import _applied_decisions, _save_applied_decisions
from cdp.warehouse import Warehouse


def _decisions() -> Decisions:
    row = [("core", "1", "core", "2", "ana", dt.datetime(2025, 1, 1), "twins")]
    return Decisions(
        must_link=pl.DataFrame(schema=dict(DECISION_COLUMNS)),
        cannot_link=pl.DataFrame(row, schema=dict(DECISION_COLUMNS), orient="row"),
    )


def test_applied_decisions_round_trip_and_only_two_runs_are_kept(tmp_path):
    warehouse = Warehouse(tmp_path / "warehouse")
    decisions = _decisions()
    version = decisions_version(decisions)

    for run, keep in (("r1", None), ("r2", "r1"), ("r3", "r2")):
        _save_applied_decisions(warehouse, decisions, run_id=run, keep=keep)

    kept = _applied_decisions(warehouse, "r3", version=version)
    assert kept is not None
    assert_frame_equal(kept.cannot_link, decisions.cannot_link)
    assert kept.must_link.is_empty()
    assert _applied_decisions(warehouse, "r1", version=version) is None
    # A file that does not match the version the run recorded is not trusted.
    assert _applied_decisions(warehouse, "r3", version="other") is None
    assert _applied_decisions(warehouse, None, version=version) is None
