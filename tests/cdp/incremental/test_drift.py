"""Drift of pairs below the edge floor: the growth that calls for a full scoring."""

from __future__ import annotations

import json
import math
from pathlib import Path

import polars as pl
import pytest

from cdp.identity.model import EDGE_FLOOR_MARGIN_BITS, ClusteringPolicy
from cdp.pipeline import ModelVersion
from cdp.resolve.reweigh import TERM_FREQUENCY_JUMP_BITS, drift_growth_limit
from cdp.runmodes import FULL, INCREMENTAL, _drift_limit_reached

MODEL_FILE = Path(__file__).resolve().parents[3] / "data" / "sample" / "linkage_model.json"


def _odds(probability: float) -> float:
    return probability / (1 - probability)


def test_the_edge_floor_sits_the_margin_below_the_review_band() -> None:
    policy = ClusteringPolicy()
    bits = math.log2(_odds(policy.review_band[0]) / _odds(policy.edge_floor))
    assert bits == pytest.approx(EDGE_FLOOR_MARGIN_BITS)


def test_growth_limit_follows_the_models_term_frequency_weights() -> None:
    model = MODEL_FILE.read_text()
    # first_name, email and household each adjust for term frequency with weight 1: a pair can
    # gain 3 bits per doubling and lose 1 to the prior, so 0.75 bits allow 2 ** (0.75 / 2).
    limit = drift_growth_limit(model, margin_bits=1.0)
    assert limit == pytest.approx(2 ** ((1.0 - TERM_FREQUENCY_JUMP_BITS) / 2))
    # Without term-frequency adjustments growth only lowers weights: no limit.
    settings = json.loads(model)
    for comparison in settings["comparisons"]:
        for level in comparison["comparison_levels"]:
            level.pop("tf_adjustment_column", None)
            level.pop("tf_adjustment_weight", None)
    assert drift_growth_limit(json.dumps(settings), margin_bits=1.0) is None


def _runs(*rows: tuple[str, int]) -> pl.DataFrame:
    return pl.DataFrame({"mode": [mode for mode, _ in rows], "records": [records for _, records in rows]})


def test_a_daily_run_scores_everything_again_once_growth_could_use_up_the_margin() -> None:
    model = ModelVersion(MODEL_FILE.read_text(), origin="test")
    limit = drift_growth_limit(model.model_json, margin_bits=EDGE_FLOOR_MARGIN_BITS)
    assert limit is not None
    runs = _runs((FULL, 1_000), (INCREMENTAL, 1_100), (INCREMENTAL, 1_200))
    assert _drift_limit_reached(runs, math.floor(1_000 * limit), model) is None
    reason = _drift_limit_reached(runs, math.ceil(1_000 * limit) + 1, model)
    assert reason is not None and reason.startswith("population grew 30% since it was last scored in full")
    # Measured from the latest full scoring, not the first.
    later_full = _runs((FULL, 1_000), (INCREMENTAL, 1_250), (FULL, 1_300))
    assert _drift_limit_reached(later_full, 1_400, model) is None
    assert _drift_limit_reached(None, 10_000, model) is None
