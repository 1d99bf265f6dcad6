"""Value pools of the synthetic bank, built once with Faker (never one Faker call per row).

Name pools keep Faker's US census frequencies, so Smith, Johnson, Michael and James are as common
as in a real customer base; places and employers get Zipf-like popularity so that big cities and
big employers dominate.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from faker import Faker
from faker.providers.person.en_US import Provider as PersonProvider

from cdp.synth.common import rng_for, zipf_weights
from cdp.synth.vocabulary import (
    AREA_CODES,
    BIG_CITIES,
    COMMON_STREETS,
    DIRECTIONS,
    POOL_SEED,
    STREET_SUFFIXES,
    SUFFIX_WEIGHTS,
)


@dataclass(frozen=True)
class Pools:
    """Everything the row generators draw values from; ``*_weights`` are unnormalized."""

    female_names: tuple[str, ...]
    female_weights: np.ndarray
    male_names: tuple[str, ...]
    male_weights: np.ndarray
    last_names: tuple[str, ...]
    last_weights: np.ndarray
    streets: tuple[str, ...]
    streets_abbreviated: tuple[str, ...]
    street_weights: np.ndarray
    cities: tuple[str, ...]
    states: tuple[str, ...]
    zips: tuple[str, ...]
    location_weights: np.ndarray
    employers: tuple[str, ...]
    employer_weights: np.ndarray
    branch_phones: tuple[str, ...]


def _faker(seed: int) -> Faker:
    fake = Faker("en_US")
    fake.seed_instance(seed)
    return fake


def _streets(fake: Faker, rng: np.random.Generator, size: int) -> tuple[list[str], list[str], np.ndarray]:
    bases = list(COMMON_STREETS) + [fake.last_name() for _ in range(size - len(COMMON_STREETS))]
    suffix_p = SUFFIX_WEIGHTS / SUFFIX_WEIGHTS.sum()
    suffixes = rng.choice(len(STREET_SUFFIXES), size=size, p=suffix_p)
    directions = rng.integers(0, len(DIRECTIONS), size=size)
    directional = rng.random(size) < 0.12
    full: list[str] = []
    short: list[str] = []
    for base, s, d, has_dir in zip(bases, suffixes, directions, directional, strict=True):
        word, abbr = STREET_SUFFIXES[s]
        prefix_full, prefix_abbr = (f"{DIRECTIONS[d][0]} ", f"{DIRECTIONS[d][1]} ") if has_dir else ("", "")
        full.append(f"{prefix_full}{base} {word}")
        short.append(f"{prefix_abbr}{base} {abbr}")
    return full, short, zipf_weights(size, 0.6)


def _locations(
    fake: Faker, rng: np.random.Generator, towns: int
) -> tuple[list[str], list[str], list[str], np.ndarray]:
    cities: list[str] = []
    states: list[str] = []
    zips: list[str] = []
    weights: list[float] = []
    places = list(BIG_CITIES) + [
        (fake.city(), fake.state_abbr(include_territories=False)) for _ in range(towns)
    ]
    for rank, (city, state) in enumerate(places):
        # Big cities span many ZIP codes, small towns one or two.
        for _ in range(max(1, 8 - rank // 4) if rank < len(BIG_CITIES) else int(rng.integers(1, 3))):
            cities.append(city)
            states.append(state)
            zips.append(fake.zipcode_in_state(state))
            weights.append(40.0 if rank < len(BIG_CITIES) else 1.0)
    return cities, states, zips, np.array(weights)


def _employers(fake: Faker, size: int) -> list[str]:
    public = [
        "County School District",
        "State University",
        "Regional Medical Center",
        "City Of Springfield",
        "US Postal Service",
        "Department Of Veterans Affairs",
        "Walmart Inc",
        "Amazon.com Services",
        "Home Depot USA",
        "Kroger Co",
        "Target Corp",
        "UPS",
        "FedEx Ground",
        "Wells Fargo Bank",
        "Lowes Home Centers",
        "Starbucks Corp",
    ]
    names = public + [fake.unique.company() for _ in range(size - len(public))]
    return [name.replace(",", "") for name in names]


@lru_cache(maxsize=1)
def build_pools() -> Pools:
    """Build the value pools: a few thousand Faker calls, once per process.

    The pools are the same for every seed (the seed decides who draws what from them), so a
    run's cost does not include rebuilding them and the vocabulary is stable across seeds.
    """
    fake = _faker(POOL_SEED)
    rng = rng_for(POOL_SEED, "pools")
    streets, short, street_weights = _streets(fake, rng, 1500)
    cities, states, zips, location_weights = _locations(fake, rng, 700)
    employers = _employers(fake, 2500)
    employer_weights = zipf_weights(len(employers), 1.1)
    branch_phones = tuple(
        f"{AREA_CODES[i]}{rng.integers(200, 999)}{rng.integers(1000, 9999)}" for i in range(6)
    )
    female = PersonProvider.first_names_female
    male = PersonProvider.first_names_male
    last = PersonProvider.last_names
    return Pools(
        female_names=tuple(female),
        female_weights=np.array(list(female.values())),
        male_names=tuple(male),
        male_weights=np.array(list(male.values())),
        last_names=tuple(last),
        last_weights=np.array(list(last.values())),
        streets=tuple(streets),
        streets_abbreviated=tuple(short),
        street_weights=street_weights,
        cities=tuple(cities),
        states=tuple(states),
        zips=tuple(zips),
        location_weights=location_weights,
        employers=tuple(employers),
        employer_weights=employer_weights,
        branch_phones=branch_phones,
    )
