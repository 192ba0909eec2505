"""OpenAI's formats for limits: reset durations."""

from __future__ import annotations

from serving.access.limits import duration


def test_reset_durations_match_openai_format() -> None:
    assert duration(12) == "12ms"
    assert duration(1000) == "1s"
    assert duration(6500) == "6.5s"
    assert duration(360_000) == "6m0s"
