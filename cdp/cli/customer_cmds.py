"""``cdp customer``: one customer's 360 profile, with the source of every golden value.

Reads the published warehouse only (``customer_360``, ``customer_attribute_lineage``,
``customer_source_records``, ``customer_consent``, ``identity_merged_into``), one customer's rows
at a time through bound-parameter queries, so it stays fast on a warehouse of millions.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any

import polars as pl
import typer
from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from cdp.customer360.survivorship import GOLDEN_COLUMNS
from cdp.errors import NotFoundError

DEFAULT_WAREHOUSE = Path("warehouse")
_MAX_MERGE_HOPS = 50
_SECRET_ATTRIBUTES = frozenset({"national_id_token"})
_HOLDING_LINES = (
    ("deposit", "deposit_accounts", "deposit_balance"),
    ("card", "card_accounts", "card_balance"),
    ("mortgage", "mortgage_accounts", "mortgage_balance"),
    ("loan", "loan_accounts", "loan_balance"),
)

WarehouseOption = Annotated[
    Path, typer.Option("--warehouse", "-w", help="Warehouse folder: cdp.duckdb plus Parquet of every table.")
]


def _customer_rows(warehouse_dir: Path, table: str, customer_id: str) -> pl.DataFrame:
    """The rows of a published table for one customer id (empty if the table is not published)."""
    from cdp.warehouse import Warehouse
    from cdp.warehouse.masking import quote

    warehouse = Warehouse(warehouse_dir)
    if not warehouse.exists(table):
        return pl.DataFrame()
    return warehouse.query(f"SELECT * FROM main.{quote(table)} WHERE customer_id = ?", params=[customer_id])


def resolve_customer(warehouse_dir: Path, customer_id: str) -> tuple[str, list[str]]:
    """The customer id to show, and the merge chain that led there (empty when not merged).

    Raises:
        NotFoundError: The id is neither a current customer nor merged into one.
    """
    from cdp.warehouse import Warehouse

    if not Warehouse(warehouse_dir).exists("customer_360"):
        raise NotFoundError(
            f"customer_360 is not published in warehouse {warehouse_dir}; run `cdp run` first"
        )
    current: str = customer_id
    chain: list[str] = []
    for _ in range(_MAX_MERGE_HOPS):
        if not _customer_rows(warehouse_dir, "customer_360", current).is_empty():
            return current, chain
        merged = _customer_rows(warehouse_dir, "identity_merged_into", current)
        if merged.is_empty() or current in chain:
            break
        chain.append(current)
        current = str(merged.sort("merged_into")["merged_into"][0])
    raise NotFoundError(f"customer {customer_id!r} is not in customer_360 of warehouse {warehouse_dir}")


def register(app: typer.Typer) -> None:
    @app.command("customer")
    def customer(
        customer_id: Annotated[
            str, typer.Argument(help="Customer id (a merged, retired id shows its survivor).")
        ],
        warehouse: WarehouseOption = DEFAULT_WAREHOUSE,
    ) -> None:
        """Show one customer: golden record with each value's source, linked records, products and consent."""
        shown, chain = resolve_customer(warehouse, customer_id)
        profile = _customer_rows(warehouse, "customer_360", shown).row(0, named=True)
        console = Console(highlight=False)
        if chain:
            path = " → ".join([*chain, shown])
            console.print(f"[yellow]{customer_id} was merged into {shown}[/] ({path}); showing the survivor.")
        console.print(_header(profile))
        console.print(_golden_table(profile, _customer_rows(warehouse, "customer_attribute_lineage", shown)))
        console.print(_records_table(_customer_rows(warehouse, "customer_source_records", shown)))
        console.print(_products_table(profile))
        console.print(_consent_table(_customer_rows(warehouse, "customer_consent", shown)))


def _text(value: Any) -> str:
    if value is None:
        return "[dim]∅[/]"
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ", timespec="minutes")
    if isinstance(value, list):
        return ", ".join(map(str, value)) or "[dim]none[/]"
    return str(value)


def _header(profile: dict[str, Any]) -> Panel:
    flags = [
        label
        for column, label in (
            ("is_deceased", "DECEASED"),
            ("do_not_contact", "DO NOT CONTACT"),
            ("in_arrears", "IN ARREARS"),
        )
        if profile.get(column)
    ]
    lines = [
        f"[bold]{_text(profile.get('full_name'))}[/]  age {_text(profile.get('age'))}",
        f"customer since {_text(profile.get('relationship_start_date'))} "
        f"({_text(profile.get('tenure_months'))} months); systems: {_text(profile.get('systems'))}",
        f"household {_text(profile.get('household_id'))} (size {_text(profile.get('household_size'))})",
    ]
    if flags:
        lines.append("[bold red]" + "  ".join(flags) + "[/]")
    return Panel("\n".join(lines), title=f"customer {profile['customer_id']}", expand=False)


def _golden_table(profile: dict[str, Any], lineage: pl.DataFrame) -> Table:
    table = Table(
        "attribute", "value", "source record", "system", "decided by", "value date", title="Golden record"
    )
    by_attribute = (
        {row["attribute"]: row for row in lineage.iter_rows(named=True)} if not lineage.is_empty() else {}
    )
    for attribute in GOLDEN_COLUMNS:
        value = profile.get(attribute)
        if attribute in _SECRET_ATTRIBUTES and value is not None:
            value = "•••• (token on file)"
        origin = by_attribute.get(attribute)
        if origin is None:
            table.add_row(attribute, _text(value), "", "", "", "")
            continue
        table.add_row(
            attribute,
            _text(value),
            f"{origin['source']}:{origin['record_id']}",
            _text(origin["source_system"]),
            origin["rule"],
            _text(origin["value_date"]),
        )
    return table


def _records_table(records: pl.DataFrame) -> Table:
    table = Table("source", "record_id", "system", title="Linked source records")
    if not records.is_empty():
        for row in records.sort("source", "record_id").iter_rows(named=True):
            table.add_row(row["source"], row["record_id"], _text(row["source_system"]))
    return table


def _products_table(profile: dict[str, Any]) -> Table:
    table = Table("product", "open accounts", "balance", "detail", title="Products (open accounts)")
    for family, count, balance in _HOLDING_LINES:
        detail = ""
        if family == "card":
            detail = (
                f"limit {_text(profile.get('card_limit'))}, "
                f"utilization {_text(profile.get('card_utilization'))}, "
                f"max days past due {_text(profile.get('max_days_past_due_card'))}"
            )
        elif family == "mortgage":
            detail = f"max days in arrears {_text(profile.get('max_days_in_arrears_mortgage'))}"
        table.add_row(family, _text(profile.get(count)), _text(profile.get(balance)), detail)
    table.caption = (
        f"{_text(profile.get('n_products'))} open products; digital: "
        f"{'registered' if profile.get('digital_registered') else 'not registered'}, last login "
        f"{_text(profile.get('last_login_at'))}, logins 30d/90d {_text(profile.get('logins_30d'))}/"
        f"{_text(profile.get('logins_90d'))}"
    )
    return table


def _consent_table(consent: pl.DataFrame) -> Table:
    table = Table(
        "purpose", "channel", "state", "since", "given under", title="Consent (no row = not consented)"
    )
    if not consent.is_empty():
        for row in consent.sort("purpose", "channel", nulls_last=True).iter_rows(named=True):
            state = "[green]granted[/]" if row["granted"] else "[red]refused[/]"
            table.add_row(
                row["purpose"],
                _text(row["channel"]),
                state,
                _text(row["updated_at"]),
                f"{row['source']}:{row['record_id']}",
            )
    return table
