"""The key a request presents: OpenAI's bearer header, or Azure's api-key."""

from __future__ import annotations

import pytest
from starlette.datastructures import Headers

from serving.access.auth import presented_key, presented_key_hash
from serving.access.keys import hash_key
from serving.errors import InvalidAPIKey


@pytest.mark.parametrize(
    ("headers", "key"),
    [
        ({"authorization": "Bearer sk-a"}, "sk-a"),
        ({"authorization": "bearer   sk-a  "}, "sk-a"),
        ({"api-key": "sk-azure"}, "sk-azure"),
        ({"authorization": "Basic sk-a"}, None),
        ({"authorization": "Bearer "}, None),
        ({"authorization": "Bearer", "api-key": "sk-azure"}, None),  # a bad Authorization is not overridden
        ({}, None),
    ],
)
def test_presented_key(headers: dict[str, str], key: str | None) -> None:
    assert presented_key(Headers(headers)) == key


def test_missing_key_is_a_401_that_says_how() -> None:
    with pytest.raises(InvalidAPIKey, match="Authorization: Bearer"):
        presented_key_hash(Headers({}))
    assert presented_key_hash(Headers({"authorization": "Bearer sk-a"})) == hash_key("sk-a")
