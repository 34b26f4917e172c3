"""Errors as RFC 9457 problem details (`application/problem+json`), each with a message that
says what was wrong and, where it helps, how to fix it."""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_JSON = "application/problem+json"


class Problem(Exception):
    def __init__(
        self,
        status: int,
        detail: str,
        *,
        headers: Mapping[str, str] | None = None,
        errors: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = dict(headers or {})
        self.errors = errors


def not_found(kind: str, identifier: object) -> Problem:
    return Problem(404, f"no {kind} {identifier} in this tenant")


def problem_response(request: Request, problem: Problem) -> JSONResponse:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": HTTPStatus(problem.status).phrase,
        "status": problem.status,
        "detail": problem.detail,
        "instance": request.url.path,
    }
    if problem.errors is not None:
        body["errors"] = problem.errors
    return JSONResponse(body, status_code=problem.status, headers=problem.headers, media_type=PROBLEM_JSON)


def _field(location: tuple[Any, ...] | list[Any]) -> str:
    # ("body", "limits", "max_pages") -> "limits.max_pages"; the body/query prefix says where.
    parts = [str(part) for part in location]
    return ".".join(parts[1:]) if len(parts) > 1 else ".".join(parts)


def _message(error: Any) -> str:
    if error["type"] == "json_invalid":
        return f"the body is not valid JSON: {error.get('ctx', {}).get('error', 'cannot be parsed')}"
    return str(error["msg"]).removeprefix("Value error, ")


def install(app: FastAPI) -> None:
    async def on_problem(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, Problem)
        return problem_response(request, exc)

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = [
            {
                "field": _field(error["loc"]) if error["type"] != "json_invalid" else "",
                "in": str(error["loc"][0]) if error["loc"] else "body",
                "message": _message(error),
            }
            for error in exc.errors()
        ]
        detail = "; ".join(f"{error['field'] or error['in']}: {error['message']}" for error in errors)
        return problem_response(request, Problem(422, detail or "invalid request", errors=errors))

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).description
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"no endpoint {request.method} {request.url.path}; see /docs"
        elif exc.status_code == 405:
            detail = f"{request.method} is not allowed on {request.url.path}; see /docs"

        return problem_response(request, Problem(exc.status_code, detail, headers=exc.headers))

    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
