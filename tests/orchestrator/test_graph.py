"""The consultation graph with scripted fake chat models: nodes, routing, partial failure, vignettes."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from langchain_core.language_models import BaseChatModel
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from orchestrator.codes import IcdCodeSet
from orchestrator.directory import ProviderDirectory, resolve_location
from orchestrator.graph import build_graph
from orchestrator.safety.red_flags import default_rules
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


@pytest.fixture(scope="module")
def graph() -> Any:
    return build_graph(code_set=IcdCodeSet(), directory=ProviderDirectory.load(REPO_ROOT / "configs/providers.json"))


async def run(graph: Any, case: dict[str, Any], models: Callable[[str], BaseChatModel]) -> tuple[dict, list]:
    request = ConsultationRequest(symptoms=case["symptoms"], patient_data=case["patient_data"])
    location = request.patient_data.location
    safety = default_rules().assess(request.symptoms, age_years=request.patient_data.age)
    state = {"request": request, "location": resolve_location(location) if location else None, "safety": safety}
    events: list[tuple[str, Any]] = []
    final: dict[str, Any] = {}
    async for mode, chunk in graph.astream(
        state, config={"configurable": {"models": models}}, stream_mode=["custom", "updates"]
    ):
        events.append((mode, chunk))
        if mode == "updates":
            for update in chunk.values():
                for key, value in update.items():
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
    from orchestrator.evaluate import score

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
