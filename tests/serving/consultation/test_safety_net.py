"""The safety net through the façade, with a model that misses every danger sign: the simulator
answers each stage with the smallest valid output (`red_flags: []`, the least urgent value).
Every emergency vignette still gets emergency advice first, no routine one does, and advice and
disclaimers survive a failed summary stage, streaming and not, on every consultation path."""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from orchestrator.codes import IcdCodeSet
from orchestrator.directory import ProviderDirectory
from orchestrator.graph import build_graph
from orchestrator.safety.assessment import SafetyAssessment
from orchestrator.safety.escalation import DISCLAIMERS
from orchestrator.safety.screen import EmergencyScreen, default_screen
from serving.settings import REPO_ROOT
from tests.support.inprocess import AUTH, QUICK, RunningApp, running_app, simulator_server
from tests.support.stack import consultation_config

VIGNETTES: list[dict[str, Any]] = yaml.safe_load(
    (Path(__file__).parents[2] / "orchestrator" / "vignettes.yaml").read_text()
)


async def consultation_app(stages: dict[str, str] | None = None) -> AsyncIterator[RunningApp]:
    async with simulator_server(replace(QUICK, tokens=2)) as sim:
        config = consultation_config(sim.base_url, "", stages)
        config["store"] = {}  # the embedded store: in-process
        async with running_app(config) as app:
            yield app


@pytest.fixture
async def blind_model() -> AsyncIterator[RunningApp]:
    async for app in consultation_app():
        yield app


@pytest.fixture
async def no_summary() -> AsyncIterator[RunningApp]:
    async for app in consultation_app({"intake": "gpt-5", "icd": "medgemma", "cpt": "medgemma", "summary": "broken"}):
        yield app


def body(case: dict[str, Any], **extra: Any) -> dict[str, Any]:
    patient = {**case["patient_data"], "location": "02139"}
    return {"symptoms": case["symptoms"], "patient_data": patient, **extra}


def chat_request(case: dict[str, Any]) -> dict[str, Any]:
    """The vignette as a plain OpenAI client asks the consultation chat model."""
    return {
        "model": "consultation",
        "messages": [{"role": "user", "content": case["symptoms"]}],
        "patient_data": {**case["patient_data"], "location": "02139"},
    }


async def post(app: RunningApp, path: str, request: dict[str, Any]) -> str:
    return (await app.client.post(path, headers=AUTH, json=request)).text


def streamed_content(text: str) -> list[str]:
    return [e["choices"][0]["delta"].get("content", "") for e in events_of(text) if e.get("choices")]


def events_of(text: str) -> list[dict[str, Any]]:
    lines = [line.removeprefix("data: ") for line in text.split("\n\n") if line.startswith("data: ")]
    assert lines[-1] == "[DONE]"
    return [json.loads(line) for line in lines[:-1]]


async def test_every_vignette_escalates_as_the_rules_say_on_every_path_with_a_model_that_sees_nothing(
    blind_model: RunningApp,
) -> None:
    wrong = []
    for case in VIGNETTES:
        response = await blind_model.client.post("/v1/consultations", headers=AUTH, json=body(case))
        document = response.json()
        assert response.status_code == 200, document
        assert document["stages"]["intake"]["red_flags"] == [], "the model saw nothing"
        if document["emergency"] != case["red_flags"] or bool(document["emergency_advice"]) != case["red_flags"]:
            wrong.append(case["id"])
        assert document["disclaimers"] == DISCLAIMERS
        if case["red_flags"]:
            assert document["stages"]["providers"]["specialties"][0] == "Emergency Medicine"  # emergency care first
            assert document["stages"]["summary"]["emergency_advice"]
            assert document["safety_netting"] == []  # an escalation is never mixed with safety-netting
        else:
            assert document["safety_netting"], case["id"]  # every routine answer says when to get help
        # The same verdict on the other two paths: the stream's first and last events, and the
        # consultation chat model's answer (its first line URGENT exactly when it escalates).
        events = events_of(await post(blind_model, "/v1/consultations", body(case, stream=True)))
        if not (events[0]["stage"] == "safety" and events[0]["result"]["emergency"] == case["red_flags"]):
            wrong.append(f"{case['id']} (stream)")
        if events[-1]["result"]["emergency"] != case["red_flags"]:
            wrong.append(f"{case['id']} (stream's end)")
        answer = (await blind_model.client.post("/v1/chat/completions", headers=AUTH, json=chat_request(case))).json()
        if answer["choices"][0]["message"]["content"].startswith("URGENT") != case["red_flags"]:
            wrong.append(f"{case['id']} (chat model)")
    assert wrong == []


async def test_the_stream_sends_the_escalation_before_any_model_stage(blind_model: RunningApp) -> None:
    case = next(c for c in VIGNETTES if c["id"] == "chest-pain")
    response = await blind_model.client.post("/v1/consultations", headers=AUTH, json=body(case, stream=True))
    events = events_of(response.text)
    assert events[0]["stage"] == "safety" and events[0]["result"]["emergency"] is True
    assert "Call 911" in events[0]["result"]["advice"][0]
    assert events[1] == {"stage": "intake", "status": "in_progress", "message": events[1]["message"]}
    routine = next(c for c in VIGNETTES if c["id"] == "migraine")
    quiet = events_of(
        (await blind_model.client.post("/v1/consultations", headers=AUTH, json=body(routine, stream=True))).text
    )
    assert quiet[0]["stage"] == "safety" and quiet[0]["status"] == "completed"
    verdict = quiet[0]["result"]
    assert (verdict["emergency"], verdict["red_flags"], verdict["advice"]) == (False, [], [])
    # A routine answer: the warning signs nearest its complaint, in a field of their own.
    assert verdict["safety_netting"] and all(
        net["warning_signs"] and net["advice"] for net in verdict["safety_netting"]
    )
    assert "thunderclap_headache" in {net["condition"] for net in verdict["safety_netting"]}
    final = quiet[-1]["result"]
    assert final["emergency"] is False and final["safety_netting"] == verdict["safety_netting"]
    urgent = events[-1]["result"]
    assert urgent["emergency"] is True and urgent["safety_netting"] == []


async def test_the_chat_model_answers_with_the_escalation_first(blind_model: RunningApp) -> None:
    case = next(c for c in VIGNETTES if c["id"] == "suicidal-intent")
    request = chat_request(case)
    answer = (await blind_model.client.post("/v1/chat/completions", headers=AUTH, json=request)).json()
    text = answer["choices"][0]["message"]["content"]
    assert text.startswith("URGENT") and "988" in text.splitlines()[0]
    assert text.rstrip().endswith(DISCLAIMERS[-1])
    streamed = (
        await blind_model.client.post("/v1/chat/completions", headers=AUTH, json={**request, "stream": True})
    ).text
    contents = [e["choices"][0]["delta"].get("content", "") for e in events_of(streamed) if e.get("choices")]
    first_words = next(c for c in contents if c)
    assert first_words.startswith("URGENT") and "988" in first_words  # before the stages' text
    assert "".join(contents).count("URGENT") == 1
    routine = chat_request(next(c for c in VIGNETTES if c["id"] == "migraine"))
    answer = (await blind_model.client.post("/v1/chat/completions", headers=AUTH, json=routine)).json()
    text = answer["choices"][0]["message"]["content"]
    assert not text.startswith("URGENT") and "Get help now if this changes:" in text


@pytest.mark.parametrize("path", ["/v1/consultations", "/v1/langchain/consultation", "/v1/langchain/stream"])
async def test_advice_and_disclaimers_survive_a_failed_summary(no_summary: RunningApp, path: str) -> None:
    case = next(c for c in VIGNETTES if c["id"] == "stroke-face-arm")
    response = await no_summary.client.post(path, headers=AUTH, json=body(case))
    if path.endswith("stream"):
        events = events_of(response.text)
        assert events[0]["result"]["emergency"] is True
        assert any(e["stage"] == "summary" and e["status"] == "failed" for e in events)
        closing = events[-1]["result"]
        assert events[-1]["stage"] == "consultation" and closing["disclaimers"] == DISCLAIMERS
        assert closing["emergency"] is True and closing["emergency_advice"][0].startswith("Call 911")
        return
    document = response.json()
    assert document["status"] == "failed" and "summary" in document["errors"]
    assert document["emergency"] is True and document["emergency_advice"][0].startswith("Call 911")
    assert document["disclaimers"] == DISCLAIMERS


async def test_the_chat_answer_keeps_advice_and_disclaimers_without_a_summary(no_summary: RunningApp) -> None:
    case = next(c for c in VIGNETTES if c["id"] == "vomiting-blood")
    request = chat_request(case)
    for stream in (False, True):
        response = await no_summary.client.post(
            "/v1/chat/completions", headers=AUTH, json={**request, "stream": stream}
        )
        if stream:
            text = "".join(
                e["choices"][0]["delta"].get("content", "") for e in events_of(response.text) if e.get("choices")
            )
        else:
            text = response.json()["choices"][0]["message"]["content"]
        assert text.startswith("URGENT") and "could not write a summary" in text
        assert all(line in text for line in DISCLAIMERS)


async def test_an_emergency_is_answered_even_from_an_unknown_location(blind_model: RunningApp) -> None:
    case = next(c for c in VIGNETTES if c["id"] == "chest-pain")
    request = {"symptoms": case["symptoms"], "patient_data": {**case["patient_data"], "location": "Chicgo, IL"}}
    document = (await blind_model.client.post("/v1/consultations", headers=AUTH, json=request)).json()
    assert document["emergency"] is True and document["emergency_advice"]
    assert "providers" in document["errors"]  # no location: no providers, but the advice stands
    routine = next(c for c in VIGNETTES if c["id"] == "migraine")
    refused = await blind_model.client.post(
        "/v1/consultations",
        headers=AUTH,
        json={"symptoms": routine["symptoms"], "patient_data": {**routine["patient_data"], "location": "Chicgo, IL"}},
    )
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "unknown_location"


async def test_an_emergency_only_the_learned_reading_finds_is_escalated_and_counted(blind_model: RunningApp) -> None:
    """No rule fires on it (test_learned.py); the learned reading escalates it before any stage."""
    request = {"symptoms": "goodbye everyone, the notes are written", "patient_data": {"location": "02139"}}
    document = (await blind_model.client.post("/v1/consultations", headers=AUTH, json=request)).json()
    assert document["emergency"] is True and document["emergency_advice"]
    assert [flag["rule"] for flag in document["red_flags"]] == ["learned:suicide_risk"]
    assert blind_model.metric("pearcare_consultation_red_flags_total", source="learned") == 1
    assert blind_model.metric("pearcare_consultation_red_flags_total", source="rules") == 0


async def test_the_screen_runs_off_the_event_loop_on_both_paths(blind_model: RunningApp) -> None:
    """~2 ms a routine message (README): read in a worker thread, not on the loop the streams share."""
    threads: list[threading.Thread] = []

    @dataclass(frozen=True)
    class Recording(EmergencyScreen):
        def assess(self, text: str, **facts: Any) -> SafetyAssessment:
            threads.append(threading.current_thread())
            return super().assess(text, **facts)

    screen = default_screen()
    recording = Recording(screen.rules, screen.learned)
    directory = ProviderDirectory.load(REPO_ROOT / "configs/providers.json")  # the screen is the graph's first node
    graph = build_graph(code_set=IcdCodeSet(), directory=directory, screen_of=lambda: recording)
    blind_model.app.state.services.consultations._graph = graph
    request = {"symptoms": "sore throat for three days", "patient_data": {"location": "02139"}}
    assert (await blind_model.client.post("/v1/consultations", headers=AUTH, json=request)).status_code == 200
    chat = {"model": "consultation", "messages": [{"role": "user", "content": "sore throat for three days"}]}
    assert (await blind_model.client.post("/v1/chat/completions", headers=AUTH, json=chat)).status_code == 200
    assert len(threads) == 2 and threading.main_thread() not in threads
