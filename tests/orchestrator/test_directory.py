from __future__ import annotations

import json
from pathlib import Path

import pytest

from loadtests.make_directory import build
from orchestrator.directory import (
    EMERGENCY,
    PEDIATRICS,
    DirectoryError,
    Location,
    LocationNotFound,
    ProviderDirectory,
    miles_between,
    resolve_location,
    specialties_for,
)
from serving.settings import REPO_ROOT

SHIPPED = REPO_ROOT / "configs" / "providers.json"


@pytest.fixture(scope="module")
def directory() -> ProviderDirectory:
    return ProviderDirectory.load(SHIPPED)


def test_shipped_directory_is_synthetic_valid_and_broad(directory: ProviderDirectory) -> None:
    assert len(directory.providers) >= 200
    assert all("synthetic" in p.name for p in directory.providers)
    assert len({p.taxonomy for p in directory.providers}) == 15
    assert len({p.state for p in directory.providers}) >= 8
    assert json.loads(SHIPPED.read_text()) == build(), "configs/providers.json is what make_directory writes"


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda e: e.update(npi="1234567890"), "check digit"),
        (lambda e: e.update(taxonomy="999999999X"), "taxonomy"),
        (lambda e: e.update(zip="00000"), "ZIP"),
    ],
)
def test_invalid_entries_are_refused_at_load(tmp_path: Path, mutate: object, message: str) -> None:
    data = build()
    mutate(data["providers"][3])  # type: ignore[index, operator]
    path = tmp_path / "providers.json"
    path.write_text(json.dumps(data))
    with pytest.raises(DirectoryError, match=message):
        ProviderDirectory.load(path)


def test_locations() -> None:
    cambridge = resolve_location("02139")
    assert "Cambridge" in cambridge.label
    boston = resolve_location("boston, ma")
    assert miles_between(cambridge.lat, cambridge.lon, boston.lat, boston.lon) < 10
    denver = resolve_location("Denver, CO")
    assert 1500 < miles_between(boston.lat, boston.lon, denver.lat, denver.lon) < 1800
    for unknown in ("00000", "Atlantis, ZZ", "somewhere", ""):
        with pytest.raises(LocationNotFound):
            resolve_location(unknown)


def test_specialties_follow_codes_age_and_urgency() -> None:
    assert specialties_for(["G43.109"], age=40, emergency=False)[0] == "2084N0400X"
    assert specialties_for(["R07.9", "I21.9"], age=60, emergency=True)[:2] == [EMERGENCY, "207RC0000X"]
    assert specialties_for(["J45.909"], age=8, emergency=False)[0] == PEDIATRICS
    assert specialties_for([], age=None, emergency=False) == ["207R00000X", "208D00000X"]


def test_ranking_by_fit_then_distance(directory: ProviderDirectory) -> None:
    boston = resolve_location("02139")
    matches = directory.rank(["2084N0400X", "207R00000X"], boston, limit=10)
    assert matches[0].provider.taxonomy == "2084N0400X" and matches[0].fit == 1.0
    fits = [m.fit for m in matches]
    assert fits == sorted(fits, reverse=True)
    specialists = [m.distance_miles for m in matches if m.fit == 1.0]
    assert specialists == sorted(specialists)
    assert all(m.provider.accepting_new_patients for m in matches)
    assert all(m.distance_miles < 150 for m in matches)


def test_filters(directory: ProviderDirectory) -> None:
    boston = resolve_location("Boston, MA")
    telehealth = directory.rank(["207N00000X"], boston, telehealth_only=True, limit=50)
    assert telehealth and all(m.provider.telehealth for m in telehealth)
    established = directory.rank(["207N00000X"], boston, new_patient=False, limit=50)
    assert len(established) >= len(directory.rank(["207N00000X"], boston, limit=50))
    nowhere = Location("middle of the Pacific", 0.0, -150.0)
    assert directory.rank(["207N00000X"], nowhere) == []
