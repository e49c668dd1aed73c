"""The server's own time at one client, interleaved A/B: ``tfjs-infer serve`` as
shipped against the same server with ``--no-fast-path`` (every request through
uvicorn's task and the ASGI app; see python/tfjs_infer/serve/fast.py).

    python bench/serve_ab.py [--rounds 5] [--seconds 3] [--protocols v1-json,v2-binary,v2-json]
                             [--batching on,off] [--variant NAME=OPTIONS ...]

Each round starts one server per variant in turn (alternating, so that a
slow phase of a shared machine hits every variant alike), checks one answer
bitwise against in-process predict, warms it up and drives it with one
keep-alive client for ``--seconds`` (bench/serve.py's load generator). It
prints each run, then per variant the medians over rounds of: the server's
own time per request (Server-Timing ``server``: from the request's first
bytes reaching the server to its answer's write, minus compute), the event
loop thread's CPU time per request (everything the server does, the write
system call and the access log included), p50 latency and requests/s; and
the load average, which says how much the machine was shared.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
from pathlib import Path

from _harness import header

import serve as bench  # bench/serve.py
import tfjs_infer


def run_variant(
    options: list[str], protocol: str, batching: bool, seconds: float, log: Path
) -> bench.Point:
    """One server with `options`, one checked answer, a warm-up, one measured window."""
    path = tfjs_infer.examples.digits_path()
    model = tfjs_infer.load_model(path)
    x = bench.sample_row(model)
    request = bench.build_requests("digits", model, x)[protocol]
    proc, port = bench.start_server(path, "digits", batching, 64, log, options)
    try:
        asyncio.run(bench.check_answer(port, request, protocol, model.predict(x)))
        asyncio.run(bench.load(port, request, 1, 0.5, proc.pid))
        probe = bench.cpu_probe()
        point = asyncio.run(bench.load(port, request, 1, seconds, proc.pid))
        point.note_probes(probe, bench.cpu_probe())
        return point
    finally:
        proc.terminate()
        proc.wait(60)


def _medians(points: list[bench.Point]) -> str:
    def med(values: object) -> float:
        return statistics.median(values)  # type: ignore[call-overload, no-any-return]

    return (
        f"server {med(p.server_us for p in points):6.1f} us"
        f"  loop cpu {med(p.loop_cpu_us for p in points):6.1f} us"
        f"  p50 {med(p.p50_ms for p in points) * 1e3:6.1f} us"
        f"  {med(p.rps for p in points):6.0f} req/s"
        f"  probe {med(p.probe_us for p in points):5.1f} us"
    )


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=3.0, help="measured seconds per run")
    ap.add_argument("--protocols", default="v1-json,v2-binary,v2-json")
    ap.add_argument("--batching", default="on,off")
    ap.add_argument(
        "--variant",
        action="append",
        help="NAME=OPTIONS: a server variant with these extra options (comma-separated); "
        "default: fast= and asgi=--no-fast-path",
    )
    args = ap.parse_args()
    variants = [v.split("=", 1) for v in args.variant or ["fast=", "asgi=--no-fast-path"]]
    header()
    print(f"load average at start: {os.getloadavg()[0]:.2f} (cores {os.cpu_count()})")
    report = []
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "serve.log"
        for protocol in args.protocols.split(","):
            for batching in [b == "on" for b in args.batching.split(",")]:
                runs: dict[str, list[bench.Point]] = {name: [] for name, _ in variants}
                for r in range(args.rounds):
                    for name, options in variants:
                        extra = [o for o in options.split(",") if o]
                        p = run_variant(extra, protocol, batching, args.seconds, log)
                        runs[name].append(p)
                        print(
                            f"{protocol} batching {'on' if batching else 'off'} round {r} "
                            f"{name:6s} server {p.server_us:6.1f} us  loop cpu "
                            f"{p.loop_cpu_us:6.1f} us  p50 {p.p50_ms * 1e3:6.1f} us  "
                            f"{p.rps:6.0f} req/s  probe {p.probes[0]:.0f}/{p.probes[1]:.0f} us  "
                            f"load {os.getloadavg()[0]:.2f}",
                            flush=True,
                        )
                report.append(f"\n{protocol}, batching {'on' if batching else 'off'}, "
                              f"medians of {args.rounds} rounds:")  # fmt: skip
                for name, points in runs.items():
                    report.append(f"  {name:6s} {_medians(points)}")
    print("\n".join(report))
    print(f"\nload average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
