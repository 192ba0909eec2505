"""The consultation graph with scripted fake chat models: nodes, routing, partial failure, vignettes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from langchain_core.language_models import BaseChatModel
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from orchestrator.codes import IcdCodeSet
from orchestrator.directory import ProviderDirectory
from orchestrator.graph import build_graph
from orchestrator.safety.red_flags import default_rules
from orchestrator.safety.screen import EmergencyScreen
from orchestrator.state import STAGES, ConsultationRequest
from serving.settings import REPO_ROOT

ALL_VIGNETTES = yaml.safe_load((Path(__file__).parent / "vignettes.yaml").read_text())
VIGNETTES = [case for case in ALL_VIGNETTES if "scripted" in case]  # those with a good model's answers


class Broken(FakeListChatModel):
    async def _agenerate(self, *args: Any, **kwargs: Any) -> Any:
        raise ConnectionError("backend down")


def scripted(answers: dict[str, Any], *, broken: tuple[str, ...] = ()) -> Callable[[str], BaseChatModel]:
    def provider(stage: str) -> BaseChatModel:
        if stage in broken:
            return Broken(responses=["unused"])
        return FakeListChatModel(responses=[json.dumps(answers[stage])])

    return provider


def rules_only() -> EmergencyScreen:
    return EmergencyScreen(rules=default_rules())


@pytest.fixture(scope="module")
def graph() -> Any:
    directory = ProviderDirectory.load(REPO_ROOT / "configs/providers.json")
    return build_graph(code_set=IcdCodeSet(), directory=directory, screen_of=rules_only)


async def run(graph: Any, case: dict[str, Any], models: Callable[[str], BaseChatModel]) -> tuple[dict, list]:
    state = {"request": ConsultationRequest(symptoms=case["symptoms"], patient_data=case["patient_data"])}
    events: list[tuple[str, Any]] = []
    final: dict[str, Any] = {}
    async for mode, chunk in graph.astream(
        state, config={"configurable": {"models": models}}, stream_mode=["custom", "updates"]
    ):
        events.append((mode, chunk))
        if mode == "updates":
            for update in chunk.values():
                for key, value in (update or {}).items():
                    if isinstance(value, dict) and isinstance(final.get(key), dict):
                        final[key] = {**final[key], **value}
                    elif isinstance(value, list) and isinstance(final.get(key), list):
                        final[key] = final[key] + value
                    else:
                        final[key] = value
    return final, events


@pytest.mark.parametrize("case", VIGNETTES, ids=[v["id"] for v in VIGNETTES])
async def test_vignettes_with_scripted_models(graph: Any, case: dict[str, Any]) -> None:
    final, _ = await run(graph, case, scripted(case["scripted"]))
    assert sorted(final["completed"]) == sorted(STAGES) and not final.get("errors")
    codes = final["icd"].codes
    assert codes and all(IcdCodeSet.is_valid(c.code) for c in codes)
    assert any(c.code.startswith(tuple(case["expected_icd_categories"])) for c in codes)
    assert final["providers"].specialties[0] == case["expected_specialty"]
    assert final["providers"].providers, "someone nearby"
    assert (final["summary"].emergency_advice is not None) == case["red_flags"]
    assert final["summary"].disclaimers
    assert set(final["usage"]) == {"intake", "icd", "cpt", "summary"}


async def test_stages_stream_in_dependency_order(graph: Any) -> None:
    case = VIGNETTES[0]
    _, events = await run(graph, case, scripted(case["scripted"]))
    started = [chunk["stage"] for mode, chunk in events if mode == "custom"]
    finished = [name for mode, chunk in events if mode == "updates" for name in chunk]
    assert started[0] == "intake" and started[-1] == "summary"
    assert set(started[1:3]) == {"icd", "cpt"}  # concurrently, after intake
    assert finished.index("providers") > finished.index("icd")
    assert finished[0] == "safety" and finished.index("escalation") == finished.index("intake") + 1
    assert finished[-1] == "summary"


async def test_icd_repairs_and_drops(graph: Any) -> None:
    case = json.loads(json.dumps(VIGNETTES[0]))
    case["scripted"]["icd"] = {
        "codes": [
            {"code": "G43.1999", "description": "Migraine with aura", "reasoning": "aura", "confidence": 0.8},
            {"code": "Q99.99", "description": "zzzz", "reasoning": "qqqq", "confidence": 0.1},
        ]
    }
    final, _ = await run(graph, case, scripted(case["scripted"]))
    (code,) = final["icd"].codes
    assert (code.code, code.status, code.proposed) == ("G43.109", "repaired", "G43.1999")
    assert code.description == IcdCodeSet.describe("G43.109") and code.billable
    assert final["icd"].dropped == ["Q99.99"]


async def test_partial_failure_later_stages_still_run(graph: Any) -> None:
    case = VIGNETTES[1]
    final, _ = await run(graph, case, scripted(case["scripted"], broken=("icd",)))
    assert final["errors"]["icd"].type == "stage_error"
    assert "cpt" in final and "summary" in final
    # Providers still ran, from the findings alone (emergency first).
    assert final["providers"].specialties[0] == "Emergency Medicine"


async def test_failed_intake_skips_what_needs_it(graph: Any) -> None:
    case = VIGNETTES[0]
    final, _ = await run(graph, case, scripted(case["scripted"], broken=("intake",)))
    assert set(final["errors"]) == {"intake", "icd", "cpt"}
    assert final["errors"]["icd"].code == "skipped"
    assert "providers" in final and "summary" in final  # location and symptoms suffice


async def test_model_output_outside_the_schema_is_a_stage_error(graph: Any) -> None:
    case = json.loads(json.dumps(VIGNETTES[2]))
    case["scripted"]["cpt"] = {"codes": []}  # minItems 1
    final, _ = await run(graph, case, scripted(case["scripted"]))
    assert final["errors"]["cpt"].type == "model_error"
    assert "summary" in final


async def test_no_location_skips_providers(graph: Any) -> None:
    case = json.loads(json.dumps(VIGNETTES[0]))
    del case["patient_data"]["location"]
    final, _ = await run(graph, case, scripted(case["scripted"]))
    assert final["errors"]["providers"].code == "skipped"
    assert "summary" in final


@pytest.mark.parametrize("case", VIGNETTES, ids=[v["id"] for v in VIGNETTES])
async def test_evaluation_scores_a_good_answer_as_a_hit(graph: Any, case: dict[str, Any]) -> None:
    from loadtests.evaluate_red_flags import score

    final, _ = await run(graph, case, scripted(case["scripted"]))
    document = {
        "status": "completed",
        "stages": {stage: final[stage].model_dump() for stage in STAGES},
        "timings": final["timings"],
        "usage": {"total_tokens": 0},
        "emergency": final["summary"].emergency_advice is not None,
    }
    scored = score(case, document)
    assert scored["category_hit"]
    assert scored["rules"] == scored["combined"] == case["red_flags"]
    assert final["providers"].specialties[0] == case["expected_specialty"]


class Forbidden(FakeListChatModel):
    """A model no stage may call: the test fails if one does."""

    async def _agenerate(self, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a model ran")


def no_model(stage: str) -> BaseChatModel:
    return Forbidden(responses=["unused"])


async def test_the_screen_is_the_first_node_and_its_refusal_ends_the_graph(graph: Any) -> None:
    """An unknown location with no emergency: the safety node refuses, and no model runs."""
    case = {"symptoms": "a mild rash on my arm for two days", "patient_data": {"age": 30, "location": "Nowhere, ZZ"}}
    final, events = await run(graph, case, no_model)
    assert [name for mode, chunk in events if mode == "updates" for name in chunk] == ["safety"]
    assert final["refusal"].code == "unknown_location" and final["refusal"].param == "patient_data.location"
    assert final["safety"].emergency is False and "intake" not in final


async def test_an_emergency_is_answered_without_the_location_it_could_not_find(graph: Any) -> None:
    case = json.loads(json.dumps(next(v for v in VIGNETTES if v["red_flags"])))
    case["patient_data"]["location"] = "Nowhere, ZZ"
    final, _ = await run(graph, case, scripted(case["scripted"]))
    assert final["safety"].emergency and final["location"] is None and "refusal" not in final
    assert "summary" in final and final["errors"]["providers"].code == "skipped"


async def test_the_intake_models_red_flags_escalate_after_it(graph: Any) -> None:
    case = json.loads(json.dumps(next(v for v in VIGNETTES if not v["red_flags"])))
    case["scripted"]["intake"]["red_flags"] = ["worst headache of life"]
    final, events = await run(graph, case, scripted(case["scripted"]))
    (escalated,) = [chunk["escalation"] for mode, chunk in events if mode == "updates" and "escalation" in chunk]
    assert escalated["escalated"].emergency and escalated["escalated"].red_flags[-1].rule == "model"
    assert not final["safety"].emergency  # the screen's own verdict, as the summary quotes it
    assert final["summary"].emergency_advice  # and the stages after intake see the escalation


async def test_the_graph_waits_after_its_first_node_until_asked(graph: Any) -> None:
    """The façade opens a consultation by reading the first node's update before it answers
    (serving/consultation/service.py): no model may run until it reads on."""
    case = VIGNETTES[0]
    calls: list[str] = []

    def counting(stage: str) -> BaseChatModel:
        calls.append(stage)
        return scripted(case["scripted"])(stage)

    state = {"request": ConsultationRequest(symptoms=case["symptoms"], patient_data=case["patient_data"])}
    stream = graph.astream(state, config={"configurable": {"models": counting}}, stream_mode=["custom", "updates"])
    mode, chunk = await anext(stream)
    assert (mode, list(chunk)) == ("updates", ["safety"])
    await asyncio.sleep(0.2)
    assert calls == []
    rest = [item async for item in stream]
    assert calls and any(mode == "updates" and "summary" in chunk for mode, chunk in rest)
