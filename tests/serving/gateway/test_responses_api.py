"""POST /v1/responses through the façade as a real process, driven by the official openai
client and LangChain, in front of the simulator (it speaks the Responses protocol as OpenAI
and vLLM do): stream and not, usage, fallback, disconnects, translation, stored state."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import openai
import pytest

from tests.support.stack import TEST_KEY, Facade, Simulator, facade, facade_config, refused_url, simulator, vllm_backend
from tests.support.wait import eventually

STORE_KEY = "sk-test-may-store-0123456789abcdef"  # allow_store and allow_phi (a BAA): nothing redacted
STORE_ONLY_KEY = "sk-test-store-only-0123456789abcd"  # allow_store alone: its requests are redacted


class Stack:
    def __init__(self, facade: Facade, sim: Simulator) -> None:
        self.facade = facade
        self.sim = sim

    def client(self, key: str = TEST_KEY) -> openai.OpenAI:
        return openai.OpenAI(base_url=self.facade.base_url, api_key=key, max_retries=0)

    def post(self, body: dict, key: str = TEST_KEY) -> httpx.Response:
        return httpx.post(
            self.facade.base_url + "/responses", json=body, headers={"authorization": f"Bearer {key}"}, timeout=30
        )

    def metric(self, line_start: str) -> float:
        text = httpx.get(self.facade.root_url + "/metrics").text
        return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(line_start))


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("responses")
    with (
        simulator(tmp, "--ttft-ms", "20", "--itl-ms", "20", "--tokens", "8") as sim,
        simulator(tmp, "--error-status", "503") as failing,
    ):
        gpt = {"kind": "openai", "base_url": sim.base_url, "model": "gpt-5", "api_key": "sk-upstream-secret"}
        config = facade_config(
            backends={
                "sim": vllm_backend(sim.base_url, "sim-model", message_format="gemma3"),
                "gpt": {**gpt, "rename_params": {"max_tokens": "max_completion_tokens"}},
                "failing": vllm_backend(failing.base_url, "x"),
                "dead": vllm_backend(refused_url(), "x", timeouts={"connect": 1, "read": 5}),
            },
            models={"medgemma": ["sim"], "gpt-5": ["gpt"], "fallback-5xx": ["failing", "sim"], "down": ["dead"]},
        )
        config["keys"] += [
            {"key": STORE_KEY, "name": "may-store", "allow_store": ["gpt"], "allow_phi": ["gpt"]},
            {"key": STORE_ONLY_KEY, "name": "store-only", "allow_store": ["gpt"]},
        ]
        with facade(tmp, config) as running:
            yield Stack(running, sim)


def test_create_round_trip_with_usage(stack: Stack) -> None:
    before = stack.metric('pearcare_tokens_total{alias="medgemma",kind="completion"')
    response = stack.client().responses.create(model="medgemma", input="Hello", max_output_tokens=5)
    assert response.output_text == " tok" * 5
    assert response.usage is not None and response.usage.output_tokens == 5
    sent = stack.sim.stats()["last_body"]
    assert sent["model"] == "sim-model" and sent["store"] is False and sent["max_output_tokens"] == 5
    assert "stream_options" not in sent  # not a Responses parameter
    eventually(lambda: stack.metric('pearcare_tokens_total{alias="medgemma",kind="completion"') - before == 5)


def test_streamed_events_are_relayed_in_order_with_usage_from_the_last(stack: Stack) -> None:
    before = stack.metric('pearcare_tokens_total{alias="medgemma",kind="completion"')
    events = list(stack.client().responses.create(model="medgemma", input="Hello", max_output_tokens=6, stream=True))
    kinds = [event.type for event in events]
    assert kinds[:4] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
    ]
    assert kinds.count("response.output_text.delta") == 6
    assert kinds[-4:] == [
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert "".join(e.delta for e in events if e.type == "response.output_text.delta") == " tok" * 6
    assert events[-1].response.usage.output_tokens == 6
    # No default cap named: the façade sent the one it charged for.
    eventually(lambda: stack.metric('pearcare_tokens_total{alias="medgemma",kind="completion"') - before == 6)


def test_the_sdks_stream_helper_accumulates_the_final_response(stack: Stack) -> None:
    with stack.client().responses.stream(model="medgemma", input="Hello", max_output_tokens=4) as stream:
        deltas = [event.delta for event in stream if event.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert "".join(deltas) == final.output_text == " tok" * 4
    assert final.status == "completed"


def test_langchain_chat_openai_with_the_responses_api(stack: Stack) -> None:
    from langchain_openai import ChatOpenAI

    model = ChatOpenAI(
        model="medgemma",
        base_url=stack.facade.base_url,
        api_key=TEST_KEY,
        use_responses_api=True,
        max_tokens=3,
        max_retries=0,
    )
    answer = model.invoke("Hello")
    assert answer.text == " tok" * 3
    assert answer.usage_metadata is not None and answer.usage_metadata["output_tokens"] == 3
    streamed = "".join(chunk.text for chunk in model.stream("Hello"))
    assert streamed == " tok" * 3
    assert stack.sim.stats()["last_body"]["max_output_tokens"] == 3


def test_gpt5_gets_its_parameters_and_never_stores(stack: Stack) -> None:
    stack.client().responses.create(
        model="gpt-5",
        input=[{"role": "developer", "content": "Be brief."}, {"role": "user", "content": "Hello"}],
        max_output_tokens=4,
        reasoning={"effort": "low"},
        text={"verbosity": "low"},
        store=True,
        metadata={"mrn": "123"},
    )
    sent = stack.sim.stats()["last_body"]
    assert sent["model"] == "gpt-5" and sent["store"] is False and "metadata" not in sent
    assert sent["reasoning"] == {"effort": "low"} and sent["text"] == {"verbosity": "low"}
    assert sent["max_output_tokens"] == 4 and "max_completion_tokens" not in sent
    assert sent["input"][0]["role"] == "developer"  # OpenAI's input is passed as it is


def test_gemma_input_is_normalised_with_calls_and_outputs_as_turns(stack: Stack) -> None:
    stack.client().responses.create(
        model="medgemma",
        instructions="You are a coder.",
        input=[
            {"role": "user", "content": "Code otitis media"},
            {"type": "function_call", "call_id": "c1", "name": "lookup", "arguments": '{"term": "otitis"}'},
            {"type": "function_call_output", "call_id": "c1", "output": "H66.90"},
            {"role": "user", "content": [{"type": "input_text", "text": "Thanks"}]},
        ],
        max_output_tokens=2,
    )
    sent = stack.sim.stats()["last_body"]
    assert "instructions" not in sent
    roles = [item["role"] for item in sent["input"]]
    assert roles == ["system", "user", "assistant", "user"]
    assert "lookup" in sent["input"][2]["content"] and "H66.90" in str(sent["input"][3]["content"])


def test_a_key_allowed_to_store_keeps_store_and_previous_response_id(stack: Stack) -> None:
    stack.client(STORE_KEY).responses.create(
        model="gpt-5", input="Hello", store=True, previous_response_id="resp_abc", max_output_tokens=2
    )
    sent = stack.sim.stats()["last_body"]
    assert sent["store"] is True and sent["previous_response_id"] == "resp_abc"


def test_stored_state_needs_an_unredacted_backend(stack: Stack) -> None:
    """Placeholders restart at [NAME_1] in every request: a redacted conversation kept by the
    backend would swap patients on its next turn, so allow_store alone does not allow it."""
    response = stack.post({"model": "gpt-5", "input": "Hello", "previous_response_id": "resp_abc"}, key=STORE_ONLY_KEY)
    assert response.status_code == 400 and response.json()["error"]["param"] == "previous_response_id"
    stack.client(STORE_ONLY_KEY).responses.create(model="gpt-5", input="Hello", store=True, max_output_tokens=2)
    assert stack.sim.stats()["last_body"]["store"] is False


@pytest.mark.parametrize(
    ("model", "field", "value"),
    [
        ("medgemma", "previous_response_id", "resp_abc"),
        ("medgemma", "background", True),
        ("medgemma", "conversation", "conv_1"),
        ("gpt-5", "previous_response_id", "resp_abc"),
        ("gpt-5", "background", True),
    ],
)
def test_stored_state_is_refused_with_a_clear_400(stack: Stack, model: str, field: str, value: object) -> None:
    requests_before = stack.sim.stats()["requests"]
    response = stack.post({"model": model, "input": "Hello", field: value})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["param"] == field and error["code"] == "unsupported_parameter"
    assert "input" in error["message"]  # it says what to do instead
    assert stack.sim.stats()["requests"] == requests_before


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model": "medgemma"}, "input"),
        ({"model": "medgemma", "input": 3}, "input"),
        ({"model": "medgemma", "input": "x", "max_output_tokens": 0}, "max_output_tokens"),
        ({"input": "x"}, "model"),
        ({"model": "medgemma", "input": [{"type": "item_reference", "id": "msg_1"}]}, "input[0]"),
        ({"model": "medgemma", "input": [{"role": "user", "content": 5}]}, "input[0].content"),
        ({"model": "medgemma", "input": [{"role": "user", "content": ["x"]}]}, "input[0].content"),
        ({"model": "medgemma", "input": [{"type": "function_call_output", "output": {"a": 1}}]}, "input[0].output"),
        ({"model": "medgemma", "input": [{"role": "robot", "content": "x"}]}, "input[0].role"),
    ],
)
def test_bad_bodies_get_openai_shaped_400s(stack: Stack, body: dict, param: str) -> None:
    response = stack.post(body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["param"] == param and error["type"] == "invalid_request_error"


def test_unknown_model_and_bad_key(stack: Stack) -> None:
    assert stack.post({"model": "nope", "input": "x"}).status_code == 404
    response = stack.post({"model": "medgemma", "input": "x"}, key="sk-wrong-0123456789abcdefghij")
    assert response.status_code == 401 and response.json()["error"]["code"] == "invalid_api_key"


def test_fallback_before_the_first_byte(stack: Stack) -> None:
    response = stack.client().responses.create(model="fallback-5xx", input="Hello", max_output_tokens=2, stream=True)
    assert [e.type for e in response][-1] == "response.completed"
    with pytest.raises(openai.APIStatusError) as refused:
        stack.client().responses.create(model="down", input="Hello")
    assert refused.value.status_code in (502, 503)
    assert refused.value.body["code"] is not None  # type: ignore[index]


def test_client_disconnect_cancels_the_upstream(stack: Stack) -> None:
    cancelled = stack.sim.stats()["cancelled"]
    body = {"model": "medgemma", "input": "Hello", "stream": True, "max_output_tokens": 8, "simulate": {"itl_ms": 500}}
    with httpx.stream(
        "POST", stack.facade.base_url + "/responses", json=body, headers={"authorization": f"Bearer {TEST_KEY}"}
    ) as response:
        for line in response.iter_lines():
            if "output_text.delta" in line:
                break
    eventually(lambda: stack.sim.stats()["cancelled"] > cancelled, timeout=5)
