"""Each backend's data policy, applied to each request on its way to that backend.

allow: the request leaves as it is (self-hosted vLLM; a provider under the tenant's BAA).
redact: identifiers are replaced by placeholders first; the response gets them back.
block: a request with identifiers is refused (400 phi_not_allowed), never sent.

A key may be granted `allow` for a backend (`allow_phi`) and images for a backend
(`allow_images`). Images, audio and files go to a non-allow backend only with that grant:
identifiers in pixels or sound can't be redacted.

Detection runs once per request, and only when a non-allow backend is about to be tried:
self-hosted traffic pays nothing. It runs in a worker thread, so a long prompt does not
stall the streams the event loop is relaying."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import orjson

from serving.errors import PhiNotAllowed, ScreeningUnavailable
from serving.observability.metrics import Metrics
from serving.privacy.positions import (
    LONG_BODY_BYTES,
    Screened,
    ScreeningAbandoned,
    Unscreenable,
    answers_in_json,
    screen,
)

if TYPE_CHECKING:
    from serving.access.limits import Grant
    from serving.privacy.detector import PhiDetector
    from serving.privacy.redaction import Redaction

DataPolicy = Literal["allow", "redact", "block"]


def effective_policy(backend: str, policy: DataPolicy, grant: Grant | None) -> DataPolicy:
    if grant is not None and backend in grant.grants.allow_phi:
        return "allow"
    return policy


@dataclass(slots=True)
class Outgoing:
    body: dict[str, Any]
    redaction: Redaction | None  # set when placeholders went out: the response is restored
    json_content: bool  # the content is a JSON document (response_format): restore escaped
    policy: DataPolicy = "allow"
    pseudonym_key: bytes = b""

    def request_id(self, request_id: str) -> str:
        """The id sent along: a client's own may carry an encounter number or an MRN, so a
        non-allow backend gets a pseudonym: keyed (HMAC-SHA256 with the deployment's secret),
        so an id cannot be recovered by hashing guesses; the same one each time, so we can
        still correlate it."""
        if self.policy == "allow":
            return request_id
        return hmac.new(self.pseudonym_key, request_id.encode(), hashlib.sha256).hexdigest()[:32]


class Screening:
    """One request body's screening, run once and kept: every backend tried for the request
    reads the same result (or the same refusal)."""

    __slots__ = ("_done", "_error", "_guard", "_result", "body")

    def __init__(self, guard: DataGuard, body: dict[str, Any]) -> None:
        self._guard = guard
        self.body = body
        self._done = False
        self._result: Screened | None = None
        self._error: Unscreenable | None = None

    async def result(self) -> Screened:
        if not self._done:
            try:
                self._result = await self._guard._screen(self.body)
            except Unscreenable as exc:
                self._error = exc
            self._done = True
        if self._error is not None:
            raise self._error
        assert self._result is not None
        return self._result

    @property
    def counts(self) -> dict[str, int] | None:
        """The identifier types and counts found, never their values; None: not screened."""
        return None if self._result is None else dict(self._result.redaction.counts)


class DataGuard:
    def __init__(
        self,
        *,
        detector: Callable[[], PhiDetector],
        metrics: Metrics,
        timeout_seconds: float = 10.0,
        pseudonym_key: bytes | None = None,
    ) -> None:
        self._detector = detector  # built on first use: Presidio takes ~2 s to import
        self._metrics = metrics
        self._timeout = timeout_seconds
        # server.request_id_secret keys the pseudonyms (the same across replicas and restarts);
        # without it, a key of this process's own (pseudonyms then differ between processes).
        self._pseudonym_key = pseudonym_key or secrets.token_bytes(32)
        # Its own threads, never the default executor (where aiohttp resolves backend host
        # names for every request), in two lanes: long bodies queue behind each other, never
        # in front of the ordinary ones.
        self._short = ThreadPoolExecutor(max_workers=2, thread_name_prefix="phi-screen")
        self._long = ThreadPoolExecutor(max_workers=1, thread_name_prefix="phi-screen-long")

    def close(self) -> None:
        for lane in (self._short, self._long):
            lane.shutdown(wait=False, cancel_futures=True)

    def screening(self, body: dict[str, Any]) -> Screening:
        """One request's screening: done at most once, when the first backend that needs it is
        tried (self-hosted traffic under `allow` pays nothing)."""
        return Screening(self, body)

    async def outgoing(
        self, *, backend: str, policy: DataPolicy, grant: Grant | None, screening: Screening
    ) -> Outgoing:
        """What may be sent to `backend`; raises PhiNotAllowed when nothing may."""
        body = screening.body
        applied = effective_policy(backend, policy, grant)
        json_content = answers_in_json(body)
        if applied == "allow":
            return Outgoing(body, None, json_content)
        try:
            screened = await screening.result()
        except Unscreenable as exc:
            self._metrics.data_policy.labels(backend, "refused_unscreenable").inc()
            raise PhiNotAllowed(backend, [], unscreenable=str(exc)) from None
        if screened.token_ids:  # no grant makes token ids screenable
            self._metrics.data_policy.labels(backend, "refused_unscreenable").inc()
            raise PhiNotAllowed(backend, [], unscreenable="a prompt given as token ids")
        if screened.unscreenable and (grant is None or backend not in grant.grants.allow_images):
            self._metrics.data_policy.labels(backend, "refused_binary").inc()
            raise PhiNotAllowed(backend, [], unscreenable=screened.unscreenable)
        if not screened.redaction:
            self._metrics.data_policy.labels(backend, "clean").inc()
            return Outgoing(body, None, json_content, applied, self._pseudonym_key)
        if applied == "block":
            self._metrics.data_policy.labels(backend, "blocked").inc()
            raise PhiNotAllowed(backend, sorted(screened.redaction.counts))
        self._metrics.data_policy.labels(backend, "redacted").inc()
        return Outgoing(screened.redacted, screened.redaction, json_content, "redact", self._pseudonym_key)

    async def _screen(self, body: dict[str, Any]) -> Screened:
        """Bounded: a request waits at most the timeout, queued or screening, and its work stops
        soon after (checked between texts), so one request never holds the threads for others."""
        started = time.perf_counter()
        loop = asyncio.get_running_loop()
        stop = threading.Event()  # set when its requester stopped waiting: the work ends early
        deadline = time.monotonic() + self._timeout
        lane = self._long if len(orjson.dumps(body)) > LONG_BODY_BYTES else self._short
        work = loop.run_in_executor(lane, lambda: screen(self._detector(), body, stop=stop, deadline=deadline))
        try:
            async with asyncio.timeout(self._timeout):
                screened = await work
        except TimeoutError:
            self._metrics.phi_detection_seconds.observe(time.perf_counter() - started)
            raise ScreeningUnavailable(self._timeout) from None
        except ScreeningAbandoned:
            raise ScreeningUnavailable(self._timeout) from None
        finally:
            stop.set()  # no-op when it finished; otherwise a queued job is skipped, a running one stops
        self._metrics.phi_detection_seconds.observe(time.perf_counter() - started)
        for kind, count in screened.redaction.counts.items():
            self._metrics.phi_entities.labels(kind).inc(count)
        return screened


def shared_detector() -> PhiDetector:
    """The process's detector, built on first use (Presidio's import is the cost)."""
    from serving.privacy.detector import shared_detector as build

    return build()
