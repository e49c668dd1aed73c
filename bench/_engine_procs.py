"""bench/compare.py at several threads: each engine in its own worker process.

The parent starts `compare.py --worker ENGINE FOLDER` per engine (RemoteEngine);
the worker loads the engine once, builds the same inputs (inputs_for) and
answers JSON commands on stdin with one JSON line on stdout (serve): "time"
(one interleave() turn of this engine alone, its samples), "output" (saved to
a path, for the output check) and "quit". interleave_remote gives the workers
the turns interleave() gives engines in one process. cold_figures: import,
load and first call of one engine in a fresh process (every thread count).
"""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

import numpy as np

COMPARE = Path(__file__).resolve().parent / "compare.py"


class RemoteEngine:
    """An engine loaded in its own worker process (`compare.py --worker`):
    timed blocks and outputs on request, on the inputs both sides build the
    same way (inputs_for)."""

    def __init__(
        self,
        name: str,
        folder: Path,
        threads: int,
        batches: list[int],
        cmd: list[str] | None = None,
    ):
        """cmd: the worker's command line when it is not compare.py's (bench/precision.py
        starts its own workers); it must answer as serve() does."""
        self.name = name
        if cmd is None:
            cmd = [sys.executable, str(COMPARE), "--worker", name, str(folder)]
            cmd += ["--threads", str(threads), "--worker-batches", ",".join(map(str, batches))]
        self.proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1
        )
        self.xs_len = {b: b for b in batches}
        ready = self._reply()
        if "error" in ready:
            self.close()
            raise RuntimeError(ready["error"])

    def _reply(self) -> dict:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith("{"):
                return json.loads(line)
        raise RuntimeError(f"{self.name} worker exited ({self.proc.wait()})")

    def ask(self, **cmd: Any) -> dict:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()
        return self._reply()

    def run(self, x: np.ndarray) -> np.ndarray:
        """The output for the worker's input of len(x) rows (x itself is not sent)."""
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "out.npy")
            self.ask(op="output", batch=len(x), path=path)
            return np.load(path)

    def block(self, batch: int, inner: int, idle_s: float, settle_s: float) -> list[float]:
        """One interleave() turn of this engine in its process: the samples."""
        return self.ask(op="time", batch=batch, inner=inner, idle_s=idle_s, settle_s=settle_s)[
            "samples"
        ]

    def close(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(OSError, RuntimeError, ValueError):
                self.ask(op="quit")
            self.proc.wait(timeout=30)


def inputs_for(folder: Path, batches: list[int]) -> dict[int, np.ndarray]:
    """The bench input at each batch size (the same in every process)."""
    rows = np.load(folder / "input.npy")
    return {b: np.ascontiguousarray(np.resize(rows, (b, *rows.shape[1:]))) for b in batches}


def run_ns(pid: int) -> int | None:
    """Nanoseconds the process's threads have run on a CPU (/proc/PID/task/*/schedstat);
    None where that is not available."""
    total = 0
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return None
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            continue  # a thread that ended meanwhile
    return total


def wait_quiet(pids: list[int], window_s: float = 0.005, limit_s: float = 1.0) -> float:
    """Waits until the other engines' processes stop running: a pool that spins after
    its turn (onnxruntime's for tens of milliseconds, past the settle sleep) would
    otherwise hold one of a 2-vCPU host's cores during the next engine's turn, and
    that engine's threads would share the other one. Quiet: under 10 % of one core
    over window_s. Returns the seconds waited (limit_s at most)."""
    start = time.perf_counter()
    before = [run_ns(p) for p in pids]
    while time.perf_counter() - start < limit_s:
        time.sleep(window_s)
        after = [run_ns(p) for p in pids]
        busy = sum(a - b for a, b in zip(after, before) if a is not None and b is not None)
        if busy < 0.1 * window_s * 1e9:
            break
        before = after
    return time.perf_counter() - start


def interleave_remote(
    engines: dict[str, RemoteEngine],
    batch: int,
    rounds: int,
    inner: int,
    idle_s: float = 0.0,
    settle_s: float = 0.0,
) -> dict[str, list[float]]:
    """interleave() with each engine in its worker process: the same turns
    (order reversed each round), each block timed in its worker, each turn
    once the other workers have stopped running (wait_quiet)."""
    names = list(engines)
    samples: dict[str, list[float]] = {n: [] for n in names}
    for r in range(rounds):
        for n in names if r % 2 == 0 else names[::-1]:
            wait_quiet([e.proc.pid for m, e in engines.items() if m != n])
            samples[n] += engines[n].block(batch, inner, idle_s, settle_s)
    return samples


def serve(
    name: str,
    run: Callable[[np.ndarray], Any],
    xs: dict[int, np.ndarray],
    interleave: Callable[..., dict[str, list[float]]],
    out: TextIO,
) -> None:
    """The worker's side: reports ready, then answers commands until quit."""
    out.write(json.dumps({"ready": name}) + "\n")
    out.flush()
    for line in sys.stdin:
        cmd = json.loads(line)
        if cmd["op"] == "quit":
            reply: dict[str, Any] = {"bye": True}
        elif cmd["op"] == "output":
            np.save(cmd["path"], np.asarray(run(xs[cmd["batch"]])))
            reply = {"ok": True}
        else:
            x = xs[cmd["batch"]]
            s = interleave(
                {name: lambda x=x: run(x)},
                1,
                cmd["inner"],
                idle_s=cmd["idle_s"],
                settle_s=cmd["settle_s"],
            )
            reply = {"samples": s[name]}
        out.write(json.dumps(reply) + "\n")
        out.flush()
        if cmd["op"] == "quit":
            return


# -- cold figures: a fresh process per engine ---------------------------------------------
# Import, load, then the first call on an input prepared before the load (so it
# times the engine, not the first slicing of the input), then 20 more calls.
COLD_SNIPPET = r"""
import json, sys, time
import numpy as np
sys.path.insert(0, {here!r})
from compare import load_engine, peak_rss
t = time.perf_counter()
import {module}
import_s = time.perf_counter() - t
meta = json.loads(open({meta!r}).read())
x = np.load({inp!r})
x1 = np.ascontiguousarray(x[:1])  # the request, ready before the model loads
t = time.perf_counter()
eng = load_engine({engine!r}, __import__('pathlib').Path({folder!r}), meta, {threads}, [1, 32])
load_s = time.perf_counter() - t
t = time.perf_counter()
eng.run(x1)
first_s = time.perf_counter() - t
hot = []
for _ in range(20):
    t = time.perf_counter(); eng.run(x1); hot.append(time.perf_counter() - t)
eng.run(np.resize(x, (32,) + x.shape[1:]))
print(json.dumps(dict(import_s=import_s, load_s=load_s, first_s=first_s,
                      steady_s=sorted(hot)[len(hot) // 2], peak_rss_bytes=peak_rss())))
"""
MODULE_OF = {
    "tfjs-infer": "tfjs_infer",
    "onnxruntime": "onnxruntime",
    "LiteRT": "ai_edge_litert.interpreter",
}


def cold_figures(engine: str, folder: Path, threads: int, reps: int) -> dict | str:
    code = COLD_SNIPPET.format(
        here=str(COMPARE.parent),
        module=MODULE_OF[engine],
        meta=str(folder / "meta.json"),
        inp=str(folder / "input.npy"),
        engine=engine,
        folder=str(folder),
        threads=threads,
    )
    runs = []
    for _ in range(reps):
        p = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=900
        )
        if p.returncode != 0:
            return "failed: " + (p.stderr.strip().splitlines() or ["?"])[-1][:120]
        runs.append(json.loads(p.stdout.strip().splitlines()[-1]))
    return {k: statistics.median(r[k] for r in runs) for k in runs[0]}
