"""Shared fixtures: a small seeded population of bank party records with ground truth.

The population mimics the four source systems (core, card, mortgage, digital) and their noise:
nicknames and initials, typos, day/month swaps, married-name changes, twins, a placeholder SSN.
It is built here (not with cdp.synth) so these tests pin resolution behaviour independently.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from dataclasses import dataclass

import polars as pl
import pytest
from faker.providers.person.en_US import Provider as People

from cdp.engine import DuckDBEngine
from cdp.schemas.canonical import PARTY_COLUMNS, conform

NICKNAMES = {
    "william": "bill",
    "robert": "bob",
    "elizabeth": "liz",
    "margaret": "peggy",
    "james": "jim",
    "richard": "dick",
    "katherine": "kate",
    "michael": "mike",
    "jennifer": "jen",
    "thomas": "tom",
}
STREETS = (
    "main st",
    "oak ave",
    "maple dr",
    "pine st",
    "cedar ln",
    "elm st",
    "park ave",
    "lake rd",
    "hill st",
)


def token(kind: str, value: str) -> str:
    return hashlib.sha256(f"{kind}:{value}".encode()).hexdigest()


def _weighted(names: dict[str, float], rng: random.Random, k: int) -> list[str]:
    return [name.lower() for name in rng.choices(list(names), weights=list(names.values()), k=k)]


def _typo(text: str, rng: random.Random) -> str:
    if len(text) < 4:
        return text
    i = rng.randrange(1, len(text) - 1)
    return text[:i] + text[i + 1] + text[i] + text[i + 2 :]


@dataclass(frozen=True)
class Population:
    parties: pl.DataFrame
    truth: pl.DataFrame


def make_population(n_persons: int, *, seed: int = 7) -> Population:
    """Persons with 1-4 records each across the four sources, plus deliberate hard cases."""
    rng = random.Random(seed)
    firsts = _weighted(dict(People.first_names_male), rng, n_persons // 2) + _weighted(
        dict(People.first_names_female), rng, n_persons - n_persons // 2
    )
    firsts = [rng.choice(list(NICKNAMES)) if rng.random() < 0.15 else f for f in firsts]
    lasts = _weighted(dict(People.last_names), rng, n_persons)
    rows: list[dict[str, object]] = []
    truth: list[tuple[str, str, str]] = []
    for p in range(n_persons):
        entity = f"P{p:07d}"
        first, last = firsts[p], lasts[p]
        dob = f"{rng.randint(1940, 2004)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        ssn = f"{rng.randint(100, 665):03d}{rng.randint(10, 99):02d}{rng.randint(1000, 9999):04d}"
        phone = f"+1{rng.randint(201, 989)}{rng.randint(2000000, 9999999)}"
        email = f"{first}.{last}{rng.randint(1, 99)}@{rng.choice(('gmail.com', 'yahoo.com', 'aol.com'))}"
        line1 = f"{rng.randint(1, 9999)} {rng.choice(STREETS)}"
        postcode = f"{rng.randint(10000, 99999)}"
        base = {
            "first_name": first,
            "last_name": last,
            "date_of_birth": dob,
            "phone": phone,
            "email": email,
            "address_line1": line1,
            "city": f"city{int(postcode) % 500}",
            "state": "NY",
            "postcode": postcode,
        }

        def add(
            source: str,
            rid: str,
            *,
            entity: str = entity,
            first: str = first,
            last: str = last,
            **fields: object,
        ) -> None:
            noisy = dict(fields)
            if noisy.get("address_line1") and rng.random() < 0.15:
                noisy["address_line1"] = f"{rng.randint(1, 9999)} {rng.choice(STREETS)}"
                if rng.random() < 0.5:
                    noisy["postcode"] = f"{rng.randint(10000, 99999)}"
            if noisy.get("phone") and rng.random() < 0.1:
                noisy["phone"] = f"+1{rng.randint(201, 989)}{rng.randint(2000000, 9999999)}"
            if noisy.get("email") and rng.random() < 0.1:
                noisy["email"] = (
                    f"{first[0]}{last}{rng.randint(1, 99)}@{rng.choice(('gmail.com', 'outlook.com'))}"
                )
            if noisy.get("date_of_birth") and rng.random() < 0.03:
                noisy["date_of_birth"] = _typo(str(noisy["date_of_birth"]), rng)
            if noisy.get("first_name") and rng.random() < 0.05:
                noisy["first_name"] = _typo(str(noisy["first_name"]), rng)
            rows.append({"source": source, "record_id": rid, **noisy})
            truth.append((source, rid, entity))

        add(
            "core_customers",
            f"C{p}",
            **base,
            national_id_token=token("ssn", ssn),
            national_id_last4_token=token("l4", ssn[-4:]),
        )
        if rng.random() < 0.4:
            card = {
                **base,
                "first_name": first[0] if rng.random() < 0.5 else first,
                "date_of_birth": None,
                "email": None,
            }
            if rng.random() < 0.2:
                card["last_name"] = _typo(last, rng)
            add("card_holders", f"H{p}", **card)
        if rng.random() < 0.2:
            mortgage = {**base, "national_id_last4_token": token("l4", ssn[-4:]), "email": None}
            if rng.random() < 0.1:
                y, m, d = dob.split("-")
                mortgage["date_of_birth"] = f"{y}-{d}-{m}" if int(d) <= 12 else dob
            add("mortgage_borrowers", f"M{p}", **mortgage)
        if rng.random() < 0.5:
            digital = {
                "first_name": NICKNAMES.get(first, first),
                "last_name": last,
                "email": email,
                "phone": phone if rng.random() < 0.7 else None,
            }
            add("digital_users", f"D{p}", **digital)
    frame = pl.DataFrame(rows, infer_schema_length=None).with_columns(
        pl.col("date_of_birth").str.to_date(strict=False)
    )
    return Population(
        parties=conform(frame, PARTY_COLUMNS),
        truth=pl.DataFrame(truth, schema=["source", "record_id", "entity_id"], orient="row"),
    )


def hard_cases() -> Population:
    """Named persons for the pinned hard cases, each with its own records."""
    rows: list[dict[str, object]] = []
    truth: list[tuple[str, str, str]] = []

    def add(entity: str, source: str, rid: str, **fields: object) -> None:
        rows.append({"source": source, "record_id": rid, **fields})
        truth.append((source, rid, entity))

    home = {
        "address_line1": "12 quincy st",
        "city": "springfield",
        "state": "IL",
        "postcode": "62704",
        "last_name": "zabriskie",
        "date_of_birth": "1990-05-17",
        "phone": "+12175550111",
    }
    add(
        "twin_a",
        "core_customers",
        "T1",
        first_name="octavia",
        email="octavia.z@gmail.com",
        national_id_token=token("ssn", "311223344"),
        national_id_last4_token=token("l4", "3344"),
        **home,
    )
    add(
        "twin_b",
        "core_customers",
        "T2",
        first_name="cordelia",
        email="cordelia.z@gmail.com",
        national_id_token=token("ssn", "311223345"),
        national_id_last4_token=token("l4", "3345"),
        **home,
    )
    maiden = {
        "first_name": "philippa",
        "date_of_birth": "1984-11-03",
        "national_id_token": token("ssn", "455667788"),
        "national_id_last4_token": token("l4", "7788"),
        "email": "pip.q@yahoo.com",
    }
    add(
        "married",
        "core_customers",
        "W1",
        last_name="quackenbush",
        phone="+13125550100",
        address_line1="9 birch ct",
        city="chicago",
        state="IL",
        postcode="60614",
        **maiden,
    )
    add(
        "married",
        "mortgage_borrowers",
        "W2",
        last_name="vandermeer",
        phone="+13125550177",
        address_line1="400 lake shore dr",
        city="chicago",
        state="IL",
        postcode="60611",
        **{**maiden, "national_id_token": None, "email": None},
    )
    add(
        "nick",
        "core_customers",
        "N1",
        first_name="william",
        last_name="hollingsworth",
        date_of_birth="1975-02-28",
        email="w.hollingsworth@aol.com",
        phone="+16175550123",
        address_line1="77 beacon st",
        city="boston",
        state="MA",
        postcode="02108",
        national_id_token=token("ssn", "522334455"),
        national_id_last4_token=token("l4", "4455"),
    )
    add(
        "nick",
        "digital_users",
        "N2",
        first_name="bill",
        last_name="hollingsworth",
        email="w.hollingsworth@aol.com",
        phone="+16175550123",
    )
    placeholder = token("ssn", "111111111")
    for i in range(12):
        add(
            f"junk{i}",
            "core_customers",
            f"J{i}",
            first_name=f"name{i}x",
            last_name=f"family{i}y",
            date_of_birth=f"19{50 + i}-0{1 + i % 9}-1{i % 9}",
            national_id_token=placeholder,
            national_id_last4_token=token("l4", "1111"),
            postcode=f"3{i:04d}",
        )
    frame = pl.DataFrame(rows, infer_schema_length=None).with_columns(
        pl.col("date_of_birth").str.to_date(strict=False)
    )
    return Population(
        parties=conform(frame, PARTY_COLUMNS),
        truth=pl.DataFrame(truth, schema=["source", "record_id", "entity_id"], orient="row"),
    )


@pytest.fixture(scope="session")
def engine() -> DuckDBEngine:
    return DuckDBEngine(threads=2, memory_limit="2GB")


@pytest.fixture(scope="session")
def population() -> Population:
    base = make_population(3000, seed=11)
    extra = hard_cases()
    return Population(
        parties=pl.concat([base.parties, extra.parties]),
        truth=pl.concat([base.truth, extra.truth]),
    )


@pytest.fixture(scope="session")
def trained(population: Population, engine: DuckDBEngine) -> Iterator[object]:
    from cdp.resolve import train_model

    yield train_model(population.parties, engine=engine, seed=42, max_pairs_u=5e5)
