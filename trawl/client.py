"""A small async client of the public API, used by the CLI and the main job.

Where it finds its URL and key: TRAWL_API_URL / TRAWL_API_KEY, else the file `trawl keys
create` wrote (`<TRAWL_HOME>/cli.json`), else ingest's local port.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import httpx

from shared.config import Settings

CONFIG_FILE = "cli.json"


class ApiError(RuntimeError):
    """The API answered with a problem; the message is its detail."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"{status}: {detail}")
        self.status = status
        self.detail = detail


def config_path(settings: Settings) -> Path:
    return settings.home / CONFIG_FILE


def save_config(settings: Settings, *, api_url: str, api_key: str, tenant: str) -> Path:
    path = config_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text(json.dumps({"api_url": api_url, "api_key": api_key, "tenant": tenant}, indent=2))
    return path


def saved_tenant(settings: Settings) -> str | None:
    """The tenant whose key the other commands use now, if one was saved."""
    path = config_path(settings)
    return json.loads(path.read_text()).get("tenant") if path.exists() else None


def default_api_url(settings: Settings) -> str:
    return f"http://{settings.http_host}:{settings.http_base_port}"


def resolve(settings: Settings) -> tuple[str, str | None]:
    """(API URL, key or None)."""
    saved: dict[str, str] = {}
    path = config_path(settings)
    if path.exists():
        saved = json.loads(path.read_text())
    url = settings.api_url or saved.get("api_url") or default_api_url(settings)
    return url, settings.api_key or saved.get("api_key")


class TrawlClient:
    def __init__(self, url: str, key: str, *, timeout: float = 60.0) -> None:
        self._http = httpx.AsyncClient(
            base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=timeout
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._http.aclose()

    async def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = await self._response(method, path, **kwargs)
        return None if response.status_code == 204 else response.json()

    async def _response(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """The API's answer, an ApiError for a 4xx or 5xx (or no answer)."""
        try:
            response = await self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise ApiError(
                0,
                f"cannot reach the API at {self._http.base_url} ({exc}); "
                "is ingest running? (`trawl run-all`)",
            ) from exc
        if response.status_code >= 400:
            try:
                detail = str(response.json().get("detail", response.text))
            except ValueError:
                detail = response.text
            raise ApiError(response.status_code, detail)
        return response

    async def create_schema(self, name: str, definition: dict[str, Any], version: str) -> dict[str, Any]:
        body = {"name": name, "version": version, "definition": definition}
        result: dict[str, Any] = await self._call("POST", "/v1/extractor-schemas", json=body)
        return result

    async def create_job(self, job: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = await self._call("POST", "/v1/jobs", json=job)
        return result

    async def set_expanded_keywords(
        self, job_id: str, expanded: dict[str, list[str]] | None
    ) -> dict[str, Any]:
        body = {"expanded_keywords": expanded}
        result: dict[str, Any] = await self._call("PUT", f"/v1/jobs/{job_id}/expanded-keywords", json=body)
        return result

    async def start_run(self, job_id: str, idempotency_key: str | None = None) -> dict[str, Any]:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        result: dict[str, Any] = await self._call("POST", f"/v1/jobs/{job_id}/runs", headers=headers)
        return result

    async def run(self, run_id: str) -> dict[str, Any]:
        result: dict[str, Any] = await self._call("GET", f"/v1/runs/{run_id}")
        return result

    async def runs(self, *, status: str | None = None, limit: int = 20) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"limit": limit} | ({"status": status} if status else {})
        result: list[dict[str, Any]] = await self._call("GET", "/v1/runs", params=params)
        return result

    async def cancel(self, run_id: str) -> dict[str, Any]:
        result: dict[str, Any] = await self._call("POST", f"/v1/runs/{run_id}/cancel")
        return result

    async def delete(self, run_id: str) -> None:
        await self._call("DELETE", f"/v1/runs/{run_id}")

    async def search(
        self,
        query: str,
        *,
        mode: str = "hybrid",
        run_id: str | None = None,
        limit: int = 5,
        distinct_urls: bool = True,
        tags: list[str] | None = None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"query": query, "mode": mode, "limit": limit, "distinct_urls": distinct_urls}
        if run_id:
            body["run_id"] = run_id
        if tags:
            body["tags"] = tags
        result: dict[str, Any] = await self._call("POST", "/v1/search", json=body)
        return result

    async def run_pages(
        self, run_id: str, *, status: list[str], limit: int, cursor: str | None = None
    ) -> dict[str, Any]:
        params: dict[str, Any] = {"status": status, "limit": limit} | ({"cursor": cursor} if cursor else {})
        result: dict[str, Any] = await self._call("GET", f"/v1/runs/{run_id}/pages", params=params)
        return result

    async def items(
        self, run_id: str, *, kind: str | None = None, valid: bool | None = None, limit: int = 100
    ) -> dict[str, Any]:
        params = {
            name: value
            for name, value in (("kind", kind), ("valid", valid), ("limit", limit))
            if value is not None
        }
        result: dict[str, Any] = await self._call("GET", f"/v1/runs/{run_id}/items", params=params)
        return result

    async def products(
        self, *, brand: str | None = None, query: str | None = None, limit: int = 100
    ) -> dict[str, Any]:
        params = {
            name: value
            for name, value in (("brand", brand), ("q", query), ("limit", limit))
            if value is not None
        }
        result: dict[str, Any] = await self._call("GET", "/v1/products", params=params)
        return result

    async def product(self, product_id: str) -> dict[str, Any]:
        result: dict[str, Any] = await self._call("GET", f"/v1/products/{product_id}")
        return result

    async def llm_sessions(self, *, limit: int = 100) -> dict[str, Any]:
        result: dict[str, Any] = await self._call("GET", "/v1/llm/sessions", params={"limit": limit})
        return result

    async def llm_tasks(
        self, session_id: str, *, status: str | None = None, limit: int = 100
    ) -> dict[str, Any]:
        params: dict[str, Any] = {"limit": limit} | ({"status": status} if status else {})
        result: dict[str, Any] = await self._call(
            "GET", f"/v1/llm/sessions/{session_id}/tasks", params=params
        )
        return result

    async def llm_task(self, task_id: str) -> dict[str, Any]:
        result: dict[str, Any] = await self._call("GET", f"/v1/llm/tasks/{task_id}")
        return result

    async def llm_ask(
        self,
        run_id: str,
        prompt: str,
        *,
        output_schema: dict[str, Any] | None = None,
        limit: int = 1000,
        source: str = "documents",
        item_kind: str | None = None,
        search: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"run_id": run_id, "prompt": prompt, "limit": limit, "source": source}
        optional = {"output_schema": output_schema, "item_kind": item_kind, "search": search}
        body |= {name: value for name, value in optional.items() if value is not None}
        result: dict[str, Any] = await self._call("POST", "/v1/llm/tasks", json=body)
        return result

    async def create_export(self, body: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = await self._call("POST", "/v1/exports", json=body)
        return result

    async def export(self, export_id: str) -> dict[str, Any]:
        result: dict[str, Any] = await self._call("GET", f"/v1/exports/{export_id}")
        return result

    async def download_export(self, export_id: str, target: Path, *, file: int = 0) -> int:
        """Streams the export's (`file`-th) file through its freshly presigned link to `target`;
        its size."""
        link = await self._response("GET", f"/v1/exports/{export_id}/download", params={"file": file})
        location = link.headers.get("location")
        if link.status_code != 302 or location is None:
            raise ApiError(link.status_code, link.text)
        size = 0
        async with httpx.AsyncClient(timeout=None) as anyone, anyone.stream("GET", location) as response:
            if response.status_code != 200:
                await response.aread()
                raise ApiError(response.status_code, response.text[:500])
            with target.open("wb") as out:
                async for chunk in response.aiter_bytes():
                    size += out.write(chunk)
        return size

    async def llm_retry(self, session_id: str) -> dict[str, Any]:
        result: dict[str, Any] = await self._call("POST", f"/v1/llm/sessions/{session_id}/retry")
        return result

    async def images(
        self,
        run_id: str,
        *,
        valid: bool | None = None,
        label: str | None = None,
        reason: str | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> dict[str, Any]:
        params = {
            name: str(value).lower() if isinstance(value, bool) else value
            for name, value in (
                ("valid", valid),
                ("label", label),
                ("reason", reason),
                ("limit", limit),
                ("cursor", cursor),
            )
            if value is not None
        }
        result: dict[str, Any] = await self._call("GET", f"/v1/runs/{run_id}/images", params=params)
        return result

    async def validate(self, run_id: str, rules: dict[str, Any], name: str = "") -> dict[str, Any]:
        body = {"name": name, "rules": rules}
        result: dict[str, Any] = await self._call("POST", f"/v1/runs/{run_id}/validations", json=body)
        return result

    async def validation(self, validation_id: str) -> dict[str, Any]:
        result: dict[str, Any] = await self._call("GET", f"/v1/validations/{validation_id}")
        return result

    async def upload(self, paths: list[Path]) -> dict[str, Any]:
        files = [("files", (path.name, await asyncio.to_thread(path.read_bytes))) for path in paths]
        result: dict[str, Any] = await self._call("POST", "/v1/uploads", files=files)
        return result

    async def me(self) -> dict[str, Any]:
        result: dict[str, Any] = await self._call("GET", "/v1/me")
        return result

    async def submission(self, submission_id: str) -> dict[str, Any] | None:
        try:
            result: dict[str, Any] = await self._call("GET", f"/v1/submissions/{submission_id}")
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise
        return result

    async def watch(self, run_id: str) -> AsyncIterator[dict[str, Any]]:
        """The run each time it changes (Server-Sent Events), until it ends."""
        try:
            async with self._http.stream("GET", f"/v1/runs/{run_id}/events", timeout=None) as stream:
                if stream.status_code >= 400:
                    await stream.aread()
                    raise ApiError(stream.status_code, stream.text)
                event = ""
                async for line in stream.aiter_lines():
                    if line.startswith("event: "):
                        event = line.removeprefix("event: ")
                    elif line.startswith("data: ") and event == "progress":
                        yield json.loads(line.removeprefix("data: "))
                    elif event == "end":
                        return
        except httpx.HTTPError as exc:
            raise ApiError(0, f"the progress stream of run {run_id} broke off: {exc}") from exc
