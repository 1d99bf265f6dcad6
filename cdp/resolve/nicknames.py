"""First-name alias groups from a curated nickname table, so "bill" and "william" can agree.

The table (``data/nicknames.csv``, Apache-2.0, see ``data/NICKNAMES_NOTICE.txt``, plus a few
common US pairs it lacks in ``data/nicknames_extra.csv``) is many-to-many:
"ron" is a nickname of aaron, ronald and veronica. So a name does not get one canonical form; it
gets a *group*: itself plus every name listed as its formal form. Two first names are alias-equal
when their groups intersect (bill -> {bill, robert, will, william, willis}; billy -> {billy,
william, ...}). The table lists some pairs both ways, so groups are generous; the model's m and u
for the "nickname" level price that in.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import polars as pl


@lru_cache(maxsize=1)
def nickname_groups() -> pl.DataFrame:
    """One row per known name: ``name`` and ``name_groups`` (sorted list: the name and its formal names).

    Example:
        >>> groups = nickname_groups()
        >>> groups.filter(pl.col("name") == "bill")["name_groups"].to_list()
        [['bill', 'robert', 'will', 'william', 'willis']]
    """
    tables = []
    for name in ("nicknames.csv", "nicknames_extra.csv"):
        with resources.as_file(resources.files("cdp.resolve").joinpath(f"data/{name}")) as csv_path:
            tables.append(pl.read_csv(csv_path, schema_overrides={"name1": pl.String, "name2": pl.String}))
    pairs = pl.concat(tables)
    pairs = pairs.select(
        formal=pl.col("name1").str.strip_chars().str.to_lowercase(),
        nickname=pl.col("name2").str.strip_chars().str.to_lowercase(),
    )
    memberships = pl.concat(
        [
            pairs.select(name=pl.col("nickname"), group=pl.col("formal")),
            pairs.select(name=pl.col("formal"), group=pl.col("formal")),
            pairs.select(name=pl.col("nickname"), group=pl.col("nickname")),
        ]
    ).unique()
    return memberships.group_by("name").agg(name_groups=pl.col("group").sort()).sort("name")


def with_first_name_groups(frame: pl.DataFrame, *, column: str = "first_name") -> pl.DataFrame:
    """Add ``<column>_groups``: the alias group of the column's first token (or just the token).

    Args:
        frame: Frame with a normalized (lower-case) first-name column.
        column: Name of that column.

    Returns:
        ``frame`` with a ``list[str]`` column ``<column>_groups``, null where the name is null.

    Example:
        >>> frame = with_first_name_groups(pl.DataFrame({"first_name": ["bob", "zed", None]}))
        >>> frame["first_name_groups"].to_list()
        [['bert', 'bob', 'bobby', 'robert'], ['zed', 'zedediah'], None]
    """
    token = f"__{column}_token"
    groups = nickname_groups().rename({"name": token, "name_groups": f"{column}_groups"})
    keyed = frame.with_columns(pl.col(column).str.split(" ").list.first().alias(token))
    joined = keyed.join(groups, on=token, how="left", maintain_order="left")
    return joined.with_columns(
        pl.when(pl.col(token).is_null())
        .then(None)
        .otherwise(pl.coalesce(pl.col(f"{column}_groups"), pl.concat_list(pl.col(token))))
        .alias(f"{column}_groups")
    ).drop(token)
