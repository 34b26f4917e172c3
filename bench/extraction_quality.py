"""Main-content quality and speed: Trawl's extractor beside bare trafilatura on labelled pages.

    python -m bench.extraction_quality [--pages tests/fixtures/extraction] [--repeat 3] [--show-worst 5]

The pages (`pages.tsv`: file, subset, layout, language, bytes, url) are split into subsets
("articles", "multilingual"); each has a gold main text under `gold/` (the body a reader would
call the article, post or product description: paragraphs, lists, table cells, code; without
the page title, navigation, comments, related links, banners). Trawl is run exactly as
`trawl extract` runs it (the `text` field); trafilatura as `trafilatura.extract(bytes)` with
its defaults, the way a user would call it bare.

The score is shingle F1, as in the published article-extraction benchmarks: text is
lower-cased and split into word tokens (runs of letters and digits; punctuation dropped),
except that scripts written without spaces (Han, Hiragana, Katakana, Thai, ...) count each
character as a token, so Chinese and Japanese are scored by character 4-grams. Shingles are
runs of 4 consecutive tokens (a text shorter than that is one shingle), compared as
multisets: precision is the share of the output's shingles found in the gold (each gold
shingle matching at most as often as it occurs there), recall the share of the gold's
shingles found in the output. An empty output scores 0 on all three. Figures are means over
pages. Speed is pages per CPU second of extraction alone (files already read; CPU time, so
that other work on the machine does not count), the best of `--repeat` interleaved runs.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import re
import statistics
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import trafilatura

from trawl.extract import extract_bytes

PAGES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "extraction"
SHINGLE = 4
_WORD = re.compile(r"\w+")
# Scripts without spaces between words: each character is a token.
_UNSPACED = re.compile(
    r"[\u0e00-\u0e7f\u0e80-\u0eff\u1000-\u109f\u1780-\u17ff\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff"
    r"\uf900-\ufaff\uff66-\uff9f]"
)


def tokens(text: str) -> list[str]:
    found: list[str] = []
    for word in _WORD.findall(text.lower()):
        if _UNSPACED.search(word):
            # Latin runs inside (numbers, names) stay whole; unspaced characters go one by one.
            found.extend(piece for piece in re.split(f"({_UNSPACED.pattern})", word) if piece)
        else:
            found.append(word)
    return found


def shingles(text: str) -> Counter[tuple[str, ...]]:
    words = tokens(text)
    if len(words) < SHINGLE:
        return Counter([tuple(words)]) if words else Counter()
    return Counter(tuple(words[i : i + SHINGLE]) for i in range(len(words) - SHINGLE + 1))


@dataclass(frozen=True)
class Score:
    precision: float
    recall: float

    @property
    def f1(self) -> float:
        total = self.precision + self.recall
        return 2 * self.precision * self.recall / total if total else 0.0


def score(output: str, gold: str) -> Score:
    predicted, expected = shingles(output), shingles(gold)
    if not predicted or not expected:
        return Score(0.0, 0.0) if predicted or expected else Score(1.0, 1.0)
    common = sum((predicted & expected).values())
    return Score(common / sum(predicted.values()), common / sum(expected.values()))


@dataclass(frozen=True)
class Page:
    name: str
    subset: str
    url: str
    data: bytes
    gold: str


def load_pages(root: Path) -> list[Page]:
    pages = []
    with (root / "pages.tsv").open(newline="") as listing:
        for row in csv.DictReader(listing, delimiter="\t"):
            data = (root / "pages" / row["file"]).read_bytes()
            if row["file"].endswith(".gz"):
                data = gzip.decompress(data)
            name = row["file"].removesuffix(".gz").removesuffix(".html")
            gold = (root / "gold" / f"{name}.txt").read_text()
            pages.append(Page(name, row["subset"], row["url"], data, gold))
    return pages


Extractor = Callable[[Page], str]


def trawl_text(page: Page) -> str:
    return str(extract_bytes(page.data, page.url, name=page.name + ".html")["text"])


def trafilatura_text(page: Page) -> str:
    return trafilatura.extract(page.data, url=page.url) or ""


@dataclass(frozen=True)
class Result:
    scores: dict[str, Score]
    pages_per_second: float
    crashes: int

    def mean(self, field: str) -> float:
        return statistics.fmean(getattr(score, field) for score in self.scores.values())

    @property
    def empty(self) -> int:
        return sum(1 for score in self.scores.values() if score.precision == 0 and score.recall == 0)


def run(extractor: Extractor, pages: Sequence[Page]) -> tuple[dict[str, str], set[str], float]:
    """Outputs, the pages whose extraction raised, and the CPU seconds taken."""
    outputs: dict[str, str] = {}
    crashed: set[str] = set()
    started = time.process_time()
    for page in pages:
        try:
            outputs[page.name] = extractor(page)
        except Exception:  # a crash is an empty output, and counted
            outputs[page.name] = ""
            crashed.add(page.name)
    return outputs, crashed, time.process_time() - started


def compare(extractors: dict[str, Extractor], pages: Sequence[Page], repeat: int) -> dict[str, Result]:
    """Each extractor on the same pages, runs interleaved so that a busy machine slows all alike;
    the fastest run of each counts."""
    best = dict.fromkeys(extractors, float("inf"))
    outputs: dict[str, dict[str, str]] = {}
    crashed: dict[str, set[str]] = {}
    for _ in range(repeat):
        for name, extractor in extractors.items():
            outputs[name], crashed[name], seconds = run(extractor, pages)
            best[name] = min(best[name], seconds)
    return {
        name: Result(
            {page.name: score(outputs[name][page.name], page.gold) for page in pages},
            len(pages) / best[name],
            len(crashed[name]),
        )
        for name in extractors
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pages", type=Path, default=PAGES)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--show-worst", type=int, default=0, help="the N pages where Trawl scores lowest")
    args = parser.parse_args()
    pages = load_pages(args.pages)
    columns = ("pages", "F1", "P", "R", "empty", "crash", "pages/s")
    print(f"{'subset':<13} {'extractor':<12} " + " ".join(f"{column:>7}" for column in columns))
    for subset in sorted({page.subset for page in pages}):
        chosen = [page for page in pages if page.subset == subset]
        results = compare({"trawl": trawl_text, "trafilatura": trafilatura_text}, chosen, args.repeat)
        for name, result in results.items():
            print(
                f"{subset:<13} {name:<12} {len(chosen):>7} {result.mean('f1'):>7.3f}"
                f" {result.mean('precision'):>7.3f} {result.mean('recall'):>7.3f} {result.empty:>7}"
                f" {result.crashes:>7} {result.pages_per_second:>7.1f}"
            )
        speed = results["trawl"].pages_per_second / results["trafilatura"].pages_per_second
        print(f"{subset:<13} speed: Trawl at {speed:.2f}x bare trafilatura")
        if args.show_worst:
            trawl, bare = results["trawl"].scores, results["trafilatura"].scores
            for name in sorted(trawl, key=lambda name: trawl[name].f1)[: args.show_worst]:
                print(f"  {name:<36} trawl {trawl[name].f1:.3f}  trafilatura {bare[name].f1:.3f}")


if __name__ == "__main__":
    main()
