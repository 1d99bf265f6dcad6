"""Phone numbers in E.164 form (``+15551234567``).

Numbers written with a country code (``+44 ...``, ``0044 ...``, ``011 44 ...``) and North
American numbers, the bulk of a US bank's data, are recognized with Polars expressions alone.
Only vanity numbers (letters) and national numbers of a non-NANP default region go to the
``phonenumbers`` library, once per distinct value; at ~35 µs a call, a million distinct values
through the library would take half a minute.

Both fast paths check structure, not allocation: NANP numbers need ten digits, an area code
that does not start with 0 or 1 and is not N11, and not one digit repeated; international
numbers need a known country calling code and a national number of a length that country
uses (``phonenumbers`` metadata). ``phonenumbers.is_valid_number`` would also check carrier
allocations, which reject the 555 numbers that test and synthetic data rely on, and which
change faster than extracts are re-run.
"""

from __future__ import annotations

from functools import cache

import phonenumbers
import polars as pl

from cdp.standardize._text import map_distinct, staged

#: Regions whose national numbers are NANP numbers (country code 1).
NANP_REGIONS: frozenset[str] = frozenset({"US", "CA", "PR", "VI", "GU", "AS", "MP"})

_EXTENSION = r"(?i)\s*(?:ext\.?|extension|x|#)\s*\d{1,6}\s*$"
_NANP_NATIONAL = r"^[2-9]\d{9}$"
_N11_AREA = r"^[2-9]11"
_REPEATED = r"^(?:0+|1+|2+|3+|4+|5+|6+|7+|8+|9+)$"


@cache
def _possible_lengths() -> tuple[frozenset[str], frozenset[str]]:
    """Country calling codes other than 1, and every possible ``"<code>:<national length>"``."""
    codes: set[str] = set()
    lengths: set[str] = set()
    for code, regions in phonenumbers.COUNTRY_CODE_TO_REGION_CODE.items():
        if code == 1:
            continue
        for region in regions:
            metadata = phonenumbers.PhoneMetadata.metadata_for_region_or_calling_code(code, region)
            if metadata is None or metadata.general_desc is None:
                continue
            codes.add(str(code))
            lengths.update(f"{code}:{length}" for length in metadata.general_desc.possible_length or ())
    return frozenset(codes), frozenset(lengths)


def _library_e164(value: str, default_region: str) -> str | None:
    try:
        number = phonenumbers.parse(value, default_region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def e164_phone(col: str | pl.Expr, *, default_region: str = "US") -> pl.Expr:
    """A phone number in E.164 form, or null when it cannot be a dialable number.

    Args:
        col: Column name or expression (integers are read as their digits).
        default_region: ISO region assumed for numbers without a country code.

    Returns:
        E.164 string such as ``+15551234567``; extensions are dropped.

    Example:
        >>> df = pl.DataFrame({"phone": ["(555) 123-4567", "1-555-123-4567", "+44 20 7946 0958", "123"]})
        >>> df.select(e164_phone("phone"))["phone"].to_list()
        ['+15551234567', '+15551234567', '+442079460958', None]
    """
    region = default_region.upper()
    nanp_default = region in NANP_REGIONS
    codes, lengths = _possible_lengths()
    text, digits, national, code = pl.col("text"), pl.col("digits"), pl.col("national"), pl.col("code")
    international, letters = pl.col("international"), pl.col("letters")
    n_digits = digits.str.len_bytes()
    # "00" is the international call prefix in most of the world, "011" in North America.
    call_prefix = r"^\+|^00" + (r"|^011" if nanp_default else "")
    nanp = (
        pl.when(letters)
        .then(None)
        .when(international & digits.str.starts_with("1") & (n_digits == 11))
        .then(digits.str.slice(1))
        .when(~international & pl.lit(nanp_default) & (n_digits == 10))
        .then(digits)
        .when(~international & pl.lit(nanp_default) & (n_digits == 11) & digits.str.starts_with("1"))
        .then(digits.str.slice(1))
    )
    plausible_nanp = (
        national.str.contains(_NANP_NATIONAL)
        & ~national.str.contains(_N11_AREA)
        & ~national.str.contains(_REPEATED)
    )
    country_code = pl.coalesce(
        [pl.when(digits.str.slice(0, k).is_in(list(codes))).then(digits.str.slice(0, k)) for k in (1, 2, 3)]
    )
    possible_international = pl.concat_str(
        [code, pl.lit(":"), (n_digits - code.str.len_bytes()).cast(pl.String)]
    ).is_in(list(lengths))
    needs_library = letters | (~international & pl.lit(not nanp_default) & (n_digits > 0))
    dialable = pl.when(international).then(pl.lit("+") + text.str.replace(call_prefix, "")).otherwise(text)
    library = map_distinct(
        pl.when(needs_library).then(dialable),
        lambda value: _library_e164(value, region),
        return_dtype=pl.String(),
    )
    return staged(
        col,
        [
            {"text": pl.col("value").str.strip_chars().str.replace(_EXTENSION, "").str.replace(r"\(0\)", "")},
            {
                "international": text.str.contains(call_prefix),
                "letters": text.str.contains(r"[A-Za-z]"),
                "digits": text.str.replace(call_prefix, "").str.replace_all(r"\D", ""),
            },
            {"national": nanp, "code": pl.when(international & ~letters).then(country_code)},
            {
                "result": pl.when(national.is_not_null())
                .then(pl.when(plausible_nanp).then(pl.lit("+1") + national))
                .when(code.is_not_null())
                .then(pl.when(possible_international).then(pl.lit("+") + digits))
                .when(needs_library)
                .then(library)
            },
        ],
        return_dtype=pl.String(),
    )
