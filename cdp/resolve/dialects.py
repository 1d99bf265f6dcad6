"""Carry a linkage model's SQL from the dialect it was written in to the engine that runs it.

The comparisons are written once, in DuckDB SQL (``cdp.resolve.settings``), and a trained model
stores that SQL. Splink translates a ``CustomLevel`` it builds itself, but not the levels of a
saved model, and its Spark backend names the string-similarity functions after the UDFs of its
own jar (``jaro_winkler``, not ``jaro_winkler_similarity``). So a model trained on DuckDB is
rewritten here, level by level and rule by rule, before Splink sees it on another engine; its
trained parameters are left untouched, so scores agree across engines.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import sqlglot
from sqlglot import exp

from cdp.errors import ConfigError

#: The dialect the model's SQL is written in (``cdp.resolve.settings``).
MODEL_DIALECT = "duckdb"


def _spark_function(node: exp.Expression) -> exp.Expression:
    """Rename what sqlglot leaves as DuckDB's to what Spark (and Splink's Spark UDFs) call it."""
    if isinstance(node, exp.Anonymous):
        renamed = {"JARO_WINKLER_SIMILARITY": "jaro_winkler", "LIST_INTERSECT": "array_intersect"}
        name = renamed.get(node.name.upper())
        if name is not None:
            return exp.Anonymous(this=name, expressions=node.expressions)
    if isinstance(node, exp.JarowinklerSimilarity):
        return exp.Anonymous(this="jaro_winkler", expressions=[node.this, node.expression])
    if isinstance(node, exp.ArrayIntersect):
        return exp.Anonymous(this="array_intersect", expressions=list(node.expressions))
    if isinstance(node, exp.Length) and _is_array(node.this):
        return exp.ArraySize(this=node.this)
    if isinstance(node, exp.ArrayOverlaps):
        return exp.Anonymous(this="arrays_overlap", expressions=[node.this, node.expression])
    return node


def _is_array(node: exp.Expression) -> bool:
    return isinstance(node, (exp.ArrayIntersect, exp.Split)) or (
        isinstance(node, exp.Anonymous) and node.name.lower() in {"list_intersect", "array_intersect"}
    )


_REWRITES: dict[str, Callable[[exp.Expression], exp.Expression]] = {"spark": _spark_function}


def translate_condition(sql: str, dialect: str, *, source: str = MODEL_DIALECT) -> str:
    """One SQL condition (a comparison level or a blocking rule) in ``dialect``.

    Example:
        >>> translate_condition('jaro_winkler_similarity("a_l", "a_r") >= 0.9', "spark")
        'JARO_WINKLER(`a_l`, `a_r`) >= 0.9'
    """
    if dialect == source or sql.strip().upper() == "ELSE":
        return sql
    tree = sqlglot.parse_one(sql, read=source)
    rewrite = _REWRITES.get(dialect)
    if rewrite is not None:
        # A replaced node's children are not visited again: rewrite until nothing changes.
        while (rewritten := tree.transform(rewrite)) != tree:
            tree = rewritten
    return tree.sql(dialect=dialect)


def settings_for_dialect(settings: dict[str, Any], dialect: str) -> dict[str, Any]:
    """A copy of Splink settings (a saved model or a settings dict) whose SQL runs on ``dialect``.

    Raises:
        ConfigError: when a condition cannot be translated (naming the level).
    """
    source = settings.get("sql_dialect") or MODEL_DIALECT
    if source == dialect:
        return settings
    if source != MODEL_DIALECT:
        raise ConfigError(
            f"linkage model: written for {source}, cannot run on {dialect}; retrain it on the "
            f"{dialect} engine (cdp train) or run on {source}"
        )
    translated = copy.deepcopy(settings)
    for comparison in translated.get("comparisons", []):
        for level in comparison["comparison_levels"]:
            level.pop("base_dialect_str", None)
            try:
                level["sql_condition"] = translate_condition(level["sql_condition"], dialect, source=source)
            except sqlglot.errors.SqlglotError as error:
                raise ConfigError(
                    f"linkage model: comparison {comparison.get('output_column_name')!r} level "
                    f"{level.get('label_for_charts')!r} cannot be written for {dialect}: {error}"
                ) from None
    for rule in translated.get("blocking_rules_to_generate_predictions", []):
        if isinstance(rule, dict) and "blocking_rule" in rule:
            rule["blocking_rule"] = translate_condition(rule["blocking_rule"], dialect, source=source)
            rule["sql_dialect"] = dialect
    translated["sql_dialect"] = dialect
    return translated


def linker_settings(settings: Any, dialect: str) -> dict[str, Any]:
    """Settings for ``Linker(table, ...)`` on an engine speaking ``dialect``.

    ``settings`` is a saved model (JSON text), a settings dict, or a ``SettingsCreator``.
    """
    if isinstance(settings, str):
        settings = json.loads(settings)
    elif not isinstance(settings, dict):
        settings = settings.create_settings_dict(MODEL_DIALECT)
    return settings_for_dialect(settings, dialect)


def dialect_of(db_api: Any) -> str:
    """The SQL dialect name of a Splink database API (``duckdb``, ``spark``)."""
    return str(db_api.sql_dialect.sql_dialect_str)


def with_model_sql(trained: dict[str, Any], written: dict[str, Any]) -> dict[str, Any]:
    """A model trained on another engine, its SQL put back as ``written`` (in :data:`MODEL_DIALECT`).

    Models are stored in one dialect so that one trained on Spark scores on DuckDB and the other
    way round; the trained parameters are kept, level by level.

    Raises:
        ValueError: when the two do not have the same comparisons and levels.
    """
    model = copy.deepcopy(trained)
    comparisons = model.get("comparisons", [])
    originals = written.get("comparisons", [])
    shape = [(c["output_column_name"], len(c["comparison_levels"])) for c in comparisons]
    if shape != [(c["output_column_name"], len(c["comparison_levels"])) for c in originals]:
        raise ValueError("the trained model's comparisons differ from the settings it was trained with")
    for comparison, original in zip(comparisons, originals, strict=True):
        for level, written_level in zip(
            comparison["comparison_levels"], original["comparison_levels"], strict=True
        ):
            level["sql_condition"] = written_level["sql_condition"]
    model["blocking_rules_to_generate_predictions"] = copy.deepcopy(
        written.get("blocking_rules_to_generate_predictions", [])
    )
    model["sql_dialect"] = written.get("sql_dialect", MODEL_DIALECT)
    return model
