"""A store failover under load, measured: requests go to the façades from a few threads, the
store's primary is killed, and every answer is kept with its time until service has been back
for a while. Used by the failover tests (tests/serving/store/) and by
loadtests/bench_failover.py, which prints the figures the README quotes."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx


@dataclass(frozen=True, slots=True)
class Answer:
    at: float  # seconds since the kill (negative: before it)
    status: int
    retry_after: str | None
    code: str | None


@dataclass
class FailoverRun:
    answers: list[Answer] = field(default_factory=list)
    recorded: int = 0  # requests the key's usage holds once the façades' backlogs are replayed
    resumed: bool = False  # every worker was served for serving_after_seconds after the kill

    @property
    def statuses(self) -> Counter[int]:
        return Counter(answer.status for answer in self.answers)

    @property
    def served(self) -> int:
        return self.statuses[200]

    @property
    def failed(self) -> list[Answer]:
        return [answer for answer in self.answers if answer.status != 200]

    @property
    def outage_seconds(self) -> float:
        """From the kill to the last request that was not served."""
        return max((answer.at for answer in self.failed), default=0.0)

    @property
    def lost(self) -> int:
        """Served requests the usage does not hold (acknowledged writes the replica never got);
        negative: counted twice (a settlement that ran, its reply lost, replayed)."""
        return self.served - self.recorded

    def summary(self) -> dict[str, object]:
        return {
            "answers": len(self.answers),
            "statuses": dict(sorted(self.statuses.items())),
            "refused_with_retry_after": sum(1 for a in self.failed if a.status == 503 and a.retry_after),
            "outage_seconds": round(self.outage_seconds, 2),
            "resumed": self.resumed,
            "served": self.served,
            "usage_recorded": self.recorded,
            "usage_lost": self.lost,
        }


def run_failover(
    base_urls: list[str],
    key: str,
    kill: Callable[[], object],
    *,
    workers: int = 6,
    before_seconds: float = 2.0,
    serving_after_seconds: float = 3.0,
    limit_seconds: float = 60.0,
    model: str = "medgemma",
) -> FailoverRun:
    """Load from `workers` threads; `kill()` after `before_seconds`; stop once every worker has
    been served for `serving_after_seconds` in a row after the kill (or at `limit_seconds`)."""
    run = FailoverRun()
    lock = threading.Lock()
    killed_at: list[float] = []
    stop = threading.Event()
    headers = {"authorization": f"Bearer {key}"}
    body = {"model": model, "messages": [{"role": "user", "content": "Hello"}], "max_tokens": 2}
    served_since: dict[int, float] = {}

    def load(worker: int) -> None:
        with httpx.Client(timeout=30) as client:
            turn = worker
            while not stop.is_set():
                url = base_urls[turn % len(base_urls)] + "/chat/completions"
                turn += 1
                try:
                    response = client.post(url, json=body, headers=headers)
                    status, retry, code = response.status_code, response.headers.get("retry-after"), None
                    if status != 200:
                        code = (response.json().get("error") or {}).get("code")
                except httpx.TransportError:
                    status, retry, code = 0, None, "transport"  # the façade itself failed: never expected
                now = time.monotonic()
                with lock:
                    at = now - killed_at[0] if killed_at else -1.0
                    run.answers.append(Answer(at, status, retry, code))
                    if killed_at and status == 200:
                        served_since.setdefault(worker, now)
                    elif killed_at:
                        served_since.pop(worker, None)

    threads = [threading.Thread(target=load, args=(index,), daemon=True) for index in range(workers)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(before_seconds)
        with lock:
            killed_at.append(time.monotonic())  # from here on, a refusal is the failover's
        kill()
        deadline = killed_at[0] + limit_seconds
        while time.monotonic() < deadline:
            time.sleep(0.1)
            with lock:
                now = time.monotonic()
                if len(served_since) == workers and all(
                    now - since >= serving_after_seconds for since in served_since.values()
                ):
                    run.resumed = True
                    break
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=35)
    run.recorded = _settled_usage(base_urls[0], headers, run.served)
    return run


def _settled_usage(base_url: str, headers: dict[str, str], served: int) -> int:
    """The key's recorded requests once they stop changing (the backlogs replay within ~1 s)."""

    def recorded() -> int:
        rows = httpx.get(base_url + "/usage", headers=headers, timeout=10).json()["data"]
        return sum(int(row["requests"]) for row in rows)

    deadline = time.monotonic() + 10
    while (count := recorded()) < served and time.monotonic() < deadline:
        time.sleep(0.2)
    return count
