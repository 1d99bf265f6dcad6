"""States and countries as codes: US/Canadian 2-letter state codes, ISO-3166 alpha-2 countries.

Country names come from the English region names that ``phonenumbers`` ships (every ISO region),
plus the alpha-3 codes and colloquial names that bank extracts actually carry ("USA", "UK").
"""

from __future__ import annotations

import re
from functools import cache

import polars as pl
from unidecode import unidecode

from cdp.standardize._text import collapse_spaces, staged, transliterated

US_STATES: dict[str, str] = {
    "alabama": "AL", "alaska": "AK", "arizona": "AZ", "arkansas": "AR", "california": "CA",
    "colorado": "CO", "connecticut": "CT", "delaware": "DE", "florida": "FL", "georgia": "GA",
    "hawaii": "HI", "idaho": "ID", "illinois": "IL", "indiana": "IN", "iowa": "IA", "kansas": "KS",
    "kentucky": "KY", "louisiana": "LA", "maine": "ME", "maryland": "MD", "massachusetts": "MA",
    "michigan": "MI", "minnesota": "MN", "mississippi": "MS", "missouri": "MO", "montana": "MT",
    "nebraska": "NE", "nevada": "NV", "new hampshire": "NH", "new jersey": "NJ", "new mexico": "NM",
    "new york": "NY", "north carolina": "NC", "north dakota": "ND", "ohio": "OH", "oklahoma": "OK",
    "oregon": "OR", "pennsylvania": "PA", "rhode island": "RI", "south carolina": "SC",
    "south dakota": "SD", "tennessee": "TN", "texas": "TX", "utah": "UT", "vermont": "VT",
    "virginia": "VA", "washington": "WA", "west virginia": "WV", "wisconsin": "WI", "wyoming": "WY",
    "district of columbia": "DC", "washington dc": "DC", "puerto rico": "PR", "guam": "GU",
    "us virgin islands": "VI", "virgin islands": "VI", "american samoa": "AS",
    "northern mariana islands": "MP", "armed forces americas": "AA", "armed forces europe": "AE",
    "armed forces pacific": "AP",
}

CANADIAN_PROVINCES: dict[str, str] = {
    "alberta": "AB", "british columbia": "BC", "manitoba": "MB", "new brunswick": "NB",
    "newfoundland and labrador": "NL", "newfoundland": "NL", "nova scotia": "NS", "ontario": "ON",
    "prince edward island": "PE", "quebec": "QC", "saskatchewan": "SK", "northwest territories": "NT",
    "nunavut": "NU", "yukon": "YT",
}

#: Traditional (AP style) abbreviations still found in older systems.
STATE_ABBREVIATIONS: dict[str, str] = {
    "ala": "AL", "ariz": "AZ", "ark": "AR", "calif": "CA", "cal": "CA", "colo": "CO", "conn": "CT",
    "del": "DE", "fla": "FL", "ill": "IL", "ind": "IN", "kans": "KS", "kan": "KS", "mass": "MA",
    "mich": "MI", "minn": "MN", "miss": "MS", "mont": "MT", "nebr": "NE", "neb": "NE", "nev": "NV",
    "okla": "OK", "ore": "OR", "penn": "PA", "penna": "PA", "tenn": "TN", "tex": "TX", "wash": "WA",
    "wis": "WI", "wisc": "WI", "wyo": "WY",
}

COUNTRY_ALPHA3: dict[str, str] = {
    "usa": "US", "can": "CA", "mex": "MX", "gbr": "GB", "irl": "IE", "fra": "FR", "deu": "DE",
    "ita": "IT", "esp": "ES", "prt": "PT", "nld": "NL", "bel": "BE", "che": "CH", "aut": "AT",
    "swe": "SE", "nor": "NO", "dnk": "DK", "fin": "FI", "isl": "IS", "pol": "PL", "cze": "CZ",
    "svk": "SK", "hun": "HU", "rou": "RO", "bgr": "BG", "grc": "GR", "tur": "TR", "rus": "RU",
    "ukr": "UA", "isr": "IL", "egy": "EG", "zaf": "ZA", "nga": "NG", "ken": "KE", "gha": "GH",
    "mar": "MA", "ind": "IN", "pak": "PK", "bgd": "BD", "lka": "LK", "npl": "NP", "chn": "CN",
    "hkg": "HK", "twn": "TW", "jpn": "JP", "kor": "KR", "prk": "KP", "vnm": "VN", "tha": "TH",
    "phl": "PH", "idn": "ID", "mys": "MY", "sgp": "SG", "aus": "AU", "nzl": "NZ", "bra": "BR",
    "arg": "AR", "chl": "CL", "col": "CO", "per": "PE", "ven": "VE", "ecu": "EC", "bol": "BO",
    "ury": "UY", "pry": "PY", "cub": "CU", "dom": "DO", "hti": "HT", "jam": "JM", "pri": "PR",
    "gtm": "GT", "slv": "SV", "hnd": "HN", "nic": "NI", "cri": "CR", "pan": "PA", "sau": "SA",
    "are": "AE", "qat": "QA", "kwt": "KW", "irn": "IR", "irq": "IQ", "jor": "JO", "lbn": "LB",
    "syr": "SY", "afg": "AF", "lux": "LU", "hrv": "HR", "srb": "RS", "svn": "SI", "est": "EE",
    "lva": "LV", "ltu": "LT", "blr": "BY", "tto": "TT", "bhs": "BS", "brb": "BB", "vir": "VI",
    "gum": "GU", "asm": "AS", "mnp": "MP", "eth": "ET", "cmr": "CM", "sen": "SN", "civ": "CI",
    "dza": "DZ", "tun": "TN",
}

COUNTRY_SYNONYMS: dict[str, str] = {
    "us": "US", "united states of america": "US", "united states america": "US", "america": "US",
    "uk": "GB", "great britain": "GB", "britain": "GB", "england": "GB", "scotland": "GB",
    "wales": "GB", "northern ireland": "GB", "united kingdom of great britain and northern ireland": "GB",
    "korea": "KR", "republic of korea": "KR", "korea republic of": "KR", "dprk": "KP",
    "russian federation": "RU", "viet nam": "VN", "holland": "NL", "the netherlands": "NL",
    "czechia": "CZ", "ivory coast": "CI", "burma": "MM", "north macedonia": "MK", "eswatini": "SZ",
    "turkiye": "TR", "cabo verde": "CV", "uae": "AE", "prc": "CN", "peoples republic of china": "CN",
    "deutschland": "DE", "espana": "ES", "brasil": "BR", "republic of ireland": "IE", "lao pdr": "LA",
    "iran islamic republic of": "IR", "syrian arab republic": "SY", "holy see": "VA",
    "vatican city": "VA", "drc": "CD", "democratic republic of the congo": "CD",
    "republic of the congo": "CG", "state of palestine": "PS", "micronesia federated states of": "FM",
}


def _key(value: str) -> str:
    text = unidecode(value).lower().replace("&", " and ")
    text = re.sub(r"[.'`]", "", text)
    text = re.sub(r"[^a-z0-9]+", " ", text).strip()
    return text.removeprefix("the ")


def _key_expr(expr: pl.Expr) -> pl.Expr:
    """The same key as :func:`_key`, as a Polars expression."""
    text = transliterated(expr).str.to_lowercase().str.replace_all("&", " and ", literal=True)
    text = collapse_spaces(text.str.replace_all(r"[.'`]", "").str.replace_all(r"[^a-z0-9]+", " "))
    return text.str.strip_prefix("the ")


def _looked_up(key: pl.Expr, lookup: dict[str, str]) -> pl.Expr:
    return key.replace_strict(list(lookup), list(lookup.values()), default=None, return_dtype=pl.String)


@cache
def state_lookup() -> dict[str, str]:
    """Every accepted spelling (lower-case key) of a US state or territory, or Canadian province."""
    names = {**US_STATES, **CANADIAN_PROVINCES, **STATE_ABBREVIATIONS}
    lookup = {_key(name): code for name, code in names.items()}
    lookup.update({code.lower(): code for code in names.values()})
    return lookup


@cache
def country_lookup() -> dict[str, str]:
    """Every accepted spelling (lower-case key) of a country: alpha-2, alpha-3, English names."""
    from phonenumbers.geodata.locale import LOCALE_DATA

    lookup: dict[str, str] = {}
    for code, names in LOCALE_DATA.items():
        english = names.get("en")
        while english is not None and english.startswith("*"):
            english = names.get(english[1:])
        lookup[code.lower()] = code
        if english:
            key = _key(english)
            lookup[key] = code
            lookup[re.sub(r"\bsaint\b", "st", key)] = code
    lookup.update({_key(name): code for name, code in {**COUNTRY_ALPHA3, **COUNTRY_SYNONYMS}.items()})
    return lookup


def normalized_state(col: str | pl.Expr) -> pl.Expr:
    """A US state, territory or Canadian province as its 2-letter upper-case code.

    Names, postal codes and old abbreviations are recognized; an unknown 2-letter value is kept
    upper-cased (it may be a region code elsewhere), anything else unknown is null.

    Example:
        >>> df = pl.DataFrame({"state": ["California", "ny", "N.Y.", "Calif.", "District of Columbia", "x1"]})
        >>> df.select(normalized_state("state"))["state"].to_list()
        ['CA', 'NY', 'NY', 'CA', 'DC', None]
    """
    key = pl.col("key")
    unknown_code = pl.when(key.str.contains(r"^[a-z]{2}$")).then(key.str.to_uppercase())
    return staged(
        col,
        [
            {"key": _key_expr(pl.col("value"))},
            {"result": pl.coalesce(_looked_up(key, state_lookup()), unknown_code)},
        ],
        return_dtype=pl.String(),
    )


def normalized_country(col: str | pl.Expr, *, default: str | None = "US") -> pl.Expr:
    """A country as its ISO-3166 alpha-2 upper-case code.

    Args:
        col: Column name or string expression with a name, alpha-2 or alpha-3 code.
        default: Code used where the value is null or blank (not where it is unrecognized).

    Returns:
        Alpha-2 code; null for unrecognized values.

    Example:
        >>> df = pl.DataFrame({"country": ["United States", "usa", "U.K.", "Deutschland", None, "Narnia"]})
        >>> df.select(normalized_country("country"))["country"].to_list()
        ['US', 'US', 'GB', 'DE', 'US', None]
    """
    key = pl.col("key")
    missing = key.is_null() | (key.str.len_bytes() == 0)
    return staged(
        col,
        [
            {"key": _key_expr(pl.col("value"))},
            {
                "result": pl.when(missing)
                .then(pl.lit(default, dtype=pl.String))
                .otherwise(_looked_up(key, country_lookup()))
            },
        ],
        return_dtype=pl.String(),
    )
