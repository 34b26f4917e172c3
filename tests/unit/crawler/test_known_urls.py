from uuid import uuid4

from services.crawler.domain.known_urls import KnownUrls


def test_known_urls_are_per_run_bounded_and_forgotten_with_the_run() -> None:
    known = KnownUrls(per_run=2)
    first, second = uuid4(), uuid4()
    known.add(first, ["a", "b"])
    known.add(first, ["c"])  # over the bound: not remembered, so simply sent to Postgres again
    known.add(second, ["a"])
    assert known.has(first, "a") and known.has(first, "b")
    assert not known.has(first, "c")
    assert known.has(second, "a") and not known.has(second, "b")
    known.keep_only({second})
    assert not known.has(first, "a")
    assert known.has(second, "a")
