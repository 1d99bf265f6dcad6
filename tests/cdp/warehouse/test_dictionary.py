from __future__ import annotations

from pathlib import Path

import polars as pl
import typer
from typer.testing import CliRunner

from cdp.cli.sql_cmds import register
from cdp.schemas.docs import TableDoc
from cdp.warehouse import Warehouse
from cdp.warehouse.dictionary import build_data_dictionary, discover_table_docs


def test_dictionary_lists_types_descriptions_gaps_pii_and_masked_views(
    tmp_path: Path, people: pl.DataFrame
) -> None:
    warehouse = Warehouse(tmp_path / "wh")
    warehouse.publish(
        {"people": people, "zeta": pl.DataFrame({"n": [1]})},
        run_id="r1",
        views={"core_people": "SELECT * FROM people WHERE source = 'core'"},
    )
    doc = TableDoc(
        name="people",
        description="Party records. One per source row.",
        grain="one row per record",
        columns={"source": "Source table name.", "retired_column": "Gone."},
        contains_pii=True,
    )

    text = build_data_dictionary(warehouse, [doc])

    assert text.index("## `people`") < text.index("## `zeta`")
    assert "- [`people`](#people): Party records." in text
    assert "| `source` | VARCHAR |  | Source table name. |" in text
    assert "| `first_name` | VARCHAR | name | (undocumented) |" in text
    assert "| `national_id_token` | VARCHAR | secret | (undocumented) |" in text
    assert "| `date_of_birth` | DATE | birth_date | (undocumented) |" in text
    assert "| `mw_first_name` | DOUBLE |  | (undocumented) |" in text
    assert "Documented but not published: `retired_column`." in text
    assert "`national_id_token` left out" in text
    assert "`date_of_birth` birth year only (as `birth_year`)" in text
    assert "### `core_people`" in text
    assert "## `zeta`\n\n(undocumented)" in text


def test_table_docs_are_discovered_from_stage_packages() -> None:
    docs = discover_table_docs(("identity", "no_such_package"))
    assert "identity_clusters" in {doc.name for doc in docs}


def test_cdp_docs_command_writes_the_file(tmp_path: Path, people: pl.DataFrame) -> None:
    warehouse = Warehouse(tmp_path / "wh")
    warehouse.publish({"people": people}, run_id="r1")
    app = typer.Typer()
    register(app)

    result = CliRunner().invoke(app, ["docs", "-w", str(warehouse.root), "--out", str(tmp_path / "dd.md")])

    assert result.exit_code == 0, result.output
    assert (tmp_path / "dd.md").read_text().startswith("# cdp data dictionary")
