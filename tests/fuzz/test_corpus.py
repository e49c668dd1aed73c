"""Every past finding of the loader fuzzer, kept as a regression case.

Each folder of tests/fuzz/corpus holds a model (``files/``) and a
``case.json``: the entry to load, how (a path or its bytes), and what it
used to do (``found``: a hang inside libhdf5, or a non-tfjs_infer exception,
with the error it now gives in ``detail``). Each must now load or raise a
tfjs_infer error, within the deadline, in a worker process.
"""

from __future__ import annotations

from pathlib import Path

from harness import FAILURES, Pool, load_saved_case

CORPUS = Path(__file__).resolve().parent / "corpus"


def test_corpus_cases_load_or_raise_named_errors() -> None:
    folders = sorted(p for p in CORPUS.iterdir() if (p / "case.json").is_file())
    assert len(folders) >= 10
    cases = [(p.name, load_saved_case(p)) for p in folders]
    with Pool(workers=2, deadline=30.0) as pool:
        outcomes = {o.key: o for o in pool.run(cases)}
    assert set(outcomes) == {p.name for p in folders}
    failed = {k: f"{o.kind}: {o.detail}" for k, o in outcomes.items() if o.kind in FAILURES}
    assert not failed, failed
    # They are damaged files: none of them loads.
    assert all(o.kind in ("named", "skipped") for o in outcomes.values()), {
        k: o.kind for k, o in outcomes.items()
    }
