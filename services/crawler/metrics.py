"""The crawler's Prometheus metrics (names start trawl_crawler_)."""

from prometheus_client import Counter, Gauge, Histogram

FETCH_OUTCOMES = Counter(
    "trawl_crawler_fetches_total",
    "URLs processed, by outcome and HTTP status class",
    ["outcome", "status_class"],
)
FETCH_BYTES = Counter("trawl_crawler_fetch_bytes_total", "Decoded response bytes fetched")
FETCH_SECONDS = Histogram(
    "trawl_crawler_fetch_seconds",
    "Time from sending a request to having its whole body, redirects included",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
IN_FLIGHT = Gauge("trawl_crawler_in_flight", "URLs leased by this process and not yet committed")
FRONTIER_QUEUED = Gauge("trawl_crawler_frontier_queued", "Queued URLs of running crawls")
ROBOTS_DENIALS = Counter(
    "trawl_crawler_robots_denials_total", "URLs not fetched because robots.txt disallows them"
)
SSRF_REFUSALS = Counter("trawl_crawler_ssrf_refusals_total", "Fetches refused by the SSRF guard")
RETRIES = Counter("trawl_crawler_retries_total", "Fetches scheduled for another attempt")
SEARCHES = Counter(
    "trawl_crawler_searches_total",
    "Requests to the search provider, by provider and outcome (answered, rate_limited, captcha, server, ...)",
    ["provider", "outcome"],
)
SEARCH_DEFERRALS = Counter(
    "trawl_crawler_search_deferrals_total",
    "Searches put off, by provider and reason (breaker_open, rate)",
    ["provider", "reason"],
)
