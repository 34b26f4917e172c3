"""ObjectStore against a real S3 server (SeaweedFS), through the `object_store` fixture."""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit
from uuid import UUID, uuid4

import httpx
import pytest

from shared.s3 import MiB, ObjectNotFoundError, ObjectStore, tenant_key

pytestmark = pytest.mark.integration


def unique_prefix(name: str) -> str:
    return f"test-{name}-{uuid4().hex[:8]}"


async def chunked(data: bytes, chunk_size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(data), chunk_size):
        yield data[start : start + chunk_size]
        await asyncio.sleep(0)


async def count_keys(store: ObjectStore, prefix: str) -> int:
    return len([key async for key in store.list_keys(prefix)])


def with_query_param(url: str, name: str, value: str) -> str:
    parts = urlsplit(url)
    query = [(k, value if k == name else v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    return urlunsplit(parts._replace(query=urlencode(query)))


async def test_bucket_is_reachable(object_store: ObjectStore) -> None:
    await object_store.ping()
    await object_store.ensure_bucket()  # idempotent on an existing bucket


async def test_put_get_stream_round_trip(object_store: ObjectStore) -> None:
    key = tenant_key(uuid4(), "docs", "page.html")
    data = b"<html>" + os.urandom(10_000) + b"</html>"

    await object_store.put(key, data, content_type="text/html", metadata={"source": "test"})

    assert await object_store.exists(key)
    assert await object_store.get(key) == data
    chunks = [chunk async for chunk in object_store.stream(key, chunk_size=4096)]
    assert b"".join(chunks) == data
    assert len(chunks) >= 3 and all(len(chunk) <= 4096 for chunk in chunks)
    head = await object_store.client.head_object(Bucket=object_store.bucket, Key=key)
    assert head["ContentType"] == "text/html"
    assert head["Metadata"] == {"source": "test"}


async def test_missing_key(object_store: ObjectStore) -> None:
    key = f"{unique_prefix('missing')}/nothing"
    assert not await object_store.exists(key)
    with pytest.raises(ObjectNotFoundError):
        await object_store.get(key)
    with pytest.raises(ObjectNotFoundError):
        _ = [chunk async for chunk in object_store.stream(key)]


async def test_content_addressed_stores_once(object_store: ObjectStore) -> None:
    prefix = unique_prefix("cas")
    data = os.urandom(50_000)
    sha256 = hashlib.sha256(data).hexdigest()

    first = await object_store.put_content_addressed(data, prefix=prefix, content_type="application/pdf")
    second = await object_store.put_content_addressed(data, prefix=prefix)

    assert first.key == second.key == f"{prefix}/{sha256[:2]}/{sha256}"
    assert (first.sha256, first.size, first.created) == (sha256, len(data), True)
    assert (second.sha256, second.size, second.created) == (sha256, len(data), False)
    assert await count_keys(object_store, prefix) == 1
    assert await object_store.get(first.key) == data


async def test_multipart_upload_stream(object_store: ObjectStore) -> None:
    key = f"{unique_prefix('multipart')}/big.bin"
    data = os.urandom(20 * MiB + 12_345)

    stored = await object_store.upload_stream(
        key, chunked(data, 1 * MiB + 7), content_type="application/octet-stream", part_size=5 * MiB
    )

    assert stored.key == key
    assert stored.size == len(data)
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    head = await object_store.client.head_object(Bucket=object_store.bucket, Key=key)
    assert head["ETag"].strip('"').endswith("-5"), "4 full parts of 5 MiB and a short last one"
    assert await object_store.get(key) == data


async def test_upload_stream_smaller_than_a_part_is_a_single_put(object_store: ObjectStore) -> None:
    key = f"{unique_prefix('small')}/small.bin"
    data = os.urandom(5 * MiB)  # exactly one part

    stored = await object_store.upload_stream(key, chunked(data, 64 * 1024), part_size=5 * MiB)

    head = await object_store.client.head_object(Bucket=object_store.bucket, Key=key)
    assert "-" not in head["ETag"]
    assert stored.size == len(data)
    assert await object_store.get(key) == data


async def test_failed_upload_stream_is_aborted(object_store: ObjectStore) -> None:
    key = f"{unique_prefix('aborted')}/broken.bin"

    async def failing_stream() -> AsyncIterator[bytes]:
        for _ in range(12):
            yield os.urandom(1 * MiB)
        raise ConnectionResetError("source went away")

    with pytest.raises(ConnectionResetError):
        await object_store.upload_stream(key, failing_stream(), part_size=5 * MiB)

    assert not await object_store.exists(key)
    uploads = await object_store.client.list_multipart_uploads(Bucket=object_store.bucket, Prefix=key)
    assert uploads.get("Uploads", []) == []


async def test_presigned_get_over_plain_http(object_store: ObjectStore) -> None:
    key = f"{unique_prefix('presigned')}/report.csv"
    data = b"a,b\n1,2\n"
    await object_store.put(key, data, content_type="text/csv")

    url = await object_store.presigned_get(key, expires_in=60, filename="Q3 résumé.csv")
    async with httpx.AsyncClient() as http:
        response = await http.get(url)

    assert response.status_code == 200
    assert response.content == data
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''Q3%20r%C3%A9sum%C3%A9.csv" in disposition


async def test_expired_presigned_url_is_refused(object_store: ObjectStore) -> None:
    key = f"{unique_prefix('expired')}/file.txt"
    await object_store.put(key, b"short-lived")
    url = await object_store.presigned_get(key, expires_in=1)

    await asyncio.sleep(2)
    async with httpx.AsyncClient() as http:
        response = await http.get(url)

    assert response.status_code == 403
    assert b"short-lived" not in response.content


async def test_tampered_presigned_url_is_refused(object_store: ObjectStore) -> None:
    key = f"{unique_prefix('tampered')}/file.txt"
    await object_store.put(key, b"secret-ish")
    url = await object_store.presigned_get(key, expires_in=60)
    signature = dict(parse_qsl(urlsplit(url).query))["X-Amz-Signature"]
    forged = signature[:-1] + ("0" if signature[-1] != "0" else "1")

    async with httpx.AsyncClient() as http:
        forged_signature = await http.get(with_query_param(url, "X-Amz-Signature", forged))
        longer_expiry = await http.get(with_query_param(url, "X-Amz-Expires", "604800"))

    assert forged_signature.status_code == 403
    assert longer_expiry.status_code == 403


async def test_delete_is_idempotent(object_store: ObjectStore) -> None:
    key = f"{unique_prefix('delete')}/gone.txt"
    await object_store.put(key, b"x")

    await object_store.delete(key)
    await object_store.delete(key)

    assert not await object_store.exists(key)


async def test_delete_many_and_list_across_pages(object_store: ObjectStore) -> None:
    prefix = unique_prefix("bulk")
    keys = [f"{prefix}/{i:05d}" for i in range(1005)]  # more than one page and one batch
    limit = asyncio.Semaphore(32)

    async def put_one(key: str) -> None:
        async with limit:
            await object_store.put(key, key.encode())

    await asyncio.gather(*(put_one(key) for key in keys))
    assert sorted([key async for key in object_store.list_keys(prefix)]) == keys

    await object_store.delete_many([*keys, f"{prefix}/never-existed"])

    assert await count_keys(object_store, prefix) == 0


def test_tenant_key_layout() -> None:
    tenant = UUID("12345678-1234-5678-1234-567812345678")
    assert tenant_key(tenant, "raw", "ab/abcdef") == f"tenants/{tenant}/raw/ab/abcdef"


@pytest.mark.parametrize(
    "parts",
    [("..",), ("../other-tenant",), ("raw", "a/../../x"), ("/etc",), ("raw", "/abs"), ("",), ("a//b",)],
)
def test_tenant_key_rejects_traversal(parts: tuple[str, ...]) -> None:
    with pytest.raises(ValueError):
        tenant_key(uuid4(), *parts)
