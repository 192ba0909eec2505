"""End to end on the real vLLM CPU server: the Responses API and tool calls through the façade,
with the official openai client and LangChain. The 270M model says little of use; what is
tested is the plumbing: a named tool_choice always yields a parsed call (structured outputs),
`auto` is accepted and answers in some form."""

from __future__ import annotations

import json

import openai
import pytest

from tests.support.stack import TEST_KEY, Facade

pytestmark = pytest.mark.vllm

LOOKUP = {
    "type": "function",
    "function": {
        "name": "lookup_icd10",
        "description": "Find the ICD-10-CM code for a diagnosis",
        "parameters": {
            "type": "object",
            "properties": {"term": {"type": "string", "maxLength": 30}},  # bounded: done within max_tokens
            "required": ["term"],
        },
    },
}
ASK = [{"role": "user", "content": "Find the ICD-10 code for acute otitis media."}]
CALLED = {"name": "lookup_icd10", "arguments": '{"term": "otitis"}'}
NAMED = {"type": "function", "function": {"name": "lookup_icd10"}}


def client_for(facade: Facade) -> openai.OpenAI:
    return openai.OpenAI(base_url=facade.base_url, api_key=TEST_KEY, max_retries=0)


def test_responses_create_streamed_and_not(vllm_facade: Facade) -> None:
    client = client_for(vllm_facade)
    response = client.responses.create(model="medgemma", input="Describe a migraine.", max_output_tokens=8)
    assert response.object == "response" and response.usage is not None
    assert response.usage.output_tokens == 8 and response.usage.input_tokens > 0
    events = list(
        client.responses.create(
            model="medgemma",
            instructions="Answer briefly.",
            input=[{"role": "user", "content": "Describe a migraine."}],
            max_output_tokens=6,
            stream=True,
        )
    )
    kinds = [event.type for event in events]
    assert kinds[0] == "response.created" and kinds[-1] in ("response.completed", "response.incomplete")
    assert kinds.count("response.output_text.delta") >= 3  # token by token
    assert events[-1].response.usage.output_tokens == 6  # type: ignore[union-attr]


def test_responses_stream_helper_and_langchain(vllm_facade: Facade) -> None:
    from langchain_openai import ChatOpenAI

    with client_for(vllm_facade).responses.stream(model="medgemma", input="Hello", max_output_tokens=5) as stream:
        deltas = "".join(e.delta for e in stream if e.type == "response.output_text.delta")
        final = stream.get_final_response()
    assert deltas == final.output_text and final.usage is not None
    model = ChatOpenAI(
        model="medgemma", base_url=vllm_facade.base_url, api_key=TEST_KEY, use_responses_api=True, max_tokens=5
    )
    answer = model.invoke("Hello")
    assert answer.usage_metadata is not None and answer.usage_metadata["output_tokens"] > 0


def test_previous_response_id_is_refused_for_vllm(vllm_facade: Facade) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        client_for(vllm_facade).responses.create(model="medgemma", input="Hi", previous_response_id="resp_1")
    assert refused.value.body["param"] == "previous_response_id"  # type: ignore[index]


def test_named_tool_choice_yields_a_parsed_call_streamed_and_not(vllm_facade: Facade) -> None:
    client = client_for(vllm_facade)
    completion = client.chat.completions.create(
        model="medgemma",
        messages=ASK,
        tools=[LOOKUP],
        tool_choice=NAMED,
        max_tokens=40,  # type: ignore[list-item,arg-type]
    )
    call = completion.choices[0].message.tool_calls[0]  # type: ignore[index]
    assert call.function.name == "lookup_icd10"  # type: ignore[union-attr]
    assert isinstance(json.loads(call.function.arguments)["term"], str)  # type: ignore[union-attr]

    arguments, names = "", []
    for chunk in client.chat.completions.create(
        model="medgemma",
        messages=ASK,
        tools=[LOOKUP],
        tool_choice=NAMED,
        max_tokens=40,
        stream=True,  # type: ignore[list-item,arg-type]
    ):
        for delta in (chunk.choices[0].delta.tool_calls or []) if chunk.choices else []:
            if delta.function and delta.function.name:
                names.append(delta.function.name)
            arguments += (delta.function.arguments or "") if delta.function else ""
    assert names == ["lookup_icd10"]
    assert isinstance(json.loads(arguments)["term"], str)


def test_auto_tool_choice_is_served_and_a_tool_result_continues(vllm_facade: Facade) -> None:
    client = client_for(vllm_facade)
    completion = client.chat.completions.create(
        model="medgemma",
        messages=ASK,
        tools=[LOOKUP],
        tool_choice="auto",
        max_tokens=30,  # type: ignore[list-item]
    )
    message = completion.choices[0].message
    assert message.content or message.tool_calls  # a call or text: whichever the small model picks
    follow_up = client.chat.completions.create(
        model="medgemma",
        messages=[
            *ASK,
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [{"id": "call_1", "type": "function", "function": CALLED}],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "H66.90 Otitis media, unspecified"},
        ],
        tools=[LOOKUP],  # type: ignore[list-item]
        max_tokens=10,
    )
    assert follow_up.choices[0].message.content is not None


def test_langchain_bind_tools_with_a_named_tool(vllm_facade: Facade) -> None:
    from langchain_core.tools import tool
    from langchain_openai import ChatOpenAI
    from pydantic import BaseModel, Field

    class LookupArgs(BaseModel):
        term: str = Field(max_length=30)  # bounded, as LOOKUP's: the call ends within max_tokens

    @tool(args_schema=LookupArgs)
    def lookup_icd10(term: str) -> str:
        """Find the ICD-10-CM code for a diagnosis."""
        return "H66.90"

    model = ChatOpenAI(model="medgemma", base_url=vllm_facade.base_url, api_key=TEST_KEY, max_tokens=40)
    answer = model.bind_tools([lookup_icd10], tool_choice="lookup_icd10").invoke(ASK[0]["content"])
    assert answer.tool_calls and answer.tool_calls[0]["name"] == "lookup_icd10"
    assert isinstance(answer.tool_calls[0]["args"]["term"], str)


def test_responses_api_with_a_named_function_tool(vllm_facade: Facade) -> None:
    response = client_for(vllm_facade).responses.create(
        model="medgemma",
        input=ASK[0]["content"],
        tools=[{"type": "function", **LOOKUP["function"]}],  # type: ignore[list-item]
        tool_choice={"type": "function", "name": "lookup_icd10"},
        max_output_tokens=40,
    )
    calls = [item for item in response.output if item.type == "function_call"]
    assert calls and calls[0].name == "lookup_icd10"  # type: ignore[union-attr]
    assert isinstance(json.loads(calls[0].arguments)["term"], str)  # type: ignore[union-attr]
