"""What every stage shares: progress events, timing, and turning a failure into a stage error
(later stages still run where their inputs exist)."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.config import get_stream_writer

from orchestrator.llm import ModelProvider, StageModelError
from orchestrator.state import ConsultationState, StageError

log = logging.getLogger(__name__)

Node = Callable[[ConsultationState, RunnableConfig], Awaitable[dict[str, Any]]]


class MissingInput(RuntimeError):
    """A stage this one needs failed or did not run."""


def models_of(config: RunnableConfig) -> ModelProvider:
    provider: ModelProvider = config["configurable"]["models"]
    return provider


def stage(name: str, message: str) -> Callable[[Node], Node]:
    """Wrap a node: announce it, time it, and record its failure instead of raising."""

    def decorate(work: Node) -> Node:
        async def node(state: ConsultationState, config: RunnableConfig) -> dict[str, Any]:
            write = get_stream_writer()
            write({"stage": name, "status": "in_progress", "message": message})
            started = time.perf_counter()
            try:
                update = await work(state, config)
                update["completed"] = [name]
            except MissingInput as exc:
                update = {"errors": {name: StageError(message=str(exc), type="dependency_failed", code="skipped")}}
            except StageModelError as exc:
                update = {"errors": {name: StageError(message=str(exc), type="model_error", code="invalid_output")}}
            except Exception as exc:  # a stage's failure must not end the consultation
                log.warning("consultation stage failed", extra={"stage": name, "error_type": type(exc).__name__})
                update = {"errors": {name: StageError(message=_describe(exc), type="stage_error", code=None)}}
            update["timings"] = {name: round(time.perf_counter() - started, 4)}
            return update

        node.__name__ = name
        return node

    return decorate


def _describe(exc: Exception) -> str:
    status = getattr(exc, "status_code", None)
    text = getattr(exc, "message", None) or type(exc).__name__
    return f"{text} (HTTP {status})" if status else str(text)
