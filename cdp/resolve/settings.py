"""The Splink model's shape: comparisons, their levels, and the blocking rules for prediction.

Each comparison is written as explicit levels (DuckDB SQL, translated by Splink for Spark) so the
evidence is easy to read in an explanation: names with Jaro-Winkler bands plus nickname groups and
initials, a birth date tolerant of one typo and of day/month swaps, SSN tokens (full and last 4),
e-mail, phone and address. Only comparisons whose source columns a configuration actually supplies
are included, so a party table without e-mail or phone still trains and predicts.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from splink import SettingsCreator, block_on
from splink.internals.blocking_rule_creator import BlockingRuleCreator

from cdp.resolve.context import (
    DOB_EXACT_LABEL,
    DOB_HOUSEHOLD_LABEL,
    EMAIL_EXACT_LABEL,
    EMAIL_NAMESAKE_LABEL,
)

#: Comparison name (the ``mw_<name>`` / ``gamma_<name>`` suffix) -> party columns that feed it.
COMPARISON_SOURCES: dict[str, tuple[str, ...]] = {
    "first_name": ("first_name", "full_name"),
    "dob": ("date_of_birth",),
    "national_id": ("national_id_token", "national_id_last4_token"),
    "email": ("email",),
    "household": ("last_name", "full_name", "address_line1", "postcode", "phone"),
}

_DIALECT = "duckdb"

#: Share of one person's record pairs whose valid SSN tokens differ (a keying error such as two
#: transposed digits in either record). Fixed, not estimated: pairs with two full SSNs are mostly
#: core-to-core, where EM cannot tell a duplicate from a household member, and it learns a
#: disagreement rate far above real keying errors; that would let twins merge.
SSN_KEYING_ERROR_RATE = 0.01


def _level(sql: str, label: str, **options: Any) -> dict[str, Any]:
    return {"sql_condition": sql, "label_for_charts": label, "base_dialect_str": _DIALECT, **options}


def _null(*columns: str) -> dict[str, Any]:
    sql = " OR ".join(f'"{c}_l" IS NULL OR "{c}_r" IS NULL' for c in columns)
    return _level(sql, "null", is_null_level=True)


_ELSE = _level("ELSE", "all other")


def _jw(column: str, threshold: float) -> str:
    return f'jaro_winkler_similarity("{column}_l", "{column}_r") >= {threshold}'


def _alias_jw(side: str, other: str) -> str:
    """A typo of one of the other name's aliases ("bobbby" vs "robert": alias "bobby")."""
    return (
        f'list_max(list_transform("first_name_groups_{other}", '
        f'lambda x: jaro_winkler_similarity("first_name_{side}", x))) >= 0.92'
    )


def _initial_of(side: str, other: str) -> str:
    """One side is an initial: of the other name, or of one of its aliases ("w" vs "bill")."""
    return (
        f'length("first_name_{side}") = 1 AND list_contains('
        f'list_transform("first_name_groups_{other}", lambda x: substr(x, 1, 1)), "first_name_{side}")'
    )


def first_name_comparison() -> dict[str, Any]:
    """First name: exact, nickname group, close spelling, initial only ("j" vs "john")."""
    return {
        "output_column_name": "first_name",
        "comparison_description": "first name: exact, nickname, Jaro-Winkler, initial",
        "comparison_levels": [
            _null("first_name"),
            _level(
                '"first_name_l" = "first_name_r"',
                "exact",
                tf_adjustment_column="first_name",
                tf_adjustment_weight=1.0,
            ),
            _level('len(list_intersect("first_name_groups_l", "first_name_groups_r")) > 0', "nickname"),
            _level(
                f"{_jw('first_name', 0.92)} OR {_alias_jw('l', 'r')} OR {_alias_jw('r', 'l')}",
                "jaro-winkler >= 0.92",
            ),
            _level(
                f"({_initial_of('l', 'r')}) OR ({_initial_of('r', 'l')})",
                "initial agrees",
            ),
            _level(_jw("first_name", 0.8), "jaro-winkler >= 0.8"),
            _ELSE,
        ],
    }


#: Same household: the street line (within its ZIP when both have one) or the phone agrees.
SAME_HOUSEHOLD = (
    '(("address_line1_l" = "address_line1_r" AND coalesce("postcode_l" = "postcode_r", TRUE)) '
    'OR "phone_l" = "phone_r")'
)


def dob_comparison(*, household: bool = True) -> dict[str, Any]:
    """Birth date (``YYYY-MM-DD`` text): exact, day/month swapped, one edit, same day and month.

    With ``household``, an exact date is split by whether the records share a street line or a
    phone: inside a household the same birth date is a twin's as often as a duplicate's, so that
    level's u is measured among relatives (``cdp.resolve.context``), not among random pairs.
    """
    exact = [_level('"dob_l" = "dob_r"', DOB_EXACT_LABEL)]
    if household:
        exact.insert(0, _level(f'"dob_l" = "dob_r" AND {SAME_HOUSEHOLD}', DOB_HOUSEHOLD_LABEL))
    swapped = (
        'substr("dob_l", 1, 4) = substr("dob_r", 1, 4) AND substr("dob_l", 6, 2) = substr("dob_r", 9, 2) '
        'AND substr("dob_l", 9, 2) = substr("dob_r", 6, 2)'
    )
    return {
        "output_column_name": "dob",
        "comparison_description": "date of birth: exact, day/month swap, one typo, same day and month",
        "comparison_levels": [
            _null("dob"),
            *exact,
            _level(swapped, "day and month swapped"),
            _level('damerau_levenshtein("dob_l", "dob_r") <= 1', "one character differs"),
            _level('substr("dob_l", 6, 5) = substr("dob_r", 6, 5)', "same day and month"),
            _ELSE,
        ],
    }


def national_id_comparison() -> dict[str, Any]:
    """SSN tokens: full token agrees; only the last-4 token can be compared and agrees."""
    full, last4 = "national_id_token", "national_id_last4_token"
    return {
        "output_column_name": "national_id",
        "comparison_description": "national ID (HMAC tokens): full, last 4",
        "comparison_levels": [
            _level(
                f'("{full}_l" IS NULL OR "{full}_r" IS NULL) '
                f'AND ("{last4}_l" IS NULL OR "{last4}_r" IS NULL)',
                "null",
                is_null_level=True,
            ),
            _level(f'"{full}_l" = "{full}_r"', "full SSN agrees"),
            _level(
                f'"{full}_l" IS NOT NULL AND "{full}_r" IS NOT NULL AND "{last4}_l" = "{last4}_r"',
                "full SSN differs, last 4 agree",
            ),
            _level(f'"{last4}_l" = "{last4}_r"', "last 4 agree (no full SSN on one side)"),
            _level(
                f'"{full}_l" IS NOT NULL AND "{full}_r" IS NOT NULL',
                "full SSN differs",
                m_probability=SSN_KEYING_ERROR_RATE,
                fix_m_probability=True,
            ),
            _level("ELSE", "last 4 differ", m_probability=SSN_KEYING_ERROR_RATE, fix_m_probability=True),
        ],
    }


def email_comparison(*, namesakes: bool = True) -> dict[str, Any]:
    """E-mail: exact address, same local part at another domain.

    No fuzzy local-part level: local parts are mostly built from the name, so a near-equal local
    part mostly repeats the name evidence. With ``namesakes``, an exact address whose local part
    has no digit, between records with the same surname and initial, is its own level: namesakes
    share such addresses, so its u is measured among namesakes (``cdp.resolve.context``).
    """
    exact = [
        _level(
            '"email_l" = "email_r"', EMAIL_EXACT_LABEL, tf_adjustment_column="email", tf_adjustment_weight=1.0
        )
    ]
    if namesakes:
        exact.insert(
            0,
            _level(
                '"email_l" = "email_r" AND NOT regexp_matches("email_local_l", \'[0-9]\') '
                'AND "last_name_l" = "last_name_r" '
                'AND substr("first_name_l", 1, 1) = substr("first_name_r", 1, 1)',
                EMAIL_NAMESAKE_LABEL,
            ),
        )
    return {
        "output_column_name": "email",
        "comparison_description": "email: exact, same local part",
        "comparison_levels": [
            _null("email"),
            *exact,
            _level(
                '"email_local_l" = "email_local_r"',
                "same local part",
                tf_adjustment_column="email_local",
                tf_adjustment_weight=1.0,
            ),
            _ELSE,
        ],
    }


def household_comparison() -> dict[str, Any]:
    """Surname, street address and phone as one comparison, because a household shares all three.

    Scored as three independent comparisons, a shared surname, home address and landline would
    each count as strong evidence, and twins or spouses would merge. As one comparison, the u of
    each combination is estimated from data, so "same surname, address and phone" is worth what
    it is actually worth among different people who live together.
    """
    surname = '"last_name_l" = "last_name_r"'
    street = '"address_line1_l" = "address_line1_r" AND coalesce("postcode_l" = "postcode_r", TRUE)'
    phone = '"phone_l" = "phone_r"'
    close_surname = (
        f"{_jw('last_name', 0.92)} OR "
        "list_has_any(string_split(\"last_name_l\", ' '), string_split(\"last_name_r\", ' '))"
    )
    return {
        "output_column_name": "household",
        "comparison_description": "surname, street address and phone, scored together",
        "comparison_levels": [
            _level(
                '("last_name_l" IS NULL OR "last_name_r" IS NULL) '
                'AND ("address_line1_l" IS NULL OR "address_line1_r" IS NULL) '
                'AND ("postcode_l" IS NULL OR "postcode_r" IS NULL) '
                'AND ("phone_l" IS NULL OR "phone_r" IS NULL)',
                "null",
                is_null_level=True,
            ),
            _level(f"({surname}) AND ({street}) AND {phone}", "same surname, street line and phone"),
            _level(f"({surname}) AND (({street}) OR {phone})", "same surname and street line or phone"),
            _level(f"({street}) AND {phone}", "same street line and phone, other surname"),
            _level(f"({street}) OR {phone}", "same street line or phone, other surname"),
            _level('damerau_levenshtein("phone_l", "phone_r") <= 1', "phone one digit off"),
            _level(f'({surname}) AND "postcode_l" = "postcode_r"', "same surname and ZIP"),
            _level(surname, "same surname", tf_adjustment_column="last_name", tf_adjustment_weight=1.0),
            _level(close_surname, "similar surname"),
            _level(
                '"postcode_l" = "postcode_r"',
                "same ZIP",
                tf_adjustment_column="postcode",
                tf_adjustment_weight=1.0,
            ),
            _level('"city_l" = "city_r"', "same city", tf_adjustment_column="city", tf_adjustment_weight=1.0),
            _ELSE,
        ],
    }


def _comparisons(available: set[str]) -> dict[str, Callable[[], dict[str, Any]]]:
    return {
        "first_name": first_name_comparison,
        "dob": lambda: dob_comparison(household=bool(available & {"address_line1", "phone"})),
        "national_id": national_id_comparison,
        "email": lambda: email_comparison(namesakes=bool(available & {"last_name", "full_name"})),
        "household": household_comparison,
    }


def comparison_names(available_columns: Collection[str]) -> list[str]:
    """Comparisons the supplied party columns support, in model order."""
    available = set(available_columns)
    return [name for name, sources in COMPARISON_SOURCES.items() if available.intersection(sources)]


def prediction_blocking_rules(
    available_columns: Collection[str],
) -> list[BlockingRuleCreator | dict[str, Any]]:
    """Blocking rules for prediction, chosen with ``splink.blocking_analysis``; counts in the training report.

    Strong identifiers alone (SSN token, e-mail, phone) catch records whose names differ; birth
    date with the first initial or the last name catches records without shared contact details;
    surname, ZIP and initial catch records without a birth date (card). A name-only rule
    (first + last name) was measured on 100,000 generated persons: it added 270,000 comparisons
    (6 million at 1M records) and changed no accuracy figure at the 0.8 threshold, so it is not used.
    """
    available = set(available_columns)
    candidates: list[tuple[tuple[str, ...], BlockingRuleCreator]] = [
        (("national_id_token",), block_on("national_id_token")),
        (("email",), block_on("email")),
        (("phone",), block_on("phone")),
        (("date_of_birth", "national_id_last4_token"), block_on("dob", "national_id_last4_token")),
        (("date_of_birth",), block_on("dob", "substr(first_name, 1, 1)")),
        (("date_of_birth",), block_on("dob", "last_name")),
        (("postcode",), block_on("last_name", "postcode", "substr(first_name, 1, 1)")),
        (("address_line1",), block_on("address_line1", "postcode")),
    ]
    rules: list[BlockingRuleCreator | dict[str, Any]] = [
        rule for needed, rule in candidates if set(needed) <= available
    ]
    return rules


def build_settings(available_columns: Collection[str]) -> SettingsCreator:
    """Splink settings with the comparisons and blocking rules the supplied columns support.

    Args:
        available_columns: ``std_parties`` columns that carry data (e.g. ``first_name``,
            ``date_of_birth``, ``email``, ``national_id_token``).

    Returns:
        A dedupe-only ``SettingsCreator`` over the frame built by ``prepare_linkage_input``.

    Example:
        >>> settings = build_settings({"first_name", "last_name", "date_of_birth", "postcode"})
        >>> [c["output_column_name"] for c in settings.comparisons]
        ['first_name', 'dob', 'household']
    """
    names = comparison_names(available_columns)
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        comparisons=[_comparisons(set(available_columns))[name]() for name in names],
        blocking_rules_to_generate_predictions=prediction_blocking_rules(available_columns),
        retain_matching_columns=True,
        retain_intermediate_calculation_columns=True,
        additional_columns_to_retain=[],
        max_iterations=25,
        em_convergence=0.0001,
        linker_uid="cdp",
    )
