"""Who holds what: which persons are in which system, duplicates, and household housing.

Holdings are realistic rather than uniform: roughly 80% of persons bank with the core ledger,
45% hold a card, 15% are on a mortgage (borrower or co-borrower) and 55% use the app or website;
some digital users hold nothing else (prospects), and a few persons have two records in one
system (duplicate CIFs, a second card set up separately, a second app registration).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from cdp.synth.common import labels
from cdp.synth.noise import NOISE_RATES

#: Probability of being in a system, for adults / teens (13-17).
CORE_RATE = (0.85, 0.65)
CARD_RATE_CORE, CARD_RATE_OTHER = 0.52, 0.30
#: Households (head aged 25-80) with a mortgage on their home at this bank.
MORTGAGE_HOUSEHOLD_RATE = 0.27
SECOND_LOAN_RATE = 0.08
CO_BORROWER_RATE = 0.7
#: Digital adoption by age band (<18, <30, <50, <65, 65+).
DIGITAL_BY_AGE = ((18, 0.3), (30, 0.66), (50, 0.55), (65, 0.42), (200, 0.24))
DIGITAL_ONLY_RATE = 0.04
HOUSING = ("own_ours", "own_outright", "own_other", "rent", "family")


def assign_holdings(rng: np.random.Generator, persons: pl.DataFrame) -> pl.DataFrame:
    """Add ``in_core``, ``in_card``, ``in_digital``, duplicate counts, ``housing`` and ``mortgage_loans``.

    ``mortgage_loans`` (0, 1 or 2) is set on the household head; ``co_borrower`` marks a spouse
    on the head's loans.
    """
    n = persons.height
    age = persons["age"].to_numpy()
    adult = age >= 18
    head = (persons["role"] == "head").to_numpy()
    spouse = (persons["role"] == "spouse").to_numpy()
    household = persons["household"].to_numpy()
    n_households = int(household.max()) + 1 if n else 0
    in_core = rng.random(n) < np.where(adult, CORE_RATE[0], CORE_RATE[1])
    in_card = adult & (rng.random(n) < np.where(in_core, CARD_RATE_CORE, CARD_RATE_OTHER))
    digital_p = np.select([age < lim for lim, _ in DIGITAL_BY_AGE], [p for _, p in DIGITAL_BY_AGE])
    digital_only = adult & (rng.random(n) < DIGITAL_ONLY_RATE)
    in_core &= ~digital_only
    in_card &= ~digital_only
    has_loan = head & (age >= 25) & (age <= 80) & (rng.random(n) < MORTGAGE_HOUSEHOLD_RATE) & ~digital_only
    loans = np.where(has_loan, 1 + (rng.random(n) < SECOND_LOAN_RATE), 0)
    household_loan = np.zeros(n_households, dtype=bool)
    household_loan[household[has_loan]] = True
    co_borrower = spouse & household_loan[household] & (rng.random(n) < CO_BORROWER_RATE)
    in_mortgage = has_loan | co_borrower
    in_digital = (rng.random(n) < digital_p) | digital_only
    # Everybody the bank knows is somewhere: the rest are prospects who registered online.
    in_digital |= ~(in_core | in_card | in_mortgage)
    head_age = np.zeros(n_households, dtype=np.int64)
    head_age[household[head]] = age[head]
    u = rng.random(n_households)[household]
    hh_age = head_age[household]
    housing = np.select(
        [
            ~(head | spouse),
            household_loan[household],
            (hh_age >= 60) & (u < 0.35),
            (hh_age >= 28) & (u < 0.55),
        ],
        [4, 0, 1, 2],
        3,
    )

    def dups(members: np.ndarray, system: str) -> np.ndarray:
        return (members & (rng.random(n) < NOISE_RATES["duplicate_record"][system])).astype(np.int64)

    return persons.with_columns(
        in_core=pl.Series(in_core),
        in_card=pl.Series(in_card),
        in_digital=pl.Series(in_digital),
        in_mortgage=pl.Series(in_mortgage),
        mortgage_loans=pl.Series(loans.astype(np.int64)),
        co_borrower=pl.Series(co_borrower),
        housing=labels(HOUSING, housing),
        core_dups=pl.Series(dups(in_core, "core")),
        card_dups=pl.Series(dups(in_card, "card")),
        digital_dups=pl.Series(dups(in_digital, "digital")),
    )
