"""Train the Splink model: prior from deterministic rules, u by seeded sampling, m by EM passes.

Everything is deterministic for a seed: u sampling is seeded, EM blocks on fixed rules, and the
saved probabilities are rounded so floating-point summation order on several threads cannot
change the model file.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Collection
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import polars as pl
from splink import Linker, block_on
from splink.blocking_analysis import count_comparisons_from_blocking_rules
from splink.internals.blocking_rule_creator import BlockingRuleCreator
from splink.internals.exceptions import EMTrainingException

from cdp.errors import CdpError
from cdp.resolve.context import apply_context_probabilities, floor_unobserved_u
from cdp.resolve.dialects import MODEL_DIALECT, dialect_of, linker_settings, with_model_sql
from cdp.resolve.prepare import detect_placeholders, prepare_linkage_input
from cdp.resolve.settings import build_settings

if TYPE_CHECKING:
    from splink.internals.database_api import DatabaseAPISubClass
    from splink.internals.splink_dataframe import SplinkDataFrame

    from cdp.engine import LinkageEngine

log = logging.getLogger(__name__)

#: Party columns whose presence (any non-null value) switches comparisons and blocking rules on.
FEATURE_COLUMNS: tuple[str, ...] = (
    "first_name",
    "last_name",
    "full_name",
    "date_of_birth",
    "email",
    "phone",
    "address_line1",
    "city",
    "state",
    "postcode",
    "national_id_token",
    "national_id_last4_token",
)

#: Rules that admit (almost) only true matches, for the prior; their assumed recall is below.
PRIOR_RULES: tuple[tuple[str, ...], ...] = (
    ("national_id_token",),
    ("dob", "national_id_last4_token", "last_name"),
    ("email", "first_name", "last_name"),
    ("phone", "first_name", "last_name"),
    ("dob", "first_name", "last_name"),
)
#: Share of true pairs the prior rules find: measured 0.5-0.7 on generated bank data, where
#: nicknames, initials and missing contact details hide the rest.
PRIOR_RULES_RECALL = 0.6

#: EM passes. Each blocks on two fields that together mostly pick out one person, so EM is not
#: asked to tell a duplicate from a household member (who shares surname, address, phone and
#: often e-mail); the blocked fields' own comparisons are estimated in the other passes.
#: The birth-date comparison reads the street line and phone too (its "same household" level), so
#: a pass blocked on neither birth date nor phone estimates it: e-mail + first name, or, for a
#: source without e-mail, first + last name (the fallback only runs when e-mail is absent).
EM_PASSES: tuple[tuple[str, ...], ...] = (
    ("dob", "first_name"),
    ("email", "dob"),
    ("phone", "first_name"),
    ("email", "first_name"),
    ("dob", "national_id_last4_token"),
)
EM_FALLBACK_PASS: tuple[str, ...] = ("first_name", "last_name")


class TrainingError(CdpError):
    """The data cannot train a linkage model (too few records, no comparable columns)."""


@dataclass(frozen=True)
class TrainedModel:
    """A trained Splink model and how training went.

    Attributes:
        model_json: Splink settings with trained parameters (load with ``Linker(df, json.loads(...))``).
        report: Timings in seconds, record count, prior, placeholders found, comparisons per
            prediction blocking rule (marginal and cumulative), EM passes.
    """

    model_json: str
    report: dict[str, Any] = field(default_factory=dict)


def available_columns(parties: pl.DataFrame) -> list[str]:
    """Feature columns of ``parties`` that carry at least one value."""
    return [
        name
        for name in FEATURE_COLUMNS
        if name in parties.columns and parties.height > parties[name].null_count()
    ]


def register_input(db_api: DatabaseAPISubClass, frame: pl.DataFrame, name: str) -> SplinkDataFrame:
    """Register a prepared frame with Splink under ``name``: as Arrow for DuckDB, as a Spark
    DataFrame built from Arrow for Spark (pandas cannot say what type a list column holds)."""
    data: Any = frame.to_arrow()
    if db_api.sql_dialect.sql_dialect_str == "spark":
        # One Spark session serves every linker in the process: an earlier call's view goes.
        db_api.spark.catalog.dropTempView(name)
        data = db_api.spark.createDataFrame(data)
    return db_api.register(data, table_name=name)


def _rounded(value: Any, digits: int = 10) -> Any:
    if isinstance(value, float):
        return float(f"{value:.{digits}g}")
    if isinstance(value, dict):
        return {key: _rounded(item, digits) for key, item in value.items()}
    if isinstance(value, list):
        return [_rounded(item, digits) for item in value]
    return value


def blocking_counts(
    prepared: SplinkDataFrame, rules: list[Any], *, sample: float = 1.0
) -> list[dict[str, Any]]:
    """Marginal and cumulative comparisons each prediction blocking rule generates."""
    records = count_comparisons_from_blocking_rules(
        prepared,
        blocking_rules=rules,
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        record_sample_proportion=sample,
    )
    return [
        {
            "rule": record["blocking_rule"],
            "marginal": int(record["marginal_comparison_count"]),
            "cumulative": int(record["cumulative_comparison_count"]),
        }
        for record in records
    ]


def train_model(
    parties: pl.DataFrame,
    *,
    engine: LinkageEngine,
    seed: int = 42,
    max_pairs_u: float = 1e7,
    max_pairs_em: float = 2e6,
    columns: Collection[str] | None = None,
) -> TrainedModel:
    """Train the linkage model on ``std_parties``.

    Args:
        parties: ``std_parties`` rows (at least a few hundred records for stable estimates).
        engine: Linkage engine (DuckDB or Spark).
        seed: Seed for u sampling; same data and seed give the same model file.
        max_pairs_u: Random pairs sampled to estimate u.
        max_pairs_em: Cap on blocked pairs per EM pass.
        columns: Party columns to model; default: every feature column with data.

    Returns:
        The model JSON and a training report.

    Raises:
        TrainingError: With fewer than 10 records or no comparable column.
    """
    if parties.height < 10:
        raise TrainingError(f"need at least 10 party records to train a linkage model, got {parties.height}")
    timings: dict[str, float] = {}
    started = time.perf_counter()
    placeholders = detect_placeholders(parties)
    prepared = prepare_linkage_input(parties, placeholders=placeholders)
    available = list(columns) if columns is not None else available_columns(parties)
    settings = build_settings(available)
    if not settings.comparisons:
        raise TrainingError("no comparable party columns (names, birth date, contact details or IDs)")
    compared = {c["output_column_name"] for c in settings.comparisons}  # type: ignore[index]
    timings["prepare"] = time.perf_counter() - started

    db_api = engine.db_api()
    table = register_input(db_api, prepared, "cdp_linkage_input")
    step = time.perf_counter()
    sample = 1.0 if prepared.height <= 300_000 else 0.2
    counts = blocking_counts(table, settings.blocking_rules_to_generate_predictions, sample=sample)
    timings["blocking_analysis"] = time.perf_counter() - step

    linker = Linker(table, linker_settings(settings, dialect_of(db_api)), log_level=None)
    step = time.perf_counter()
    prior_rules: list[str | BlockingRuleCreator] = [
        block_on(*rule) for rule in PRIOR_RULES if _usable(rule, available)
    ]
    if prior_rules:
        linker.training.estimate_probability_two_random_records_match(prior_rules, recall=PRIOR_RULES_RECALL)
    if not linker._settings_obj._probability_two_random_records_match:
        # No deterministic match at all: assume one duplicate per record pair of the largest block
        # rather than a prior of 0, which would make every match weight minus infinity.
        linker._settings_obj._probability_two_random_records_match = 1 / max(prepared.height, 2) ** 2
    timings["prior"] = time.perf_counter() - step

    step = time.perf_counter()
    linker.training.estimate_u_using_random_sampling(max_pairs=max_pairs_u, seed=seed)
    timings["u"] = time.perf_counter() - step

    step = time.perf_counter()
    em_passes: list[str] = []
    em_skipped: list[str] = []
    passes = EM_PASSES if _usable(("email",), available) else (*EM_PASSES, EM_FALLBACK_PASS)
    for rule in passes:
        blocked = {_COMPARISON_OF.get(column, column) for column in rule}
        if not _usable(rule, available) or not (compared - blocked):
            continue
        # Splink's pair sampling needs a probe sample that finds pairs; small data needs none.
        cap = max_pairs_em if prepared.height > 100_000 else None
        if _em_pass(linker, rule, max_pairs=cap):
            em_passes.append("+".join(rule))
        else:
            em_skipped.append("+".join(rule))
    timings["em"] = time.perf_counter() - step

    step = time.perf_counter()
    floored = floor_unobserved_u(
        linker._settings_obj, sampled_pairs=min(max_pairs_u, prepared.height * (prepared.height - 1) / 2)
    )
    context = apply_context_probabilities(linker._settings_obj, prepared)
    timings["context"] = time.perf_counter() - step

    model = linker.misc.save_model_to_json()
    if dialect_of(db_api) != MODEL_DIALECT:
        # Stored in one dialect, so a model trained on Spark also scores on DuckDB.
        model = with_model_sql(model, settings.create_settings_dict(MODEL_DIALECT))
    model = _rounded(model)
    model_json = json.dumps(model, indent=2)
    db_api.delete_tables_created_by_splink_from_db()
    timings["total"] = time.perf_counter() - started
    report: dict[str, Any] = {
        "records": prepared.height,
        "comparisons": sorted(compared),
        "probability_two_random_records_match": model["probability_two_random_records_match"],
        "placeholder_values": placeholders.count(),
        "blocking_rules": counts,
        "blocking_comparisons": counts[-1]["cumulative"] if counts else 0,
        "em_passes": em_passes,
        "em_passes_skipped": em_skipped,
        "u_floored_levels": floored,
        "context_u": context,
        "seconds": {key: round(value, 2) for key, value in timings.items()},
    }
    log.info(
        "trained linkage model: records=%d comparisons=%d seconds=%.1f",
        prepared.height,
        report["blocking_comparisons"],
        timings["total"],
    )
    return TrainedModel(model_json=model_json, report=report)


#: Smallest m probability kept after an EM pass. A level seen only among clear non-matches
#: drifts towards m = 0; the next pass would then underflow to exactly 0, which Splink rejects.
M_FLOOR = 1e-6


def _em_pass(linker: Linker, rule: tuple[str, ...], *, max_pairs: float | None) -> bool:
    """One EM pass; on an m underflow, restore the parameters and retry with fewer iterations.

    EM drives the m of a level seen only among clear non-matches towards 0 geometrically, and
    Splink refuses an m that underflows. Stopping earlier keeps the estimate of every other
    level; if even one iteration underflows, the pass is skipped (the model is unchanged).
    """
    settings = linker._settings_obj
    saved = settings.core_model_settings.copy()
    original = settings.training_settings
    try:
        while True:
            try:
                linker.training.estimate_parameters_using_expectation_maximisation(
                    block_on(*rule), max_pairs=max_pairs, estimate_without_term_frequencies=True
                )
            except EMTrainingException:
                # The rule finds no pairs in this data (e.g. no source has both fields).
                settings.core_model_settings = saved.copy()
                log.info("EM pass on %s skipped: no blocked pairs", "+".join(rule))
                return False
            except ValueError as error:
                settings.core_model_settings = saved.copy()
                log.warning(
                    "EM pass on %s underflowed after at most %d iterations: %s",
                    "+".join(rule),
                    settings.training_settings.max_iterations,
                    str(error)[:60],
                )
                if settings.training_settings.max_iterations <= 1:
                    return False
                settings.training_settings = replace(
                    settings.training_settings, max_iterations=settings.training_settings.max_iterations // 2
                )
                continue
            _floor_m_probabilities(linker)
            return True
    finally:
        settings.training_settings = original


def _floor_m_probabilities(linker: Linker) -> None:
    for comparison in linker._settings_obj.comparisons:
        for level in comparison._comparison_levels_excluding_null:
            m = level._m_probability
            if isinstance(m, float) and m < M_FLOOR:
                level.m_probability = M_FLOOR


#: Linkage column -> the party column that must carry data for a rule on it to make sense.
_PARTY_OF = {"dob": "date_of_birth"}
_COMPARISON_OF = {
    "national_id_token": "national_id",
    "national_id_last4_token": "national_id",
    "email_local": "email",
}


def _usable(rule: tuple[str, ...], available: Collection[str]) -> bool:
    present = set(available)
    if present & {"full_name"}:
        present |= {"first_name", "last_name"}
    return all(_PARTY_OF.get(column, column) in present for column in rule)
