"""The consultation through a real façade process: API, streaming, legacy paths, the chat alias,
input validation, partial failure, usage charged to the caller. The upstream simulator answers
structured-output requests with the smallest schema-valid JSON (the real model: tests/e2e)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from loadtests.devstack.redis_server import RedisServer
from tests.support.stack import (
    LIMITED_KEY,
    TEST_KEY,
    TWO_A_MINUTE_KEY,
    Facade,
    consultation_config,
    facade,
    redis_running,
    simulator,
)
from tests.support.wait import eventually

PATIENT = {"age": 34, "gender": "female", "location": "02139"}
SYMPTOMS = "Throbbing headache with flashing lights since yesterday"
AUTH = {"authorization": f"Bearer {TEST_KEY}"}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Facade]:
    tmp = tmp_path_factory.mktemp("consult")
    with ExitStack() as running:
        redis = running.enter_context(redis_running(tmp))
        sim = running.enter_context(simulator(tmp, "--ttft-ms", "1", "--itl-ms", "1", "--tokens", "4"))
        yield running.enter_context(facade(tmp, consultation_config(sim.base_url, redis.url)))


def events_of(response: httpx.Response) -> list[dict[str, Any]]:
    lines = [line for line in response.text.splitlines() if line.startswith("data: ")]
    assert lines[-1] == "data: [DONE]"
    return [json.loads(line.removeprefix("data: ")) for line in lines[:-1]]


@pytest.mark.parametrize("path", ["/consultations", "/langchain/consultation"])
def test_consultation_document(stack: Facade, path: str) -> None:
    response = httpx.post(
        stack.base_url + path,
        headers=AUTH,
        timeout=60,
        json={"symptoms": SYMPTOMS, "patient_data": PATIENT},
    )
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["object"] == "consultation" and result["status"] == "completed", result["errors"]
    assert set(result["stages"]) == {"intake", "icd", "cpt", "providers", "summary"}
    assert all(result["stages"][stage] is not None for stage in result["stages"])
    # The simulator's "sim" codes are not codes: dropped, never passed off as valid.
    assert result["stages"]["icd"] == {"codes": [], "dropped": ["sim"]}
    assert result["stages"]["cpt"]["codes"][0]["status"] == "invalid"
    assert result["stages"]["providers"]["providers"][0]["city"] in {"Boston", "Cambridge", "Somerville"}
    assert result["stages"]["summary"]["disclaimers"]
    assert set(result["timings"]) == {"intake", "icd", "cpt", "providers", "summary"}
    assert result["usage"]["total_tokens"] > 0 and set(result["usage"]["by_stage"]) == {
        "intake",
        "icd",
        "cpt",
        "summary",
    }


def test_stage_usage_is_charged_to_the_caller(stack: Facade) -> None:
    before = {
        row["model"]: row["requests"] for row in httpx.get(stack.base_url + "/usage", headers=AUTH).json()["data"]
    }
    httpx.post(
        stack.base_url + "/consultations",
        headers=AUTH,
        timeout=60,
        json={"symptoms": SYMPTOMS, "patient_data": PATIENT},
    )

    def requests_by_model() -> dict[str, int]:
        rows = httpx.get(stack.base_url + "/usage", headers=AUTH).json()["data"]
        return {row["model"]: row["requests"] for row in rows}

    after = eventually(requests_by_model, lambda now: sum(now.values()) == sum(before.values()) + 4)
    assert after.get("gpt-5", 0) - before.get("gpt-5", 0) == 2  # intake + summary
    assert after.get("medgemma", 0) - before.get("medgemma", 0) == 2  # icd + cpt


@pytest.mark.parametrize("path", ["/consultations", "/langchain/stream"])
def test_stream_shows_every_stage_in_order(stack: Facade, path: str) -> None:
    body = {"symptoms": SYMPTOMS, "patient_data": PATIENT}
    if path == "/consultations":
        body["stream"] = True
    response = httpx.post(stack.base_url + path, headers=AUTH, json=body, timeout=60)
    assert response.headers["content-type"].startswith("text/event-stream")
    events = events_of(response)
    order = [(e["stage"], e["status"]) for e in events]
    assert order[:2] == [("safety", "completed"), ("intake", "in_progress")] and order[-2:] == [
        ("summary", "completed"),
        ("consultation", "completed"),
    ]
    for stage in ("intake", "icd", "cpt", "providers", "summary"):
        assert order.index((stage, "in_progress")) < order.index((stage, "completed"))
    assert order.index(("intake", "completed")) < order.index(("icd", "in_progress"))
    assert order.index(("icd", "completed")) < order.index(("providers", "in_progress"))
    completed = {e["stage"]: e["result"] for e in events if e["status"] == "completed"}
    assert completed["providers"]["providers"]


def test_consultation_as_a_chat_model(stack: Facade) -> None:
    client = openai.OpenAI(base_url=stack.base_url, api_key=TEST_KEY, max_retries=0, timeout=60)
    assert "consultation" in {m.id for m in client.models.list()}
    messages = [{"role": "user", "content": SYMPTOMS}]
    completion = client.chat.completions.create(
        model="consultation", messages=messages, extra_body={"patient_data": PATIENT}
    )
    text = completion.choices[0].message.content or ""
    assert "Decision support only" in text and "Providers near 02139" in text
    assert completion.usage is not None and completion.usage.total_tokens > 0
    chunks = list(
        client.chat.completions.create(
            model="consultation",
            messages=messages,
            stream=True,
            stream_options={"include_usage": True},
            extra_body={"patient_data": PATIENT},
        )
    )
    streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert "Decision support only" in streamed
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="consultation", messages=messages, extra_body={"patient_data": "34"})
    assert caught.value.body["param"] == "patient_data"  # type: ignore[index]


def test_consultation_from_a_plain_conversation(stack: Facade) -> None:
    """No patient_data: age, sex and location come from the text; what is missing is asked for."""
    from langchain_openai import ChatOpenAI

    model = ChatOpenAI(model="consultation", base_url=stack.base_url, api_key=TEST_KEY, max_retries=0, timeout=60)
    told = model.invoke(f"I'm a 34-year-old woman in Cambridge, MA. {SYMPTOMS}.").text
    assert "Providers near Cambridge, MA" in told and "ZIP code" not in told
    assert "Decision support only" in told

    client = openai.OpenAI(base_url=stack.base_url, api_key=TEST_KEY, max_retries=0, timeout=60)
    untold = client.chat.completions.create(model="consultation", messages=[{"role": "user", "content": SYMPTOMS}])
    text = untold.choices[0].message.content or ""
    assert "Providers near" not in text  # no providers without a location
    assert "tell me your ZIP code" in text and "Your age was not given" in text
    assert "Stages that failed" not in text  # providers were skipped, not failed
    streamed = "".join(
        c.choices[0].delta.content or ""
        for c in client.chat.completions.create(
            model="consultation", messages=[{"role": "user", "content": f"45M near 10001. {SYMPTOMS}"}], stream=True
        )
        if c.choices
    )
    assert "Providers near 10001" in streamed and "Your age was not given" not in streamed


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"symptoms": "", "patient_data": PATIENT}, "symptoms"),
        ({"symptoms": "x" * 9000, "patient_data": PATIENT}, "symptoms"),
        ({"symptoms": SYMPTOMS, "patient_data": {**PATIENT, "age": 200}}, "patient_data.age"),
        ({"symptoms": SYMPTOMS, "patient_data": {**PATIENT, "age": -1}}, "patient_data.age"),
        ({"symptoms": SYMPTOMS, "patient_data": {**PATIENT, "location": "Atlantis, ZZ"}}, "patient_data.location"),
        ({"symptoms": SYMPTOMS}, "patient_data"),
        ({"symptoms": SYMPTOMS, "patient_data": PATIENT, "surprise": 1}, "surprise"),
    ],
)
def test_bad_input_gets_400_with_param(stack: Facade, body: dict[str, Any], param: str) -> None:
    response = httpx.post(stack.base_url + "/consultations", headers=AUTH, json=body)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == param


def test_auth_applies(stack: Facade) -> None:
    body = {"symptoms": SYMPTOMS, "patient_data": PATIENT}
    assert httpx.post(stack.base_url + "/consultations", json=body).status_code == 401
    forbidden = httpx.post(
        stack.base_url + "/consultations", json=body, headers={"authorization": f"Bearer {LIMITED_KEY}"}
    )
    assert forbidden.status_code == 404 and forbidden.json()["error"]["code"] == "model_not_found"


def test_a_failing_stage_leaves_a_partial_result(tmp_path: Any) -> None:
    redis = RedisServer(tmp_path)
    redis.start()
    try:
        with simulator(tmp_path, "--ttft-ms", "1", "--itl-ms", "1") as sim:
            stages = {"intake": "gpt-5", "icd": "broken", "cpt": "medgemma", "summary": "gpt-5"}
            with facade(tmp_path, consultation_config(sim.base_url, redis.url, stages)) as running:
                response = httpx.post(
                    running.base_url + "/consultations",
                    headers=AUTH,
                    timeout=60,
                    json={"symptoms": SYMPTOMS, "patient_data": PATIENT},
                )
                result = response.json()
                assert response.status_code == 200 and result["status"] == "partial"
                assert set(result["errors"]) == {"icd"} and "503" in result["errors"]["icd"]["message"]
                assert result["stages"]["providers"] and result["stages"]["summary"]
                metrics = httpx.get(running.root_url + "/metrics").text
                assert 'pearcare_consultation_stage_failures_total{stage="icd"} 1.0' in metrics
                assert 'pearcare_consultation_stage_duration_seconds_count{stage="summary"} 1.0' in metrics
    finally:
        redis.stop()


def test_a_stage_refused_by_the_callers_own_limit_fails_alone(stack: Facade) -> None:
    # rpm 2: intake takes one, icd and cpt race for the other, summary finds none left.
    response = httpx.post(
        stack.base_url + "/consultations",
        headers={"authorization": f"Bearer {TWO_A_MINUTE_KEY}"},
        timeout=60,
        json={"symptoms": SYMPTOMS, "patient_data": PATIENT},
    )
    assert response.status_code == 200
    result = response.json()
    assert result["status"] == "failed" and result["stages"]["intake"] is not None
    assert "summary" in result["errors"] and len({"icd", "cpt"} & set(result["errors"])) == 1
    assert all("(HTTP 429)" in error["message"] for error in result["errors"].values())
    assert result["stages"]["providers"]  # the directory needs no model


def test_a_consultation_stops_when_the_client_hangs_up(tmp_path: Path) -> None:
    with (
        redis_running(tmp_path) as redis,
        simulator(tmp_path, "--ttft-ms", "1", "--itl-ms", "100", "--tokens", "100") as slow,
        facade(tmp_path, consultation_config(slow.base_url, redis.url)) as running,
    ):
        with pytest.raises(httpx.ReadTimeout):
            httpx.post(
                running.base_url + "/consultations",
                headers=AUTH,
                json={"symptoms": SYMPTOMS, "patient_data": PATIENT},
                timeout=httpx.Timeout(10, read=1.0),
            )
        # The graph was cancelled, and with it the intake stage's backend request.
        eventually(lambda: slow.stats()["cancelled"], lambda n: n >= 1)
        lines = eventually(
            lambda: [json.loads(line) for line in running.log_text().splitlines() if '"/v1/consultations"' in line],
            lambda found: bool(found),
        )
        assert [(line["status"], line["outcome"]) for line in lines] == [(499, "client_disconnected")]
        assert slow.stats()["requests"] == 1, "no stage after intake started"


def test_the_evaluation_scores_vignettes_against_a_running_stack(
    stack: Facade, capsys: pytest.CaptureFixture[str]
) -> None:
    """python -m loadtests.evaluate_red_flags --base-url ... (for a real MedGemma), here against the
    simulator: every vignette's row, then the tallies of rules, model and both."""
    from loadtests.evaluate_red_flags import main

    for extra in ([], ["--intake-only"]):
        assert main(["--base-url", stack.base_url, "--api-key", TEST_KEY, "--limit", "3", *extra]) == 0
        lines = capsys.readouterr().out.splitlines()
        rows = [json.loads(line) for line in lines if line.startswith("{")]
        assert len(rows) == 3 and all(row["rules"] in (True, False) for row in rows)
        tallies = [line.split()[0] for line in lines if not line.startswith("{")]
        assert tallies[:3] == ["rules", "model", "combined"]
        assert ("ICD" in lines[-1]) == (extra == [])
