"""End to end: a consultation through the façade, every stage's model on the real vLLM CPU server."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from loadtests.devstack.vllm_cpu import VllmCpuServer
from orchestrator.codes import IcdCodeSet
from tests.support.stack import TEST_KEY, Facade, facade, vllm_consultation_config
from tests.support.wait import eventually

pytestmark = pytest.mark.vllm

AUTH = {"authorization": f"Bearer {TEST_KEY}"}
CASE = {
    "symptoms": "Throbbing one-sided headache since yesterday with flashing lights before it, and nausea.",
    "patient_data": {"age": 34, "gender": "female", "location": "02139"},
}


@pytest.fixture(scope="module")
def consulting(vllm_server: VllmCpuServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Facade]:
    config = vllm_consultation_config(vllm_server.base_url, vllm_server.served_model_name, vllm_server.api_key)
    with facade(tmp_path_factory.mktemp("consult-e2e"), config) as running:
        yield running


def test_consultation_completes_with_valid_codes_and_charged_usage(consulting: Facade) -> None:
    response = httpx.post(consulting.base_url + "/consultations", headers=AUTH, json=CASE, timeout=300)
    assert response.status_code == 200
    result = response.json()
    assert result["status"] == "completed", result["errors"]
    for code in result["stages"]["icd"]["codes"]:
        assert IcdCodeSet.is_valid(code["code"]), code
        assert code["description"] == IcdCodeSet.describe(code["code"])
    assert result["stages"]["providers"]["providers"]
    assert result["stages"]["summary"]["disclaimers"]
    by_stage = result["usage"]["by_stage"]
    assert set(by_stage) == {"intake", "icd", "cpt", "summary"}
    assert all(u["completion_tokens"] > 0 for u in by_stage.values())

    def charged_by_model() -> dict[str, dict[str, int]]:
        return {row["model"]: row for row in httpx.get(consulting.base_url + "/usage", headers=AUTH).json()["data"]}

    charged = eventually(
        charged_by_model, lambda rows: all(rows.get(m, {}).get("requests", 0) >= 2 for m in ("gpt-5", "medgemma"))
    )
    assert charged["gpt-5"]["requests"] >= 2 and charged["medgemma"]["requests"] >= 2
    assert charged["medgemma"]["completion_tokens"] >= by_stage["icd"]["completion_tokens"]


def test_stream_shows_every_stage_in_order(consulting: Facade) -> None:
    seen: list[tuple[str, str]] = []
    with httpx.stream(
        "POST", consulting.base_url + "/consultations", headers=AUTH, json={**CASE, "stream": True}, timeout=300
    ) as response:
        for line in response.iter_lines():
            if line == "data: [DONE]":
                break
            if line.startswith("data: "):
                event = json.loads(line.removeprefix("data: "))
                seen.append((event["stage"], event["status"]))
    assert seen[:2] == [("safety", "completed"), ("intake", "in_progress")] and seen[-1] == (
        "consultation",
        "completed",
    )
    for stage in ("intake", "icd", "cpt", "providers", "summary"):
        assert (stage, "in_progress") in seen
        assert (stage, "completed") in seen or (stage, "failed") in seen
    assert seen.index(("intake", "in_progress")) < seen.index(("icd", "in_progress"))
    assert seen.index(("icd", "in_progress")) < seen.index(("providers", "in_progress"))
    assert seen.index(("providers", "in_progress")) < seen.index(("summary", "in_progress"))


def test_the_chest_pain_a_small_model_misses_is_escalated_by_the_rules(consulting: Facade) -> None:
    case = {
        "symptoms": "Crushing chest pain radiating to the left arm for 30 minutes, sweating, short of breath",
        "patient_data": {"age": 58, "gender": "male", "location": "02139"},
    }
    response = httpx.post(consulting.base_url + "/consultations", headers=AUTH, json=case, timeout=300)
    document = response.json()
    assert response.status_code == 200
    assert document["emergency"] is True and document["emergency_advice"][0].startswith("Call 911")
    assert document["red_flags"][0]["rule"] == "heart_attack"
    if document["stages"]["providers"]:
        assert document["stages"]["providers"]["specialties"][0] == "Emergency Medicine"
    assert document["disclaimers"]
