from hypothesis import given
from hypothesis import strategies as st

from services.crawler.domain.pagination import MAX_PATTERN_PAGES, page_urls, template_url
from shared.events import Pagination

SEED = "https://shop.example.com/list"


def test_template_url_fills_every_placeholder() -> None:
    assert template_url("https://e.com/p/{page}?page={page}", 3) == "https://e.com/p/3?page=3"


def test_url_pattern_runs_from_start_to_max_page() -> None:
    pagination = Pagination(type="url_pattern", url_template="/list?page={page}", start_page=1, max_page=4)
    assert page_urls(pagination, SEED) == [
        f"https://shop.example.com/list?page={page}" for page in range(1, 5)
    ]


def test_absolute_template_and_zero_start() -> None:
    pagination = Pagination(
        type="url_pattern", url_template="https://other.example.com/{page}.html", start_page=0, max_page=2
    )
    assert page_urls(pagination, SEED) == [f"https://other.example.com/{page}.html" for page in range(3)]


def test_max_page_below_start_gives_nothing() -> None:
    assert (
        page_urls(Pagination(type="url_pattern", url_template="?p={page}", start_page=5, max_page=2), SEED)
        == []
    )


def test_open_ended_pattern_is_bounded() -> None:
    urls = page_urls(Pagination(type="url_pattern", url_template="?p={page}", start_page=2), SEED)
    assert len(urls) == MAX_PATTERN_PAGES
    assert urls[0] == "https://shop.example.com/list?p=2"
    assert urls[-1] == f"https://shop.example.com/list?p={MAX_PATTERN_PAGES + 1}"


def test_other_types_have_no_pattern_pages() -> None:
    assert page_urls(Pagination(), SEED) == []
    assert page_urls(Pagination(type="next_button", next_selector="a.next"), SEED) == []


@given(st.integers(min_value=0, max_value=50), st.integers(min_value=1, max_value=80))
def test_one_url_per_page_in_order(start: int, maximum: int) -> None:
    pagination = Pagination(type="url_pattern", url_template="/p/{page}", start_page=start, max_page=maximum)
    urls = page_urls(pagination, SEED)
    assert urls == [f"https://shop.example.com/p/{page}" for page in range(start, maximum + 1)]
