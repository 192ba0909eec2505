"""Shared fixtures: a real redis-server on a free port, private to the test that asks for it."""

from __future__ import annotations

import os

# The red-flag rules run as Python under test, where coverage can read them (a checkout that ran
# `make run` holds a compiled build the package would otherwise use); tests/orchestrator/
# test_compiled_rules.py runs the safety tests again on a fresh compiled build.
# (not setdefault: a shell that exports the image's setting; PEARCARE_TEST_RULES_BUILD is how that
# test asks for its build, and it checks the build was the one imported)
os.environ["PEARCARE_COMPILED_RULES"] = os.environ.get("PEARCARE_TEST_RULES_BUILD", "off")

from collections.abc import Iterator
from pathlib import Path

import pytest

from loadtests.devstack.redis_server import RedisServer
from tests.support.stack import redis_running

__all__ = ["RedisServer", "redis_server"]


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    with redis_running(tmp_path) as server:
        yield server
