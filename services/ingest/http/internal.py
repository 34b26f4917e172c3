"""Asking another service's internal HTTP for the caller's data (search, a run's URLs, items,
products, documents): ingest has authenticated the caller and passes its tenant id with the
shared internal token. The other service's failures become clear 5xx problems here."""

from __future__ import annotations

from typing import Any

import httpx

from services.ingest.http.deps import ApiContext
from services.ingest.http.problems import Problem
from shared.internal_api import INTERNAL_TOKEN_HEADER

Params = list[tuple[str, str | int | float | bool | None]]


async def ask(
    context: ApiContext,
    service: str,
    url: str,
    *,
    params: Params | None = None,
    json_body: str | None = None,
    method: str | None = None,
    wait_seconds: float = 30.0,
) -> httpx.Response | None:
    """The other service's 200 answer, or None for its 404 (the caller's not-found problem)."""
    headers = {INTERNAL_TOKEN_HEADER: context.settings.internal_token}
    if json_body is not None:
        headers["Content-Type"] = "application/json"
    try:
        reply = await context.http.request(
            method or ("POST" if json_body is not None else "GET"),
            url,
            params=params,
            content=json_body,
            headers=headers,
            timeout=wait_seconds,
        )
    except httpx.TimeoutException as exc:
        raise Problem(504, f"the {service} took too long; try a narrower request") from exc
    except httpx.HTTPError as exc:
        raise Problem(503, f"the {service} did not answer; try again shortly") from exc
    if reply.status_code == 404:
        return None
    if reply.status_code != 200:
        raise Problem(502, f"the {service} answered {reply.status_code}; try again shortly")
    return reply


def tenant_params(tenant_id: Any, **params: str | int | float | bool | None) -> Params:
    return [
        ("tenant_id", str(tenant_id)),
        *((name, value) for name, value in params.items() if value is not None),
    ]
