"""Write the synthetic provider directory: `python -m loadtests.make_directory > configs/providers.json`.

Deterministic (seeded). Names are invented and marked synthetic; NPIs are Luhn-valid but fake.
"""

from __future__ import annotations

import json
import random
import sys

import zipcodes

from orchestrator.directory import TAXONOMY
from orchestrator.npi import npi_check_digit

REGIONS = [
    ("Boston", "MA"),
    ("New York", "NY"),
    ("Chicago", "IL"),
    ("Houston", "TX"),
    ("Denver", "CO"),
    ("Seattle", "WA"),
    ("Atlanta", "GA"),
    ("Los Angeles", "CA"),
    ("Miami", "FL"),
    ("Minneapolis", "MN"),
]
GIVEN = ["Avery", "Jordan", "Riley", "Casey", "Morgan", "Quinn", "Rowan", "Sage", "Taylor", "Emerson"]
FAMILY = ["Example", "Sample", "Placeholder", "Fictus", "Testwood", "Mockridge", "Demo", "Specimen"]


def build(seed: int = 2026) -> dict[str, object]:
    rng = random.Random(seed)
    providers = []
    number = 0
    for city, state in REGIONS:
        zips = sorted(p["zip_code"] for p in zipcodes.filter_by(city=city, state=state, zip_code_type="STANDARD"))
        for taxonomy in TAXONOMY:
            for _ in range(2):
                number += 1
                first_nine = f"1{rng.randrange(10**8):08d}"
                providers.append(
                    {
                        "npi": first_nine + npi_check_digit(first_nine),
                        "name": f"{rng.choice(GIVEN)} {rng.choice(FAMILY)} (synthetic #{number:03d})",
                        "taxonomy": taxonomy,
                        "zip": rng.choice(zips),
                        "accepting_new_patients": rng.random() < 0.8,
                        "telehealth": rng.random() < 0.5,
                    }
                )
    return {
        "notice": "SYNTHETIC DATA for development and tests: invented providers, fake (Luhn-valid) NPIs. "
        "Taxonomy codes: NUCC Health Care Provider Taxonomy, (c) AMA on behalf of NUCC. "
        "ZIP coordinates: GeoNames via the zipcodes package, CC BY 4.0.",
        "providers": providers,
    }


if __name__ == "__main__":
    json.dump(build(), sys.stdout, indent=1)
    sys.stdout.write("\n")
