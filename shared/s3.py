"""Object storage on S3 (SeaweedFS locally) through one aiobotocore client.

Usage::

    async with ObjectStore.from_settings(settings) as store:
        stored = await store.put_content_addressed(payload)
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import logging
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self
from urllib.parse import quote
from uuid import UUID

from aiobotocore.config import AioConfig  # type: ignore[import-untyped]
from aiobotocore.session import get_session  # type: ignore[import-untyped]
from botocore.exceptions import ClientError  # type: ignore[import-untyped]

from shared.config import Settings

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client
    from types_aiobotocore_s3.type_defs import CompletedPartTypeDef, GetObjectOutputTypeDef

log = logging.getLogger(__name__)

MiB = 1024 * 1024
DEFAULT_PART_SIZE = 8 * MiB
MIN_PART_SIZE = 5 * MiB  # S3's floor for every part but the last
MAX_PARTS = 10_000
DEFAULT_CHUNK_SIZE = 1 * MiB
DELETE_BATCH = 1000  # DeleteObjects accepts at most 1000 keys per call
MAX_PRESIGN_SECONDS = 7 * 24 * 3600  # SigV4 presigned URLs cannot live longer

# Hashing large buffers holds the event loop for milliseconds; hashlib releases the GIL,
# so a worker thread really runs beside the loop.
_HASH_IN_THREAD_FROM = 1 * MiB

# A missing bucket is a misconfiguration, never "no such key": NoSuchBucket stays an error.
# (HEAD answers have no body, so there a bare 404 is all S3 says.)
_NOT_FOUND_CODES = frozenset({"404", "NoSuchKey", "NotFound"})


class ObjectStoreError(RuntimeError):
    """A storage operation failed in a way S3 reported without raising."""


class ObjectNotFoundError(LookupError):
    """The key does not exist in the bucket."""


@dataclass(frozen=True, slots=True)
class StoredObject:
    key: str
    sha256: str
    size: int
    created: bool


def tenant_key(tenant_id: UUID, *parts: str) -> str:
    """Key under `tenants/<tenant_id>/`, refusing parts that could escape that prefix."""
    if not isinstance(tenant_id, UUID):
        raise TypeError(f"tenant_id must be a UUID, not {type(tenant_id).__name__}")
    for part in parts:
        _check_key_part(part)
    return "/".join(("tenants", str(tenant_id), *parts))


def content_key(sha256_hex: str, prefix: str = "raw") -> str:
    """Content-addressed key; the two-character fan-out keeps listings of one prefix small."""
    return f"{prefix}/{sha256_hex[:2]}/{sha256_hex}"


def _check_key_part(part: str) -> None:
    if ".." in part:
        raise ValueError(f"key part {part!r} contains '..'")
    if part.startswith("/"):
        raise ValueError(f"key part {part!r} starts with '/'")
    if part == "" or "" in part.split("/"):
        raise ValueError(f"key part {part!r} has an empty path segment")


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _is_not_found(exc: ClientError) -> bool:
    return _error_code(exc) in _NOT_FOUND_CODES


async def _sha256_update(digest: Any, data: bytes) -> None:
    if len(data) >= _HASH_IN_THREAD_FROM:
        await asyncio.to_thread(digest.update, data)
    else:
        digest.update(data)


async def _sha256_hex(data: bytes) -> str:
    digest = hashlib.sha256()
    await _sha256_update(digest, data)
    return digest.hexdigest()


def _content_disposition(filename: str) -> str:
    # The quoted ASCII form for old clients, RFC 6266 filename* for everything else.
    ascii_name = filename.encode("ascii", "replace").decode("ascii").replace('"', "'").replace("\\", "_")
    ascii_name = "".join(ch if ch.isprintable() else "_" for ch in ascii_name)
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


def _optional_put_args(content_type: str | None, metadata: Mapping[str, str] | None) -> dict[str, Any]:
    args: dict[str, Any] = {}
    if content_type is not None:
        args["ContentType"] = content_type
    if metadata:
        args["Metadata"] = dict(metadata)
    return args


class _PartBuffer:
    """Collects stream chunks and hands out parts of exactly `part_size` bytes."""

    def __init__(self, part_size: int) -> None:
        self._part_size = part_size
        self._buffer = bytearray()

    def add(self, chunk: bytes) -> None:
        self._buffer += chunk

    def has_more_than_a_part(self) -> bool:
        # Strictly more: a stream of exactly one part then still goes as a single PUT,
        # and the final multipart part is never empty.
        return len(self._buffer) > self._part_size

    def take_part(self) -> bytes:
        part = bytes(self._buffer[: self._part_size])
        del self._buffer[: self._part_size]
        return part

    def take_rest(self) -> bytes:
        rest = bytes(self._buffer)
        self._buffer.clear()
        return rest


class _MultipartUpload:
    """One S3 multipart upload; `abort` is safe to call whatever state it is in."""

    def __init__(self, client: S3Client, bucket: str, key: str, upload_id: str) -> None:
        self._client = client
        self._bucket = bucket
        self._key = key
        self._upload_id = upload_id
        self._parts: list[CompletedPartTypeDef] = []

    @classmethod
    async def create(
        cls, client: S3Client, bucket: str, key: str, content_type: str | None
    ) -> _MultipartUpload:
        response = await client.create_multipart_upload(
            Bucket=bucket, Key=key, **_optional_put_args(content_type, None)
        )
        return cls(client, bucket, key, response["UploadId"])

    async def upload_part(self, data: bytes) -> None:
        number = len(self._parts) + 1
        if number > MAX_PARTS:
            raise ObjectStoreError(f"{self._key}: more than {MAX_PARTS} parts; raise part_size")
        response = await self._client.upload_part(
            Bucket=self._bucket, Key=self._key, UploadId=self._upload_id, PartNumber=number, Body=data
        )
        self._parts.append({"ETag": response["ETag"], "PartNumber": number})

    async def complete(self) -> None:
        await self._client.complete_multipart_upload(
            Bucket=self._bucket,
            Key=self._key,
            UploadId=self._upload_id,
            MultipartUpload={"Parts": self._parts},
        )

    async def abort(self) -> None:
        try:
            await self._client.abort_multipart_upload(
                Bucket=self._bucket, Key=self._key, UploadId=self._upload_id
            )
        except Exception:
            # The original failure matters more; a leftover upload is reaped by the
            # bucket's lifecycle rule for incomplete uploads.
            log.warning("aborting multipart upload of %s failed", self._key, exc_info=True)


class ObjectStore:
    """One bucket behind one aiobotocore S3 client; use as an async context manager."""

    def __init__(
        self,
        *,
        endpoint_url: str,
        access_key: str,
        secret_key: str,
        region: str,
        bucket: str,
        connect_timeout: float = 5.0,
        read_timeout: float = 60.0,
        max_attempts: int = 5,
        max_pool_connections: int = 32,
    ) -> None:
        self._endpoint_url = endpoint_url
        self._access_key = access_key
        self._secret_key = secret_key
        self._region = region
        self._bucket = bucket
        self._config = AioConfig(
            region_name=region,
            signature_version="s3v4",
            s3={"addressing_style": "path"},
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            retries={"max_attempts": max_attempts, "mode": "standard"},
            max_pool_connections=max_pool_connections,
            # Checksums only where S3 demands them: S3-compatible servers differ in how
            # well they handle the trailing CRC checksums botocore sends by default.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        self._exit_stack: AsyncExitStack | None = None
        self._client: S3Client | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> Self:
        return cls(
            endpoint_url=settings.s3_url,
            access_key=settings.s3_access_key,
            secret_key=settings.s3_secret_key,
            region=settings.s3_region,
            bucket=settings.s3_bucket,
        )

    @property
    def bucket(self) -> str:
        return self._bucket

    @property
    def client(self) -> S3Client:
        if self._client is None:
            raise RuntimeError("ObjectStore is not open; use it as 'async with store:'")
        return self._client

    async def __aenter__(self) -> Self:
        if self._exit_stack is not None:
            raise RuntimeError("ObjectStore is already open")
        stack = AsyncExitStack()
        client_context = get_session().create_client(
            "s3",
            endpoint_url=self._endpoint_url,
            region_name=self._region,
            aws_access_key_id=self._access_key,
            aws_secret_access_key=self._secret_key,
            config=self._config,
        )
        self._client = await stack.enter_async_context(client_context)
        self._exit_stack = stack
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        stack, self._exit_stack, self._client = self._exit_stack, None, None
        if stack is not None:
            await stack.aclose()

    # -- bucket ---------------------------------------------------------------------------

    async def ensure_bucket(self) -> None:
        try:
            await self.client.head_bucket(Bucket=self._bucket)
            return
        except ClientError as exc:
            if not _is_not_found(exc):
                raise
        await self._create_bucket()

    async def _create_bucket(self) -> None:
        args: dict[str, Any] = {}
        if self._region != "us-east-1":
            # us-east-1 is the one region S3 refuses as an explicit location constraint.
            args["CreateBucketConfiguration"] = {"LocationConstraint": self._region}
        try:
            await self.client.create_bucket(Bucket=self._bucket, **args)
        except ClientError as exc:
            # Another process created it between our HEAD and CREATE.
            if _error_code(exc) not in {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}:
                raise
        else:
            log.info("created bucket %s", self._bucket)

    async def ping(self) -> None:
        """Raise unless the bucket is reachable with our credentials (readiness check)."""
        await self.client.head_bucket(Bucket=self._bucket)

    # -- writing --------------------------------------------------------------------------

    async def put(
        self,
        key: str,
        data: bytes,
        content_type: str | None = None,
        metadata: Mapping[str, str] | None = None,
        *,
        gzipped: bool = False,
    ) -> None:
        """Store `data`; `gzipped` says it is gzip-compressed, which `get` undoes."""
        args = _optional_put_args(content_type, metadata)
        if gzipped:
            args["ContentEncoding"] = "gzip"
        await self.client.put_object(Bucket=self._bucket, Key=key, Body=data, **args)

    async def put_content_addressed(
        self, data: bytes, *, prefix: str = "raw", content_type: str | None = None
    ) -> StoredObject:
        """Store `data` under its SHA-256; an object already there is left untouched.

        Two concurrent writers of the same bytes may both upload; they write identical
        content under the same key, so the race is harmless.
        """
        sha256 = await _sha256_hex(data)
        key = content_key(sha256, prefix)
        if await self.exists(key):
            return StoredObject(key=key, sha256=sha256, size=len(data), created=False)
        await self.put(key, data, content_type=content_type, metadata={"sha256": sha256})
        return StoredObject(key=key, sha256=sha256, size=len(data), created=True)

    async def upload_stream(
        self,
        key: str,
        chunks: AsyncIterator[bytes],
        *,
        content_type: str | None = None,
        part_size: int = DEFAULT_PART_SIZE,
    ) -> StoredObject:
        """Upload a stream of unknown length, hashing it on the way.

        A stream no longer than one part goes up as a single PUT; anything longer as a
        multipart upload, aborted if anything (cancellation included) interrupts it.
        """
        if part_size < MIN_PART_SIZE:
            raise ValueError(f"part_size must be at least {MIN_PART_SIZE} bytes")
        digest = hashlib.sha256()
        size = 0
        buffer = _PartBuffer(part_size)
        upload: _MultipartUpload | None = None
        try:
            async for chunk in chunks:
                await _sha256_update(digest, chunk)
                size += len(chunk)
                buffer.add(chunk)
                while buffer.has_more_than_a_part():
                    if upload is None:
                        upload = await _MultipartUpload.create(self.client, self._bucket, key, content_type)
                    await upload.upload_part(buffer.take_part())
            if upload is None:
                await self.put(key, buffer.take_rest(), content_type=content_type)
            else:
                await upload.upload_part(buffer.take_rest())
                await upload.complete()
        except BaseException:
            if upload is not None:
                await upload.abort()
            raise
        return StoredObject(key=key, sha256=digest.hexdigest(), size=size, created=True)

    # -- reading --------------------------------------------------------------------------

    async def _get_object(self, key: str) -> GetObjectOutputTypeDef:
        try:
            return await self.client.get_object(Bucket=self._bucket, Key=key)
        except ClientError as exc:
            if _is_not_found(exc):
                raise ObjectNotFoundError(key) from exc
            raise

    async def get(self, key: str) -> bytes:
        """The object's bytes, decompressed when it was stored gzipped."""
        response = await self._get_object(key)
        async with response["Body"] as body:
            data: bytes = await body.read()
        if response.get("ContentEncoding") == "gzip":
            return await asyncio.to_thread(gzip.decompress, data)
        return data

    async def stream(self, key: str, chunk_size: int = DEFAULT_CHUNK_SIZE) -> AsyncIterator[bytes]:
        """Yield the object in chunks of at most `chunk_size` bytes."""
        response = await self._get_object(key)
        # The context manager releases the connection even when the consumer stops early.
        async with response["Body"] as body:
            async for chunk in body.iter_chunks(chunk_size):
                yield chunk

    async def exists(self, key: str) -> bool:
        try:
            await self.client.head_object(Bucket=self._bucket, Key=key)
        except ClientError as exc:
            if _is_not_found(exc):
                return False
            raise
        return True

    async def list_keys(self, prefix: str) -> AsyncIterator[str]:
        paginator = self.client.get_paginator("list_objects_v2")
        async for page in paginator.paginate(Bucket=self._bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                yield item["Key"]

    async def presigned_get(self, key: str, *, expires_in: int, filename: str | None = None) -> str:
        """A URL anyone can GET for `expires_in` seconds; `filename` makes it a download."""
        if not 0 < expires_in <= MAX_PRESIGN_SECONDS:
            raise ValueError(f"expires_in must be within 1..{MAX_PRESIGN_SECONDS} seconds")
        params: dict[str, Any] = {"Bucket": self._bucket, "Key": key}
        if filename is not None:
            params["ResponseContentDisposition"] = _content_disposition(filename)
        return await self.client.generate_presigned_url(
            "get_object", Params=params, ExpiresIn=expires_in, HttpMethod="GET"
        )

    async def unfinished_uploads(self, prefix: str) -> AsyncIterator[tuple[str, str, datetime]]:
        """(key, upload id, when it began) of every multipart upload under `prefix` not yet
        completed or aborted."""
        paginator = self.client.get_paginator("list_multipart_uploads")
        async for page in paginator.paginate(Bucket=self._bucket, Prefix=prefix):
            for upload in page.get("Uploads", []):
                yield upload["Key"], upload["UploadId"], upload["Initiated"]

    async def abort_upload(self, key: str, upload_id: str) -> None:
        await self.client.abort_multipart_upload(Bucket=self._bucket, Key=key, UploadId=upload_id)

    # -- deleting -------------------------------------------------------------------------

    async def delete(self, key: str) -> None:
        """Delete `key`; deleting a missing key is not an error."""
        try:
            await self.client.delete_object(Bucket=self._bucket, Key=key)
        except ClientError as exc:
            if not _is_not_found(exc):
                raise

    async def delete_many(self, keys: Iterable[str]) -> None:
        """Delete all `keys` (missing ones included) in batches of 1000."""
        batch: list[str] = []
        for key in keys:
            batch.append(key)
            if len(batch) == DELETE_BATCH:
                await self._delete_batch(batch)
                batch = []
        if batch:
            await self._delete_batch(batch)

    async def _delete_batch(self, keys: list[str]) -> None:
        response = await self.client.delete_objects(
            Bucket=self._bucket,
            Delete={"Objects": [{"Key": key} for key in keys], "Quiet": True},
        )
        errors = [e for e in response.get("Errors", []) if e.get("Code") not in _NOT_FOUND_CODES]
        if errors:
            sample = ", ".join(f"{e.get('Key')}: {e.get('Code')}" for e in errors[:5])
            raise ObjectStoreError(f"failed to delete {len(errors)} of {len(keys)} objects ({sample})")
