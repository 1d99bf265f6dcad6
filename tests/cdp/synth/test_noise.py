"""Noise functions (literal frames) and noise actually present in a generated bank."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
from polars.testing import assert_series_equal

from cdp.synth import NOISE_RATES, GenerationSummary, noise
from cdp.synth.common import make_calendar, rng_for
from cdp.synth.pools import build_pools
from cdp.synth.population import build_population
from cdp.synth.vocabulary import NICKNAMES


def test_noise_table_covers_every_system() -> None:
    assert set(NOISE_RATES["nickname"]) == {"core", "card", "mortgage", "digital"}
    assert NOISE_RATES["nickname"]["digital"] > NOISE_RATES["nickname"]["core"]
    assert NOISE_RATES["upper_case_name"]["card"] == 1.0
    assert all(0.0 <= rate <= 1.0 for rates in NOISE_RATES.values() for rate in rates.values())


def test_format_phone_layouts() -> None:
    digits = pl.Series("p", ["2125550123"] * 6 + [None])
    result = noise.format_phone(digits, np.array([0, 1, 2, 3, 4, 5, 0]))
    expected = pl.Series(
        "p",
        [
            "(212) 555-0123",
            "212-555-0123",
            "212.555.0123",
            "+1 212 555 0123",
            "2125550123",
            "+12125550123",
            None,
        ],
    )
    assert_series_equal(result, expected)


def test_format_ssn_layouts() -> None:
    result = noise.format_ssn(
        pl.Series("ssn", ["123456789", "123456789", "123456789", None]), np.array([0, 1, 2, 0])
    )
    assert_series_equal(result, pl.Series("ssn", ["123-45-6789", "123456789", "123 45 6789", None]))


def test_swap_day_month_only_when_valid_and_different() -> None:
    dates = pl.Series(
        "d", [dt.date(1980, 3, 5), dt.date(1980, 3, 25), dt.date(1980, 4, 4), dt.date(1980, 3, 5), None]
    )
    result = noise.swap_day_month(dates, np.array([True, True, True, False, True]))
    expected = pl.Series(
        "d", [dt.date(1980, 5, 3), dt.date(1980, 3, 25), dt.date(1980, 4, 4), dt.date(1980, 3, 5), None]
    )
    assert_series_equal(result, expected)


def test_nickname_replaces_only_masked_names_that_have_one() -> None:
    names = pl.Series("first", ["Michael", "Michael", "Zelda", None])
    result = noise.nickname(names, np.array([True, False, True, True]), np.random.default_rng(0))
    assert_series_equal(result, pl.Series("first", ["Mike", "Michael", "Zelda", None]))
    assert NICKNAMES["Robert"] == ("Bob", "Rob", "Bobby") and "Liz" in NICKNAMES["Elizabeth"]


def test_typo_edits_masked_rows_once_and_keeps_the_initial() -> None:
    names = pl.Series("last", ["Johnson"] * 200 + ["Al", None])
    mask = np.ones(202, dtype=bool)
    mask[0] = False
    result = noise.typo(names, mask, np.random.default_rng(1))
    assert result[0] == "Johnson"
    assert result[200] == "Al" and result[201] is None  # too short to mistype; nulls stay null
    edited = result[1:200]
    assert (edited != "Johnson").mean() > 0.9  # a swap of equal letters can leave it unchanged
    assert edited.str.starts_with("J").all()
    assert edited.str.len_chars().is_between(6, 8).all()


def test_blank_and_placeholders() -> None:
    values = pl.Series("email", ["a@b.com", "c@d.com", None])
    assert_series_equal(
        noise.blank(values, np.array([True, False, False])), pl.Series("email", [None, "c@d.com", None])
    )
    assert noise.PLACEHOLDER_EMAIL == "noemail@bank.com"
    assert set(noise.PLACEHOLDER_SSNS) == {"000000000", "123456789"}


def test_population_has_twins_households_and_common_names() -> None:
    calendar = make_calendar(dt.date(2026, 10, 31), months=0, batches=None)
    people = build_population(rng_for(3, "population"), build_pools(), persons=3000, calendar=calendar)
    twins = people.filter(pl.col("twin_of").is_not_null()).join(
        people, left_on="twin_of", right_on="person", suffix="_sibling"
    )
    assert twins.height > 0
    assert (twins["dob"] == twins["dob_sibling"]).all()
    assert (twins["last"] == twins["last_sibling"]).all()
    assert (twins["street"] == twins["street_sibling"]).all()
    assert (twins["first"] != twins["first_sibling"]).all()
    assert (twins["ssn"] != twins["ssn_sibling"]).all()
    assert people["ssn"].is_unique().all()
    assert people.group_by("household").len()["len"].max() > 2
    assert people["last"].value_counts(sort=True)["last"][0] == "Smith"
    assert (people["age"] < 18).any() and people["age"].is_between(58, 67).mean() > 0.1
    assert people["maiden"].is_not_null().mean() > 0.05


def _core(bank: GenerationSummary) -> pl.DataFrame:
    truth = pl.read_csv(bank.out_dir / "truth.csv", infer_schema=False)
    frame = pl.read_csv(next((bank.out_dir / "core").glob("customers_*.csv")), infer_schema=False)
    return frame.join(truth.rename({"record_id": "cif_no"}), on="cif_no")


def _other(bank: GenerationSummary, pattern: str, key: str, separator: str, encoding: str) -> pl.DataFrame:
    truth = pl.read_csv(bank.out_dir / "truth.csv", infer_schema=False)
    frame = pl.read_csv(
        next(bank.out_dir.glob(pattern)), separator=separator, encoding=encoding, infer_schema=False
    )
    return frame.join(truth.rename({"record_id": key}), on=key)


def test_core_has_placeholders_and_shared_branch_phone(bank: GenerationSummary) -> None:
    core = _core(bank)
    ssn_digits = core["ssn"].str.replace_all(r"\D", "")
    assert ssn_digits.is_in(["000000000", "123456789"]).any()
    assert (core["email_addr"] == "noemail@bank.com").any()
    shared = core.group_by("mobile_phone").agg(pl.col("entity_id").n_unique().alias("people")).drop_nulls()
    assert shared["people"].max() >= 3, "a branch phone keyed for many customers"
    assert core["ssn"].str.contains("-").any() and (~core["ssn"].str.contains("-")).any()
    households = core.group_by("house_no", "street", "zip").agg(
        pl.col("entity_id").n_unique().alias("people")
    )
    assert households["people"].max() > 1


def test_swapped_dates_of_birth_across_systems(bank: GenerationSummary) -> None:
    core = _core(bank).select("entity_id", dob=pl.col("birth_dt").str.strptime(pl.Date, "%m/%d/%Y"))
    card = _other(bank, "card/cardholders_*.txt", "HOLDER_ID", "|", "utf8").select(
        "entity_id", dob=pl.col("DOB").str.strptime(pl.Date, "%Y%m%d")
    )
    pairs = core.join(card, on="entity_id", suffix="_card").drop_nulls()
    swapped = pairs.filter(
        (pl.col("dob").dt.day() == pl.col("dob_card").dt.month())
        & (pl.col("dob").dt.month() == pl.col("dob_card").dt.day())
        & (pl.col("dob") != pl.col("dob_card"))
    )
    assert swapped.height > 0


def test_digital_names_are_typed_loosely(bank: GenerationSummary) -> None:
    core = _core(bank).select("entity_id", formal="first_nm")
    digital = _other(bank, "digital/users_*.csv", "user_id", ",", "utf8")
    nicks = pl.DataFrame({"formal": list(NICKNAMES), "nick": [list(v) for v in NICKNAMES.values()]}).explode(
        "nick"
    )
    used = (
        digital.join(core, on="entity_id")
        .join(nicks, on="formal")
        .filter(pl.col("given_name").str.to_lowercase() == pl.col("nick").str.to_lowercase())
    )
    assert used.height > 0, "nicknames in the digital channel"
    assert (digital["given_name"] == digital["given_name"].str.to_lowercase()).mean() > 0.2
    assert digital["family_name"].null_count() > 0, "first name only"
    assert digital["mobile"].str.starts_with("+1").any()


def test_card_names_are_embossed_and_mortgage_keeps_last4(bank: GenerationSummary) -> None:
    card = _other(bank, "card/cardholders_*.txt", "HOLDER_ID", "|", "utf8")
    assert (card["EMBOSS_NAME"] == card["EMBOSS_NAME"].str.to_uppercase()).all()
    assert card["EMBOSS_NAME"].str.contains(r"^[A-Z] ").any()
    assert (card["EMBOSS_NAME"].str.len_chars() <= 26).all()
    mortgage = _other(bank, "mortgage/borrowers_*.csv", "BorrowerID", ",", "latin1")
    assert mortgage["SSNLast4"].drop_nulls().str.contains(r"^\d{4}$").all()
    assert (
        mortgage["MailingStreet"].null_count() > 0
        and mortgage["MailingStreet"].null_count() < mortgage.height
    )
    assert mortgage.group_by("LoanNumber").len()["len"].max() == 2, "co-borrowers"
