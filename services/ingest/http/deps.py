"""What every endpoint gets: the service's resources, and the caller, authenticated by an
`Authorization: Bearer` API key, rate-limited per key, and checked for the scope it needs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated
from uuid import UUID

import httpx
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from services.ingest import metrics, store
from services.ingest.domain import ratelimit
from services.ingest.domain.access import Role, Scope, allowed
from services.ingest.domain.keys import key_digest, looks_like_key
from services.ingest.http.problems import Problem
from shared.config import Settings
from shared.db import Connection
from shared.s3 import ObjectStore
from shared.uow import Database


@dataclass(frozen=True)
class ApiContext:
    db: Database
    objects: ObjectStore
    settings: Settings
    http: httpx.AsyncClient


@dataclass(frozen=True)
class Principal:
    key_id: UUID
    tenant_id: UUID
    user_id: UUID
    role: Role
    scopes: tuple[str, ...]

    def may(self, scope: Scope) -> bool:
        return allowed(self.role, self.scopes, scope)


def api_context(request: Request) -> ApiContext:
    context: ApiContext = request.app.state.context
    return context


Context = Annotated[ApiContext, Depends(api_context)]

_bearer = HTTPBearer(auto_error=False, description="an API key from `trawl keys create` or POST /v1/keys")

_UNAUTHORIZED = {"WWW-Authenticate": 'Bearer realm="trawl"'}


def _refuse(reason: str, detail: str) -> Problem:
    metrics.AUTH_FAILURES.labels(reason).inc()
    return Problem(401, detail, headers=_UNAUTHORIZED)


async def authenticate(
    request: Request,
    context: Context,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None:
        raise _refuse("missing", "no API key: send 'Authorization: Bearer <key>'")
    if not looks_like_key(credentials.credentials):
        raise _refuse("malformed", "the API key is malformed; keys start with 'trawl_'")
    # One unit of work for the lookup and the bucket: one connection, one round of the pool.
    async with context.db.unit_of_work() as uow:
        key = await store.key_by_digest(uow.conn, key_digest(credentials.credentials))
        now = datetime.now(UTC)
        if key is None:
            raise _refuse("unknown", "unknown API key")
        if key["revoked_at"] is not None:
            raise _refuse("revoked", "this API key was revoked")
        if key["expires_at"] is not None and key["expires_at"] <= now:
            raise _refuse("expired", f"this API key expired at {key['expires_at'].isoformat()}")
        principal = Principal(
            key["id"], key["tenant_id"], key["user_id"], Role(key["role"]), tuple(key["scopes"])
        )
        request.state.principal = principal
        decision = await _take_token(uow.conn, context.settings, principal, now)
    if not decision.allowed:
        metrics.RATE_LIMITED.inc()
        wait = max(1, int(decision.retry_after + 0.999))
        raise Problem(
            429,
            f"rate limit of {context.settings.rate_limit_per_second:g} requests/s per key exceeded; "
            f"retry in {wait}s",
            headers={"Retry-After": str(wait)},
        )
    return principal


async def _take_token(
    conn: Connection, settings: Settings, principal: Principal, now: datetime
) -> ratelimit.Decision:
    """The bucket lives in Postgres, so every ingest replica draws from the same one."""
    bucket = await store.lock_bucket(conn, tenant_id=principal.tenant_id, key_id=principal.key_id)
    decision = ratelimit.take(
        bucket, now, rate=settings.rate_limit_per_second, capacity=float(settings.rate_limit_burst)
    )
    await store.save_bucket(
        conn, tenant_id=principal.tenant_id, key_id=principal.key_id, bucket=decision.bucket
    )
    return decision


def requires(scope: Scope) -> Callable[..., Awaitable[Principal]]:
    async def check(principal: Annotated[Principal, Depends(authenticate)]) -> Principal:
        if not principal.may(scope):
            raise Problem(
                403,
                f"this key (role {principal.role.value}, scopes {list(principal.scopes) or 'all'}) "
                f"may not {scope.value}",
            )
        return principal

    return check


Reader = Annotated[Principal, Depends(requires(Scope.READ))]
Writer = Annotated[Principal, Depends(requires(Scope.WRITE))]
Admin = Annotated[Principal, Depends(requires(Scope.ADMIN))]
