"""Context-conditional u probabilities: evidence that is cheap among people who share a context.

Splink scores each comparison as if it were independent of the others given match status. That
holds for random pairs, but not inside a household or among namesakes:

- Twins share a birth date, a surname, an address and a landline. Among random pairs an exact
  birth date is a one-in-20,000 coincidence; among people who share an address it is a twin in a
  few per cent of pairs. Scored with the random-pair u, "same household" plus "same birth date"
  outweighs two clearly different first names, and twins merge.
- E-mail local parts are built from the name (``jrodriguez@...``). Two different J. Rodriguez
  coincide on such an address far more often than two random people, so an exact e-mail counted
  on top of the name agreement counts the name twice.

The fix keeps the model additive: the affected level is split into "agrees, in the context" and
"agrees". The context is defined on other comparisons' columns, so the log Bayes factor of the
split level becomes ``log2(m / u_context)`` with ``u_context = P(agree | non-match, context)``;
together with the other comparison's own ``log2(m / u)`` for the context this is the exact joint
factor. ``u_context`` is measured from the data, on pairs in the context that clearly are different
people (a different first name; a different birth date); no ground truth is used. ``m`` is the
level's full m (the two split levels' m summed): a person's own records agree on a birth date or an
e-mail whether or not they share an address.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import polars as pl

log = logging.getLogger(__name__)

#: Label of the birth-date level "exact, same household" and of its unconditional twin.
DOB_HOUSEHOLD_LABEL = "exact, same household"
DOB_EXACT_LABEL = "exact"
#: Label of the e-mail level "exact, name-only address of a namesake" and of its unconditional twin.
EMAIL_NAMESAKE_LABEL = "exact, name-only address, same surname and initial"
EMAIL_EXACT_LABEL = "exact"

#: Fewer context pairs than this and the random-pair u is kept (too little data to measure).
MIN_CONTEXT_PAIRS = 50


@dataclass(frozen=True)
class ContextRate:
    """A measured ``u_context`` and the number of non-match context pairs it rests on."""

    rate: float
    pairs: int


def _pairs_on(frame: pl.DataFrame, key: pl.Expr, columns: list[str]) -> pl.DataFrame:
    keyed = frame.select("unique_id", *columns, key=key).drop_nulls("key")
    pairs = keyed.join(keyed, on="key", suffix="_r").filter(pl.col("unique_id") < pl.col("unique_id_r"))
    return pairs.drop("key")


def dob_household_rate(prepared: pl.DataFrame) -> ContextRate:
    """``P(same birth date | different people who share a street line or a phone)``.

    Different people: both first names longer than an initial, no shared alias group and different
    first letters, so a nickname, typo or initial of the same person is not mistaken for a relative.

    Args:
        prepared: The frame from ``prepare_linkage_input``.

    Returns:
        The rate over household pairs with both birth dates known.
    """
    columns = ["dob", "first_name", "first_name_groups"]
    frame = prepared.filter(pl.col("dob").is_not_null() & (pl.col("first_name").str.len_chars() > 1))
    street = pl.concat_str([pl.col("address_line1"), pl.col("postcode")], separator="|")
    pairs = pl.concat([_pairs_on(frame, street, columns), _pairs_on(frame, pl.col("phone"), columns)]).unique(
        ["unique_id", "unique_id_r"]
    )
    different = (pl.col("first_name").str.slice(0, 1) != pl.col("first_name_r").str.slice(0, 1)) & (
        pl.col("first_name_groups").list.set_intersection("first_name_groups_r").list.len() == 0
    )
    strangers = pairs.filter(different)
    if strangers.height == 0:
        return ContextRate(rate=0.0, pairs=0)
    rate = strangers.select((pl.col("dob") == pl.col("dob_r")).mean()).item()
    return ContextRate(rate=float(rate), pairs=strangers.height)


def name_only_local_part() -> pl.Expr:
    """True where the e-mail's local part has no digit (it carries little beyond the name)."""
    return ~pl.col("email_local").str.contains(r"[0-9]")


def _pairs_count(counts: pl.Expr) -> pl.Expr:
    return (counts * (counts - 1) // 2).sum()


def email_namesake_rate(prepared: pl.DataFrame) -> ContextRate:
    """``P(same e-mail | different people with the same surname and initial, name-only e-mails)``.

    Different people: both birth dates known and unequal. Counted from group sizes, so no pair
    is materialized even for common surnames.

    Args:
        prepared: The frame from ``prepare_linkage_input``.

    Returns:
        The rate over such namesake pairs.
    """
    group = ["last_name", "initial"]
    frame = prepared.filter(
        pl.col("email").is_not_null()
        & pl.col("dob").is_not_null()
        & pl.col("last_name").is_not_null()
        & pl.col("first_name").is_not_null()
        & name_only_local_part()
    ).select("last_name", "email", "dob", initial=pl.col("first_name").str.slice(0, 1))

    def different_dob_pairs(keys: list[str]) -> int:
        everyone = frame.group_by(keys).len().select(_pairs_count(pl.col("len"))).item() or 0
        same_dob = frame.group_by([*keys, "dob"]).len().select(_pairs_count(pl.col("len"))).item() or 0
        return int(everyone - same_dob)

    if frame.is_empty():
        return ContextRate(rate=0.0, pairs=0)
    namesakes = different_dob_pairs(group)
    if namesakes == 0:
        return ContextRate(rate=0.0, pairs=0)
    return ContextRate(rate=different_dob_pairs([*group, "email"]) / namesakes, pairs=namesakes)


def _levels(settings: Any, comparison: str) -> dict[str, Any]:
    for candidate in settings.comparisons:
        if candidate.output_column_name == comparison:
            return {level.label_for_charts: level for level in candidate._comparison_levels_excluding_null}
    return {}


def _observed(value: Any) -> float | None:
    return value if isinstance(value, float) else None


def _condition(levels: dict[str, Any], split: str, whole: str, measured: ContextRate) -> dict[str, float]:
    """Give ``split`` the context u and both levels the full m of the unsplit level."""
    if split not in levels or whole not in levels:
        return {}
    m_split, m_whole = _observed(levels[split]._m_probability), _observed(levels[whole]._m_probability)
    m_total = (m_split or 0.0) + (m_whole or 0.0)
    u_whole = _observed(levels[whole]._u_probability)
    if measured.pairs < MIN_CONTEXT_PAIRS or not m_total or u_whole is None:
        return {}
    # Never below the random-pair u: a context cannot make agreement rarer than chance.
    u_context = min(max(measured.rate, u_whole), 1.0 - 1e-9)
    levels[split].m_probability = m_total
    levels[whole].m_probability = m_total
    levels[split].u_probability = u_context
    return {"u": u_context, "pairs": measured.pairs}


def apply_context_probabilities(settings: Any, prepared: pl.DataFrame) -> dict[str, dict[str, float]]:
    """Replace the random-pair u of the context-split levels by the measured context u.

    Args:
        settings: The trained linker's settings object (``linker._settings_obj``).
        prepared: The frame the model was trained on.

    Returns:
        Level -> the u used and the number of pairs it was measured on (for the training report).
    """
    applied: dict[str, dict[str, float]] = {}
    dob = _levels(settings, "dob")
    if DOB_HOUSEHOLD_LABEL in dob:
        result = _condition(dob, DOB_HOUSEHOLD_LABEL, DOB_EXACT_LABEL, dob_household_rate(prepared))
        if result:
            applied[f"dob: {DOB_HOUSEHOLD_LABEL}"] = result
    email = _levels(settings, "email")
    if EMAIL_NAMESAKE_LABEL in email:
        result = _condition(email, EMAIL_NAMESAKE_LABEL, EMAIL_EXACT_LABEL, email_namesake_rate(prepared))
        if result:
            applied[f"email: {EMAIL_NAMESAKE_LABEL}"] = result
    log.info("context u applied: levels=%d", len(applied))
    return applied


def floor_unobserved_u(settings: Any, *, sampled_pairs: float) -> list[str]:
    """Give levels never seen among the sampled random pairs a u of half a pair in the sample.

    Splink otherwise falls back to a default u far above what the sample shows (a full SSN
    agreeing would be worth less than a shared ZIP). Half a pair is the usual continuity
    correction for a count of zero.

    Returns:
        ``comparison: level`` names that were floored.
    """
    floored: list[str] = []
    for comparison in settings.comparisons:
        for level in comparison._comparison_levels_excluding_null:
            # Only agreement levels: an else level or a fixed-m disagreement level unseen in a
            # small sample is not rare evidence, and a tiny u there would reward disagreement.
            if level._is_else_level or level._fix_m_probability:
                continue
            if _observed(level._u_probability) is None:
                level.u_probability = 0.5 / sampled_pairs
                floored.append(f"{comparison.output_column_name}: {level.label_for_charts}")
    return floored
