"""Locust load test for Pear Care serving.

    .venv/bin/locust -f loadtests/locustfile.py --host http://127.0.0.1:8000 --api-key sk-... \\
        [--model medgemma] [--max-tokens 64] [--prompts loadtests/prompts.yaml] [--patient-location 02139]
    (headless: --headless -u 20 -r 5 -t 2m --csv loadtests/results/run --html loadtests/results/run.html)

Users: StreamingChatUser (records time to first token, inter-token latency and output tokens as
Locust entries, so they show in the web UI, the CSV and the HTML report), ResponsesUser (the
same for a streamed Responses API call, as the Agents SDK and Codex make them), ChatUser
(non-streaming) and ConsultationUser (streamed stage events: time to each stage). Pick some with their class
names on the command line. Custom entries: request type TTFT / ITL / TOKENS / STAGE; for TOKENS
the "response time" column is the token count.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from locust import HttpUser, between, events, task

DEFAULT_PROMPTS = Path(__file__).resolve().parent / "prompts.yaml"


@events.init_command_line_parser.add_listener  # type: ignore[untyped-decorator]
def _arguments(parser: Any) -> None:
    parser.add_argument("--api-key", env_var="PEARCARE_API_KEY", default="", help="the façade API key")
    parser.add_argument("--model", env_var="PEARCARE_MODEL", default="medgemma", help="model alias")
    parser.add_argument("--max-tokens", env_var="PEARCARE_MAX_TOKENS", type=int, default=64)
    parser.add_argument("--prompts", env_var="PEARCARE_PROMPTS", default=str(DEFAULT_PROMPTS), help="YAML list")
    parser.add_argument("--patient-location", env_var="PEARCARE_LOCATION", default="02139", help="ZIP or City, ST")


class PearCareUser(HttpUser):
    abstract = True
    wait_time = between(0.5, 2.0)

    def on_start(self) -> None:
        options = self.environment.parsed_options
        self.model = options.model
        self.max_tokens = options.max_tokens
        self.prompts = yaml.safe_load(Path(options.prompts).read_text())
        self.location = options.patient_location
        self.client.headers["authorization"] = f"Bearer {options.api_key}"

    def record(self, kind: str, name: str, value: float) -> None:
        self.environment.events.request.fire(
            request_type=kind, name=name, response_time=value, response_length=0, exception=None, context={}
        )


@dataclass
class StreamTally:
    """What one stream carried: when its text pieces arrived, and the tokens its usage named."""

    started: float = field(default_factory=time.perf_counter)
    first: float | None = None
    last: float | None = None
    pieces: int = 0
    tokens: int = 0

    def piece(self) -> None:
        now = time.perf_counter()
        self.first = self.first or now
        self.last = now
        self.pieces += 1


def chat_event(event: dict[str, Any], tally: StreamTally) -> str | None:
    """A chat completion chunk into the tally; the failure's message for an error event."""
    if "error" in event:
        return str(event["error"].get("message", "stream error"))
    if event.get("usage"):
        tally.tokens = event["usage"].get("completion_tokens", 0)
    elif event.get("choices") and event["choices"][0]["delta"].get("content"):
        tally.piece()
    return None


def responses_event(event: dict[str, Any], tally: StreamTally) -> str | None:
    """A Responses API event into the tally (usage comes in response.completed)."""
    kind = event.get("type")
    if "error" in event or kind in ("error", "response.failed"):
        return str(event.get("error") or event.get("message") or kind)
    if kind == "response.output_text.delta":
        tally.piece()
    elif kind in ("response.completed", "response.incomplete"):
        tally.tokens = (event["response"].get("usage") or {}).get("output_tokens", 0)
    return None


class StreamingUser(PearCareUser):
    abstract = True

    def measured_stream(
        self, path: str, body: dict[str, Any], name: str, read: Callable[[dict[str, Any], StreamTally], str | None]
    ) -> None:
        """One streamed request: TTFT, ITL and output tokens recorded as Locust entries."""
        tally = StreamTally()
        with self.client.post(path, json=body, stream=True, catch_response=True, name=name) as response:
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}")
                return
            for line in response.iter_lines():
                if line.startswith(b"data: {") and (failure := read(json.loads(line[6:]), tally)) is not None:
                    response.failure(failure)
                    return
            response.success()
        if tally.first is not None:
            self.record("TTFT", name, (tally.first - tally.started) * 1000)
        if tally.first is not None and tally.last is not None and tally.pieces > 1:
            self.record("ITL", name, (tally.last - tally.first) * 1000 / (tally.pieces - 1))
        self.record("TOKENS", f"{name} output", tally.tokens or tally.pieces)


class StreamingChatUser(StreamingUser):
    weight = 6

    @task
    def stream_chat(self) -> None:
        body = {
            "model": self.model,
            "max_tokens": self.max_tokens,
            "stream": True,
            "stream_options": {"include_usage": True},
            "messages": [{"role": "user", "content": random.choice(self.prompts)}],
        }
        self.measured_stream("/v1/chat/completions", body, "chat (stream)", chat_event)


class ResponsesUser(StreamingUser):
    """POST /v1/responses, streamed: typed events; usage in the last (response.completed)."""

    weight = 2

    @task
    def stream_response(self) -> None:
        body = {
            "model": self.model,
            "max_output_tokens": self.max_tokens,
            "stream": True,
            "input": [{"role": "user", "content": random.choice(self.prompts)}],
        }
        self.measured_stream("/v1/responses", body, "responses (stream)", responses_event)


class ChatUser(PearCareUser):
    weight = 3

    @task
    def chat(self) -> None:
        body = {
            "model": self.model,
            "max_tokens": self.max_tokens,
            "messages": [{"role": "user", "content": random.choice(self.prompts)}],
        }
        with self.client.post("/v1/chat/completions", json=body, catch_response=True, name="chat") as response:
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}")


class ConsultationUser(PearCareUser):
    weight = 1
    wait_time = between(2.0, 5.0)

    @task
    def consult(self) -> None:
        body = {
            "symptoms": random.choice(self.prompts),
            "stream": True,
            "patient_data": {"age": random.randint(18, 80), "location": self.location},
        }
        started = time.perf_counter()
        with self.client.post(
            "/v1/consultations", json=body, stream=True, catch_response=True, name="consultation"
        ) as response:
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}")
                return
            failed = []
            for line in response.iter_lines():
                if not line.startswith(b"data: {"):
                    continue
                event = json.loads(line[6:])
                if event["status"] in ("completed", "failed"):
                    self.record("STAGE", event["stage"], (time.perf_counter() - started) * 1000)
                    if event["status"] == "failed":
                        failed.append(event["stage"])
            if failed:
                response.failure(f"stages failed: {', '.join(failed)}")
            else:
                response.success()
