"""Screening by protocol position: one walk over a request body that knows where its text, its
binary parts and its structure are; the text found is handed to the detector, and the body
rewritten with placeholders. policy.py decides what a backend may be sent."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from serving.privacy.detector import PhiDetector
    from serving.privacy.redaction import Redaction


@dataclass(slots=True)
class Screened:
    """A request body as found by detection: its redacted twin and the redaction."""

    redacted: dict[str, Any]
    redaction: Redaction
    unscreenable: str | None  # images, audio, files in content parts: an image grant may allow them
    token_ids: bool = False  # a prompt as token ids: never screenable, refused for every non-allow backend


# Screening by protocol position: one walk over a request body that knows where its text, its
# binary parts and its structure are.
# - Values never screened: protocol words, ids and enumerations.
# - Content parts (a message's `content` list, a Responses message's parts): text parts are
#   screened; any other part (image, audio, file) is binary, whatever its fields are called.
#   Only there do `url`, `data` or `image_url` mean binary: a tool's `url` parameter or a
#   schema's `data` property is structure, screened like any other.
# - Token ids (`prompt` or `input` given as integers): never screenable.
# - Object keys a person could have written (a schema's property names, metadata keys, anything
#   that is not a protocol field name) are screened like text, and renamed when they hold an
#   identifier: the same identifier gets the same placeholder in `required` and in answers.
_STRUCTURAL = frozenset(
    {
        "model",
        "role",
        "type",
        "id",
        "tool_call_id",
        "call_id",
        "tool_choice",
        "reasoning_effort",
        "verbosity",
        "service_tier",
        "detail",
        "format",
        "encoding_format",
        "finish_reason",
        "object",
    }
)
_TEXT_PARTS = frozenset({"text", "input_text", "output_text", "refusal", "summary_text", "reasoning_text"})
# Content parts: a message's `content`, and a Responses tool result's `output` (images too).
_PART_LISTS = frozenset({"content", "output"})
_TOKEN_FIELDS = frozenset({"prompt", "input"})
# Field names of OpenAI's requests: not screened as keys (they are the protocol's own words).
_PROTOCOL_KEYS = frozenset(
    {
        *_STRUCTURAL,
        "messages",
        "content",
        "text",
        "name",
        "tools",
        "function",
        "functions",
        "function_call",
        "parameters",
        "properties",
        "required",
        "description",
        "response_format",
        "json_schema",
        "schema",
        "strict",
        "stream",
        "stream_options",
        "include_usage",
        "max_tokens",
        "max_completion_tokens",
        "max_output_tokens",
        "temperature",
        "top_p",
        "n",
        "stop",
        "seed",
        "user",
        "metadata",
        "input",
        "instructions",
        "prompt",
        "suffix",
        "items",
        "enum",
        "additionalProperties",
        "title",
        "default",
        "minimum",
        "maximum",
        "anyOf",
        "allOf",
        "oneOf",
        "$ref",
        "$defs",
        "definitions",
        "arguments",
        "tool_calls",
        "output",
        "reasoning",
        "effort",
        "summary",
        "image_url",
        "url",
        "input_audio",
        "file",
        "file_data",
        "file_id",
        "filename",
        "logprobs",
        "top_logprobs",
        "logit_bias",
        "presence_penalty",
        "frequency_penalty",
        "best_of",
        "echo",
        "dimensions",
        "store",
        "previous_response_id",
        "truncation",
        "parallel_tool_calls",
        "modalities",
        "audio",
        "prediction",
        "refusal",
        "annotations",
        "status",
        "include",
        "background",
        "prompt_cache_key",
        "safety_identifier",
        "top_k",
        "min_p",
        "repetition_penalty",
        "ignore_eos",
        "chat_template_kwargs",
    }
)
_ROUTING = re.compile(r"^[A-Za-z0-9_-]+$")  # what OpenAI accepts as a message's `name`
MAX_SCREENED_CHARS = 262_144  # more than this isn't screened: refused for a non-allow backend
LONG_BODY_BYTES = 32_768  # bodies above this are screened in the long lane


def _structural(key: str, value: Any) -> bool:
    """A field that names how, not what. `format` is one as a string (encoding_format,
    audio); as an object it is the Responses API's output schema (text.format), screened."""
    return key in _STRUCTURAL and not (key == "format" and isinstance(value, dict))


def _screened_key(key: str) -> bool:
    return key not in _PROTOCOL_KEYS


def _token_ids(value: Any) -> bool:
    """A prompt as token ids: [1, 2, 3] or [[1, 2], [3]]."""
    if not isinstance(value, list) or not value:
        return False
    if all(isinstance(item, int) for item in value):
        return True
    lists = all(isinstance(item, list) and all(isinstance(t, int) for t in item) for item in value)
    return lists and any(value)  # [[1, 2], []] too: a ragged batch is still token ids


class Unscreenable(ValueError):
    """Content detection can't vouch for: too much text."""


class ScreeningAbandoned(RuntimeError):
    """Screening stopped before the end: its requester stopped waiting, or its deadline passed."""


@dataclass
class _Walk:
    texts: list[str]
    binary: str | None = None
    token_ids: bool = False


def screen(
    detector: PhiDetector,
    body: dict[str, Any],
    *,
    stop: threading.Event | None = None,
    deadline: float | None = None,
) -> Screened:
    """The body with every string and key a person could have written redacted. Binary content
    parts and token ids are marked (they can't be screened); too much text raises
    Unscreenable. Between texts, a set `stop` or a passed `deadline` (time.monotonic) ends it:
    ScreeningAbandoned."""
    from serving.privacy.redaction import Redaction  # Presidio's anonymizer: imported on first use

    if stop is not None and stop.is_set():  # its requester left while it waited in the queue
        raise ScreeningAbandoned("not started: nobody waits for it")
    redaction = Redaction()
    walk = _Walk(texts=[])
    _collect(body, walk, key=None, top=True)
    if sum(len(text) for text in walk.texts) > MAX_SCREENED_CHARS:
        raise Unscreenable(f"more than {MAX_SCREENED_CHARS} characters of text")
    redaction.reserve(walk.texts)  # placeholders the client wrote itself are never issued

    def redact(text: str) -> str:
        if (stop is not None and stop.is_set()) or (deadline is not None and time.monotonic() > deadline):
            raise ScreeningAbandoned("stopped: its requester no longer waits")
        return redaction.replace(text, detector.find(text))

    redacted = _rewrite(body, redact, key=None, top=True)
    return Screened(redacted, redaction, walk.binary, walk.token_ids)


def _collect(node: Any, walk: _Walk, *, key: str | None, top: bool = False) -> None:
    """Gather the strings and keys to screen; mark binary parts and token ids."""
    if isinstance(node, dict):
        for child_key, child in node.items():
            if _screened_key(child_key):
                walk.texts.append(child_key)
            if _structural(child_key, child):
                continue
            if top and child_key in _TOKEN_FIELDS and _token_ids(child):
                walk.token_ids = True
                continue
            _collect(child, walk, key=child_key)
    elif isinstance(node, list):
        if key in _PART_LISTS:
            for part in node:
                kind = part.get("type") if isinstance(part, dict) else None
                if isinstance(part, dict) and not (isinstance(kind, str) and kind in _TEXT_PARTS):
                    walk.binary = walk.binary or f"`{kind if isinstance(kind, str) else 'unknown'}` content"
                    continue
                _collect(part, walk, key=key)
            return
        for child in node:
            _collect(child, walk, key=key)
    elif isinstance(node, str):
        walk.texts.append(node)


def _rewrite(node: Any, redact: Callable[[str], str], *, key: str | None, top: bool = False) -> Any:
    if isinstance(node, dict):
        out = {}
        for child_key, child in node.items():
            name = redact(child_key) if _screened_key(child_key) else child_key
            if _structural(child_key, child) or (top and child_key in _TOKEN_FIELDS and _token_ids(child)):
                out[name] = child
            elif child_key == "name" and isinstance(child, str) and "role" in node:
                # A participant's name: screened with its _ and - as spaces; one that names
                # someone is left out (a placeholder would break OpenAI's pattern for it).
                spaced = child.replace("_", " ").replace("-", " ")
                if redact(spaced) == spaced:
                    out[name] = child
            else:
                out[name] = _rewrite(child, redact, key=child_key)
        return out
    if isinstance(node, list):
        if key in _PART_LISTS:
            return [
                part
                if isinstance(part, dict) and not (isinstance(part.get("type"), str) and part["type"] in _TEXT_PARTS)
                else _rewrite(part, redact, key=key)
                for part in node
            ]
        return [_rewrite(child, redact, key=key) for child in node]
    if isinstance(node, str):
        return redact(node)
    return node


def answers_in_json(body: dict[str, Any]) -> bool:
    """The answer is a JSON document: chat's response_format, or the Responses API's text.format."""
    response_format = body.get("response_format")
    text = body.get("text")
    if isinstance(text, dict) and isinstance(text.get("format"), dict):
        response_format = text["format"]
    return isinstance(response_format, dict) and response_format.get("type") in ("json_object", "json_schema")
