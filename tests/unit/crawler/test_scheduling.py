from uuid import UUID

import pytest

from services.crawler.domain.fetching import FetchLimits
from services.crawler.domain.leasing import LeaseRequest, lease_request, rotated
from services.crawler.domain.records import RunBudget
from shared.events import JobConfig
from tests.unit.crawler.factories import run_view


def budget(pages_left: int, images_left: int | None = None) -> RunBudget:
    return RunBudget(UUID(int=1), UUID(int=2), UUID(int=3), "running", pages_left, images_left)


@pytest.mark.parametrize(
    ("pages_left", "images_left", "collects_images", "expected"),
    [
        (5, None, False, LeaseRequest(["page", "sitemap"], 5)),
        (40, None, False, LeaseRequest(["page", "sitemap"], 16)),
        (0, None, False, None),
        (-3, None, False, None),  # leased past the budget by another replica meanwhile
        (5, None, True, LeaseRequest(["page", "sitemap", "image"], 5)),
        (0, None, True, LeaseRequest(["image"], 16)),  # pages spent: images have their own budget
        (0, 4, True, LeaseRequest(["image"], 16)),
        (0, 0, True, None),
        (5, 0, True, LeaseRequest(["page", "sitemap"], 5)),
    ],
)
def test_lease_request(
    pages_left: int, images_left: int | None, collects_images: bool, expected: LeaseRequest | None
) -> None:
    request = lease_request(budget(pages_left, images_left), collects_images=collects_images, room=16)
    assert request == expected


def test_rotated_starts_at_the_turn() -> None:
    assert rotated(["a", "b", "c"], 0) == ["a", "b", "c"]
    assert rotated(["a", "b", "c"], 1) == ["b", "c", "a"]
    assert rotated(["a", "b", "c"], 5) == ["c", "a", "b"]
    assert rotated([], 3) == []


def test_run_view_of_a_config() -> None:
    config = JobConfig.model_validate(
        {
            "seeds": ["https://shop.example.com/"],
            "kind": "images",
            "limits": {"request_timeout_seconds": 6, "max_body_bytes": 4096},
            "scope": {"respect_robots": False},
            "options": {"autothrottle": True, "sitemaps": False},
        }
    )
    view = run_view(config)
    assert view.fetch_limits == FetchLimits(
        max_body_bytes=4096, connect_timeout=6.0, read_timeout=6.0, total_timeout=12.0
    )
    assert view.user_agent == "TrawlBot/1.0"
    assert (view.respects_robots, view.wants_sitemaps, view.autothrottle, view.collects_images) == (
        False,
        False,
        True,
        True,
    )
    assert view.scope.refusal("https://other.org/", 0) == "off_domain"


def test_run_view_defaults() -> None:
    config = JobConfig.model_validate({"seeds": ["https://shop.example.com/"], "user_agent": "Mine/2"})
    view = run_view(config)
    assert view.fetch_limits.connect_timeout == 10.0  # 30 s requests still connect within 10 s
    assert view.fetch_limits.total_timeout == 60.0
    assert view.user_agent == "Mine/2"
    assert (view.respects_robots, view.wants_sitemaps, view.autothrottle, view.collects_images) == (
        True,
        True,
        False,
        False,
    )
