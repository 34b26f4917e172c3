"""A local stand-in for an OpenAI-compatible server, speaking the `/v1/chat/completions` wire
protocol: the bearer key checked, answers with `choices`, `finish_reason` and `usage`, errors as
OpenAI's `{"error": {"message", "type", "code"}}` bodies.

What it answers comes from `answer(request body) -> content`; `fail_next(...)` queues what the
next requests get instead: "429" (with Retry-After), "500", "slow" (an answer after
`slow_seconds`), "malformed" (content that is not JSON), "invalid" (JSON that breaks any schema
with a required field), "context" (a context-length error), "no_json_schema" (a server without
structured output refusing `response_format` json_schema), "refusal", "truncated"
(`finish_reason` length). Every request's body is kept in `requests`.

Like a hosted API it can also be slow and metered: every answer takes `delay_seconds`, and
with `tokens_per_minute` a request that would take the last minute's tokens over the limit is
refused with a 429 and the Retry-After that frees enough (counted in `rate_limited`).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from aiohttp import web

from tests.sites.server import LoggedSite

Answer = Callable[[dict[str, Any]], str]


def echo_answer(body: dict[str, Any]) -> str:
    """A JSON object with a value for each property of the asked schema (strings say which
    model and how many messages), or {"answer": ...} when no schema is given."""
    format_ = body.get("response_format") or {}
    schema = (
        (format_.get("json_schema") or {}).get("schema") if format_.get("type") == "json_schema" else None
    )
    if not schema:
        return json.dumps({"answer": f"{body['model']} read {len(body['messages'])} messages"})
    return json.dumps({name: _value(spec) for name, spec in schema.get("properties", {}).items()})


def _value(spec: dict[str, Any]) -> Any:
    kind = spec.get("type", "string")
    kind = kind[0] if isinstance(kind, list) else kind
    return {"string": "text", "number": 1.5, "integer": 2, "boolean": True, "array": [], "object": {}}.get(
        kind
    )


class FakeOpenAI(LoggedSite):
    def __init__(
        self,
        answer: Answer = echo_answer,
        *,
        api_key: str = "sk-test",
        slow_seconds: float = 5.0,
        delay_seconds: float = 0.0,
        tokens_per_minute: int | None = None,
    ) -> None:
        super().__init__()
        self.answer = answer
        self.api_key = api_key
        self.slow_seconds = slow_seconds
        self.delay_seconds = delay_seconds
        self.tokens_per_minute = tokens_per_minute
        self.rate_limited = 0
        self.served: deque[tuple[float, int]] = deque()  # (time, tokens) of the answers given
        self.retry_after = 1
        self.faults: deque[str] = deque()
        self.requests: list[dict[str, Any]] = []

    @property
    def api_url(self) -> str:
        return self.url("/v1")

    def fail_next(self, *faults: str) -> None:
        self.faults.extend(faults)

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/v1/chat/completions", self._completions)

    async def _completions(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {self.api_key}":
            return _error(401, "Incorrect API key provided.", "invalid_request_error", "invalid_api_key")
        body = await request.json()
        self.requests.append(body)
        if self.delay_seconds:
            await asyncio.sleep(self.delay_seconds)
        fault = self.faults.popleft() if self.faults else None
        match fault:
            case None:
                return self._metered(body, self.answer(body))
            case "429":
                response = _error(429, "Rate limit reached for requests", "requests", "rate_limit_exceeded")
                response.headers["Retry-After"] = str(self.retry_after)
                return response
            case "500":
                return _error(
                    500, "The server had an error while processing your request.", "server_error", None
                )
            case "slow":
                await asyncio.sleep(self.slow_seconds)
                return _completion(body, self.answer(body))
            case "malformed":
                return _completion(body, '{"answer": "unterminated')
            case "invalid":
                return _completion(body, json.dumps({"unexpected": True}))
            case "context":
                return _error(
                    400,
                    "This model's maximum context length is 8192 tokens. "
                    "However, your messages resulted in 9001 tokens.",
                    "invalid_request_error",
                    "context_length_exceeded",
                )
            case "no_json_schema":
                if (body.get("response_format") or {}).get("type") == "json_schema":
                    return _error(
                        400, "response_format json_schema is not supported", "invalid_request_error", None
                    )
                return _completion(body, self.answer(body))
            case "refusal":
                return _completion(body, None, refusal="I can't help with that.")
            case "truncated":
                return _completion(body, '{"answer": "cut', finish_reason="length")
        raise ValueError(f"unknown fault {fault!r}")

    def _metered(self, body: dict[str, Any], content: str) -> web.Response:
        answer = _completion(body, content)
        tokens = json.loads(answer.text or "{}")["usage"]["total_tokens"]
        if self.tokens_per_minute is not None:
            now = time.monotonic()
            while self.served and self.served[0][0] <= now - 60:
                self.served.popleft()
            used = sum(spent for _, spent in self.served)
            if used + tokens > self.tokens_per_minute:
                self.rate_limited += 1
                excess, wait = used + tokens - self.tokens_per_minute, 60.0
                for at, spent in self.served:
                    excess -= spent
                    if excess <= 0:
                        wait = at + 60 - now
                        break
                response = _error(
                    429, "Rate limit reached for tokens per min", "tokens", "rate_limit_exceeded"
                )
                response.headers["Retry-After"] = f"{max(wait, 0.1):.1f}"
                return response
            self.served.append((now, tokens))
        return answer


def _completion(
    body: dict[str, Any], content: str | None, *, refusal: str | None = None, finish_reason: str = "stop"
) -> web.Response:
    prompt_tokens = sum(len(str(message.get("content", ""))) for message in body["messages"]) // 4 + 1
    completion_tokens = len(content or refusal or "") // 4 + 1
    return web.json_response(
        {
            "id": f"chatcmpl-{time.monotonic_ns()}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body["model"],
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content, "refusal": refusal},
                    "finish_reason": finish_reason,
                    "logprobs": None,
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }
    )


def _error(status: int, message: str, kind: str, code: str | None) -> web.Response:
    return web.json_response(
        {"error": {"message": message, "type": kind, "param": None, "code": code}}, status=status
    )
