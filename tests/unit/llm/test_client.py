"""The model client against a local server speaking the OpenAI wire protocol, with its faults."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pydantic import SecretStr

from services.llm.client import ChatModel
from services.llm.domain.failures import LlmError
from shared.config import Settings
from tests.sites.openai_server import FakeOpenAI

SCHEMA = {
    "type": "object",
    "properties": {"summary": {"type": "string"}, "score": {"type": "integer"}},
    "required": ["summary", "score"],
    "additionalProperties": False,
}
MESSAGES = [{"role": "user", "content": "Rate this lamp."}]


@pytest.fixture
async def server() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI() as running:
        yield running


def _model(server: FakeOpenAI, **changes: Any) -> ChatModel:
    return ChatModel(
        Settings(llm_url=server.api_url, llm_api_key=SecretStr("sk-test"), llm_model="tiny", **changes)
    )


async def test_a_structured_answer_comes_back_with_its_usage(server: FakeOpenAI) -> None:
    model = _model(server)
    completion = await model.answer(MESSAGES, SCHEMA)
    await model.close()
    assert completion.output == {"summary": "text", "score": 2}
    assert completion.prompt_tokens > 0 and completion.completion_tokens > 0 and completion.calls == 1
    sent = server.requests[0]
    assert sent["model"] == "tiny" and sent["temperature"] == 0
    assert sent["response_format"]["type"] == "json_schema"
    assert sent["response_format"]["json_schema"]["strict"] is True  # the schema allows strict mode


async def test_an_answer_that_breaks_the_schema_is_re_asked_with_the_errors(server: FakeOpenAI) -> None:
    server.fail_next("invalid", "malformed")
    model = _model(server)
    completion = await model.answer(MESSAGES, SCHEMA)
    await model.close()
    assert completion.output == {"summary": "text", "score": 2}
    assert completion.calls == 3
    reask = server.requests[1]["messages"][-1]["content"]
    assert "'summary' is a required property" in reask
    assert "not JSON" in server.requests[2]["messages"][-1]["content"]


async def test_re_asking_is_bounded_and_every_token_spent_is_counted(server: FakeOpenAI) -> None:
    server.fail_next("invalid", "invalid", "invalid")
    model = _model(server, llm_max_reasks=2)
    with pytest.raises(LlmError) as failed:
        await model.answer(MESSAGES, SCHEMA)
    await model.close()
    assert failed.value.error_class == "validation" and failed.value.retryable
    assert failed.value.calls == 3 and failed.value.prompt_tokens > 0
    assert len(server.requests) == 3


async def test_a_server_without_structured_output_is_asked_in_json_mode(server: FakeOpenAI) -> None:
    server.answer = lambda body: json.dumps({"summary": "ok", "score": 1})
    server.fail_next("no_json_schema")
    model = _model(server)
    assert (await model.answer(MESSAGES, SCHEMA)).output == {"summary": "ok", "score": 1}
    assert (await model.answer(MESSAGES, SCHEMA)).output == {"summary": "ok", "score": 1}
    await model.close()
    assert [request["response_format"]["type"] for request in server.requests] == [
        "json_schema",
        "json_object",
        "json_object",  # remembered
    ]


@pytest.mark.parametrize(
    ("fault", "error_class", "retryable"),
    [
        ("429", "rate_limit", True),
        ("500", "server", True),
        ("context", "context_length", False),
        ("refusal", "refusal", False),
        ("truncated", "context_length", False),
    ],
)
async def test_each_failure_has_its_class(
    server: FakeOpenAI, fault: str, error_class: str, retryable: bool
) -> None:
    server.fail_next(fault)
    model = _model(server)
    with pytest.raises(LlmError) as failed:
        await model.answer(MESSAGES, SCHEMA)
    await model.close()
    assert (failed.value.error_class, failed.value.retryable) == (error_class, retryable)
    if fault == "429":
        assert failed.value.retry_after == 1
    assert len(server.requests) == 1  # the SDK's own retries are off


async def test_a_slow_endpoint_times_out_and_a_wrong_key_is_a_client_error(server: FakeOpenAI) -> None:
    server.slow_seconds = 3
    server.fail_next("slow")
    model = _model(server, llm_timeout_seconds=0.5)
    with pytest.raises(LlmError) as slow:
        await model.answer(MESSAGES, SCHEMA)
    await model.close()
    assert slow.value.error_class == "timeout"
    wrong = ChatModel(Settings(llm_url=server.api_url, llm_api_key=SecretStr("sk-wrong")))
    with pytest.raises(LlmError) as refused:
        await wrong.answer(MESSAGES, None)
    await wrong.close()
    assert refused.value.error_class == "client" and not refused.value.retryable
