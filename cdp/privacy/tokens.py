"""Keyed tokens for national IDs (US SSNs): the raw number never gets past ingestion.

A token is HMAC-SHA256 (hex) of the SSN's nine digits, keyed by ``CDP_TOKEN_KEY`` from the
environment. The last-4 token is the HMAC of the last four digits under a different domain prefix,
so it cannot be confused with, or derived from, a full token. Equal SSNs give equal tokens under
one key, which is all that matching needs; without the key a token reveals nothing.

Key resolution (at call time, never at import):

- ``CDP_TOKEN_KEY`` set: its UTF-8 bytes are the key.
- unset: :data:`DEVELOPMENT_KEY`, a public, clearly marked development key, with one warning per
  process. Tokens made with it are not secret.
- unset and ``CDP_REQUIRE_TOKEN_KEY=1``, or unset in the production environment
  (``CDP_ENV=prod``, the Dagster deployment's): :class:`~cdp.errors.ConfigError`.

Invalid values tokenize to null: anything that is not nine digits once spaces, dots and hyphens
are removed, area ``000``/``666``/``9xx``, group ``00``, serial ``0000`` and well-known junk
numbers (:data:`JUNK_SSNS`: advertising, test and repeated-digit numbers).

Two equivalent implementations exist: :func:`national_id_token` (one value, Python) and
:func:`national_id_token_sql` (vectorized DuckDB SQL, used by ingestion). Tests keep them equal.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
from functools import lru_cache
from typing import Any, Literal

import polars as pl

from cdp.errors import ConfigError

log = logging.getLogger(__name__)

KEY_ENV = "CDP_TOKEN_KEY"
REQUIRE_KEY_ENV = "CDP_REQUIRE_TOKEN_KEY"
#: The deployment environment (``assets.definitions``); its production value forbids the development key.
ENVIRONMENT_ENV = "CDP_ENV"

#: Used only when ``CDP_TOKEN_KEY`` is unset. Public, so tokens made with it are NOT secret.
DEVELOPMENT_KEY = b"cdp-DEVELOPMENT-ONLY-token-key--set-CDP_TOKEN_KEY-in-production"

NATIONAL_ID_DOMAIN = "cdp:national_id:v1:"
LAST4_DOMAIN = "cdp:national_id_last4:v1:"

#: Syntactically valid SSNs that are known junk: 123-45-6789, the Woolworth wallet card
#: 078-05-1120, the 1962 advertising number 219-09-9999, and repeated digits.
JUNK_SSNS: frozenset[str] = frozenset(
    {"123456789", "078051120", "219099999"} | {str(digit) * 9 for digit in range(10)}
)

_SEPARATORS = re.compile(r"[ .\-]")
_NINE_DIGITS = re.compile(r"[0-9]{9}")
_FOUR_DIGITS = re.compile(r"[0-9]{4}")
_warned_development_key = False


def token_key() -> bytes:
    """The HMAC key from ``CDP_TOKEN_KEY``, or the development key (warned once per process).

    Raises:
        ConfigError: The key is unset while ``CDP_REQUIRE_TOKEN_KEY=1`` or ``CDP_ENV=prod``.
    """
    global _warned_development_key
    value = os.environ.get(KEY_ENV, "")
    if value:
        return value.encode("utf-8")
    if os.environ.get(REQUIRE_KEY_ENV, "").strip().lower() in ("1", "true", "yes"):
        raise ConfigError(f"{KEY_ENV} is not set, and {REQUIRE_KEY_ENV}=1 forbids the development key")
    if os.environ.get(ENVIRONMENT_ENV, "").strip().lower() == "prod":
        # Tokens made with the public key can be reversed by trying every SSN: never in production.
        raise ConfigError(
            f"{KEY_ENV} is not set, and the production environment ({ENVIRONMENT_ENV}=prod) "
            "forbids the development key"
        )
    if not _warned_development_key:
        _warned_development_key = True
        log.warning(
            "%s is not set: national IDs are tokenized with the public DEVELOPMENT key; "
            "set %s (and %s=1) in production",
            KEY_ENV,
            KEY_ENV,
            REQUIRE_KEY_ENV,
        )
    return DEVELOPMENT_KEY


def is_development_key(key: bytes) -> bool:
    """Whether ``key`` is the public development key (for run metadata and warnings)."""
    return hmac.compare_digest(key, DEVELOPMENT_KEY)


def ssn_digits(value: object) -> str | None:
    """The nine digits of a syntactically valid, non-junk SSN, else None.

    Example:
        >>> ssn_digits("536-22-1234"), ssn_digits("123-45-6789"), ssn_digits("666-12-3456")
        ('536221234', None, None)
    """
    if value is None:
        return None
    digits = _SEPARATORS.sub("", str(value))
    if not _NINE_DIGITS.fullmatch(digits):
        return None
    area, group, serial = digits[:3], digits[3:5], digits[5:]
    if area in ("000", "666") or area.startswith("9") or group == "00" or serial == "0000":
        return None
    return None if digits in JUNK_SSNS else digits


def last4_digits(value: object) -> str | None:
    """Four digits from a last-4-only source value (serial ``0000`` is invalid), else None."""
    if value is None:
        return None
    digits = _SEPARATORS.sub("", str(value))
    return digits if _FOUR_DIGITS.fullmatch(digits) and digits != "0000" else None


def _hmac_hex(key: bytes, domain: str, digits: str) -> str:
    return hmac.digest(key, (domain + digits).encode("ascii"), "sha256").hex()


def national_id_token(value: object, *, key: bytes | None = None) -> str | None:
    """HMAC token of one SSN (any common formatting), or None when it is invalid or junk.

    Example:
        >>> national_id_token("536-22-1234", key=b"k") == national_id_token("536221234", key=b"k")
        True
        >>> national_id_token("000-12-3456", key=b"k") is None
        True
    """
    digits = ssn_digits(value)
    return (
        None if digits is None else _hmac_hex(token_key() if key is None else key, NATIONAL_ID_DOMAIN, digits)
    )


def national_id_last4_token(value: object, *, key: bytes | None = None, full: bool = False) -> str | None:
    """HMAC token of the last four digits: of a full SSN (``full=True``) or of a last-4 value."""
    digits = ssn_digits(value) if full else last4_digits(value)
    if digits is None:
        return None
    return _hmac_hex(token_key() if key is None else key, LAST4_DOMAIN, digits[-4:])


def tokenize_series(
    values: pl.Series,
    *,
    kind: Literal["national_id", "last4", "last4_of_full"] = "national_id",
    key: bytes | None = None,
) -> pl.Series:
    """Tokens of a whole column, hashing each distinct value once (for lookups outside ingestion).

    Args:
        values: National IDs (``national_id``, ``last4_of_full``) or last-4 values (``last4``).
        kind: Which token to make.
        key: HMAC key; defaults to :func:`token_key`.

    Example:
        >>> tokens = tokenize_series(pl.Series(["536-22-1234", "536221234", None]), key=b"k")
        >>> tokens[0] == tokens[1], tokens[2]
        (True, None)
    """
    resolved = token_key() if key is None else key
    distinct = values.cast(pl.String).unique().drop_nulls()
    if kind == "national_id":
        tokens = [national_id_token(value, key=resolved) for value in distinct]
    else:
        tokens = [
            national_id_last4_token(value, key=resolved, full=kind == "last4_of_full") for value in distinct
        ]
    lookup = pl.DataFrame({"value": distinct, "token": pl.Series(tokens, dtype=pl.String)})
    frame = pl.DataFrame({"value": values.cast(pl.String)}).join(
        lookup, on="value", how="left", maintain_order="left"
    )
    return frame["token"].alias(values.name)


@lru_cache(maxsize=4)
def _last4_table(key: bytes) -> tuple[str | None, ...]:
    # 10,000 possible values: precomputing them turns the per-row HMAC into a list lookup.
    return (None, *(_hmac_hex(key, LAST4_DOMAIN, f"{number:04d}") for number in range(1, 10_000)))


def _pads(key: bytes) -> tuple[bytes, bytes]:
    block = hashlib.sha256(key).digest() if len(key) > 64 else key
    block = block.ljust(64, b"\0")
    return bytes(byte ^ 0x36 for byte in block), bytes(byte ^ 0x5C for byte in block)


def token_sql_parameters(key: bytes | None = None) -> dict[str, Any]:
    """Named DuckDB parameters that :func:`national_id_token_sql` and :func:`last4_token_sql` use."""
    resolved = token_key() if key is None else key
    inner, outer = _pads(resolved)
    return {
        "cdp_nid_ipad": inner,
        "cdp_nid_opad": outer,
        "cdp_nid_junk": sorted(JUNK_SSNS),
        "cdp_last4_tokens": list(_last4_table(resolved)),
    }


def clean_digits_sql(value_sql: str) -> str:
    """DuckDB SQL: the value as text without spaces, dots and hyphens (input of the checks below)."""
    text = f"CAST(({value_sql}) AS VARCHAR)"
    return f"replace(replace(replace({text}, ' ', ''), '.', ''), '-', '')"


def ssn_digits_sql(cleaned: str) -> str:
    """DuckDB SQL for :func:`ssn_digits`, given the column ``cleaned`` of :func:`clean_digits_sql`."""
    return (
        f"CASE WHEN regexp_full_match({cleaned}, '[0-9]{{9}}') "
        f"AND substr({cleaned}, 1, 3) NOT IN ('000', '666') "
        f"AND substr({cleaned}, 1, 1) <> '9' AND substr({cleaned}, 4, 2) <> '00' "
        f"AND substr({cleaned}, 6, 4) <> '0000' AND NOT list_contains($cdp_nid_junk, {cleaned}) "
        f"THEN {cleaned} END"
    )


def last4_digits_sql(cleaned: str) -> str:
    """DuckDB SQL for :func:`last4_digits`, given the column ``cleaned`` of :func:`clean_digits_sql`."""
    return f"CASE WHEN regexp_full_match({cleaned}, '[0-9]{{4}}') AND {cleaned} <> '0000' THEN {cleaned} END"


def national_id_token_sql(digits: str) -> str:
    """DuckDB SQL: the HMAC token of validated nine digits ``digits`` (null stays null).

    HMAC is spelled out with DuckDB's ``sha256`` over the key pads, which are bound parameters and
    never part of the SQL text: ``sha256(opad || sha256(ipad || message))``.
    """
    message = f"encode('{NATIONAL_ID_DOMAIN}' || {digits})"
    return f"sha256($cdp_nid_opad || unhex(sha256($cdp_nid_ipad || {message})))"


def last4_token_sql(digits4: str) -> str:
    """DuckDB SQL: the token of four validated digits ``digits4``, looked up in a bound list."""
    return f"$cdp_last4_tokens[CAST({digits4} AS INTEGER) + 1]"
