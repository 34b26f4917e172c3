"""A service's long-lived resources, looked up by type.

The runtime registers what every service has (settings, object store); a service's lifespan
adds its own (the crawler's fetcher, the extractor's vector index and embedder). Handlers and
workers reach them through `HandlerContext.resources` / `ServiceRuntime.resources`, so
handlers stay plain functions and tests can hand in real or purpose-built instances.
"""

from __future__ import annotations

from typing import TypeVar, cast

T = TypeVar("T")


class MissingResource(LookupError):
    pass


class Resources:
    def __init__(self) -> None:
        self._items: dict[type, object] = {}

    def add(self, kind: type[T], item: T) -> T:
        self._items[kind] = item
        return item

    def get(self, kind: type[T]) -> T:
        try:
            return cast(T, self._items[kind])
        except KeyError:
            raise MissingResource(f"no {kind.__name__} registered with this service") from None

    def __contains__(self, kind: type) -> bool:
        return kind in self._items
