"""`make chaos`: the whole system under faults (see tests/chaos/harness.py).

    python -m tests.chaos [--pages 1000] [--kills 20] [--restarts kafka,postgres,s3] [--poisons 3]
                          [--seed 18] [--no-baseline] [--keep DIR]

Prints the table; exits 1 when a line is off."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
import time
from pathlib import Path

from tests.chaos.harness import Plan, chaos_run, table


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument(
        "--restarts", default="kafka,postgres,s3", help="pieces of the stack restarted once each"
    )
    parser.add_argument("--poisons", type=int, default=3, choices=range(4))
    parser.add_argument("--seed", type=int, default=18)
    parser.add_argument("--no-baseline", action="store_true", help="skip the run without faults")
    parser.add_argument("--keep", type=Path, default=None, help="work here (logs kept) instead of a temp dir")
    args = parser.parse_args()
    plan = Plan(
        pages=args.pages,
        kills=args.kills,
        restarts=tuple(piece for piece in args.restarts.split(",") if piece),
        poisons=args.poisons,
        seed=args.seed,
        baseline=not args.no_baseline,
    )
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)  # the broker's restart, seen by our clients
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="trawl-chaos-") as temporary:
        workdir = args.keep or Path(temporary)
        report = asyncio.run(chaos_run(plan, workdir))
        text, ok = table(report)
    print(text)
    print(f"chaos run: {time.monotonic() - began:.0f} s in all; {'every line holds' if ok else 'LINES OFF'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
