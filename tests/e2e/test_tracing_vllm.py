"""End to end: one consultation through a tracing façade, every stage's model on the real vLLM
CPU server; a real OTLP receiver gets the façade's spans (the request, each stage, each model
call and its attempt) and vLLM's own, all under one trace id, vLLM's parented by the façade's
attempts (the traceparent it was sent)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from loadtests.devstack.otlp_receiver import OtlpReceiver, ReceivedSpan
from loadtests.devstack.vllm_cpu import VllmCpuServer
from tests.support.stack import TEST_KEY, facade, vllm_consultation_config
from tests.support.wait import eventually

pytestmark = pytest.mark.vllm

CASE = {
    "symptoms": "Throbbing one-sided headache since yesterday with flashing lights before it, and nausea.",
    "patient_data": {"age": 34, "gender": "female", "location": "02139"},
}
STAGES = {"safety", "intake", "escalation", "icd", "cpt", "providers", "summary"}


def test_one_consultation_is_one_trace_from_the_facade_through_each_stage_to_vllm(
    vllm_server: VllmCpuServer, otlp_receiver: OtlpReceiver, tmp_path: Path
) -> None:
    config = vllm_consultation_config(vllm_server.base_url, vllm_server.served_model_name, vllm_server.api_key)
    config["tracing"] = {"otlp_endpoint": otlp_receiver.endpoint}
    with facade(tmp_path, config) as running:
        response = httpx.post(
            running.base_url + "/consultations",
            headers={"authorization": f"Bearer {TEST_KEY}"},
            json=CASE,
            timeout=300,
        )
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "completed"
    # The façade flushed its spans as it stopped; vLLM exports in batches (every 5 s).

    def roots() -> list[ReceivedSpan]:
        return [
            s
            for s in otlp_receiver.received()
            if s.service == "pearcare-serving" and s.name == "POST /v1/consultations"
        ]

    (root,) = eventually(roots, timeout=30)
    facade_spans = [
        s for s in otlp_receiver.received() if s.trace_id == root.trace_id and s.service == "pearcare-serving"
    ]
    stages = {s.name.removeprefix("consultation "): s for s in facade_spans if s.name.startswith("consultation ")}
    assert set(stages) == STAGES
    assert all(stage.parent_span_id == root.span_id for stage in stages.values())
    attempts = {s.span_id: s for s in facade_spans if s.attributes.get("gen_ai.provider.name") == "vllm"}
    assert len(attempts) >= 4  # intake, icd, cpt, summary: each a model call through the façade

    def vllm_spans() -> list[ReceivedSpan]:
        return [s for s in otlp_receiver.received() if s.trace_id == root.trace_id and s.service != "pearcare-serving"]

    from_vllm = eventually(vllm_spans, lambda spans: len(spans) >= len(attempts), timeout=60)
    # Each of vLLM's request spans is the child of one of the façade's attempts.
    assert {s.parent_span_id for s in from_vllm} == set(attempts)
    print("vllm spans", sorted({s.name for s in from_vllm}), "façade spans", len(facade_spans))
