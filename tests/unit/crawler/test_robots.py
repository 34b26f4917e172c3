import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.crawler.domain.robots import ERROR_TTL_SECONDS, MAX_ROBOTS_BYTES, RobotsOutcome, RobotsRules

ROBOTS = b"""\
User-agent: *
Disallow: /private/
Allow: /private/open.html
Crawl-delay: 2

User-agent: TrawlBot
Disallow: /no-trawl/
Request-rate: 1/5

Sitemap: https://example.com/sitemap_index.xml
Sitemap: https://example.com/other.xml.gz
"""


def rules(status: int | None = 200, body: bytes = ROBOTS) -> RobotsRules:
    return RobotsRules.from_response(status, body, fetched_at=1000.0)


def test_a_2xx_body_is_parsed_with_longest_match_and_user_agent_groups() -> None:
    parsed = rules()
    assert parsed.outcome is RobotsOutcome.PARSED
    assert not parsed.allows("https://example.com/private/a.html", "SomeBot")
    assert parsed.allows("https://example.com/private/open.html", "SomeBot")
    assert parsed.allows("https://example.com/public.html", "SomeBot")
    # TrawlBot has its own group, so the * group does not apply to it.
    assert parsed.allows("https://example.com/private/a.html", "TrawlBot/1.0")
    assert not parsed.allows("https://example.com/no-trawl/x", "TrawlBot/1.0")


def test_crawl_delay_and_request_rate() -> None:
    parsed = rules()
    assert parsed.crawl_delay("SomeBot") == 2.0
    assert parsed.crawl_delay("TrawlBot") == 5.0
    assert rules(body=b"User-agent: *\nDisallow:\n").crawl_delay("SomeBot") is None


def test_sitemaps_are_listed() -> None:
    assert rules().sitemaps == ["https://example.com/sitemap_index.xml", "https://example.com/other.xml.gz"]
    assert rules(404, b"").sitemaps == []


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410, 301])
def test_unavailable_robots_allows_everything(status: int) -> None:
    unavailable = rules(status, b"User-agent: *\nDisallow: /\n")
    assert unavailable.outcome is RobotsOutcome.ALLOW_ALL
    assert unavailable.allows("https://example.com/anything", "SomeBot")
    assert unavailable.crawl_delay("SomeBot") is None


@pytest.mark.parametrize("status", [None, 429, 500, 503])
def test_unreachable_robots_disallows_everything_but_robots_itself(status: int | None) -> None:
    unreachable = rules(status, b"")
    assert unreachable.outcome is RobotsOutcome.DISALLOW_ALL
    assert not unreachable.allows("https://example.com/", "SomeBot")
    assert unreachable.allows("https://example.com/robots.txt", "SomeBot")


def test_robots_txt_itself_is_always_allowed() -> None:
    assert rules(body=b"User-agent: *\nDisallow: /\n").allows("https://example.com/robots.txt", "X")


def test_expiry_is_shorter_after_an_error() -> None:
    assert not rules().expired(now=1000.0 + 3599, ttl=3600)
    assert rules().expired(now=1000.0 + 3600, ttl=3600)
    assert not rules(503).expired(now=1000.0 + ERROR_TTL_SECONDS - 1, ttl=3600)
    assert rules(503).expired(now=1000.0 + ERROR_TTL_SECONDS, ttl=3600)
    assert rules(503).expired(now=1000.0 + 10, ttl=10)


def test_only_the_first_500_kib_are_read() -> None:
    padding = b"# " + b"x" * (MAX_ROBOTS_BYTES) + b"\n"
    body = b"User-agent: *\nDisallow: /early/\n" + padding + b"Disallow: /late/\n"
    capped = rules(body=body)
    assert not capped.allows("https://example.com/early/", "X")
    assert capped.allows("https://example.com/late/", "X")


def test_rules_compare_by_outcome_not_parser_identity() -> None:
    assert rules(404, b"") == rules(404, b"")


@given(st.binary(max_size=2000))
def test_any_body_parses_without_error(body: bytes) -> None:
    parsed = rules(body=body)
    parsed.allows("https://example.com/x", "SomeBot")
    parsed.crawl_delay("SomeBot")
    assert isinstance(parsed.sitemaps, list)
