from __future__ import annotations

import copy

from serving.backends.translate import RequestTranslator
from serving.settings import BackendConfig

GPT5 = BackendConfig(
    kind="openai",
    base_url="https://api.openai.com/v1",
    model="gpt-5",
    api_key="k",
    rename_params={"max_tokens": "max_completion_tokens"},
    drop_params=["temperature", "top_p"],
)
GEMMA = BackendConfig(kind="vllm", base_url="http://127.0.0.1:8011/v1", model="gemma-3-270m", message_format="gemma3")


def test_gpt5_renames_and_drops_declared_params() -> None:
    body = {
        "model": "gpt-5",
        "messages": [{"role": "user", "content": "hi"}],
        "max_tokens": 9,
        "temperature": 0.3,
        "top_p": 0.5,
        "seed": 1,
        "tools": [{"type": "function"}],
    }
    original = copy.deepcopy(body)
    out = RequestTranslator(GPT5).chat(body, stream=False)
    assert out == {
        "model": "gpt-5",
        "messages": [{"role": "user", "content": "hi"}],
        "max_completion_tokens": 9,
        "seed": 1,
        "tools": [{"type": "function"}],
        "store": False,
    }
    assert body == original


def test_data_that_is_retained_or_billed_does_not_leave_for_openai_by_default() -> None:
    body = {
        "model": "gpt-5",
        "messages": [],
        "store": True,
        "service_tier": "priority",
        "metadata": {"patient": "MRN-1"},
        "user": "patient-1",
        "safety_identifier": "patient-1",
    }
    assert RequestTranslator(GPT5).chat(body, stream=False) == {"model": "gpt-5", "messages": [], "store": False}
    # Forcing more adds to the default, never replaces it.
    stricter = GPT5.model_copy(update={"force_params": {"parallel_tool_calls": False}})
    assert RequestTranslator(stricter).chat(body, stream=False)["store"] is False
    # Only chat completions take them: embeddings and completions get nothing forced.
    assert "store" not in RequestTranslator(GPT5).plain({"input": "x"}, stream=False)
    # A backend under a BAA may be configured otherwise, explicitly.
    covered = GPT5.model_copy(update={"allow_params": ["store", "user", "metadata"]})
    out = RequestTranslator(covered).chat(body, stream=False)
    assert out["store"] is True and out["user"] == "patient-1" and out["metadata"] == {"patient": "MRN-1"}
    assert "service_tier" not in out
    # vLLM runs here: nothing is forced or dropped.
    assert RequestTranslator(GEMMA).chat({"store": True, "user": "u"}, stream=False)["user"] == "u"


def test_explicit_target_param_wins_over_renamed_one() -> None:
    out = RequestTranslator(GPT5).chat({"max_tokens": 5, "max_completion_tokens": 7}, stream=False)
    assert out["max_completion_tokens"] == 7 and "max_tokens" not in out


def test_streams_always_ask_upstream_for_usage() -> None:
    translator = RequestTranslator(GEMMA)
    out = translator.plain({"model": "medgemma", "prompt": "x", "stream": True}, stream=True)
    assert out["stream_options"] == {"include_usage": True}
    body = {"prompt": "x", "stream_options": {"include_usage": False, "continuous_usage_stats": False}}
    out = translator.chat(body, stream=True)
    assert out["stream_options"] == {"include_usage": True, "continuous_usage_stats": False}
    assert body["stream_options"] == {"include_usage": False, "continuous_usage_stats": False}
    assert "stream_options" not in translator.plain({"prompt": "x"}, stream=False)


def test_model_is_rewritten_and_vllm_extras_kept() -> None:
    out = RequestTranslator(GEMMA).chat(
        {"model": "medgemma", "messages": [{"role": "user", "content": "a"}], "ignore_eos": True}, stream=False
    )
    assert out["model"] == "gemma-3-270m" and out["ignore_eos"] is True
