"""Person names in matching form: lower-case ASCII, no punctuation, no honorifics or suffixes.

Conventions (docs/contracts.md): accents are transliterated, apostrophes dropped, hyphens, dots
and any other punctuation become spaces, whitespace is collapsed, and empty or placeholder values
("N/A", "UNKNOWN", "TEST") are null. Honorifics before a name (Mr, Mrs, Dr ...) and generational
or professional suffixes after it (Jr, Sr, II, III, MD ...) are dropped: they describe the person,
not the name, and sources disagree on whether they carry them.
"""

from __future__ import annotations

import polars as pl

from cdp.standardize._text import Stage, collapse_spaces, null_if_blank, staged, transliterated

HONORIFICS: tuple[str, ...] = ("mr", "mrs", "ms", "miss", "mx", "dr", "prof", "rev", "sir", "dame", "madam")
SUFFIXES: tuple[str, ...] = (
    "jr", "sr", "ii", "iii", "iv", "2nd", "3rd", "4th", "md", "phd", "esq", "dds", "dvm", "cpa",
)
#: Values that stand for "no name" rather than a name.
PLACEHOLDERS: tuple[str, ...] = (
    "na", "n a", "unknown", "unk", "test", "none", "null", "nil", "not available", "not provided", "tbd",
)
#: Words that belong to the surname that follows them ("de la cruz", "van der berg", "st john").
SURNAME_PARTICLES: tuple[str, ...] = (
    "van", "von", "der", "den", "de", "del", "della", "dela", "da", "das", "do", "dos", "di", "du",
    "la", "le", "st", "ste", "bin", "ibn", "al", "el",
)


def _alternation(words: tuple[str, ...]) -> str:
    return "|".join(sorted((word.replace(" ", r"\s") for word in words), key=len, reverse=True))


_LEADING_HONORIFICS = rf"^(?:(?:{_alternation(HONORIFICS)})\s)+"
_TRAILING_SUFFIXES = rf"(?:\s(?:{_alternation(SUFFIXES)}))+$"
_ONLY_NON_NAMES = rf"^(?:(?:{_alternation(PLACEHOLDERS + HONORIFICS + SUFFIXES)})(?:\s|$))+$"
_SURNAME = rf"\b(?:(?:{_alternation(SURNAME_PARTICLES)})\s+)*\S+$"


V = pl.col("value")


def _ascii_lower(expr: pl.Expr) -> pl.Expr:
    return transliterated(expr).str.to_lowercase().str.replace_all(r"['`]", "")


def _clean_stages(source: str, target: str) -> list[Stage]:
    """Steps turning the transliterated lower-case fragment in ``source`` into a matching form."""
    words, trimmed = f"{target}__words", f"{target}__trimmed"
    return [
        {words: collapse_spaces(pl.col(source).str.replace_all(r"[^a-z0-9]+", " "))},
        {trimmed: pl.col(words).str.replace(_LEADING_HONORIFICS, "").str.replace(_TRAILING_SUFFIXES, "")},
        {
            target: pl.when(
                pl.col(trimmed).str.contains("[a-z]") & ~pl.col(trimmed).str.contains(_ONLY_NON_NAMES)
            ).then(pl.col(trimmed))
        },
    ]


def _merge(*stage_lists: list[Stage]) -> list[Stage]:
    """Run independent step lists side by side (step i of each in the same ``with_columns``)."""
    return [
        {name: expr for stages in stage_lists if i < len(stages) for name, expr in stages[i].items()}
        for i in range(max(len(stages) for stages in stage_lists))
    ]


def normalized_name(col: str | pl.Expr) -> pl.Expr:
    """A first, middle or last name in matching form.

    Args:
        col: Column name or string expression.

    Returns:
        Lower-case ASCII name with punctuation removed, honorifics and suffixes dropped;
        null for empty and placeholder values.

    Example:
        >>> df = pl.DataFrame({"name": ["  José ", "Mary-Jane", "O'Neil Jr.", "Ørsted", "N/A", ""]})
        >>> df.select(normalized_name("name"))["name"].to_list()
        ['jose', 'mary jane', 'oneil', 'orsted', None, None]
    """
    stages = [{"ascii": _ascii_lower(V)}, *_clean_stages("ascii", "result")]
    return staged(col, stages, return_dtype=pl.String())


def _split_stages() -> list[Stage]:
    """Steps from ``value`` to the struct ``parts`` {first_name, middle_name, last_name}."""
    text, words, rest, given = pl.col("text"), pl.col("words"), pl.col("rest"), pl.col("given")
    has_comma = pl.col("has_comma")
    # Keep commas (they mark "last, first") and hyphens (they join one name) until the split.
    prepared = collapse_spaces(_ascii_lower(V).str.replace_all(r"[^a-z0-9,\-]+", " "))
    prepared = prepared.str.replace_all(r"\s*,\s*", ",").str.strip_chars(", -")
    prepared = prepared.str.replace(rf"(?:[,\s](?:{_alternation(SUFFIXES)}))+$", "")
    prepared = prepared.str.replace(_LEADING_HONORIFICS, "")
    return [
        {"prepared": prepared},
        {"text": pl.when(~pl.col("prepared").str.replace_all(r"[,\-]+", " ").str.contains(_ONLY_NON_NAMES))
            .then(pl.col("prepared"))},
        {
            "has_comma": text.str.contains(","),
            "surname_first": text.str.extract(r"^([^,]*),", 1),
            "given": text.str.extract(r"^[^,]*,(.*)$", 1).str.replace_all(",", " ").str.strip_chars()
            .str.replace(_LEADING_HONORIFICS, ""),
            "words": text.str.replace_all(",", " "),
        },
        {"rest": words.str.extract(r"^\S+\s+(.+)$", 1)},
        {"rest_last": rest.str.extract(rf"({_SURNAME})", 1)},
        {
            "first_raw": pl.when(has_comma).then(given.str.extract(r"^(\S+)", 1))
            .when(rest.is_not_null()).then(words.str.extract(r"^(\S+)", 1)),
            "middle_raw": pl.when(has_comma).then(given.str.extract(r"^\S+\s+(.+)$", 1))
            .otherwise(rest.str.head(rest.str.len_chars() - pl.col("rest_last").str.len_chars())
                       .str.strip_chars()),
            "last_raw": pl.when(has_comma).then(pl.col("surname_first"))
            .otherwise(pl.coalesce(pl.col("rest_last"), words)),
        },
        *_merge(
            _clean_stages("first_raw", "first_name"),
            _clean_stages("middle_raw", "middle_name"),
            _clean_stages("last_raw", "last_name"),
        ),
        {"parts": pl.struct("first_name", "middle_name", "last_name")},
    ]


_PARTS_DTYPE = pl.Struct({"first_name": pl.String(), "middle_name": pl.String(), "last_name": pl.String()})


def split_full_name(col: str | pl.Expr) -> pl.Expr:
    """Split a full name into normalized ``first_name``, ``middle_name`` and ``last_name``.

    Understands "Last, First Middle" (a comma marks the surname), "First Middle Last",
    card embossing ("J SMITH"), honorifics, suffixes (also after a comma: "John Smith, Jr") and
    surname particles ("Juan de la Cruz" -> last name "de la cruz"). A single word is taken as
    the last name, the more identifying of the two.

    Args:
        col: Column name or string expression holding the full name.

    Returns:
        A struct expression with string fields ``first_name``, ``middle_name``, ``last_name``.

    Example:
        >>> df = pl.DataFrame({"full_name": ["SMITH, JOHN A", "J SMITH", "Dr. John A. Smith III"]})
        >>> df.select(split_full_name("full_name")).unnest("full_name").rows()
        [('john', 'a', 'smith'), ('j', None, 'smith'), ('john', 'a', 'smith')]
    """
    return staged(col, [*_split_stages(), {"result": pl.col("parts")}], return_dtype=_PARTS_DTYPE)


def joined_name(*parts: pl.Expr) -> pl.Expr:
    """Normalized name parts joined with spaces ("first middle last"); null when all are null."""
    return null_if_blank(pl.concat_str(list(parts), separator=" ", ignore_nulls=True))


def normalized_full_name(col: str | pl.Expr) -> pl.Expr:
    """A full name in matching form, reordered to "first middle last".

    Example:
        >>> df = pl.DataFrame({"full_name": ["SMITH, JOHN A", "Mrs. Zoë  O'Neil", None]})
        >>> df.select(normalized_full_name("full_name"))["full_name"].to_list()
        ['john a smith', 'zoe oneil', None]
    """
    joined = {"result": joined_name(pl.col("first_name"), pl.col("middle_name"), pl.col("last_name"))}
    return staged(col, [*_split_stages(), joined], return_dtype=pl.String())
