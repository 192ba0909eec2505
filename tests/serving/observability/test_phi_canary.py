"""A PHI canary sent everywhere a client can put it (prompt, extra fields, headers, a bad value)
never comes out anywhere the operator or a third party reads: any log line (access, error,
uvicorn), metric label, error body or readiness report. Served, streamed, failed and abandoned
requests, through the façade as a real process at debug log level."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack

import httpx
import pytest

from tests.support.stack import TEST_KEY, Facade, facade, facade_config, refused_url, simulator, vllm_backend
from tests.support.wait import eventually

CANARY = "Canary-Patient-7731-MRN"
HEADERS = {"authorization": f"Bearer {TEST_KEY}", "x-patient-name": CANARY, "user-agent": f"clinic/{CANARY}"}


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Facade]:
    tmp = tmp_path_factory.mktemp("canary")
    with ExitStack() as stack:
        sim = stack.enter_context(simulator(tmp, "--ttft-ms", "1", "--itl-ms", "30", "--tokens", "20"))
        failing = stack.enter_context(simulator(tmp, "--error-status", "500"))
        config = facade_config(
            backends={
                "sim": vllm_backend(sim.base_url, "sim-model"),
                "failing": vllm_backend(failing.base_url, "x"),
                "dead": vllm_backend(refused_url(), "x"),
            },
            models={"medgemma": ["sim"], "broken": ["failing", "dead"]},
            log_level="debug",
        )
        yield stack.enter_context(facade(tmp, config))


def requests_with_the_canary(running: Facade) -> list[httpx.Response]:
    url = running.base_url + "/chat/completions"
    messages = [{"role": "system", "content": f"Patient {CANARY}"}, {"role": "user", "content": CANARY}]
    extra = {"metadata": {"patient": CANARY}, CANARY: CANARY}
    answers = [
        httpx.post(url, headers=HEADERS, json={"model": "medgemma", "messages": messages, "max_tokens": 3, **extra}),
        httpx.post(url, headers=HEADERS, json={"model": "medgemma", "messages": messages, "stream": True, **extra}),
        httpx.post(url, headers=HEADERS, json={"model": "broken", "messages": messages, **extra}),  # backends fail
        httpx.post(url, headers=HEADERS, json={"model": CANARY, "messages": messages}),  # unknown model
        httpx.post(url, headers=HEADERS, json={"model": "medgemma", "messages": messages, "temperature": CANARY}),
        httpx.post(url, headers=HEADERS, json={"model": "medgemma", "messages": [{"role": CANARY, "content": "x"}]}),
        httpx.post(url, headers={**HEADERS, "authorization": f"Bearer {CANARY}"}, json={"model": "medgemma"}),
        httpx.post(url, headers=HEADERS, content=b'{"model": "' + CANARY.encode() + b'", "messages": ['),
    ]
    # A stream the client abandons.
    with httpx.stream(
        "POST", url, headers=HEADERS, json={"model": "medgemma", "messages": messages, "stream": True}
    ) as r:
        next(r.iter_lines())
    return answers


def test_the_canary_never_leaves_in_logs_metrics_errors_or_readiness(running: Facade) -> None:
    answers = requests_with_the_canary(running)
    assert [a.status_code for a in answers] == [200, 200, 503, 404, 400, 400, 401, 400]
    # Error bodies never quote what was sent, but for the model name, which OpenAI's 404 names too.
    for answer in answers[2:3] + answers[4:]:
        assert CANARY not in answer.text, answer.text
    # Nine requests, nine access lines: the abandoned stream is logged too (it finishes asynchronously).
    eventually(lambda: running.log_text().count('"message": "request"'), lambda n: n >= 9)
    log = running.log_text()
    assert '"level": "INFO"' in log and '"logger": "uvicorn.error"' in log  # the file holds every logger
    assert CANARY not in log
    assert CANARY not in httpx.get(running.root_url + "/metrics").text
    assert CANARY not in httpx.get(running.root_url + "/health/ready").text
