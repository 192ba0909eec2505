"""A consultation stage in a span of its own: `consultation <stage>`, a child of the span current
when the graph runs (the façade's request), so the stage's model calls nest under it."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from opentelemetry.trace import Span, Status, StatusCode, Tracer


def traced(stage: str, node: Any, tracer: Tracer) -> Any:
    """`node` wrapped in a span, keeping its signature (LangGraph reads it to pass config and
    writer) and whether it is a coroutine."""
    attributes = {"pearcare.consultation.stage": stage, "gen_ai.operation.name": "invoke_agent"}

    def settle(current: Span, update: Any) -> Any:
        """A stage records its failure in its update (orchestrator/nodes/common.py) instead of
        raising: the span says so, with the error's type, never its message."""
        failure = update.get("errors", {}).get(stage) if isinstance(update, dict) else None
        if failure is not None:
            current.set_status(Status(StatusCode.ERROR))
            current.set_attribute("error.type", str(getattr(failure, "type", None) or "stage_error"))
        return update

    @contextmanager
    def span() -> Iterator[Span]:
        # An exception's message is not recorded: it may quote the patient's text.
        with tracer.start_as_current_span(
            f"consultation {stage}", attributes=attributes, record_exception=False, set_status_on_exception=False
        ) as current:
            try:
                yield current
            except Exception as exc:
                current.set_status(Status(StatusCode.ERROR))
                current.set_attribute("error.type", type(exc).__name__)
                raise

    if inspect.iscoroutinefunction(node):

        @functools.wraps(node)
        async def run_async(*args: Any, **kwargs: Any) -> Any:
            with span() as current:
                return settle(current, await node(*args, **kwargs))

        return run_async

    @functools.wraps(node)
    def run(*args: Any, **kwargs: Any) -> Any:
        with span() as current:
            return settle(current, node(*args, **kwargs))

    return run
