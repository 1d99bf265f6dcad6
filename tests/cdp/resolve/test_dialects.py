"""The model's DuckDB SQL, carried to Spark (no Spark needed: the translation is checked as SQL)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlglot

from cdp.errors import ConfigError
from cdp.resolve.dialects import (
    MODEL_DIALECT,
    linker_settings,
    settings_for_dialect,
    translate_condition,
    with_model_sql,
)
from cdp.resolve.settings import build_settings

SAMPLE_MODEL = Path(__file__).parents[3] / "data" / "sample" / "linkage_model.json"
#: DuckDB spellings Spark does not know (Splink's Spark UDFs and Spark's array functions differ).
DUCKDB_ONLY = ("jaro_winkler_similarity", "list_", "lambda", "string_split", "regexp_matches", "len(")


def _levels(settings: dict) -> list[dict]:
    return [level for comparison in settings["comparisons"] for level in comparison["comparison_levels"]]


@pytest.mark.parametrize(
    ("duckdb_sql", "spark_sql"),
    [
        ('jaro_winkler_similarity("a_l", "a_r") >= 0.9', "JARO_WINKLER(`a_l`, `a_r`) >= 0.9"),
        ('len(list_intersect("g_l", "g_r")) > 0', "SIZE(ARRAY_INTERSECT(`g_l`, `g_r`)) > 0"),
        (
            'list_max(list_transform("g_r", lambda x: jaro_winkler_similarity("n_l", x))) >= 0.92',
            "ARRAY_MAX(TRANSFORM(`g_r`, x -> JARO_WINKLER(`n_l`, x))) >= 0.92",
        ),
        (
            "list_has_any(string_split(\"s_l\", ' '), string_split(\"s_r\", ' '))",
            "ARRAYS_OVERLAP(SPLIT(`s_l`, CONCAT('\\\\Q', ' ', '\\\\E')), "
            "SPLIT(`s_r`, CONCAT('\\\\Q', ' ', '\\\\E')))",
        ),
        ('damerau_levenshtein("p_l", "p_r") <= 1', "DAMERAU_LEVENSHTEIN(`p_l`, `p_r`) <= 1"),
        ("ELSE", "ELSE"),
    ],
)
def test_conditions_use_spark_and_splink_udf_names(duckdb_sql: str, spark_sql: str) -> None:
    assert translate_condition(duckdb_sql, "spark") == spark_sql
    assert translate_condition(duckdb_sql, MODEL_DIALECT) == duckdb_sql


def test_sample_model_on_spark_keeps_its_parameters_and_parses_as_spark() -> None:
    model = json.loads(SAMPLE_MODEL.read_text())
    spark = settings_for_dialect(model, "spark")

    assert spark["sql_dialect"] == "spark"
    assert model["sql_dialect"] == MODEL_DIALECT, "the stored model is not modified"
    for original, level in zip(_levels(model), _levels(spark), strict=True):
        assert {k: v for k, v in level.items() if k != "sql_condition"} == {
            k: v for k, v in original.items() if k != "sql_condition"
        }
        if level["sql_condition"] != "ELSE":
            sqlglot.parse_one(level["sql_condition"], read="spark")
        assert not any(word in level["sql_condition"].lower() for word in DUCKDB_ONLY), level
    rules = spark["blocking_rules_to_generate_predictions"]
    assert len(rules) == len(model["blocking_rules_to_generate_predictions"])
    assert all(rule["sql_dialect"] == "spark" and "`" in rule["blocking_rule"] for rule in rules)


def test_settings_creator_and_model_text_are_accepted() -> None:
    creator = build_settings({"first_name", "last_name", "date_of_birth", "postcode"})
    spark = linker_settings(creator, "spark")
    assert spark["sql_dialect"] == "spark"
    assert [c["output_column_name"] for c in spark["comparisons"]] == ["first_name", "dob", "household"]
    assert linker_settings(SAMPLE_MODEL.read_text(), MODEL_DIALECT) == json.loads(SAMPLE_MODEL.read_text())


def test_a_model_written_for_spark_is_not_guessed_back_to_duckdb() -> None:
    spark = settings_for_dialect(json.loads(SAMPLE_MODEL.read_text()), "spark")
    with pytest.raises(ConfigError, match="written for spark, cannot run on duckdb"):
        settings_for_dialect(spark, "duckdb")


def test_a_model_trained_on_spark_is_stored_with_the_duckdb_sql() -> None:
    written = json.loads(SAMPLE_MODEL.read_text())
    trained = settings_for_dialect(written, "spark")
    trained["comparisons"][0]["comparison_levels"][1]["m_probability"] = 0.5

    stored = with_model_sql(trained, written)

    assert stored["sql_dialect"] == MODEL_DIALECT
    assert [level["sql_condition"] for level in _levels(stored)] == [
        level["sql_condition"] for level in _levels(written)
    ]
    assert stored["comparisons"][0]["comparison_levels"][1]["m_probability"] == 0.5
    rules = "blocking_rules_to_generate_predictions"
    assert stored[rules] == written[rules]
    written["comparisons"][0]["comparison_levels"].pop()
    with pytest.raises(ValueError, match="comparisons differ"):
        with_model_sql(trained, written)
