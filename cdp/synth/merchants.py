"""Counterparties of the synthetic ledger: merchants by MCC, billers, lenders, card issuers."""

from __future__ import annotations

import numpy as np

#: (MCC, MCC description, merchant names, log-mean amount, log-sd, share of card purchases).
MERCHANTS: tuple[tuple[str, str, tuple[str, ...], float, float, float], ...] = (
    (
        "5411",
        "Grocery Stores, Supermarkets",
        ("KROGER", "SAFEWAY", "WHOLE FOODS MKT", "PUBLIX", "ALDI", "TRADER JOE'S", "HEB", "MEIJER"),
        4.0,
        0.7,
        20,
    ),
    (
        "5812",
        "Eating Places, Restaurants",
        ("OLIVE GARDEN", "CHILI'S", "APPLEBEE'S", "PANERA BREAD", "LOCAL BISTRO", "THE CORNER CAFE"),
        3.6,
        0.6,
        12,
    ),
    (
        "5814",
        "Fast Food Restaurants",
        ("MCDONALD'S", "STARBUCKS", "CHIPOTLE", "SUBWAY", "TACO BELL", "DUNKIN"),
        2.4,
        0.5,
        14,
    ),
    (
        "5541",
        "Service Stations",
        ("SHELL OIL", "CHEVRON", "EXXONMOBIL", "BP", "SPEEDWAY", "WAWA"),
        3.7,
        0.4,
        10,
    ),
    ("5912", "Drug Stores and Pharmacies", ("CVS PHARMACY", "WALGREENS", "RITE AID"), 3.0, 0.7, 5),
    ("5310", "Discount Stores", ("WALMART", "TARGET", "DOLLAR GENERAL", "COSTCO WHSE"), 4.2, 0.7, 10),
    ("5942", "Book Stores", ("BARNES & NOBLE", "AMAZON DIGITAL"), 3.0, 0.5, 1),
    ("5999", "Miscellaneous Retail", ("AMAZON.COM", "ETSY", "EBAY"), 3.6, 0.8, 10),
    ("5691", "Clothing Stores", ("OLD NAVY", "GAP", "NORDSTROM", "TJ MAXX", "H&M"), 4.1, 0.6, 4),
    ("4121", "Taxicabs and Rideshares", ("UBER TRIP", "LYFT RIDE"), 3.0, 0.5, 4),
    (
        "4899",
        "Cable and Streaming Services",
        ("NETFLIX.COM", "HULU", "DISNEY PLUS", "YOUTUBE TV"),
        2.8,
        0.3,
        3,
    ),
    ("5200", "Home Supply Warehouse Stores", ("HOME DEPOT", "LOWE'S", "MENARDS"), 4.5, 0.9, 3),
    (
        "4511",
        "Airlines",
        ("DELTA AIR LINES", "UNITED AIRLINES", "SOUTHWEST AIR", "AMERICAN AIRLINES"),
        5.8,
        0.5,
        1,
    ),
    ("7011", "Hotels and Motels", ("MARRIOTT", "HILTON HOTELS", "HOLIDAY INN", "HYATT"), 5.3, 0.5, 1),
    ("8011", "Doctors and Physicians", ("FAMILY MEDICAL GROUP", "URGENT CARE CENTER"), 4.3, 0.6, 1),
    ("5732", "Electronics Stores", ("BEST BUY", "APPLE STORE", "MICRO CENTER"), 5.0, 0.9, 1),
)
MERCHANT_WEIGHTS = np.array([m[5] for m in MERCHANTS], dtype=np.float64)

#: (biller, typical monthly amount, relative month-to-month variation).
BILLERS: tuple[tuple[str, float, float], ...] = (
    ("CITY POWER & LIGHT", 120.0, 0.25),
    ("METRO WATER UTILITY", 60.0, 0.2),
    ("COMCAST CABLE", 95.0, 0.03),
    ("VERIZON WIRELESS", 140.0, 0.04),
    ("AT&T MOBILITY", 130.0, 0.04),
    ("T-MOBILE", 110.0, 0.04),
    ("STATE FARM INSURANCE", 160.0, 0.0),
    ("GEICO AUTO", 140.0, 0.0),
    ("PROGRESSIVE INS", 130.0, 0.0),
    ("CITY GAS CO", 70.0, 0.35),
    ("PLANET FITNESS", 24.99, 0.0),
    ("SPECTRUM", 85.0, 0.03),
)
MORTGAGE_LENDERS = (
    "WELLS FARGO HOME MTG",
    "ROCKET MORTGAGE",
    "CHASE HOME LENDING",
    "US BANK HOME MTG",
    "PENNYMAC",
    "MR COOPER",
    "FREEDOM MORTGAGE",
)
CARD_ISSUERS = (
    "CHASE CREDIT CRD EPAY",
    "CAPITAL ONE CRCARDPMT",
    "DISCOVER E-PAYMENT",
    "AMEX EPAYMENT",
    "CITI AUTOPAY",
)
OWN_MORTGAGE = "HPB HOME LOANS"
OWN_CARD = "HPB CARD SERVICES"
ONE_OFF_PAYERS = (
    "WIRE TRANSFER IN",
    "TITLE CO ESCROW",
    "ESTATE DISTRIBUTION",
    "IRS TREAS 310 TAX REF",
    "ANNUAL BONUS",
    "INSURANCE SETTLEMENT",
)
PENSION_PAYERS = ("SSA TREAS 310 XXSOC SEC", "STATE TEACHERS RETIREMENT", "FEDERAL EMPLOYEES RETIREMENT")

_NAMES = tuple(name for m in MERCHANTS for name in m[2])
_OFFSETS = np.cumsum([0] + [len(m[2]) for m in MERCHANTS])[:-1]
_COUNTS = np.array([len(m[2]) for m in MERCHANTS])


def pick_merchants(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(MCC row, merchant name index into ``merchant_names()``) for ``n`` purchases."""
    cumulative = np.cumsum(MERCHANT_WEIGHTS)
    kind = np.searchsorted(cumulative, rng.random(n) * cumulative[-1], side="right")
    return kind, _OFFSETS[kind] + (rng.random(n) * _COUNTS[kind]).astype(np.int64)


def merchant_names() -> tuple[str, ...]:
    return _NAMES
