"""The five services as an end-to-end test runs them: each on its own ephemeral port, ingest
told where the other services' internal HTTP is."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from shared.config import Settings
from shared.service import ServiceRuntime, running
from trawl.registry import all_specs


@contextlib.asynccontextmanager
async def public_api(settings: Settings) -> AsyncIterator[tuple[str, Settings]]:
    """Yields the public API's base URL and the settings ingest runs with."""
    others = [ServiceRuntime(spec, settings, http_port=0) for spec in all_specs() if spec.name != "ingest"]
    async with running(others):
        urls = {runtime.spec.name: runtime.http.url for runtime in others if runtime.http is not None}
        wired = settings.model_copy(
            update={
                "extractor_internal_url": urls["extractor"],
                "crawler_internal_url": urls["crawler"],
                "llm_internal_url": urls["llm"],
                "exporter_internal_url": urls["exporter"],
            }
        )
        ingest_spec = next(spec for spec in all_specs() if spec.name == "ingest")
        async with running([ServiceRuntime(ingest_spec, wired, http_port=0)]) as (ingest,):
            assert ingest.http is not None
            yield ingest.http.url, wired
