"""RunPod's job handler: each job through the façade app in-process, its answer yielded the way
RunPod passes a generator handler's outputs on.

- An OpenAI-route stream: the SSE text itself (`data: {...}\\n\\n`), as RunPod's vLLM worker
  yields it, so RunPod's `/openai/v1` endpoint streams what an OpenAI client reads.
- A plain job's stream: each event's JSON object, as `{"data": event}` (RunPod fails a job at
  an output that has an `error` key, and a consultation's failed stage has one: the run goes on).
- A document (non-streamed answer): the JSON document, once.
- An error: `{"error": "<the OpenAI envelope as JSON, with the HTTP status>"}`, once. RunPod marks
  the job FAILED with that string (it would repr() a dict), and `--test_input` exits 1. An
  unexpected failure of the worker itself is a 500 envelope too: never a traceback.
"""

from __future__ import annotations

import codecs
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from typing import Any

import orjson

from serving import sse
from serving.errors import APIError, error_envelope, error_type_for
from serving.serverless.in_process import SERVER_ERROR, AppResponse, InProcessApp
from serving.serverless.jobs import read_job

log = logging.getLogger(__name__)


def failure(status: int | None, envelope: dict[str, Any]) -> dict[str, str]:
    detail = {**envelope, "status": status} if status is not None else envelope
    return {"error": orjson.dumps(detail).decode()}


def _error_body(body: bytes, status: int) -> dict[str, Any]:
    """The app's error envelope, or one made for a body that is not one (never a traceback)."""
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        parsed = None
    if isinstance(parsed, dict) and isinstance(parsed.get("error"), dict):
        return parsed
    return error_envelope(f"The request failed with status {status}.", error_type_for(status))


class ColdStart:
    """Process start to the first output of the first job, logged once with its phases."""

    def __init__(self, process_started: float) -> None:
        self._process_started = process_started  # time.time() of the process's creation
        self.phases: dict[str, float] = {}
        self._reported = False

    def mark(self, phase: str) -> None:
        self.phases.setdefault(phase, round(time.time() - self._process_started, 3))

    def first_output(self) -> None:
        if not self._reported:
            self._reported = True
            self.mark("first_output")
            log.info("cold start", extra={f"{phase}_s": seconds for phase, seconds in self.phases.items()})


class JobHandler:
    def __init__(self, app: InProcessApp, *, endpoint_key: str | None, cold_start: ColdStart | None = None) -> None:
        self._app = app
        self._endpoint_key = endpoint_key
        self._cold_start = cold_start

    async def handle(self, job: dict[str, Any]) -> AsyncGenerator[Any]:
        """The generator handler given to runpod.serverless.start."""
        try:
            async with aclosing(self._outputs(job)) as outputs:  # a job stopped early reaches the app at once
                async for output in outputs:
                    if self._cold_start is not None:
                        self._cold_start.first_output()
                    yield output
        except Exception as exc:  # the SDK would hand the caller our traceback
            log.error("job failed in the worker", extra={"error_type": type(exc).__name__})
            yield failure(500, SERVER_ERROR)

    async def handle_once(self, job: dict[str, Any]) -> Any:
        """One job's outputs at once (the list RunPod aggregates), then the app's shutdown: for
        `--test_input`, whose runner (runpod 1.12) does not iterate a generator handler."""
        outputs: list[Any] = []
        try:
            async with aclosing(self.handle(job)) as answer:
                async for output in answer:
                    if _is_failure(output):
                        return output
                    outputs.append(output)
            return outputs
        finally:
            await self._app.stop()

    async def _outputs(self, job: dict[str, Any]) -> AsyncGenerator[Any]:
        try:
            request = read_job(job, endpoint_key=self._endpoint_key)
        except APIError as exc:
            yield failure(exc.status, exc.envelope())
            return
        async with self._app.request(request) as response:
            if response.status >= 400:
                yield failure(response.status, _error_body(await response.read(), response.status))
            elif response.is_event_stream and request.openai_route:
                decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
                async for piece in response.batches():
                    yield decoder.decode(piece)
            elif response.is_event_stream:
                async for output in _events(response):
                    yield output
                    if _is_failure(output):
                        return
            else:
                yield _document(await response.read())


def _is_failure(output: Any) -> bool:
    return isinstance(output, dict) and set(output) == {"error"} and isinstance(output["error"], str)


def _document(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return body.decode("utf-8", "replace")


async def _events(response: AppResponse) -> AsyncIterator[Any]:
    """Each `data:` event's JSON (the façade writes one `data:` line per event), [DONE] left out;
    the error event that ends a failed stream ends the job as a failure (no status: the stream
    had started)."""
    pending = b""
    async for piece in response.batches():
        pending += piece
        events, pending = sse.split_events(pending)
        for event in events:
            data = sse.data_of(event)
            if not data or data == b"[DONE]":
                continue
            payload = orjson.loads(data)
            if isinstance(payload, dict) and set(payload) == {"error"}:  # the façade's error event
                yield failure(None, payload)
                return
            yield {"data": payload}
