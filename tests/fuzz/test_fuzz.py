"""The loader fuzzer, bounded: 2,400 structural mutants of small fixtures of
every format (tests/fuzz/mutate.py), loaded in two persistent worker
processes, each mutant under a 20 s deadline and each worker under a 3 GiB
address-space limit (tests/fuzz/harness.py). A non-tfjs_infer exception, a
crash, a hang or a MemoryError fails the test, which prints how to rerun the
mutant (tools/fuzz.py runs the long version and keeps findings as
tests/fuzz/corpus cases). About 40 s on 2 idle cores.
"""

from __future__ import annotations

import collections
import random
import time

from harness import FAILURES, Pool
from mutate import mutant, seed_cases

SEED = 20261206
COUNT = 2400


def test_fuzzed_models_load_or_raise_named_errors() -> None:
    seeds = seed_cases()
    names = sorted(seeds)

    def cases():  # generated lazily: mutant i of seed s is Random(f"{s}:{i}")
        for i in range(COUNT):
            name = names[i % len(names)]
            yield (i, name), mutant(seeds[name], random.Random(f"{SEED}:{i}"))

    tally: collections.Counter[str] = collections.Counter()
    findings = []
    start = time.monotonic()
    with Pool(workers=2, deadline=20.0) as pool:
        for outcome in pool.run(cases()):
            tally[outcome.kind] += 1
            if outcome.kind in FAILURES or "MemoryError" in outcome.detail:
                index, name = outcome.key
                findings.append(
                    f"{outcome.kind} on mutant {index} of {name}: rerun with "
                    f"`python tools/fuzz.py --seed {SEED} --start {index} --count 1`\n"
                    f"{outcome.detail}"
                )
    print(f"{sum(tally.values())} mutants in {time.monotonic() - start:.1f} s: {dict(tally)}")
    assert not findings, "\n\n".join(findings[:5])
    assert sum(tally.values()) == COUNT
    # The mutants reach past the readers: some still load, most are refused by name.
    assert tally["ok"] > COUNT // 20 and tally["named"] > COUNT // 2, dict(tally)
