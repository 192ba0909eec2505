"""OpenTelemetry spans, read back with the SDK's in-memory exporter: the request's span and its
children (admission, PHI guard, queue wait, each backend attempt), GenAI attributes, the W3C
traceparent continued from the caller and sent to vLLM only, sampling, consultation stages
under the request, and no prompt, completion or identifier anywhere in a span."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from serving.app import create_app
from serving.observability.tracing import Tracing
from serving.settings import REPO_ROOT, ServingConfig, TracingConfig
from tests.support.inprocess import AUTH, HELLO, RunningSimulator, simulator_server
from tests.support.stack import facade_config, refused_url, vllm_backend

CANARY = "Canary-Patient-7731-MRN"
CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"


@asynccontextmanager
async def traced_app(
    config: dict[str, Any], *, sample_ratio: float = 1.0
) -> AsyncIterator[tuple[httpx.AsyncClient, InMemorySpanExporter]]:
    exporter = InMemorySpanExporter()
    config = {**config, "tracing": {"sample_ratio": sample_ratio}}
    tracing = Tracing(TracingConfig(sample_ratio=sample_ratio), processor=SimpleSpanProcessor(exporter))
    app = create_app(ServingConfig.model_validate(config), tracing=tracing)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://facade.test", timeout=60) as client:
            yield client, exporter


@asynccontextmanager
async def sim_and_app(
    **backend: Any,
) -> AsyncIterator[tuple[RunningSimulator, httpx.AsyncClient, InMemorySpanExporter]]:
    async with simulator_server() as sim:
        config = facade_config({"sim": vllm_backend(sim.base_url, "m", **backend)}, {"medgemma": ["sim"]})
        async with traced_app(config) as (client, exporter):
            yield sim, client, exporter


def by_name(spans: tuple[ReadableSpan, ...] | list[ReadableSpan]) -> dict[str, ReadableSpan]:
    return {span.name: span for span in spans}


def text_of(spans: tuple[ReadableSpan, ...]) -> str:
    """Everything a span says: names, attributes, events, status."""
    return json.dumps(
        [
            [
                s.name,
                dict(s.attributes or {}),
                [(e.name, dict(e.attributes or {})) for e in s.events],
                s.status.description,
            ]
            for s in spans
        ],
        default=str,
    )


async def test_a_streamed_chat_is_one_trace_with_its_steps_and_the_backend_attempt() -> None:
    async with sim_and_app() as (sim, client, exporter):
        body = {"model": "medgemma", "messages": HELLO, "stream": True, "stream_options": {"include_usage": True}}
        response = await client.post("/v1/chat/completions", json=body, headers=AUTH)
        assert response.status_code == 200 and response.text.rstrip().endswith("data: [DONE]")
        spans = by_name(exporter.get_finished_spans())
        root = spans["POST /v1/chat/completions"]
        assert root.kind == SpanKind.SERVER and root.parent is None
        attributes = dict(root.attributes or {})
        assert attributes["gen_ai.operation.name"] == "chat"
        assert attributes["gen_ai.request.model"] == "medgemma" and attributes["gen_ai.response.model"] == "m"
        assert attributes["gen_ai.usage.output_tokens"] == 4 and attributes["gen_ai.usage.input_tokens"] > 0
        assert attributes["http.response.status_code"] == 200 and attributes["pearcare.outcome"] == "ok"
        attempt = spans["chat m"]
        assert attempt.kind == SpanKind.CLIENT
        host, port = sim.base_url.removeprefix("http://").removesuffix("/v1").split(":")
        assert (
            dict(attempt.attributes or {}).items()
            >= {
                "gen_ai.provider.name": "vllm",
                "gen_ai.request.model": "m",
                "server.address": host,
                "server.port": int(port),
                "pearcare.outcome": "ok",
            }.items()
        )
        for name in ("admission", "phi_guard", "queue_wait", "chat m"):
            span = spans[name]
            assert span.context.trace_id == root.context.trace_id
            assert span.parent is not None and span.parent.span_id == root.context.span_id, name
        # vLLM continues the trace: the attempt's own span is the parent it is told of.
        version, trace_id, parent_id, flags = sim.simulator.last_headers["traceparent"].split("-")
        assert (version, trace_id, parent_id) == (
            "00",
            f"{attempt.context.trace_id:032x}",
            f"{attempt.context.span_id:016x}",
        )
        assert int(flags, 16) & 1  # sampled: vLLM records its spans too
        assert attempt.end_time is not None and attempt.end_time <= (root.end_time or 0)


async def test_the_callers_traceparent_is_continued() -> None:
    async with sim_and_app() as (_, client, exporter):
        headers = {**AUTH, "traceparent": f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"}
        response = await client.post(
            "/v1/chat/completions", json={"model": "medgemma", "messages": HELLO}, headers=headers
        )
        assert response.status_code == 200
        root = by_name(exporter.get_finished_spans())["POST /v1/chat/completions"]
        assert f"{root.context.trace_id:032x}" == CALLER_TRACE
        assert root.parent is not None and f"{root.parent.span_id:016x}" == CALLER_SPAN


async def test_a_third_party_backend_gets_no_traceparent() -> None:
    async with simulator_server() as sim:
        openai_like = {
            "kind": "openai",
            "base_url": sim.base_url,
            "model": "gpt-5",
            "api_key": "sk-upstream-0123456789",
        }
        config = facade_config({"openai": openai_like}, {"gpt-5": ["openai"]})
        async with traced_app(config) as (client, exporter):
            response = await client.post(
                "/v1/chat/completions", json={"model": "gpt-5", "messages": HELLO}, headers=AUTH
            )
            assert response.status_code == 200
            assert "traceparent" not in sim.simulator.last_headers
            attempt = by_name(exporter.get_finished_spans())["chat gpt-5"]
            assert dict(attempt.attributes or {})["gen_ai.provider.name"] == "openai"


async def test_sampled_out_requests_export_nothing_and_still_pass_the_decision_on() -> None:
    async with simulator_server() as sim:
        config = facade_config({"sim": vllm_backend(sim.base_url, "m")}, {"medgemma": ["sim"]})
        async with traced_app(config, sample_ratio=0.0) as (client, exporter):
            response = await client.post(
                "/v1/chat/completions", json={"model": "medgemma", "messages": HELLO}, headers=AUTH
            )
            assert response.status_code == 200
            assert exporter.get_finished_spans() == ()
            flags = sim.simulator.last_headers["traceparent"].rsplit("-", 1)[1]
            assert not int(flags, 16) & 1  # not sampled: vLLM records nothing either


async def test_tracing_is_off_unless_an_endpoint_is_set() -> None:
    assert Tracing(TracingConfig()).enabled is False
    assert Tracing(TracingConfig(otlp_endpoint="http://127.0.0.1:4318/v1/traces")).enabled is True
    async with simulator_server() as sim:
        config = ServingConfig.model_validate(
            facade_config({"sim": vllm_backend(sim.base_url, "m")}, {"medgemma": ["sim"]})
        )
        app = create_app(config)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://facade.test") as client:
                body = {"model": "medgemma", "messages": HELLO}
                assert (await client.post("/v1/chat/completions", json=body, headers=AUTH)).status_code == 200
        assert "traceparent" not in sim.simulator.last_headers


async def test_no_span_carries_a_prompt_completion_or_identifier() -> None:
    async with sim_and_app() as (_, client, exporter):
        headers = {**AUTH, "x-patient-name": CANARY, "user-agent": f"clinic/{CANARY}", "x-request-id": CANARY}
        messages = [{"role": "system", "content": f"Patient {CANARY}"}, {"role": "user", "content": CANARY}]
        extra = {"metadata": {"patient": CANARY}, CANARY: CANARY}
        sent = [
            {"model": "medgemma", "messages": messages, "max_tokens": 3, **extra},
            {"model": "medgemma", "messages": messages, "stream": True, **extra},
            {"model": CANARY, "messages": messages},
            {"model": "medgemma", "messages": messages, "temperature": CANARY},
            {"model": "medgemma", "messages": [{"role": CANARY, "content": "x"}]},
        ]
        statuses = [
            (await client.post("/v1/chat/completions", json=body, headers=headers)).status_code for body in sent
        ]
        assert statuses[:2] == [200, 200] and all(status >= 400 for status in statuses[2:])
        await client.get(f"/v1/models/{CANARY}", headers=headers)  # a path the client wrote
        await client.request(CANARY, "/v1/chat/completions", headers=headers)  # a method it made up
        await client.post("/v1/chat/completions", content=b'{"model": "' + CANARY.encode(), headers=headers)
        spans = exporter.get_finished_spans()
        assert len(spans) >= 8
        assert "_OTHER /v1/chat/completions" in {span.name for span in spans}
        said = text_of(spans)
        assert CANARY not in said and "Patient" not in said, said[
            max(0, said.find(CANARY) - 300) : said.find(CANARY) + 50
        ]


async def test_a_consultation_traces_each_stage_and_its_model_calls_under_one_trace() -> None:
    async with simulator_server() as sim:
        config = facade_config(
            {"sim": vllm_backend(sim.base_url, "sim-model"), "dead": vllm_backend(refused_url(), "x")},
            {"medgemma": ["sim"], "gpt-5": ["sim"], "broken": ["dead"]},
        )
        config["consultation"] = {  # CPT's model is down: that stage fails, the rest go on
            "stages": {"intake": "gpt-5", "icd": "medgemma", "cpt": "broken", "summary": "gpt-5"},
            "providers_file": str(REPO_ROOT / "configs" / "providers.json"),
        }
        async with traced_app(config) as (client, exporter):
            body = {
                "symptoms": "Throbbing headache with flashing lights since yesterday",
                "patient_data": {"age": 34, "gender": "female", "location": "02139"},
            }
            response = await client.post("/v1/consultations", json=body, headers=AUTH)
            assert response.status_code == 200, response.text
            spans = exporter.get_finished_spans()
    root = next(s for s in spans if s.name == "POST /v1/consultations")
    assert {s.context.trace_id for s in spans} == {root.context.trace_id}
    stages = {s.name.removeprefix("consultation "): s for s in spans if s.name.startswith("consultation ")}
    assert {"safety", "intake", "icd", "cpt", "providers", "summary"} <= set(stages)
    for stage in stages.values():
        assert stage.parent is not None and stage.parent.span_id == root.context.span_id
    assert stages["cpt"].status.status_code == StatusCode.ERROR
    assert dict(stages["cpt"].attributes or {})["error.type"] == "stage_error"
    assert stages["icd"].status.status_code != StatusCode.ERROR
    # Each model call is a request of its own through the façade, nested in its stage, and
    # its attempt at the backend nested in that.
    inner = [s for s in spans if s.name == "POST /v1/chat/completions"]
    stage_ids = {stage.context.span_id: name for name, stage in stages.items()}
    assert {stage_ids[s.parent.span_id] for s in inner if s.parent is not None} >= {"intake", "icd", "cpt", "summary"}
    attempts = [s for s in spans if s.kind == SpanKind.CLIENT]
    assert len(attempts) >= 4 and all(a.parent is not None for a in attempts)
    failed = [a for a in attempts if dict(a.attributes or {})["pearcare.backend"] == "dead"]
    assert failed and all(a.status.status_code == StatusCode.ERROR for a in failed)
