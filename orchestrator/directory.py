"""The provider directory: loading and validating it, resolving a patient's location, and
ranking providers by specialty fit and distance.

Taxonomy codes: a subset of the NUCC Health Care Provider Taxonomy (© American Medical
Association on behalf of the National Uniform Claim Committee). ZIP coordinates: the
`zipcodes` package (GeoNames, CC BY 4.0). The shipped directory (configs/providers.json) is
synthetic: invented names, Luhn-valid fake NPIs.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import zipcodes

from orchestrator.npi import npi_is_valid

TAXONOMY: dict[str, str] = {
    "2084N0400X": "Neurology",
    "207RC0000X": "Cardiovascular Disease (Cardiology)",
    "207R00000X": "Internal Medicine",
    "208D00000X": "General Practice",
    "207RE0101X": "Endocrinology, Diabetes & Metabolism",
    "207RG0100X": "Gastroenterology",
    "207N00000X": "Dermatology",
    "2084P0800X": "Psychiatry",
    "207X00000X": "Orthopaedic Surgery",
    "208000000X": "Pediatrics",
    "207V00000X": "Obstetrics & Gynecology",
    "207W00000X": "Ophthalmology",
    "207RN0300X": "Nephrology",
    "207RX0202X": "Medical Oncology",
    "207P00000X": "Emergency Medicine",
}
PRIMARY_CARE = ("207R00000X", "208D00000X")
EMERGENCY = "207P00000X"
PEDIATRICS = "208000000X"

# ICD-10-CM code prefixes -> the specialty that usually takes such a case.
_SPECIALTY_BY_ICD_PREFIX: tuple[tuple[str, str], ...] = (
    ("G43", "2084N0400X"), ("G44", "2084N0400X"), ("G45", "2084N0400X"), ("R51", "2084N0400X"),
    ("G40", "2084N0400X"), ("I2", "207RC0000X"), ("I4", "207RC0000X"), ("I5", "207RC0000X"),
    ("R07", "207RC0000X"), ("I1", "207RC0000X"), ("E0", "207RE0101X"), ("E1", "207RE0101X"),
    ("K", "207RG0100X"), ("L", "207N00000X"), ("F", "2084P0800X"), ("M", "207X00000X"),
    ("S", "207X00000X"), ("O", "207V00000X"), ("N8", "207V00000X"), ("N9", "207V00000X"),
    ("H0", "207W00000X"), ("H1", "207W00000X"), ("H2", "207W00000X"), ("H3", "207W00000X"),
    ("H4", "207W00000X"), ("H5", "207W00000X"), ("N18", "207RN0300X"), ("N17", "207RN0300X"),
    ("C", "207RX0202X"), ("J", "207R00000X"),
)  # fmt: skip

_ZIP = re.compile(r"^\d{5}$")
_CITY_STATE = re.compile(r"^\s*([A-Za-z .'-]+?)\s*,\s*([A-Za-z]{2})\s*$")


class DirectoryError(ValueError):
    """The directory file is invalid; the message says which entry and why."""


class LocationNotFound(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Location:
    label: str
    lat: float
    lon: float


@dataclass(frozen=True, slots=True)
class Provider:
    npi: str
    name: str
    taxonomy: str
    zip: str
    city: str
    state: str
    accepting_new_patients: bool
    telehealth: bool
    lat: float
    lon: float

    @property
    def specialty(self) -> str:
        return TAXONOMY[self.taxonomy]


@dataclass(frozen=True, slots=True)
class ProviderMatch:
    provider: Provider
    distance_miles: float
    fit: float  # 1.0 the specialty asked for, 0.5 primary care standing in


def miles_between(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    radius = 3958.8
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * radius * math.asin(math.sqrt(a))


def resolve_location(text: str) -> Location:
    """A 5-digit ZIP or "City, ST" -> coordinates (offline, from `zipcodes`)."""
    text = text.strip()
    if _ZIP.match(text):
        found = zipcodes.matching(text)
        if found and found[0].get("lat"):
            place = found[0]
            return Location(f"{text} ({place['city']}, {place['state']})", float(place["lat"]), float(place["long"]))
        raise LocationNotFound(f"Unknown US ZIP code {text!r}.")
    match = _CITY_STATE.match(text)
    if match:
        city, state = match.group(1).strip(), match.group(2).upper()
        places = [p for p in zipcodes.filter_by(city=city.title(), state=state) if p.get("lat")]
        if places:
            lat = sum(float(p["lat"]) for p in places) / len(places)
            lon = sum(float(p["long"]) for p in places) / len(places)
            return Location(f"{city.title()}, {state}", lat, lon)
        raise LocationNotFound(f"Unknown US city {city!r} in {state!r}.")
    raise LocationNotFound('Give the location as a 5-digit US ZIP code or as "City, ST".')


def specialties_for(icd_codes: Iterable[str], *, age: int | None, emergency: bool) -> list[str]:
    """Taxonomy codes for a case, most fitting first; primary care always last as a fallback."""
    wanted: list[str] = [EMERGENCY] if emergency else []
    if age is not None and age < 18:
        wanted.append(PEDIATRICS)
    for code in icd_codes:
        for prefix, taxonomy in _SPECIALTY_BY_ICD_PREFIX:
            if code.startswith(prefix) and taxonomy not in wanted:
                wanted.append(taxonomy)
                break
    return wanted + [t for t in PRIMARY_CARE if t not in wanted]


class ProviderDirectory:
    def __init__(self, providers: list[Provider]) -> None:
        self.providers = providers

    @classmethod
    def load(cls, path: Path) -> ProviderDirectory:
        try:
            entries = json.loads(path.read_text())["providers"]
        except (OSError, ValueError, KeyError) as exc:
            raise DirectoryError(f"cannot read provider directory {path}: {exc}") from exc
        providers, seen = [], set()
        for index, entry in enumerate(entries):
            where = f"providers[{index}]"
            npi = str(entry.get("npi", ""))
            if not npi_is_valid(npi):
                raise DirectoryError(f"{where}: NPI {npi!r} fails the check digit")
            if npi in seen:
                raise DirectoryError(f"{where}: duplicate NPI {npi}")
            seen.add(npi)
            if entry.get("taxonomy") not in TAXONOMY:
                raise DirectoryError(f"{where}: unknown taxonomy code {entry.get('taxonomy')!r}")
            place = zipcodes.matching(str(entry.get("zip", ""))) if _ZIP.match(str(entry.get("zip", ""))) else []
            if not place or not place[0].get("lat"):
                raise DirectoryError(f"{where}: unknown ZIP {entry.get('zip')!r}")
            providers.append(
                Provider(
                    npi=npi,
                    name=str(entry["name"]),
                    taxonomy=entry["taxonomy"],
                    zip=entry["zip"],
                    city=place[0]["city"],
                    state=place[0]["state"],
                    accepting_new_patients=bool(entry.get("accepting_new_patients", True)),
                    telehealth=bool(entry.get("telehealth", False)),
                    lat=float(place[0]["lat"]),
                    lon=float(place[0]["long"]),
                )
            )
        if not providers:
            raise DirectoryError(f"provider directory {path} is empty")
        return cls(providers)

    def rank(
        self,
        specialties: list[str],
        location: Location,
        *,
        new_patient: bool = True,
        telehealth_only: bool = False,
        limit: int = 5,
        max_miles: float = 150.0,
    ) -> list[ProviderMatch]:
        """Best specialty fit first, then nearest. Filters: accepting new patients (for a new
        patient), telehealth. Primary care stands in (fit 0.5) when no specialist is near."""
        fit_of = {taxonomy: (1.0 if taxonomy not in PRIMARY_CARE else 0.5) for taxonomy in specialties}
        matches = []
        for provider in self.providers:
            fit = fit_of.get(provider.taxonomy)
            if fit is None or (new_patient and not provider.accepting_new_patients):
                continue
            if telehealth_only and not provider.telehealth:
                continue
            distance = miles_between(location.lat, location.lon, provider.lat, provider.lon)
            if distance > max_miles and not (telehealth_only and provider.telehealth):
                continue
            matches.append(ProviderMatch(provider, round(distance, 1), fit))
        order = {taxonomy: position for position, taxonomy in enumerate(specialties)}
        matches.sort(key=lambda m: (-m.fit, order[m.provider.taxonomy], m.distance_miles))
        return matches[:limit]
