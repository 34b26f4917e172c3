"""Near-duplicate detection of validation jobs, measured on a generated set.

    python -m bench.near_duplicates [--originals 300] [--seed 1]

Generates `--originals` distinct pictures (tests/fixtures/image_set.py: smooth random fields
with shapes and grain, in five sizes), one near copy of each (one or two of: resized to
40-85 %, cropped by 2-10 %, brightness ±15 %, blurred; then re-encoded as JPEG at quality
35-92 or as PNG) and as many unrelated pictures. Every image goes through what the crawler does
to a fetched image (`analyse_image`: decoded, turned upright, pHashed), then the validator's
duplicate rule (`Originals.copy_of`) judges each copy and each unrelated picture against the
originals, at several Hamming distances. A near copy found is a true positive when the original
named is its own; an unrelated picture found is a false positive. Prints precision and recall
per distance, and the default the rules use.
"""

from __future__ import annotations

import argparse
import time
from uuid import uuid4

from services.crawler.domain.images import analyse_image
from services.crawler.domain.validation import Candidate, Originals
from shared.events import ValidationRules
from tests.fixtures import image_set

DISTANCES = (4, 6, 8, 10, 12, 14, 16)
RUN = uuid4()


def candidate(number: int, data: bytes) -> Candidate:
    facts = analyse_image(data)
    assert facts.info is not None and facts.phash is not None
    return Candidate(
        id=number,
        run_id=RUN,
        image_key=f"i{number}",
        sha256=f"{number:064x}",  # all different: only the perceptual rule is measured
        phash=facts.phash,
        width=facts.info.width,
        height=facts.info.height,
        format=facts.info.format,
        bytes=len(data),
        decode_error=None,
        pixel_stddev=facts.pixel_stddev,
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--originals", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    n, seed = args.originals, args.seed * 1_000_003
    started = time.perf_counter()
    pictures = [image_set.photo(seed + i, image_set.picture_size(seed + i)) for i in range(n)]
    originals = [candidate(i, image_set.jpeg(picture)) for i, picture in enumerate(pictures)]
    edits = [image_set.near_copy(picture, seed + i) for i, picture in enumerate(pictures)]
    copies = [candidate(n + i, data) for i, (_, data) in enumerate(edits)]
    unrelated = [
        candidate(2 * n + i, image_set.jpeg(image_set.photo(seed + 10 * n + i, image_set.picture_size(i))))
        for i in range(n)
    ]
    seconds = time.perf_counter() - started
    index = Originals(originals)
    default = ValidationRules().near_duplicate_distance
    print(f"{n} originals, {n} near copies, {n} unrelated pictures ({seconds:.0f} s to make and hash)")
    print(f"{'distance':>8}  {'precision':>9}  {'recall':>6}  {'found':>5}  {'wrong':>5}")
    for distance in DISTANCES:
        found = [index.copy_of(image, distance) for image in copies]
        right = sum(1 for i, hit in enumerate(found) if hit is not None and hit[1].id == i)
        flagged = sum(1 for hit in found if hit is not None)
        false = sum(1 for image in unrelated if index.copy_of(image, distance) is not None)
        wrong = flagged - right + false
        precision = right / max(1, flagged + false)
        mark = "  <- default" if distance == default else ""
        print(f"{distance:>8}  {precision:>9.3f}  {right / n:>6.3f}  {right:>5}  {wrong:>5}{mark}")
    missed = [edits[i][0] for i, image in enumerate(copies) if index.copy_of(image, default) is None]
    if missed:
        print(f"missed at the default: {', '.join(sorted(missed))}")


if __name__ == "__main__":
    main()
