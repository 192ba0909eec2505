"""Screening is bounded (#30's stall): a body full of id-like numbers is screened in linear
time (Presidio's context enhancer walked every token for every match: minutes for 256 KB), long
bodies never queue in front of ordinary ones, and no request waits past the timeout."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from serving.privacy.detector import PhiDetector
from serving.privacy.positions import ScreeningAbandoned, screen
from tests.support.growth import LINEAR_BOUND, growth
from tests.support.inprocess import AUTH, RunningApp, running_app, simulator_server
from tests.support.stack import facade_config

# Nine-digit numbers: each a US passport match for Presidio, each one more match to enhance.
HOSTILE_UNIT = "912345678 "


def hostile(chars: int) -> str:
    return HOSTILE_UNIT * (chars // len(HOSTILE_UNIT))


def test_a_text_full_of_id_like_numbers_is_screened_in_linear_time() -> None:
    detector = PhiDetector()
    # Four times the text: about four times the work. Quadratic was about sixteen (0.9 s at 16 KB).
    assert growth(detector.find_uncached, hostile(16_384), hostile(65_536)) < LINEAR_BOUND


def test_screening_stops_between_texts_when_its_requester_left() -> None:
    import threading

    stop = threading.Event()
    stop.set()
    with pytest.raises(ScreeningAbandoned):
        screen(PhiDetector(), {"prompt": ["a", "b"]}, stop=stop)
    with pytest.raises(ScreeningAbandoned):
        screen(PhiDetector(), {"prompt": ["a", "b"]}, deadline=time.monotonic() - 1)


@pytest.fixture
async def redacting() -> AsyncIterator[RunningApp]:
    async with simulator_server() as sim:
        backend = {"kind": "openai", "base_url": sim.base_url, "model": "gpt-5", "api_key": "sk-sim-0123456789"}
        config = facade_config(
            {"gpt": {**backend, "data_policy": "redact"}}, {"gpt-5": ["gpt"]}, max_request_bytes=1 << 20
        )
        async with running_app(config) as app:
            yield app


def completion(prompt: str) -> dict[str, Any]:
    return {"model": "gpt-5", "prompt": prompt, "max_tokens": 2}


async def test_hostile_inputs_do_not_hold_up_an_ordinary_request(redacting: RunningApp) -> None:
    app = redacting
    post = app.client.post
    # Two at once: before the fix they held both screening threads for minutes.
    hostile_requests = [
        asyncio.create_task(post("/v1/completions", headers=AUTH, json=completion(hostile(250_000)))) for _ in range(2)
    ]
    await asyncio.sleep(0)  # both sent: their screening is queued or running
    async with asyncio.timeout(1):  # the bound: an ordinary request served within a second
        ordinary = await post("/v1/completions", headers=AUTH, json=completion("Patient John Carter, knee pain."))
    assert ordinary.status_code == 200
    assert ordinary.json()["choices"]
    for task in hostile_requests:
        answer = await task
        assert answer.status_code in (200, 503), answer.text  # served, or refused in time: never a hang
        if answer.status_code == 503:
            assert answer.json()["error"]["code"] == "screening_unavailable"


async def test_a_request_waits_for_screening_no_longer_than_the_timeout() -> None:
    async with simulator_server() as sim:
        backend = {"kind": "openai", "base_url": sim.base_url, "model": "gpt-5", "api_key": "sk-sim-0123456789"}
        config = facade_config(
            {"gpt": {**backend, "data_policy": "redact"}},
            {"gpt-5": ["gpt"]},
            max_request_bytes=1 << 20,
            screening_timeout_seconds=0.05,
        )
        async with running_app(config) as app:
            guard = app.app.state.services.guard
            release = asyncio.Event()
            loop = asyncio.get_running_loop()
            # Both ordinary lanes' threads busy with work that never ends by itself.
            for _ in range(2):
                guard._short.submit(lambda: asyncio.run_coroutine_threadsafe(release.wait(), loop).result())
            try:
                answer = await app.client.post("/v1/completions", headers=AUTH, json=completion("knee pain"))
            finally:
                release.set()
    assert answer.status_code == 503
    assert answer.json()["error"]["code"] == "screening_unavailable"
    assert answer.headers["retry-after"] == "1"


@pytest.mark.parametrize(
    "make",
    [
        lambda n: "lab " * (n // 4),  # a label with no value, again and again
        lambda n: "MRN " * (n // 4),
        lambda n: "son" + " " * n + "1",  # a cue, then nothing but spaces
        lambda n: "patient mum son lab mrn member 12 " * (n // 34),
        # the shapes that made serving/privacy/forms.py's first street and facility rules quadratic
        # (a review: "A" * 16 KB took 8.5 s), and the other forms recognizers' openings
        lambda n: "A" * n,
        lambda n: "Abc" * (n // 3),
        lambda n: "Aa-" * (n // 3),
        lambda n: "Ab'" * (n // 3),
        lambda n: "Ab " * (n // 3),
        lambda n: "A. " * (n // 3),
        lambda n: "Hospital A " * (n // 11),
        lambda n: "in Ab, 9 " * (n // 9),
        lambda n: "AB 12 " * (n // 6),
        lambda n: "1/" * (n // 2),
        # the recognizers added after blind sets 7 and 8 (a review: a label after a run of spaces,
        # a pedigree's indent, a postcode's inward code rescanning its prefix, a capital run)
        lambda n: "x" + " " * n + ":",
        lambda n: " " * n + "x",
        lambda n: "0AB " * (n // 4),
        lambda n: "A" * n + "1",
        lambda n: "PID|" + "^" * n,
        # an array that never closes: its items were given back one by one (2 s for 256 KB)
        lambda n: '"a": [' + '"x",' * (n // 4),
        lambda n: "1. " + "A" * n,
        # a label, then separators with no value (quadratic before this round too: 8 s for 30 KB)
        lambda n: "Name\tDOB\tMRN\n" + '\t"' * (n // 2),
        # the address line after blind set 10: a label again and again, a value that never ends
        lambda n: "Address: " * (n // 9),
        lambda n: "Address: 1" + " a" * (n // 2),
        lambda n: "Paciente: " + "Ab " * (n // 3),
        # after blind set 11: a name's other mentions, a name in two scripts
        lambda n: "Dr Abcde Fghij. " + "Fghij " * (n // 6),
        lambda n: "Abc Def (" + "ش " * (n // 2),
        lambda n: "ش (Abc" + " Def" * (n // 4),
        # a review: an unbroken run of a script before a bracket was tried from every letter
        # (60 s for 64 KB of Arabic)
        lambda n: "ف" * (n - 1) + "(",
        lambda n: "山" * (n - 1) + "(",
        # after blind set 13: names before a credential, after a role or a title; towns beside a
        # postcode, a state or a line's end
        lambda n: "Ab Cd " * (n // 6) + "MD",
        lambda n: "A. " * (n // 3) + "RN",
        lambda n: "ABC Ab " * (n // 7),
        lambda n: "Checked by: Ab Cd " * (n // 18),
        lambda n: "Dra. " * (n // 5),
        lambda n: "Ab, 12345 " * (n // 10),
        lambda n: ", Ab" + " " * n + "x",
        lambda n: "Ab, AZ " * (n // 7),
        # after blind set 14: a patient's label, a national id's label and a number in prose with
        # nothing after them, again and again
        lambda n: "Patient: " + "Ab " * (n // 3),
        lambda n: "aadhaar " * (n // 8),
        lambda n: "my id is " * (n // 9),
        lambda n: "since " * (n // 6),
        lambda n: "de Ab " * (n // 6),
        # after blind set 15: capitalised runs a big town's name could start, names before readings
        lambda n: "Abc Def Ghi " * (n // 12),
        lambda n: "wife Ab 12, " * (n // 12),
        # from the review: an unbroken word a compound label's "nr" could end (quadratic before)
        lambda n: "NR" * (n // 2),
        lambda n: "1nr" * (n // 3),
        # after blind set 16: a relation, an e-mail or a chat speaker after a long run; other
        # languages' months and numeric dates; facilities and towns after their words
        lambda n: "Ab " * (n // 3) + "(son)",
        lambda n: "Ab (son) " * (n // 9),
        lambda n: "Ab Cd " * (n // 6) + "<x@",
        lambda n: "Ab <" * (n // 4),
        lambda n: "[1/2/2024, 10:00] Ab " * (n // 21),
        lambda n: "1. " * (n // 3),
        lambda n: "2024. 1. " * (n // 9),
        lambda n: "12 maj " * (n // 7),
        lambda n: "Ab sjukhus " * (n // 11),
        lambda n: "HMP Ab " * (n // 7),
        lambda n: "i Ab " * (n // 5),
        lambda n: "children Ab " * (n // 12),
        lambda n: "Client – " * (n // 9),
        lambda n: "Ab is 91 " * (n // 9),
        lambda n: "101 år " * (n // 7),
        lambda n: "1 Rajab 1446 " * (n // 13),
        lambda n: "2024. ab 1. " * (n // 12),
        # after blind set 17: names as systems write them, a name before its staff role
        lambda n: "PN [" + "^" * n,
        lambda n: "PN [A^" * (n // 6),
        lambda n: 'patient="' * (n // 9),
        lambda n: "Ab, " * (n // 4) + "(RN)",
        lambda n: "bà " * (n // 3),
    ],
)
def test_labelled_and_cued_recognizers_grow_linearly(make: Any) -> None:
    """A lookahead with no bound (and a separator that could backtrack) made these quadratic:
    318 s for 256 KB of "lab lab lab ...", holding a screening thread (review)."""
    assert growth(PhiDetector().find_uncached, make(16_384), make(65_536)) < LINEAR_BOUND
