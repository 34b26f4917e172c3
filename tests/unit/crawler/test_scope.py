from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.crawler.domain.scope import ScopePolicy, registered_domain
from shared.events import JobConfig


def policy(seeds: list[str], **config: Any) -> ScopePolicy:
    return ScopePolicy.for_job(JobConfig.model_validate({"seeds": seeds, **config}))


@pytest.mark.parametrize(
    ("host", "domain"),
    [
        ("www.example.com", "example.com"),
        ("a.b.example.co.uk", "example.co.uk"),
        ("EXAMPLE.com.", "example.com"),
        ("127.0.0.1", "127.0.0.1"),
        ("localhost", "localhost"),
        ("user.github.io", "github.io"),  # private suffixes are not used: one registrant
    ],
)
def test_registered_domain(host: str, domain: str) -> None:
    assert registered_domain(host) == domain


def test_same_registered_domain_by_default() -> None:
    scope = policy(["https://www.example.co.uk/start"])
    assert scope.refusal("https://shop.example.co.uk/x", 1) is None
    assert scope.refusal("http://example.co.uk/", 1) is None
    assert scope.refusal("https://other.co.uk/", 1) == "off_domain"
    assert scope.refusal("https://example.com/", 1) == "off_domain"


def test_ip_hosts_must_match_exactly() -> None:
    scope = policy(["http://127.0.0.2:8000/"])
    assert scope.refusal("http://127.0.0.2:8000/page", 1) is None
    assert scope.refusal("http://127.0.0.2:9999/other-port", 1) is None
    assert scope.refusal("http://127.0.0.1:8000/page", 1) == "off_domain"


def test_allowed_domains_extend_the_seed_domains() -> None:
    scope = policy(["https://example.com/"], scope={"allowed_domains": ["cdn.net", "*.images.org"]})
    assert scope.refusal("https://example.com/a", 0) is None
    assert scope.refusal("https://cdn.net/a", 0) is None
    assert scope.refusal("https://eu.cdn.net/a", 0) is None
    assert scope.refusal("https://x.images.org/a", 0) is None
    assert scope.refusal("https://notcdn.net/a", 0) == "off_domain"


def test_without_same_domain_only_allowed_domains_or_anything() -> None:
    narrowed = policy(
        ["https://example.com/"],
        scope={"same_registered_domain": False, "allowed_domains": ["docs.example.com"]},
    )
    assert narrowed.refusal("https://docs.example.com/a", 0) is None
    assert narrowed.refusal("https://example.com/a", 0) == "off_domain"
    anything = policy(["https://example.com/"], scope={"same_registered_domain": False})
    assert anything.refusal("https://elsewhere.org/a", 0) is None


def test_include_and_exclude_patterns_search_the_full_url() -> None:
    scope = policy(
        ["https://example.com/"],
        scope={
            "include_patterns": [r"/blog/", r"\?page=\d+$"],
            "exclude_patterns": [r"/blog/drafts/", r"\.pdf$"],
        },
    )
    assert scope.refusal("https://example.com/blog/post", 1) is None
    assert scope.refusal("https://example.com/list?page=3", 1) is None
    assert scope.refusal("https://example.com/about", 1) == "not_included"
    assert scope.refusal("https://example.com/blog/drafts/x", 1) == "excluded"
    assert scope.refusal("https://example.com/blog/x.pdf", 1) == "excluded"


def test_scheme_and_host() -> None:
    scope = policy(["https://example.com/"])
    assert scope.refusal("ftp://example.com/file", 0) == "scheme"
    assert scope.refusal("mailto:me@example.com", 0) == "scheme"
    assert scope.refusal("http:///nohost", 0) == "no_host"
    assert scope.refusal("http://[::1/broken", 0) == "invalid_url"


@given(st.integers(min_value=0, max_value=10), st.integers(min_value=0, max_value=20))
def test_depth_beyond_max_depth_is_too_deep(max_depth: int, depth: int) -> None:
    scope = policy(["https://example.com/"], limits={"max_depth": max_depth})
    expected = None if depth <= max_depth else "too_deep"
    assert scope.refusal("https://example.com/page", depth) == expected


def test_for_job_without_seeds_refuses_everything_by_domain() -> None:
    assert policy([], keywords=["shoes"]).refusal("https://example.com/", 0) == "off_domain"
