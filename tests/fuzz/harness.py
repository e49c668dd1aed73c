"""Runs load_model on fuzz cases in persistent child processes, each case
under a deadline and every worker under a memory limit.

A worker imports tfjs_infer once, then loops: it receives a case, writes its
files into a fresh folder, calls ``load_model`` (which compiles the model and
runs a warm-up prediction) and reports one of

- ``ok``: the model loaded;
- ``named``: a ``tfjs_infer`` error (its class and message);
- ``bad``: any other exception, with its traceback (a finding);
- ``skipped``: the case cannot be written on this system (symlinks on Windows);

The parent records ``hang`` when a case passes its deadline (the worker is
killed and replaced) and ``crash`` when a worker dies (a signal, an abort, or
the kernel killing it for memory). ``bad``, ``hang`` and ``crash`` are
failures, as is a MemoryError (a declared size that escaped the checks).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from mutate import Case, Symlink

FAILURES = ("bad", "hang", "crash")
MEMORY_LIMIT = 3 << 30  # bytes of address space per worker (Linux)


@dataclass
class Outcome:
    """What one case gave: `kind` (ok, named, bad, hang, crash) and details."""

    key: Any
    kind: str
    detail: str
    seconds: float


def write_case(case: Case, folder: Path) -> Path:
    """Write the case's files into `folder`; return the path of its entry."""
    for name, data in case.files.items():
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, Symlink):
            os.symlink(data.target, target)
        else:
            target.write_bytes(data)
    return folder / case.entry


def run_case(case: Case, folder: Path) -> tuple[str, str]:
    """Load one case in this process: (kind, detail) as the module docstring says."""
    import tfjs_infer as ti

    try:
        entry = write_case(case, folder)
    except OSError as exc:  # e.g. symlinks without the privilege (Windows)
        return "skipped", f"cannot write the case here: {exc}"
    try:
        source: Any = entry.read_bytes() if case.mode == "bytes" else entry
        ti.load_model(source, num_threads=1)
    except ti.TfjsInferError as exc:
        message = str(exc)
        if not message.strip():
            return "bad", f"{type(exc).__name__} with an empty message"
        return "named", f"{type(exc).__name__}: {message[:400]}"
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt):
            raise
        return "bad", "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))[-3000:]
    return "ok", ""


def _limit_memory(limit: int) -> None:
    try:
        import resource
    except ImportError:  # not on Windows
        return
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _worker(conn: Connection, paths: list[str], memory_limit: int) -> None:
    sys.path[:0] = paths
    _limit_memory(memory_limit)
    os.environ["TFJS_INFER_PROGRESS"] = "never"
    import warnings

    warnings.simplefilter("ignore")
    import tfjs_infer  # noqa: F401 - imported once, before the first deadline

    conn.send("ready")
    base = Path(tempfile.mkdtemp(prefix="tfjs_infer_fuzz_"))
    n = 0
    try:
        while True:
            message = conn.recv()
            if message is None:
                return
            key, case = message
            n += 1
            folder = base / str(n)
            folder.mkdir()
            start = time.perf_counter()
            kind, detail = run_case(case, folder)
            conn.send((key, kind, detail, time.perf_counter() - start))
            shutil.rmtree(folder, ignore_errors=True)
    finally:
        shutil.rmtree(base, ignore_errors=True)


class _Worker:
    def __init__(self, ctx: Any, memory_limit: int) -> None:
        self.conn, child = ctx.Pipe()
        paths = [str(Path(__file__).resolve().parent)]
        self.proc = ctx.Process(target=_worker, args=(child, paths, memory_limit), daemon=True)
        self.proc.start()
        child.close()
        self.ready = False
        self.job: tuple[Any, Case, float] | None = None  # key, case, deadline

    def kill(self) -> None:
        self.proc.kill()
        self.proc.join(timeout=10)
        self.conn.close()


class Pool:
    """Persistent workers running cases under per-case deadlines (see the module docstring)."""

    def __init__(
        self,
        workers: int = 2,
        deadline: float = 20.0,
        memory_limit: int = MEMORY_LIMIT,
        start_timeout: float = 60.0,
    ) -> None:
        self.ctx = mp.get_context("spawn")  # no fork of a threaded parent
        self.deadline = deadline
        self.start_timeout = start_timeout
        self.memory_limit = memory_limit
        self.workers = [_Worker(self.ctx, memory_limit) for _ in range(workers)]

    def run(self, cases: Iterable[tuple[Any, Case]]) -> Iterator[Outcome]:
        """Run every (key, case); yield an Outcome per case as they finish."""
        pending = iter(cases)
        exhausted = False
        while True:
            for _i, w in enumerate(self.workers):
                if w.job is None and w.ready and not exhausted:
                    item = next(pending, None)
                    if item is None:
                        exhausted = True
                    else:
                        w.conn.send(item)
                        w.job = (item[0], item[1], time.monotonic() + self.deadline)
                if not w.ready and w.job is None:
                    w.job = (None, Case({}, ""), time.monotonic() + self.start_timeout)
            if exhausted and all(w.job is None for w in self.workers):
                return
            yield from self._collect()

    def _collect(self) -> Iterator[Outcome]:
        conns = [w.conn for w in self.workers if w.job is not None]
        mp.connection.wait(conns, timeout=0.05)
        now = time.monotonic()
        for i, w in enumerate(self.workers):
            if w.job is None:
                continue
            key, case, deadline = w.job
            try:
                message = w.conn.recv() if w.conn.poll() else None
            except (EOFError, OSError):
                message = EOFError
            if message == "ready":
                w.ready, w.job = True, None
            elif isinstance(message, tuple):
                w.job = None
                yield Outcome(message[0], message[1], message[2], message[3])
            elif message is EOFError or not w.proc.is_alive() or now > deadline:
                hung = message is not EOFError and w.proc.is_alive()
                w.kill()
                code = w.proc.exitcode
                self.workers[i] = _Worker(self.ctx, self.memory_limit)
                if key is None:
                    raise RuntimeError(f"a fuzz worker failed to start (exit code {code})")
                kind = "hang" if hung else "crash"
                detail = (
                    f"no answer within {self.deadline:g} s"
                    if hung
                    else f"the worker died (exit code {code})"
                )
                yield Outcome(key, kind, detail + f"; case: {case.entry} {case.notes}", 0.0)

    def close(self) -> None:
        for w in self.workers:
            try:
                if w.ready and w.job is None:
                    w.conn.send(None)
                w.proc.join(timeout=5)
            except OSError:
                pass
            if w.proc.is_alive():
                w.kill()

    def __enter__(self) -> Pool:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def save_case(case: Case, folder: Path, outcome: Outcome) -> None:
    """Keep a failing case as a regression case: its files and a case.json."""
    import json

    folder.mkdir(parents=True, exist_ok=True)
    write_case(case, folder / "files")
    meta = {"entry": case.entry, "mode": case.mode, "found": outcome.kind, "notes": case.notes}
    meta["detail"] = outcome.detail.splitlines()[-1][:300] if outcome.detail else ""
    (folder / "case.json").write_text(json.dumps(meta, indent=1) + "\n")


def load_saved_case(folder: Path) -> Case:
    """A case kept by save_case (symlinks come back as Symlink)."""
    import json

    meta = json.loads((folder / "case.json").read_text())
    files: dict[str, Any] = {}
    root = folder / "files"
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root).as_posix()
        if p.is_symlink():
            files[rel] = Symlink(os.readlink(p))
        elif p.is_file():
            files[rel] = p.read_bytes()
    return Case(files, meta["entry"], meta.get("mode", "path"), meta.get("notes", []))


__all__ = ["FAILURES", "Outcome", "Pool", "load_saved_case", "run_case", "save_case", "write_case"]
