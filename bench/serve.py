"""``tfjs-infer serve`` under load: latency and throughput beside in-process predict.

    python bench/serve.py [--models digits,mobilenet_v2] [--concurrency 1,8,64]
                          [--seconds 3] [--models-dir bench/.models]

For each model, a real server subprocess per batching mode (on: the default
``--max-batch-size 64`` or this script's ``--max-batch-size``; off: 1), and for each protocol
(TF Serving REST with JSON rows, OIP v2 with binary tensors; OIP v2 with JSON tensors as
``--protocols v2-json``) and each
concurrency, an asyncio load generator keeps that many keep-alive
connections busy with one-row requests. After a warm-up (until every client
has had an answer, at least 0.5 s) it measures for ``--seconds``: p50/p99
latency of the requests sent in that window, throughput (the answers that
arrive in it), and the server's own time per request from the
``Server-Timing`` header the server writes: from the request's first bytes
reaching the server (its HTTP protocol stamps their arrival, before uvicorn
parses them) to the answer's write (handing uvicorn the answer, or, for an
answer given inside the HTTP protocol's callback, building its bytes), minus
the compute of the request's batch; it includes uvicorn's parsing, reading the body, parsing,
queueing and the hand-off to a pool thread and back ("handoff", which a
loaded machine stretches). "loop cpu" is the event-loop thread's CPU time
per answered request over the window (from /proc): everything the server
does per request, uvicorn's HTTP parsing and writing included. In-process
``Model.predict`` at batch 1, 8 and 64 is timed in the same run, before and
after each model's server rounds (medians), and batch 64 again just before
and after each measured point: the "x b64" ratio divides the point's
requests per second (one row each) by the mean of those two. "probe" is
:func:`cpu_probe` just before and after each point: the thread CPU time of
a fixed pure-Python loop, which tells the host's slow phases (the same
Python work taking up to 2.5x the CPU time, for minutes) from a regression.

The load generator is a few lines of asyncio over raw sockets with prebuilt
request bytes (no HTTP library in the loop), so that it costs little; it
still shares this machine's CPUs with the server: read the figures with the
core count and load average printed in the header. MobileNetV2 comes from
bench/make_bench_models.py (``<models-dir>/mobilenet_v2/tfjs/model.json``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from _harness import header

import tfjs_infer

HERE = Path(__file__).resolve().parent
_TIMING = re.compile(
    rb"server-timing: compute;dur=([0-9.]+), server;dur=([0-9.]+), handoff;dur=([0-9.]+)", re.I
)


@dataclass
class Point:
    """One measured configuration."""

    p50_ms: float
    p99_ms: float
    rps: float
    server_us: float  # median of the server's own time per request
    handoff_us: float  # median of its part spent handing work to a pool thread and back
    errors: int
    loop_cpu_us: float = float("nan")  # event-loop thread CPU time per request
    b64_rows_s: float = float("nan")  # in-process batch-64 predict, just before and after
    probe_us: float = float("nan")  # cpu_probe() just before and after (mean)
    probes: tuple[float, float] = (float("nan"), float("nan"))  # (before, after)

    def note_probes(self, before: float, after: float) -> None:
        """Keep cpu_probe()'s readings before and after the point (a phase can change
        during it: then they differ by up to 2x)."""
        self.probes = (before, after)
        self.probe_us = (before + after) / 2


def _probe_work(rounds: int) -> int:
    """Pure-Python work like a request handler's: dict reads and writes, calls,
    small tuples, attribute-free arithmetic."""
    seen: dict[int, tuple[int, int]] = {}
    total = 0
    for i in range(rounds):
        key = i & 63
        seen[key] = (i, key)
        total += len(seen.get(i & 31, ())) + abs(key - 32)
    return total


def cpu_probe(repeats: int = 9) -> float:
    """The host's phase: microseconds of this thread's CPU time that a fixed
    pure-Python loop takes (median of `repeats`, ~0.3 ms each). On a shared VM
    the same Python work takes 1.5-2.5x the CPU time in some minutes than in
    others (not other processes' load: their time is not this thread's); a
    server figure read beside a high probe is a slow phase, not a regression.
    Compare figures as ratios to their probe, or only those with like probes."""
    _probe_work(200)  # warm
    times = []
    for _ in range(repeats):
        start = time.thread_time_ns()
        _probe_work(1000)
        times.append(time.thread_time_ns() - start)
    return statistics.median(times) / 1e3


def loop_cpu_s(pid: int) -> float:
    """CPU seconds of a process's main thread (the server's event loop)."""
    fields = Path(f"/proc/{pid}/task/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def model_path(name: str, models_dir: Path) -> Path:
    if name == "digits":
        return tfjs_infer.examples.digits_path()
    return models_dir / name / "tfjs" / "model.json"


def sample_row(model: tfjs_infer.Model) -> np.ndarray:
    spec = model.inputs[0]
    rng = np.random.default_rng(0)
    return rng.standard_normal((1, *spec.shape[1:])).astype(np.float32)


def build_requests(name: str, model: tfjs_infer.Model, x: np.ndarray) -> dict[str, bytes]:
    """The exact bytes of one request per protocol (sent again and again)."""
    v1 = json.dumps({"instances": x.tolist()}).encode()
    inp = model.inputs[0].name
    tensor = {"name": inp, "shape": list(x.shape), "datatype": "FP32"}
    tensor["parameters"] = {"binary_data_size": x.nbytes}
    head = json.dumps({"inputs": [tensor], "parameters": {"binary_data_output": True}}).encode()
    v2 = head + x.tobytes()
    data = {"name": inp, "shape": list(x.shape), "datatype": "FP32", "data": x.ravel().tolist()}
    v2_json = json.dumps({"inputs": [data]}).encode()

    def post(path: str, body: bytes, extra: str = "") -> bytes:
        lines = f"POST {path} HTTP/1.1\r\nHost: bench\r\nContent-Length: {len(body)}\r\n{extra}\r\n"
        return lines.encode() + body

    return {
        "v1-json": post(f"/v1/models/{name}:predict", v1, "Content-Type: application/json\r\n"),
        "v2-binary": post(
            f"/v2/models/{name}/infer", v2, f"Inference-Header-Content-Length: {len(head)}\r\n"
        ),
        "v2-json": post(f"/v2/models/{name}/infer", v2_json, "Content-Type: application/json\r\n"),
    }


async def _read_answer(reader: asyncio.StreamReader) -> tuple[int, bytes, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    length = int(re.search(rb"\ncontent-length: (\d+)", head, re.I).group(1))  # type: ignore[union-attr]
    return int(head[9:12]), head, await reader.readexactly(length)


async def load(port: int, request: bytes, clients: int, seconds: float, pid: int) -> Point:
    """`clients` connections, each sending `request` back to back to the server
    (process `pid`: its event-loop thread's CPU time is read over the window).

    Warm-up lasts until every client has had an answer (a big model's first
    batches) and at least 0.5 s; then the measured window is `seconds` long.
    Throughput counts the answers that arrive inside the window (an answer to
    a request sent before the window closes but answered after it is not
    counted: with batching, many arrive at once); latencies are those of the
    requests sent inside the window.
    """
    cpu: list[float] = []
    latencies: list[float] = []
    own: list[float] = []
    handoff: list[float] = []
    answered_at: list[float] = []
    errors = 0
    answered_once: set[int] = set()
    began = time.perf_counter()
    window: list[float] = []  # [start, end] once every client has warmed up
    all_warm = asyncio.Event()

    async def client(number: int) -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while True:
                start = time.perf_counter()
                if window and start >= window[1]:
                    return
                writer.write(request)
                status, head, _ = await _read_answer(reader)
                end = time.perf_counter()
                if not window:
                    answered_once.add(number)
                    if len(answered_once) == clients:
                        all_warm.set()
                    continue
                answered_at.append(end)
                if start < window[0]:
                    continue
                latencies.append(end - start)
                if status != 200:
                    errors += 1
                m = _TIMING.search(head)
                if m:
                    own.append(float(m.group(2)) * 1e3)
                    handoff.append(float(m.group(3)) * 1e3)
        finally:
            writer.close()

    async def open_window() -> None:
        await all_warm.wait()
        await asyncio.sleep(max(0.0, began + 0.5 - time.perf_counter()))
        cpu.append(loop_cpu_s(pid))
        now = time.perf_counter()
        window.extend([now, now + seconds])
        await asyncio.sleep(seconds)
        cpu.append(loop_cpu_s(pid))

    await asyncio.gather(open_window(), *(client(i) for i in range(clients)))
    arr = np.array(latencies)
    inside = sum(1 for t in answered_at if window[0] <= t <= window[1])
    nan = float("nan")  # no request both sent and answered in the window (a stalled machine)
    return Point(
        p50_ms=float(np.percentile(arr, 50)) * 1e3 if arr.size else nan,
        p99_ms=float(np.percentile(arr, 99)) * 1e3 if arr.size else nan,
        rps=inside / seconds,
        server_us=statistics.median(own) if own else float("nan"),
        handoff_us=statistics.median(handoff) if handoff else float("nan"),
        errors=errors,
        loop_cpu_us=(cpu[1] - cpu[0]) / max(1, inside) * 1e6,
    )


async def check_answer(port: int, request: bytes, protocol: str, want: np.ndarray) -> None:
    """One request: the server's answer must be bitwise in-process predict."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    status, head, body = await _read_answer(reader)
    writer.close()
    assert status == 200, body[:300]
    if protocol == "v1-json":
        got = np.asarray(json.loads(body)["predictions"], dtype=np.float32)
    elif protocol == "v2-json":
        got = np.asarray(json.loads(body)["outputs"][0]["data"], dtype=np.float32)
        got = got.reshape(want.shape)
    else:
        n = int(re.search(rb"inference-header-content-length: (\d+)", head, re.I).group(1))  # type: ignore[union-attr]
        got = np.frombuffer(body[n:], dtype="<f4").reshape(want.shape)
    assert got.shape == want.shape and (got.view(np.uint32) == want.view(np.uint32)).all(), (
        "the server's answer differs from in-process predict"
    )


def in_process(
    model: tfjs_infer.Model, x: np.ndarray, batch: int, seconds: float, min_calls: int = 3
) -> float:
    """Rows per second of model.predict on `batch` rows (median call time)."""
    xb = np.ascontiguousarray(np.repeat(x, batch, axis=0))
    model.predict(xb)
    times: list[float] = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline or len(times) < min_calls:
        t = time.perf_counter()
        model.predict(xb)
        times.append(time.perf_counter() - t)
    return batch / statistics.median(times)


def start_server(
    path: Path,
    name: str,
    batching: bool,
    max_batch_size: int,
    log: Path,
    options: list[str] | None = None,
) -> tuple[subprocess.Popen[bytes], int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [
        sys.executable,
        "-m",
        "tfjs_infer",
        "serve",
        str(path),
        "--name",
        name,
        "--port",
        str(port),
    ]
    cmd += ["--max-batch-size", str(max_batch_size) if batching else "1", *(options or [])]
    with log.open("ab") as sink:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=sink)
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return proc, port
        except OSError:
            if proc.poll() is not None:
                raise SystemExit(f"server failed to start; see {log}") from None
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("server did not start in 120 s")


def bench_model(name: str, args: argparse.Namespace, log: Path) -> list[str]:
    path = model_path(name, args.models_dir)
    if not path.exists():
        return [f"{name}: {path} missing (run bench/make_bench_models.py); skipped"]
    model = tfjs_infer.load_model(path)
    x = sample_row(model)
    want = model.predict(x)
    requests = build_requests(name, model, x)
    inproc: dict[int, list[float]] = {b: [] for b in (1, 8, 64)}

    def time_in_process() -> None:
        for b in inproc:
            inproc[b].append(in_process(model, x, b, args.inproc_seconds))

    time_in_process()
    rows: list[tuple[str, str, int, Point]] = []
    for batching in [b == "on" for b in args.batching.split(",")]:
        proc, port = start_server(path, name, batching, args.max_batch_size, log)
        try:
            for protocol in args.protocols.split(","):
                request = requests[protocol]
                asyncio.run(check_answer(port, request, protocol, want))
                for c in args.concurrency:
                    seconds = args.seconds
                    before = in_process(model, x, 64, 0.2, min_calls=2)
                    probe = cpu_probe()
                    point = asyncio.run(load(port, request, c, seconds, proc.pid))
                    point.note_probes(probe, cpu_probe())
                    after = in_process(model, x, 64, 0.2, min_calls=2)
                    point.b64_rows_s = (before + after) / 2
                    rows.append(("on" if batching else "off", protocol, c, point))
                    print(
                        f"  {name} batching {rows[-1][0]:3s} {protocol:9s} c={c:<3d} "
                        f"p50 {point.p50_ms:8.3f} ms  p99 {point.p99_ms:8.3f} ms  "
                        f"{point.rps:9.1f} req/s  server {point.server_us:7.1f} us "
                        f"(handoff {point.handoff_us:.1f})  "
                        f"loop cpu {point.loop_cpu_us:6.1f} us  "
                        f"x in-process b64 {point.rps / point.b64_rows_s:5.2f}  "
                        f"probe {point.probes[0]:.0f}/{point.probes[1]:.0f} us  "
                        f"errors {point.errors}",
                        flush=True,
                    )
        finally:
            proc.terminate()
            proc.wait(60)
        time_in_process()
    ip = {b: statistics.median(v) for b, v in inproc.items()}
    out = [f"\n== {name} ({path}) ==", "in-process predict (median, before/after the servers): "
           + ", ".join(f"batch {b}: {r:,.1f} rows/s" for b, r in ip.items())]  # fmt: skip
    out.append(f"{'batching':8s} {'protocol':9s} {'conc':>4s} {'p50 ms':>9s} {'p99 ms':>9s} "
               f"{'req/s':>9s} {'x b64':>6s} {'server us':>9s} {'handoff':>7s} "
               f"{'loop cpu us':>11s} {'probe us':>9s} {'errors':>6s}")  # fmt: skip
    for batching, protocol, c, p in rows:
        out.append(
            f"{batching:8s} {protocol:9s} {c:4d} {p.p50_ms:9.3f} {p.p99_ms:9.3f} {p.rps:9.1f} "
            f"{p.rps / p.b64_rows_s:6.2f} {p.server_us:9.1f} {p.handoff_us:7.1f} "
            f"{p.loop_cpu_us:11.1f} {p.probes[0]:4.0f}/{p.probes[1]:<4.0f} {p.errors:6d}"
        )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--models", default="digits,mobilenet_v2")
    ap.add_argument("--concurrency", default="1,8,64")
    ap.add_argument("--protocols", default="v1-json,v2-binary", help="or v2-json")
    ap.add_argument("--batching", default="on,off")
    ap.add_argument("--max-batch-size", type=int, default=64, help="the server's, batching on")
    ap.add_argument("--seconds", type=float, default=3.0, help="measured seconds per point")
    ap.add_argument("--inproc-seconds", type=float, default=1.0)
    ap.add_argument("--models-dir", type=Path, default=HERE / ".models")
    args = ap.parse_args()
    args.concurrency = [int(c) for c in args.concurrency.split(",")]
    header()
    print(f"load average at start: {os.getloadavg()[0]:.2f} (cores {os.cpu_count()})")
    print("client and server share this machine's CPUs; one-row requests; server defaults")
    print(
        f"probe: {cpu_probe():.1f} us now (thread CPU time of a fixed pure-Python loop, "
        "measured beside each point: higher = the host's slow phase; see cpu_probe)"
    )
    report: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "serve.log"
        for name in args.models.split(","):
            report += bench_model(name, args, log)
    print("\n".join(report))
    print(f"\nload average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
