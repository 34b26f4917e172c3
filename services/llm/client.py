"""The model, through any OpenAI-compatible `/v1/chat/completions` (OpenAI, vLLM, Ollama, a
LiteLLM proxy, TGI), with the `openai` SDK's async client.

Answers are JSON objects checked against the task's schema. With `TRAWL_LLM_OUTPUT_MODE`
`json_schema` the server is asked for structured output (strict when the schema allows it);
a server that refuses `json_schema` is asked again in JSON mode, and so is every later call.
An answer that does not validate is re-asked with the validation errors, at most
`TRAWL_LLM_MAX_REASKS` times, the way `instructor` does. The SDK's own retries are off: the
task's retries, the shared rate limits and the breaker decide when to call again. Every
failure is an `LlmError` with its class; the tokens spent are counted whatever happens.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import openai
from jsonschema import Draft202012Validator
from openai import AsyncOpenAI

from services.llm.domain.failures import LlmError
from services.llm.domain.prompts import reask_message
from shared.config import Settings


@dataclass(frozen=True)
class Completion:
    output: dict[str, Any]
    prompt_tokens: int
    completion_tokens: int
    calls: int


class ChatModel:
    def __init__(self, settings: Settings) -> None:
        if settings.llm_url is None:
            raise ValueError("no LLM endpoint configured (TRAWL_LLM_URL)")
        key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else "not-needed"
        self._client = AsyncOpenAI(
            base_url=settings.llm_url, api_key=key, timeout=settings.llm_timeout_seconds, max_retries=0
        )
        self.model = settings.llm_model
        self._json_schema = settings.llm_output_mode == "json_schema"
        self._max_reasks = settings.llm_max_reasks
        self.max_output_tokens = settings.llm_max_output_tokens

    async def close(self) -> None:
        await self._client.close()

    async def answer(
        self, messages: Sequence[Mapping[str, str]], schema: Mapping[str, Any] | None
    ) -> Completion:
        """The model's JSON object for the conversation, valid against `schema` when one is given."""
        conversation: list[dict[str, str]] = [dict(message) for message in messages]
        validator = Draft202012Validator(dict(schema)) if schema else None
        spent = _Spent()
        errors: list[str] = []
        for _ in range(self._max_reasks + 1):
            content = await self._call(conversation, schema, spent)
            output, errors = _checked(content, validator)
            if output is not None and not errors:
                return Completion(output, spent.prompt, spent.completion, spent.calls)
            conversation += [{"role": "assistant", "content": content}, reask_message(errors)]
        raise spent.error("validation", f"the answer did not match the schema: {'; '.join(errors[:5])}")

    async def _call(
        self, conversation: list[dict[str, str]], schema: Mapping[str, Any] | None, spent: _Spent
    ) -> str:
        try:
            # The SDK types messages and formats as TypedDicts; ours are the same plain dicts.
            reply = await self._client.chat.completions.create(  # type: ignore[call-overload]
                model=self.model,
                messages=conversation,
                response_format=self._format(schema),
                max_tokens=self.max_output_tokens,
                temperature=0,
            )
        except openai.BadRequestError as exc:
            if self._json_schema and schema and _about_response_format(exc):
                self._json_schema = False  # the server has no structured output: JSON mode from now on
                return await self._call(conversation, schema, spent)
            raise spent.failed(exc) from exc
        except openai.OpenAIError as exc:
            raise spent.failed(exc) from exc
        spent.calls += 1
        if reply.usage is not None:
            spent.prompt += reply.usage.prompt_tokens
            spent.completion += reply.usage.completion_tokens
        if not reply.choices:
            raise spent.error("server", "the answer has no choices")
        choice = reply.choices[0]
        if getattr(choice.message, "refusal", None):
            raise spent.error("refusal", f"the model refused: {choice.message.refusal}")
        if choice.finish_reason == "length":
            raise spent.error("context_length", f"the answer was cut at {self.max_output_tokens} tokens")
        return choice.message.content or ""

    def _format(self, schema: Mapping[str, Any] | None) -> dict[str, Any]:
        if schema and self._json_schema:
            return {
                "type": "json_schema",
                "json_schema": {"name": "answer", "schema": dict(schema), "strict": _strict_ready(schema)},
            }
        return {"type": "json_object"}


@dataclass
class _Spent:
    """What one task's calls have cost so far, carried into its error if it fails."""

    prompt: int = 0
    completion: int = 0
    calls: int = 0

    def error(self, error_class: Any, message: str, retry_after: float | None = None) -> LlmError:
        return LlmError(
            error_class,
            message,
            retry_after=retry_after,
            prompt_tokens=self.prompt,
            completion_tokens=self.completion,
            calls=max(self.calls, 1),
        )

    def failed(self, exc: openai.OpenAIError) -> LlmError:
        if isinstance(exc, openai.RateLimitError):
            return self.error("rate_limit", _message(exc), _retry_after(exc))
        if isinstance(exc, openai.APITimeoutError):
            return self.error("timeout", "the endpoint did not answer in time")
        if isinstance(exc, openai.APIConnectionError):
            return self.error("server", f"cannot reach the endpoint: {exc}")
        if isinstance(exc, openai.BadRequestError) and _about_context(exc):
            return self.error("context_length", _message(exc))
        if isinstance(exc, openai.APIStatusError):
            return self.error("server" if exc.status_code >= 500 else "client", _message(exc))
        return self.error("server", f"unreadable answer: {exc}")


def _checked(content: str, validator: Draft202012Validator | None) -> tuple[dict[str, Any] | None, list[str]]:
    try:
        output = json.loads(_without_fences(content))
    except ValueError as exc:
        return None, [f"not JSON: {exc}"]
    if not isinstance(output, dict):
        return None, ["not a JSON object"]
    if validator is None:
        return output, []
    found = sorted(validator.iter_errors(output), key=lambda error: list(map(str, error.absolute_path)))
    return output, [f"/{'/'.join(map(str, error.absolute_path))}: {error.message}" for error in found]


def _without_fences(content: str) -> str:
    """JSON mode answers of some servers come inside a Markdown code block."""
    text = content.strip()
    if text.startswith("```"):
        text = text.split("\n", 1)[1] if "\n" in text else ""
        text = text.rsplit("```", 1)[0]
    return text


def _strict_ready(schema: Mapping[str, Any]) -> bool:
    """OpenAI's strict mode takes only schemas whose objects name every property as required
    and allow no others; anything else is sent as a guide (strict false) and validated here."""
    if schema.get("type") == "object" or "properties" in schema:
        properties = schema.get("properties", {})
        if schema.get("additionalProperties") is not False or set(schema.get("required", [])) != set(
            properties
        ):
            return False
        return all(_strict_ready(sub) for sub in properties.values() if isinstance(sub, dict))
    items = schema.get("items")
    return _strict_ready(items) if isinstance(items, dict) else True


def _about_response_format(exc: openai.BadRequestError) -> bool:
    return "response_format" in _message(exc) or "json_schema" in _message(exc)


def _about_context(exc: openai.BadRequestError) -> bool:
    text = _message(exc).lower()
    return (
        getattr(exc, "code", None) == "context_length_exceeded"
        or "context length" in text
        or "too many tokens" in text
    )


def _message(exc: openai.OpenAIError) -> str:
    return str(getattr(exc, "message", None) or exc)[:500]


def _retry_after(exc: openai.APIStatusError) -> float | None:
    value = exc.response.headers.get("retry-after")
    try:
        return max(float(value), 0.0) if value is not None else None
    except ValueError:
        return None
