"""Hypothesis strategies of JobSubmitted configurations: valid, wrong types, huge strings,
unknown fields, bad URLs, bad cron expressions and time zones."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

anything = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(["nul\x00inside", "\ud800 alone"]),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.one_of(st.text(max_size=5), st.just("key\x00")), st.integers(), max_size=2),
)
huge = st.text(min_size=2_000, max_size=3_000, alphabet="xyz")
urls = st.one_of(
    st.just("https://example.com/"),
    st.from_regex(r"https?://[a-z]{1,10}\.(com|org|de)/[a-z0-9/]{0,12}", fullmatch=True),
    st.sampled_from(["ftp://example.com/", "not a url", "http://", "https://exa mple.com/", "//x", ""]),
    st.text(max_size=40),
    huge.map(lambda path: f"https://example.com/{path}"),
)
crons = st.one_of(
    st.sampled_from(["*/5 * * * *", "0 6 * * 1-5", "61 * * * *", "0 0 31 2 *", "@reboot", "* * *"]),
    st.text(max_size=30),
)
zones = st.one_of(
    st.sampled_from(["UTC", "Europe/Berlin", "Mars/Olympus", "../etc", "America"]), st.text(max_size=12)
)
counts = st.one_of(st.integers(min_value=-5, max_value=20_000_000), anything)


def _either(good: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(good, good, anything)  # mostly well-typed, sometimes not


job_configs: st.SearchStrategy[dict[str, Any]] = st.fixed_dictionaries(
    {},
    optional={
        "kind": _either(st.sampled_from(["crawl", "scrape", "images", "keywords", "bogus"])),
        "name": _either(st.one_of(st.text(max_size=40), huge)),
        "seeds": _either(st.lists(urls, max_size=4)),
        "keywords": _either(st.lists(st.one_of(st.text(max_size=20), huge), max_size=3)),
        "limits": _either(st.fixed_dictionaries({}, optional={"max_pages": counts, "max_depth": counts})),
        "scope": _either(
            st.fixed_dictionaries(
                {}, optional={"include_patterns": st.lists(st.text(max_size=6), max_size=2)}
            )
        ),
        "pagination": _either(
            st.fixed_dictionaries({"type": st.sampled_from(["none", "next_button", "url_pattern", "x"])})
        ),
        "schedule": _either(st.fixed_dictionaries({"cron": crons}, optional={"timezone": zones})),
        "options": anything,
        "surprise_field": anything,
    },
)
