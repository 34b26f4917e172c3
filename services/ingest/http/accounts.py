"""Who calls: the tenant, its users and their API keys, usage against quota, the audit log."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID, uuid4

from fastapi import Query, Response

from services.ingest import commands, store
from services.ingest.domain.access import Role, Scope, allowed
from services.ingest.domain.credits import credits_charged
from services.ingest.http.deps import Admin, Context, Principal, Reader, Writer
from services.ingest.http.models import (
    AuditOut,
    CreatedKey,
    KeyIn,
    KeyOut,
    Me,
    TenantLimits,
    TenantOut,
    UsageOut,
    UserIn,
    UserOut,
)
from services.ingest.http.problems import Problem, not_found
from services.ingest.http.routing import api_router

router = api_router("tenant, users and keys")


@router.get("/me", response_model=Me)
async def me(principal: Reader, context: Context) -> Me:
    async with context.db.connection() as conn:
        tenant = await store.get_tenant(conn, tenant_id=principal.tenant_id)
    return Me(
        tenant_id=principal.tenant_id,
        tenant_name=tenant["name"] if tenant else "",
        user_id=principal.user_id,
        role=principal.role,
        key_id=principal.key_id,
        scopes=list(principal.scopes),
    )


@router.get("/tenant", response_model=TenantOut)
async def get_tenant(principal: Reader, context: Context) -> TenantOut:
    async with context.db.connection() as conn:
        tenant = await store.get_tenant(conn, tenant_id=principal.tenant_id)
    if tenant is None:
        raise not_found("tenant", principal.tenant_id)
    return TenantOut.model_validate(tenant)


@router.patch("/tenant", response_model=TenantOut)
async def set_tenant_limits(body: TenantLimits, principal: Admin, context: Context) -> TenantOut:
    async with context.db.unit_of_work() as uow:
        tenant = await store.update_tenant_limits(
            uow.conn,
            tenant_id=principal.tenant_id,
            quota_pages_monthly=body.quota_pages_monthly,
            max_active_runs=body.max_active_runs,
        )
    if tenant is None:
        raise not_found("tenant", principal.tenant_id)
    return TenantOut.model_validate(tenant)


@router.get("/usage", response_model=UsageOut)
async def usage(principal: Reader, context: Context) -> UsageOut:
    period = commands.this_month()
    async with context.db.connection() as conn:
        tenant = await store.get_tenant(conn, tenant_id=principal.tenant_id)
        used = await store.usage(conn, tenant_id=principal.tenant_id, period=period)
        active = await store.count_active_runs(conn, tenant_id=principal.tenant_id)
    if tenant is None:
        raise not_found("tenant", principal.tenant_id)
    return UsageOut(
        period=period.strftime("%Y-%m"),
        pages_fetched=used["pages_fetched"],
        tokens=used["tokens"],
        credits_charged=credits_charged(
            used["pages_fetched"],
            used["tokens"],
            per_page=context.settings.credits_per_page,
            per_thousand_tokens=context.settings.credits_per_thousand_tokens,
        ),
        quota_pages_monthly=tenant["quota_pages_monthly"],
        active_runs=active,
        max_active_runs=tenant["max_active_runs"],
    )


@router.post("/users", response_model=UserOut, status_code=201)
async def create_user(body: UserIn, principal: Admin, context: Context) -> UserOut:
    user_id = uuid4()
    async with context.db.unit_of_work() as uow:
        if not await store.create_user(
            uow.conn, user_id=user_id, tenant_id=principal.tenant_id, email=body.email, role=body.role.value
        ):
            raise Problem(409, f"a user with email {body.email!r} already exists in this tenant")
        user = await store.get_user(uow.conn, tenant_id=principal.tenant_id, user_id=user_id)
    return UserOut.model_validate(user)


@router.get("/users", response_model=list[UserOut])
async def list_users(principal: Admin, context: Context) -> list[UserOut]:
    async with context.db.connection() as conn:
        users = await store.list_users(conn, tenant_id=principal.tenant_id)
    return [UserOut.model_validate(user) for user in users]


@router.post("/keys", response_model=CreatedKey, status_code=201)
async def create_key(body: KeyIn, principal: Writer, context: Context) -> CreatedKey:
    user_id = body.user_id or principal.user_id
    if user_id != principal.user_id and not principal.may(Scope.ADMIN):
        raise Problem(403, "only admins may create keys for other users")
    async with context.db.unit_of_work() as uow:
        user = await store.get_user(uow.conn, tenant_id=principal.tenant_id, user_id=user_id)
        if user is None:
            raise not_found("user", user_id)
        beyond = [scope.value for scope in body.scopes if not allowed(Role(user["role"]), (), scope)]
        if beyond:
            raise Problem(422, f"scopes {beyond} exceed what the user's role {user['role']!r} allows")
        issued = await commands.issue_key(
            uow,
            tenant_id=principal.tenant_id,
            user_id=user_id,
            name=body.name,
            scopes=[scope.value for scope in body.scopes],
            expires_at=body.expires_at,
        )
    return CreatedKey(**KeyOut.model_validate(issued.row).model_dump(), key=issued.plaintext)


def _own_only(principal: Principal) -> UUID | None:
    """Admins see and revoke every key of the tenant; others their own."""
    return None if principal.may(Scope.ADMIN) else principal.user_id


@router.get("/keys", response_model=list[KeyOut])
async def list_keys(principal: Reader, context: Context) -> list[KeyOut]:
    async with context.db.connection() as conn:
        keys = await store.list_keys(conn, tenant_id=principal.tenant_id, user_id=_own_only(principal))
    return [KeyOut.model_validate(key) for key in keys]


@router.delete("/keys/{key_id}", status_code=204)
async def revoke_key(key_id: UUID, principal: Writer, context: Context) -> Response:
    async with context.db.unit_of_work() as uow:
        if not await store.revoke_key(
            uow.conn, tenant_id=principal.tenant_id, key_id=key_id, user_id=_own_only(principal)
        ):
            raise not_found("key", key_id)
    return Response(status_code=204)


@router.get("/audit", response_model=list[AuditOut])
async def audit_log(
    principal: Admin, context: Context, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> list[AuditOut]:
    async with context.db.connection() as conn:
        entries = await store.list_audit(conn, tenant_id=principal.tenant_id, limit=limit)
    return [AuditOut.model_validate(entry) for entry in entries]
