"""Street address lines, cities and postcodes in matching form.

Address words are abbreviated the USPS way (Publication 28: street suffixes, directionals,
secondary unit designators) wherever they occur in the line, not only in the suffix position:
the result is a matching key, so what matters is that two sources spelling the same address
differently end up identical.
"""

from __future__ import annotations

import polars as pl

from cdp.standardize._text import (
    Stage,
    as_expr,
    collapse_spaces,
    null_if_blank,
    replace_words,
    staged,
    transliterated,
    word_table,
)

DIRECTIONALS: dict[str, str] = {
    "north": "n", "south": "s", "east": "e", "west": "w",
    "northeast": "ne", "northwest": "nw", "southeast": "se", "southwest": "sw",
    "north east": "ne", "north west": "nw", "south east": "se", "south west": "sw",
}

STREET_SUFFIXES: dict[str, str] = {
    "street": "st", "str": "st", "strt": "st", "avenue": "ave", "av": "ave", "aven": "ave", "avn": "ave",
    "road": "rd", "boulevard": "blvd", "boul": "blvd", "blv": "blvd", "drive": "dr", "drv": "dr",
    "driv": "dr", "lane": "ln", "court": "ct", "crt": "ct", "place": "pl", "terrace": "ter",
    "circle": "cir", "circ": "cir", "highway": "hwy", "hiway": "hwy", "parkway": "pkwy", "pky": "pkwy",
    "square": "sq", "trail": "trl", "expressway": "expy", "freeway": "fwy", "turnpike": "tpke",
    "alley": "aly", "plaza": "plz", "crossing": "xing", "center": "ctr", "centre": "ctr",
    "heights": "hts", "junction": "jct", "point": "pt", "ridge": "rdg", "route": "rte",
    "cove": "cv", "creek": "crk", "crescent": "cres", "estates": "ests", "gardens": "gdns",
    "grove": "grv", "harbor": "hbr", "hollow": "holw", "meadows": "mdws", "mountain": "mtn",
    "station": "sta", "valley": "vly", "village": "vlg", "causeway": "cswy", "extension": "ext",
    "mount": "mt", "fort": "ft", "saint": "st",
}

UNIT_DESIGNATORS: dict[str, str] = {
    "apartment": "apt", "unit": "apt", "#": "apt", "suite": "ste",
    "floor": "fl", "room": "rm", "building": "bldg", "department": "dept", "space": "spc",
    "post office box": "po box", "p o box": "po box", "pob": "po box",
}

ORDINALS: dict[str, str] = {
    "first": "1st", "second": "2nd", "third": "3rd", "fourth": "4th", "fifth": "5th",
    "sixth": "6th", "seventh": "7th", "eighth": "8th", "ninth": "9th", "tenth": "10th",
}

#: Words abbreviated in city names (a city is a name, so street suffixes stay spelled out).
CITY_WORDS: dict[str, str] = {**DIRECTIONALS, "saint": "st", "sainte": "ste", "fort": "ft", "mount": "mt"}

_PLACEHOLDERS = r"^(?:n a|na|none|null|unknown|unk|test|no address|not provided)$"
_LINE_TABLE = word_table({**DIRECTIONALS, **STREET_SUFFIXES, **UNIT_DESIGNATORS, **ORDINALS})
_CITY_TABLE = word_table(CITY_WORDS)
_UNIT_WORDS = r"apartment|apt|unit|suite|ste|room|rm|floor|fl|building|bldg|no|number"
V = pl.col("value")


def _address_words(expr: pl.Expr) -> pl.Expr:
    """Transliterated lower-case words: dots and apostrophes vanish, other punctuation splits."""
    text = transliterated(expr).str.to_lowercase()
    # "#" is a unit marker: redundant after a designator ("suite #2"), a unit of its own otherwise.
    text = text.str.replace_all(rf"\b({_UNIT_WORDS})\.?\s*#\s*", "${1} ").str.replace_all("#", " # ")
    text = text.str.replace_all(r"[.'`]", "").str.replace_all(r"[^a-z0-9#]+", " ")
    return collapse_spaces(text)


def _address_stages(words: pl.Expr, table: tuple[list[str], list[str]]) -> list[Stage]:
    line = pl.col("line")
    return [
        {"words": words},
        {"line": replace_words(pl.col("words"), table)},
        {"result": pl.when((line.str.len_bytes() > 0) & ~line.str.contains(_PLACEHOLDERS)).then(line)},
    ]


def normalized_address(col: str | pl.Expr) -> pl.Expr:
    """An address line in matching form.

    Args:
        col: Column name or string expression (address_line1 or address_line2).

    Returns:
        Lower-case ASCII line without punctuation, with USPS abbreviations for street suffixes,
        directionals, ordinals one to ten and unit designators (apartment, unit, # -> apt;
        suite -> ste); null when empty.

    Example:
        >>> df = pl.DataFrame({"line": ["123 North Main Street, Apt. #4B", "45 W. Oak Avenue Suite 200"]})
        >>> df.select(normalized_address("line"))["line"].to_list()
        ['123 n main st apt 4b', '45 w oak ave ste 200']
    """
    return staged(col, _address_stages(_address_words(V), _LINE_TABLE), return_dtype=pl.String())


def normalized_city(col: str | pl.Expr) -> pl.Expr:
    """A city name in matching form ("St. Louis" and "Saint Louis" -> "st louis").

    Example:
        >>> df = pl.DataFrame({"city": ["Saint Louis", "ST. LOUIS", "North Las Vegas", "Coeur d'Alène"]})
        >>> df.select(normalized_city("city"))["city"].to_list()
        ['st louis', 'st louis', 'n las vegas', 'coeur dalene']
    """
    words = collapse_spaces(_address_words(V).str.replace_all("#", ""))
    return staged(col, _address_stages(words, _CITY_TABLE), return_dtype=pl.String())


#: Countries whose postal codes are US ZIP codes.
ZIP_COUNTRIES: tuple[str, ...] = ("US", "PR", "VI", "GU", "AS", "MP", "UM")


def normalized_postcode(col: str | pl.Expr, *, country: str | pl.Expr | None = None) -> pl.Expr:
    """A postcode: the 5-digit ZIP for US addresses, the upper-case code elsewhere.

    ZIP+4 keeps its first five digits; a ZIP that lost its leading zeros to a numeric column
    ("2134", "2134-5678", "21345678") is padded back. For addresses outside ZIP countries the
    code is upper-cased with punctuation turned into spaces ("sw1a-1aa" -> "SW1A 1AA").

    Args:
        col: Column name or expression (integers are read as their digits).
        country: ISO alpha-2 country code or an expression holding it; ``None`` means US.

    Returns:
        Postcode string, or null when a US postcode is not a ZIP (or is all zeros).

    Example:
        >>> df = pl.DataFrame({"zip": ["12345-6789", "2134", "123456789", "abc", None]})
        >>> df.select(normalized_postcode("zip"))["zip"].to_list()
        ['12345', '02134', '12345', None, None]
    """
    text = pl.col("text")
    zip9 = text.str.extract(r"^(\d{8,9})$", 1).str.zfill(9).str.slice(0, 5)
    zip5 = text.str.extract(r"^(\d{3,5})(?:\s*-\s*\d{4}|\s+\d{4})?$", 1).str.zfill(5)
    zip_code = pl.when(pl.col("zip") != "00000").then(pl.col("zip"))
    if country is None:
        is_zip_country: pl.Expr = pl.lit(True)
        context = None
    else:
        is_zip_country = pl.col("country").is_in(list(ZIP_COUNTRIES)).fill_null(True)
        context = {"country": as_expr(country) if isinstance(country, pl.Expr) else pl.lit(country.upper())}
    local = collapse_spaces(text.str.to_uppercase().str.replace_all(r"[^A-Z0-9]+", " "))
    return staged(
        col,
        [
            {"text": pl.col("value").str.strip_chars()},
            {"zip": pl.coalesce(zip9, zip5), "local": local},
            {"result": pl.when(is_zip_country).then(zip_code).otherwise(null_if_blank(pl.col("local")))},
        ],
        return_dtype=pl.String(),
        context=context,
    )
