"""Shared builders: hand-made party records that the shipped model links (or not) predictably."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from cdp.engine import DuckDBEngine
from cdp.identity import ClusteringPolicy, Decisions, IdentityState, assign_stable_ids, cluster_records
from cdp.pipeline import combine_edges
from cdp.resolve.predict import deterministic_edges, predict_edges
from cdp.schemas.canonical import PARTY_COLUMNS, conform

MODEL_FILE = Path(__file__).resolve().parents[3] / "data" / "sample" / "linkage_model.json"
POLICY = ClusteringPolicy()
T0 = dt.datetime(2026, 1, 1)
D1, D2, D3 = dt.date(1980, 3, 4), dt.date(1975, 7, 9), dt.date(1990, 1, 2)


def rec(
    record_id: str,
    first: str,
    last: str,
    dob: dt.date,
    *,
    source: str = "core_customers",
    email: str | None = None,
    phone: str | None = None,
    token: str | None = None,
    address: str | None = None,
    postcode: str | None = None,
) -> dict[str, object]:
    return {
        "source": source,
        "record_id": record_id,
        "source_system": source.split("_")[0],
        "first_name": first,
        "last_name": last,
        "date_of_birth": dob,
        "email": email,
        "phone": phone,
        "national_id_token": token,
        "address_line1": address,
        "postcode": postcode,
        "source_file": "f.csv",
        "source_row": 2,
    }


def frame(*rows: dict[str, object]) -> pl.DataFrame:
    return conform(pl.DataFrame(list(rows), infer_schema_length=None), PARTY_COLUMNS)


#: Alice's core and card records do not link on their own (p ~ 0.04); her digital record links both.
ALICE_CORE = rec("A1", "alice", "smith", D1, token="t1", address="1 main st", postcode="10001")
ALICE_CARD = rec(
    "A2",
    "alice",
    "smith",
    D1,
    source="card_holders",
    email="alice.s@mail.com",
    phone="+12125550101",
    address="9 oak ave",
    postcode="20002",
)
ALICE_DIGITAL = rec(
    "A3",
    "alice",
    "smith",
    D1,
    source="digital_users",
    email="alice.s@mail.com",
    phone="+12125550101",
    token="t1",
    address="1 main st",
    postcode="10001",
)
BOB = rec("B1", "bob", "jones", D2, token="t2", email="bob@x.com", address="5 elm st", postcode="30003")
CAROL = rec(
    "C1", "carol", "white", D3, token="t3", email="carol@y.com", address="7 pine rd", postcode="40004"
)


class Kit:
    """The builders above, handed to tests as the ``kit`` fixture (test dirs are not packages)."""

    rec = staticmethod(rec)
    frame = staticmethod(frame)
    POLICY = POLICY
    D1, D2, D3 = D1, D2, D3
    ALICE_CORE, ALICE_CARD, ALICE_DIGITAL, BOB, CAROL = ALICE_CORE, ALICE_CARD, ALICE_DIGITAL, BOB, CAROL


@pytest.fixture(scope="session")
def kit() -> type[Kit]:
    return Kit


@pytest.fixture(scope="session")
def model_json() -> str:
    return MODEL_FILE.read_text()


@pytest.fixture(scope="session")
def engine() -> DuckDBEngine:
    return DuckDBEngine(threads=1)


def _full_run(
    parties: pl.DataFrame, model_json: str, engine: DuckDBEngine, decisions: Decisions | None = None
) -> tuple[pl.DataFrame, IdentityState, pl.DataFrame]:
    """The full path on ``parties``: (edges, state, review queue)."""
    scored = predict_edges(parties, model_json=model_json, engine=engine, threshold=POLICY.edge_floor)
    edges = combine_edges(scored, deterministic_edges(parties))
    clustered = cluster_records(parties, edges, policy=POLICY, decisions=decisions or Decisions.none())
    state = assign_stable_ids(clustered.assignments, None, run_id="r0", run_time=T0)
    return edges, state, clustered.review_queue


@pytest.fixture(scope="session")
def full_run():
    """The full path as a function: ``full_run(parties, model_json, engine, decisions=None)``."""
    return _full_run
