"""img2dataset on a URL list, in its own process, for bench/images.py: prints one JSON line
with the images it saved, the seconds it took and the peak RSS of it and its workers.

    python bench/img2dataset_reference.py URLS_FILE OUTPUT_DIR --threads 16

Its defaults as a dataset builder uses them for a like-for-like fetch: files kept as served
(no resize, no re-encode), SHA-256 of each, EXIF read, `noai`-style headers honoured.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import threading
import time
from pathlib import Path

import psutil

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")


def tree_rss(process: psutil.Process) -> int:
    total = 0
    for proc in [process, *process.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            total += proc.memory_info().rss
    return total


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("urls", type=Path)
    parser.add_argument("output", type=Path)
    parser.add_argument("--threads", type=int, default=16)
    args = parser.parse_args()
    from img2dataset import download  # imported here: it is slow to import, and only this needs it

    peak, done = 0, threading.Event()
    me = psutil.Process()

    def sample() -> None:
        nonlocal peak
        while not done.wait(0.05):
            peak = max(peak, tree_rss(me))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    download(
        url_list=str(args.urls),
        output_folder=str(args.output),
        processes_count=1,
        thread_count=args.threads,
        resize_mode="no",
        skip_reencode=True,
        output_format="files",
        input_format="txt",
        compute_hash="sha256",
        extract_exif=True,
        timeout=10,
        retries=0,
        enable_wandb=False,
    )
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    saved = sum(1 for _ in args.output.rglob("*.jpg"))
    print(json.dumps({"images": saved, "seconds": seconds, "peak_rss": peak}))


if __name__ == "__main__":
    main()
