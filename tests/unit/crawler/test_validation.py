"""Validation rules: every reason an image breaks, copies judged against valid originals only."""

from uuid import UUID, uuid4

import pytest
from pydantic import ValidationError

from services.crawler.domain.validation import Candidate, Originals, judge, own_reasons
from shared.events import DuplicateScope, ValidationRules

RUN = uuid4()


def candidate(n: int, **overrides: object) -> Candidate:
    fields: dict[str, object] = {
        "id": n,
        "run_id": RUN,
        "image_key": f"k{n}",
        "sha256": f"{n:064x}",
        "phash": n << 40,
        "width": 640,
        "height": 480,
        "format": "jpeg",
        "bytes": 50_000,
        "decode_error": None,
        "pixel_stddev": 40.0,
    }
    fields.update(overrides)
    return Candidate(**fields)  # type: ignore[arg-type]


def test_a_good_image_has_no_reason() -> None:
    assert own_reasons(candidate(1), ValidationRules(min_width=100, formats=["JPG"], max_bytes=60_000)) == []


def test_every_reason_is_listed() -> None:
    rules = ValidationRules(
        min_width=1000, min_height=1000, min_aspect_ratio=1.5, formats=["png", "webp"], max_bytes=10_000
    )
    broken = candidate(1, decode_error="truncated", pixel_stddev=1.0)
    assert own_reasons(broken, rules) == [
        "truncated",
        "format_not_allowed",
        "too_many_bytes",
        "too_narrow",
        "too_short",
        "aspect_ratio",
        "blank",
    ]
    assert own_reasons(
        candidate(2, width=5000, height=100), ValidationRules(max_width=4000, max_height=50)
    ) == [
        "too_wide",
        "too_tall",
    ]


def test_rules_that_are_off_are_not_checked() -> None:
    rules = ValidationRules(must_decode=False, reject_blank=False)
    assert (
        own_reasons(candidate(1, decode_error="corrupt", pixel_stddev=0.0, width=None, height=None), rules)
        == []
    )
    assert own_reasons(candidate(2, format=None), ValidationRules(formats=["jpeg"])) == ["format_not_allowed"]


def test_exact_and_near_copies_of_valid_images() -> None:
    original = candidate(1, phash=0b1111)
    exact = candidate(2, sha256=original.sha256, phash=0b1111)
    near = candidate(3, phash=0b1111 ^ 0b111 << 20)  # 3 bits away
    far = candidate(4, phash=0b1111 ^ ((1 << 12) - 1) << 30)  # 12 bits away
    verdicts = judge([original, exact, near, far], ValidationRules(near_duplicate_distance=8), Originals())
    assert [(v.valid, v.reasons) for v in verdicts] == [
        (True, ()),
        (False, ("duplicate",)),
        (False, ("near_duplicate",)),
        (True, ()),
    ]
    assert verdicts[1].duplicate_of == original and verdicts[2].duplicate_of == original


def test_an_invalid_image_is_no_original() -> None:
    thumbnail = candidate(1, width=64, height=48, phash=0b1111)
    full_size = candidate(2, phash=0b1111 ^ 1)  # the same picture, larger
    verdicts = judge([thumbnail, full_size], ValidationRules(min_width=100), Originals())
    assert [(v.valid, v.reasons) for v in verdicts] == [(False, ("too_narrow",)), (True, ())]
    verdicts = judge([thumbnail, full_size], ValidationRules(), Originals())
    assert [(v.valid, v.reasons) for v in verdicts] == [(True, ()), (False, ("near_duplicate",))]


def test_copies_of_earlier_runs_and_no_duplicate_rule() -> None:
    earlier = candidate(1, run_id=UUID(int=7))
    again = candidate(2, sha256=earlier.sha256, phash=earlier.phash)
    assert judge([again], ValidationRules(duplicates=DuplicateScope.PROJECT), Originals([earlier]))[
        0
    ].reasons == ("duplicate",)
    assert judge([again], ValidationRules(duplicates=DuplicateScope.NONE), Originals([earlier]))[0].valid
    unhashed = candidate(3, phash=None)
    assert judge([unhashed], ValidationRules(), Originals([earlier]))[0].valid


def test_originals_grow_past_their_first_array() -> None:
    originals = Originals(candidate(n, phash=n * 0x9E3779B97F4A7C15 % (1 << 63)) for n in range(3000))
    assert len(originals) == 3000
    probe = candidate(9999, phash=2999 * 0x9E3779B97F4A7C15 % (1 << 63) ^ 1)
    found = originals.copy_of(probe, 2)
    assert found is not None and found[0] == "near_duplicate" and found[1].id == 2999


@pytest.mark.parametrize(
    "rules",
    [
        {"min_width": 10, "max_width": 5},
        {"min_height": 10, "max_height": 5},
        {"min_aspect_ratio": 2, "max_aspect_ratio": 1},
        {"near_duplicate_distance": 65},
        {"duplicates": "everywhere"},
    ],
)
def test_contradictory_rules_are_refused(rules: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        ValidationRules.model_validate(rules)
