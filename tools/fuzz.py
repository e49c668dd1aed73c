#!/usr/bin/env python3
"""Long fuzzing run of the model loaders (the test suite runs a bounded one).

    python tools/fuzz.py --count 100000 --workers 2 --seed 7 --save tests/fuzz/corpus

Mutants of small fixtures of every format (tests/fuzz/mutate.py) are loaded
in persistent worker processes under a deadline and a memory limit
(tests/fuzz/harness.py). Any exception that is not a tfjs_infer error, a
crash, a hang or a MemoryError is a finding: it is printed and, with --save,
kept as a regression case (files + case.json) that tests/fuzz/test_corpus.py
runs from then on. Mutant i of seed s is reproducible: ``--seed s --start i
--count 1``.
"""

from __future__ import annotations

import argparse
import collections
import random
import sys
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests" / "fuzz"), str(ROOT / "tests")]

from harness import FAILURES, Pool, save_case  # noqa: E402
from mutate import Case, mutant, seed_cases  # noqa: E402

SEEDS = seed_cases()
NAMES = sorted(SEEDS)


def make_case(seed: int, index: int) -> tuple[tuple[int, str], Case]:
    """Mutant `index` of the sequence `seed` (round-robin over the seed models) and its key."""
    name = NAMES[index % len(NAMES)]
    return (index, name), mutant(SEEDS[name], random.Random(f"{seed}:{index}"))


def cases(seed: int, start: int, count: int) -> Iterator[tuple[tuple[int, str], Case]]:
    """(key, case) for mutants start..start+count-1 of `seed`, made as the workers need them."""
    for i in range(start, start + count):
        yield make_case(seed, i)


def main(argv: list[str] | None = None) -> int:
    """Run the fuzzer; exit status 1 when there were findings."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--count", type=int, default=10_000, help="mutants to run")
    p.add_argument("--start", type=int, default=0, help="index of the first mutant")
    p.add_argument("--seed", type=int, default=1, help="seed of the mutant sequence")
    p.add_argument("--workers", type=int, default=2, help="worker processes")
    p.add_argument("--deadline", type=float, default=20.0, help="seconds allowed per mutant")
    p.add_argument("--save", type=Path, default=None, help="folder to keep findings in")
    args = p.parse_args(argv)

    tally: collections.Counter = collections.Counter()
    findings = 0
    start = time.perf_counter()
    with Pool(workers=args.workers, deadline=args.deadline) as pool:
        for outcome in pool.run(cases(args.seed, args.start, args.count)):
            tally[outcome.kind] += 1
            if outcome.kind in FAILURES or "MemoryError" in outcome.detail:
                findings += 1
                index, seed_name = outcome.key
                print(f"\n== {outcome.kind}: mutant {index} of {seed_name} (seed {args.seed})")
                print(outcome.detail)
                if args.save is not None:
                    folder = args.save / f"s{args.seed}_{index}_{seed_name}_{outcome.kind}"
                    save_case(make_case(args.seed, index)[1], folder, outcome)
            done = sum(tally.values())
            if done % 500 == 0:
                print(f"{done} mutants, {time.perf_counter() - start:.0f} s: {dict(tally)}")
    elapsed = time.perf_counter() - start
    print(f"{sum(tally.values())} mutants in {elapsed:.1f} s: {dict(tally)}; findings: {findings}")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
