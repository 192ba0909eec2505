"""The learned reading beside the rules (orchestrator/safety/learned.py, screen.py): trained on the
development case sets, it escalates what no rule fired on, names the nearest condition's advice,
and never takes an escalation away."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from loadtests import evaluate_red_flags as evaluate
from orchestrator.safety.learned import (
    CASES_DIR,
    READ_CHARS,
    THRESHOLD,
    LearnedScreen,
    cached_learned,
    default_learned,
    development_cases,
)
from orchestrator.safety.red_flags import default_rules
from orchestrator.safety.screen import LEARNED, EmergencyScreen, default_screen

# Emergencies of blind set R (scored at b6963f8, development data since) that no rule caught.
RULES_MISSED = [
    ("I have sickle cell and I've been erect for 3 hours, it's painful", "priapism"),
    ("goodbye everyone, the notes are written", "suicide_risk"),
    ("she fainted at the checkout about 5 min ago and still isn't coming round", "unconscious"),
    ("the kicks have stopped, 29 weeks. had a cold drink, lay on my left side and nothing", "reduced_fetal_movement"),
]
ROUTINE = [
    "need a repeat prescription for my inhaler",
    "my knee hurts when I run",
    "sore throat and runny nose for 3 days",
    "what are the signs of a stroke?",
]


def no_rules() -> EmergencyScreen:
    """The screen with rules that never fire (their conditions, meanings and advice kept):
    whatever escalates, the learned reading did."""
    rules = default_rules()
    silent = tuple(replace(rule, alternatives=()) for rule in rules.rules)
    return EmergencyScreen(replace(rules, rules=silent), default_learned())


def test_it_is_trained_on_the_development_sets_the_evaluation_names() -> None:
    assert evaluate.CASES_DIR == CASES_DIR
    shipped = set(CASES_DIR.glob("*.yaml"))
    trained = (*evaluate.DEVELOPMENT_SETS, *evaluate.IN_USE_SETS)
    assert shipped == {path for path in trained if path.parent == CASES_DIR}
    assert not shipped & set(evaluate.BLIND_SETS)  # never trained on a set that is still blind
    cases = development_cases()
    assert len(cases) == sum(len(yaml.safe_load(path.read_text())) for path in shipped)
    assert {case["red_flags"] for case in cases} == {True, False}


@pytest.mark.parametrize(("text", "condition"), RULES_MISSED)
def test_it_escalates_emergencies_no_rule_caught(text: str, condition: str) -> None:
    assessment = no_rules().assess(text)
    assert assessment.emergency
    [flag] = assessment.red_flags
    assert flag.rule == f"{LEARNED}:{condition}"
    assert flag.source == next(rule.source for rule in default_rules().rules if rule.condition == condition)
    # the most urgent advice first whatever the nearest condition is, that condition's own after it
    urgent = next(iter(default_rules().advice_texts.values()))
    assert assessment.advice == list(dict.fromkeys([urgent, flag.advice]))


def test_the_screen_escalates_what_the_rules_missed() -> None:
    text, condition = RULES_MISSED[0]
    # a rule that catches it one day fails this: pick another of the rules' misses then
    assert not default_rules().assess(text).emergency, "a rule catches it now"
    assert [flag.rule for flag in default_screen().assess(text).red_flags] == [f"{LEARNED}:{condition}"]


@pytest.mark.parametrize("text", ROUTINE)
def test_it_leaves_routine_messages_alone(text: str) -> None:
    reading = default_learned().read(text)
    assert reading.probability < THRESHOLD and reading.condition is None
    assert not no_rules().assess(text).emergency


def test_a_rules_escalation_is_the_rules_own() -> None:
    text = "crushing chest pain spreading to my left arm and I'm sweating"
    assert default_screen().assess(text) == default_rules().assess(text)
    assert all(not flag.rule.startswith(LEARNED) for flag in default_screen().assess(text).red_flags)


def test_without_the_learned_reading_the_screen_is_the_rules() -> None:
    screen = EmergencyScreen(default_rules())
    for text, _ in RULES_MISSED:
        assert screen.assess(text) == default_rules().assess(text)


def test_training_is_deterministic_and_needs_both_kinds() -> None:
    cases = yaml.safe_load((CASES_DIR / "redflags_blind_c.yaml").read_text())
    first, second = LearnedScreen.train(cases), LearnedScreen.train(cases)
    for text in ("chest pain and sweating", "repeat prescription please"):
        assert first.read(text) == second.read(text)
    with pytest.raises(ValueError, match="both emergencies and routine"):
        LearnedScreen.train(case for case in cases if case["red_flags"])


def test_a_condition_no_rule_names_gets_the_most_urgent_advice() -> None:
    cases = [
        *({"symptoms": f"zorblax fever {n} and glowing", "red_flags": True, "condition": "zorblax"} for n in range(6)),
        *({"symptoms": f"routine question number {n}", "red_flags": False} for n in range(6)),
    ]
    screen = EmergencyScreen(replace(default_rules(), rules=()), LearnedScreen.train(cases, threshold=0.5))
    [flag] = screen.assess("zorblax fever 3 and glowing").red_flags
    assert flag.rule == LEARNED
    assert flag.advice == next(iter(default_rules().advice_texts.values()))


def test_a_long_message_is_read_from_its_start_and_end() -> None:
    """Its middle is the rules' alone: whatever it says, the reading is the same."""
    danger = " she fainted at the checkout about 5 min ago and still isn't coming round "
    filler = "the weather was fine and we had lunch in town. " * (READ_CHARS // 16)
    learned = default_learned()
    assert learned.read(filler + danger + filler) == learned.read(filler + " and then we went home " + filler)
    half = READ_CHARS // 2
    text = filler + danger
    assert learned.read(text) == learned.read(f"{text[:half]} {text[-half:]}")


def test_the_left_out_set_report() -> None:
    paths = tuple(CASES_DIR / f"redflags_blind_{name}.yaml" for name in "cde")
    lines = evaluate.learned_sets_report(paths)
    assert lines[0].startswith("learned reading, each set held out in turn (3 sets): sensitivity ")
    assert [line.split()[0] for line in lines[1:]] == ["redflags_blind_c", "redflags_blind_d", "redflags_blind_e"]
    counts = [line.split("(")[1].split(")")[0] for line in lines[1:]]
    assert sum(int(count.split("/")[1]) for count in counts) == sum(
        case["red_flags"] for path in paths for case in yaml.safe_load(path.read_text())
    )


TEXTS = ("crushing chest pain and sweating", "repeat prescription please", "baby floppy and grey")


def test_a_trained_reading_is_kept_and_read_back_the_same(tmp_path: Path) -> None:
    cases, cache = tmp_path / "cases", tmp_path / "cache"
    cases.mkdir()
    shutil.copy(CASES_DIR / "redflags_blind_c.yaml", cases)
    trained = cached_learned(cases, cache)
    (kept,) = cache.glob("learned-*.joblib")
    loaded = cached_learned(cases, cache)
    assert loaded is not trained  # read from the file, not trained again
    assert [loaded.read(t) for t in TEXTS] == [trained.read(t) for t in TEXTS]
    assert [loaded.read(t) for t in TEXTS] == [LearnedScreen.train(development_cases(cases)).read(t) for t in TEXTS]
    # other cases are another model, kept instead of it (a cache that only grows would fill a disk)
    (cases / "redflags_blind_c.yaml").write_text((CASES_DIR / "redflags_blind_d.yaml").read_text())
    cached_learned(cases, cache)
    assert [p.name for p in cache.glob("learned-*.joblib")] != [kept.name]  # the older one went
    assert len(list(cache.glob("learned-*.joblib"))) == 1
    # a file that cannot be read is trained over, and replaced by a whole one
    kept.write_bytes(b"not a model")
    (cases / "redflags_blind_c.yaml").write_text((CASES_DIR / "redflags_blind_c.yaml").read_text())
    again = cached_learned(cases, cache)
    assert [again.read(t) for t in TEXTS] == [trained.read(t) for t in TEXTS]
    assert cached_learned(cases, cache).read(TEXTS[0]) == trained.read(TEXTS[0])
    assert not list(cache.glob(".learned-*"))  # no temporary file left behind


def test_a_cache_that_cannot_be_written_is_no_error(tmp_path: Path) -> None:
    cases = tmp_path / "cases"
    cases.mkdir()
    shutil.copy(CASES_DIR / "redflags_blind_c.yaml", cases)
    blocked = tmp_path / "file"
    blocked.write_text("a file where the cache directory would be")
    screen = cached_learned(cases, blocked / "cache")
    assert screen.read(TEXTS[0]).probability > 0.5
