"""Fixed vocabulary of the synthetic bank: nicknames, Spanish spellings, street words, big cities,
area codes and email domains. Plain data; ``pools`` turns it into weighted value pools.
"""

from __future__ import annotations

import numpy as np

#: Formal first name: the nicknames people actually go by (only names in the pool are used).
_NICKNAME_TABLE = """
Robert: Bob Rob Bobby
William: Bill Will Billy
Michael: Mike
James: Jim Jimmy Jamie
John: Jack Johnny
Christopher: Chris
Matthew: Matt
Joseph: Joe Joey
Daniel: Dan Danny
David: Dave
Anthony: Tony
Richard: Rick Rich Dick
Thomas: Tom Tommy
Charles: Charlie Chuck
Steven: Steve
Stephen: Steve
Andrew: Andy Drew
Joshua: Josh
Kenneth: Ken Kenny
Edward: Ed Eddie Ted
Timothy: Tim
Ronald: Ron
Donald: Don
Gregory: Greg
Jeffrey: Jeff
Benjamin: Ben
Samuel: Sam
Alexander: Alex
Nicholas: Nick
Jonathan: Jon
Patrick: Pat
Raymond: Ray
Lawrence: Larry
Gerald: Jerry
Frederick: Fred
Douglas: Doug
Zachary: Zach
Peter: Pete
Phillip: Phil
Bradley: Brad
Jacob: Jake
Nathan: Nate
Eugene: Gene
Vincent: Vince
Russell: Russ
Walter: Walt
Theodore: Ted Teddy
Elizabeth: Liz Beth Betty
Jennifer: Jen Jenny
Patricia: Pat Patty Trish
Margaret: Maggie Peggy Meg
Katherine: Kate Katie Kathy
Catherine: Cathy Kate
Kathleen: Kathy
Susan: Sue Susie
Deborah: Debbie Deb
Jessica: Jess Jessie
Rebecca: Becky Becca
Kimberly: Kim
Christina: Tina Chris
Christine: Chris
Victoria: Vicky Tori
Samantha: Sam
Alexandra: Alex
Abigail: Abby
Pamela: Pam
Barbara: Barb
Cynthia: Cindy
Sandra: Sandy
Judith: Judy
Stephanie: Steph
Melissa: Missy Mel
Amanda: Mandy
Nicole: Nikki
Jacqueline: Jackie
Theresa: Terri
Valerie: Val
Angela: Angie
Cassandra: Cassie
Madison: Maddie
Natalie: Nat
Tamara: Tammy
Jeremy: Jerry
Allison: Allie
Gabriel: Gabe
Leonard: Len Lenny
Albert: Al
Ashley: Ash
"""
NICKNAMES: dict[str, tuple[str, ...]] = {
    formal: tuple(nicks.split())
    for formal, nicks in (line.split(": ") for line in _NICKNAME_TABLE.strip().splitlines())
}

#: Plain spelling, then the Spanish spelling that systems with a Latin-1 extract sometimes keep.
_ACCENTED_TABLE = """
Garcia García
Rodriguez Rodríguez
Martinez Martínez
Hernandez Hernández
Lopez López
Gonzalez González
Perez Pérez
Sanchez Sánchez
Ramirez Ramírez
Gomez Gómez
Diaz Díaz
Gutierrez Gutiérrez
Alvarez Álvarez
Jimenez Jiménez
Fernandez Fernández
Munoz Muñoz
Pena Peña
Nunez Núñez
Vazquez Vázquez
Dominguez Domínguez
Marquez Márquez
Suarez Suárez
Benitez Benítez
Jose José
Andres Andrés
Jesus Jesús
Maria María
"""
ACCENTED: dict[str, str] = {
    plain: spanish for plain, spanish in (line.split() for line in _ACCENTED_TABLE.strip().splitlines())
}

#: Street suffix written out and as the USPS abbreviation, with how common each is.
STREET_SUFFIXES = (
    ("Street", "St"), ("Avenue", "Ave"), ("Road", "Rd"), ("Drive", "Dr"), ("Lane", "Ln"), ("Court", "Ct"),
    ("Boulevard", "Blvd"), ("Place", "Pl"), ("Circle", "Cir"), ("Way", "Way"), ("Terrace", "Ter"),
    ("Parkway", "Pkwy"), ("Trail", "Trl"),
)  # fmt: skip
SUFFIX_WEIGHTS = np.array([30, 22, 14, 14, 8, 6, 3, 3, 3, 4, 2, 1, 1], dtype=np.float64)
COMMON_STREETS = (
    "Main", "Oak", "Maple", "Park", "Pine", "Cedar", "Elm", "Washington", "Lake", "Hill", "2nd", "3rd", "1st",
    "4th", "5th", "Church", "Walnut", "Sunset", "Highland", "Mill",
)  # fmt: skip
DIRECTIONS = (("North", "N"), ("South", "S"), ("East", "E"), ("West", "W"))
BIG_CITIES = (
    ("New York", "NY"), ("Los Angeles", "CA"), ("Chicago", "IL"), ("Houston", "TX"), ("Phoenix", "AZ"),
    ("Philadelphia", "PA"), ("San Antonio", "TX"), ("San Diego", "CA"), ("Dallas", "TX"),
    ("Jacksonville", "FL"), ("Austin", "TX"), ("Columbus", "OH"), ("Charlotte", "NC"), ("Indianapolis", "IN"),
    ("Seattle", "WA"),
    ("Denver", "CO"), ("Boston", "MA"), ("Nashville", "TN"), ("Portland", "OR"), ("Atlanta", "GA"),
    ("Miami", "FL"), ("Minneapolis", "MN"), ("Tampa", "FL"), ("Pittsburgh", "PA"), ("St. Louis", "MO"),
    ("Baltimore", "MD"), ("Milwaukee", "WI"), ("Sacramento", "CA"),
)  # fmt: skip
#: Real US area codes (numbers in them are syntactically valid for phone parsers).
AREA_CODES = (
    "212", "213", "214", "215", "216", "217", "224", "248", "267", "281", "301", "303", "305", "310", "312",
    "313", "314", "317", "323", "346", "404", "407", "410", "412", "414", "415", "425", "469", "480", "502",
    "503", "504", "512", "513", "520", "602", "612", "614", "615", "617", "619", "630", "646", "702", "704",
    "713", "718", "720", "727", "732", "773", "786", "813", "815", "818", "832", "847", "858", "904", "916",
    "917", "919", "952", "972", "973",
)  # fmt: skip
EMAIL_DOMAINS = ("gmail.com", "yahoo.com", "hotmail.com", "outlook.com", "aol.com", "icloud.com",
                 "comcast.net", "att.net", "msn.com", "verizon.net", "live.com", "me.com")  # fmt: skip
EMAIL_DOMAIN_WEIGHTS = np.array([42, 16, 10, 8, 5, 6, 3, 2, 2, 2, 2, 2], dtype=np.float64)
#: Seed of the Faker-built pools: the same vocabulary for every generation seed.
POOL_SEED = 20261031
