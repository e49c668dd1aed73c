"""A/B of two builds of the package on the bench models, for changes that have
no switch (a kernel rewritten to give the same bits).

    python bench/build_ab.py --snapshot /tmp/old          # before the change
    (rebuild)
    python bench/build_ab.py --old /tmp/old --new /tmp/new --snapshot /tmp/new \
        [--models lstm] [--batch 32] [--threads 1] [--rounds 8] [--seconds 1.5] \
        [--precision bf16]

--snapshot DIR copies the package as now installed (python/tfjs_infer and the
_core extension it imports) into DIR/tfjs_infer and, without --old, stops.
Each round then starts one fresh process per build (the order reversed each
round) that imports DIR/tfjs_infer with no site hooks (`python -S`: the
editable install's finder would pick the worktree's build), loads the model,
times predict for --seconds and reports its median and the output's digest.
Prints per build the median over rounds, its ratio to --old's and every
sample, whether the outputs are bitwise equal, the command, the CPU model and
the load average. Thread CPU time at one thread, wall time at several.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
from _harness import TIMED_PREDICT_CHILD, run_header

HERE = Path(__file__).resolve().parent

CHILD = (
    r"""
import sys
sys.path.insert(0, sys.argv[1])
sys.path.extend(sys.argv[7].split(":"))
import hashlib, json, time
import numpy as np
import tfjs_infer
assert tfjs_infer.__file__.startswith(sys.argv[1]), tfjs_infer.__file__
folder, batch, threads = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
seconds = float(sys.argv[5])
rows = np.load(folder + "/input.npy")
x = np.ascontiguousarray(np.resize(rows, (batch, *rows.shape[1:])))
model = tfjs_infer.load_model(folder + "/tfjs/model.json", num_threads=threads,
                             precision=sys.argv[6])
"""
    + TIMED_PREDICT_CHILD
)


def snapshot(dest: Path) -> None:
    """The installed package (its Python files and the extension it imports) into dest."""
    import tfjs_infer
    from tfjs_infer import _core

    pkg = dest / "tfjs_infer"
    if pkg.exists():
        shutil.rmtree(pkg)
    shutil.copytree(Path(tfjs_infer.__file__).parent, pkg, ignore=shutil.ignore_patterns("*.so"))
    shutil.copy2(_core.__file__, pkg / Path(_core.__file__).name)
    print(f"snapshot of {Path(_core.__file__)} in {pkg}")


def one_sample(build: Path, model: str, args: argparse.Namespace) -> dict:
    paths = ":".join(p for p in sys.path if p.endswith("site-packages"))  # numpy
    cmd = [sys.executable, "-S", "-c", CHILD, str(build), str(HERE / ".models" / model)]
    cmd += [str(args.batch), str(args.threads), str(args.seconds), args.precision, paths]
    return json.loads(subprocess.check_output(cmd, text=True).strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--snapshot", type=Path, help="copy the installed package here first")
    ap.add_argument("--old", type=Path)
    ap.add_argument("--new", type=Path)
    ap.add_argument("--models", default="lstm")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=1.5)
    ap.add_argument("--precision", default="fp32", help="load_model's precision")
    args = ap.parse_args()
    if args.snapshot:
        snapshot(args.snapshot)
    if not args.old:
        return
    if not args.new:
        sys.exit("--old needs --new")
    run_header("build_ab.py")
    clock = "thread CPU time" if args.threads == 1 else "wall time"
    print(f"{args.threads} thread(s), batch {args.batch}, {clock}, medians of per-process medians")
    builds = {"old": args.old, "new": args.new}
    for model in args.models.split(","):
        times: dict[str, list[float]] = {k: [] for k in builds}
        digests: set[str] = set()
        for r in range(args.rounds):
            for name in list(builds)[:: 1 if r % 2 == 0 else -1]:
                s = one_sample(builds[name], model, args)
                times[name].append(s["median"] * 1e3)
                digests.add(s["digest"])
        same = "outputs bitwise equal" if len(digests) == 1 else "OUTPUTS DIFFER"
        print(f"{model} ({same}):")
        base = float(np.median(times["old"]))
        for name, t in times.items():
            med = float(np.median(t))
            samples = " ".join(f"{v:.3f}" for v in t)
            print(f"  {name} {builds[name]!s:30s} {med:8.3f} ms {med / base:6.3f}  [{samples}]")
    print(f"load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
