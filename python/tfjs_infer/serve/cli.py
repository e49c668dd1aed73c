"""``tfjs-infer serve``: the command line and the server's life cycle."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from typing import Any

from .._cli_types import non_negative_int as _non_negative  # the CLI's own argument types
from .._cli_types import positive_int as _positive
from ..errors import MissingDependencyError

HELP = "serve models over HTTP (TF Serving REST and Open Inference Protocol v2)"


def add_parser(sub: Any) -> None:
    """Register the ``serve`` subcommand on the ``tfjs-infer`` parser's subparsers."""
    p = sub.add_parser("serve", help=HELP, description=HELP + ".")
    p.add_argument(
        "path",
        metavar="PATH",
        help="a model (model.json, its folder, .keras, .h5, .zip, http(s) URL) or a folder of "
        "model folders, each optionally holding numeric version folders (name/1/, name/2/)",
    )
    p.add_argument("--name", help="the model's name when PATH is one model (default: its folder)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=_non_negative, default=8501, help="port (default 8501)")
    p.add_argument(
        "--max-batch-size",
        type=_positive,
        default=64,
        help="most rows merged into one predict call; 1 turns batching off (default 64)",
    )
    p.add_argument(
        "--batch-timeout-us",
        type=_non_negative,
        default=0,
        help="how long a batch waits for more requests (default 0: it starts when a worker is "
        "free, waiting only for requests already being received, at most half a batch's "
        "compute time)",
    )
    p.add_argument("--num-threads", type=_positive, default=None, help="core threads per call")
    p.add_argument(
        "--compute-workers",
        type=_positive,
        default=1,
        help="predict calls that may run at once per model (default 1: each gets every thread)",
    )
    p.add_argument(
        "--inline-compute-us",
        type=_non_negative,
        default=200,
        help="a batch expected to compute in less than this (from the model's last batch) runs "
        "on the event loop instead of a pool thread, whose hand-off costs more (default 200; "
        "0: always a pool thread)",
    )
    p.add_argument(
        "--max-queue",
        type=_positive,
        default=256,
        help="requests per model accepted and not yet answered; past it 503 + Retry-After",
    )
    p.add_argument(
        "--max-body-mb", type=float, default=64.0, help="largest request body in MiB (413 past it)"
    )
    p.add_argument(
        "--request-timeout", type=float, default=30.0, help="seconds before a request gets 504"
    )
    p.add_argument(
        "--max-connections", type=_positive, default=1024, help="open connections before 503"
    )
    p.add_argument(
        "--graceful-timeout",
        type=float,
        default=30.0,
        help="seconds to finish in-flight requests after SIGTERM/SIGINT",
    )
    p.add_argument("--no-access-log", action="store_true", help="no JSON access log on stderr")
    p.add_argument(
        "--no-fast-path",
        action="store_true",
        help="answer every request through uvicorn's ASGI cycle, never inside its HTTP "
        "protocol's callback (the same answers, more of the server's time per request)",
    )
    p.add_argument("--isa", choices=["generic", "avx2", "avx512", "neon"], default=None)
    p.set_defaults(fn=run)


def run(args: argparse.Namespace) -> int:
    """Load the models, serve until SIGTERM/SIGINT, finish in-flight requests, exit 0."""
    try:
        import uvicorn

        from .app import build_app, make_server
    except ImportError as exc:
        raise MissingDependencyError(
            f'tfjs-infer serve needs the serve extra: pip install "tfjs-infer[serve]" ({exc})'
        ) from None
    from .accesslog import AccessLog
    from .common import Limits
    from .protocol import http_protocol
    from .repository import open_repository

    _configure_logging()
    log = logging.getLogger("tfjs_infer.serve")
    repository = open_repository(args.path, args.name, num_threads=args.num_threads, isa=args.isa)
    limits = Limits(
        max_body_bytes=int(args.max_body_mb * (1 << 20)), request_timeout_s=args.request_timeout
    )
    server = make_server(
        repository,
        max_batch_size=args.max_batch_size,
        batch_timeout_us=args.batch_timeout_us,
        max_queue=args.max_queue,
        limits=limits,
        workers=args.compute_workers,
        inline_us=args.inline_compute_us,
    )
    access_log = None if args.no_access_log else AccessLog()
    app = build_app(
        server,
        max_batch_size=args.max_batch_size,
        access_log=access_log,
        fast_path=not args.no_fast_path,
    )
    for served in repository:
        log.info(
            "serving %s version %d from %s (%s, %d threads)",
            served.name,
            served.version,
            served.source,
            served.model.isa,
            served.model.num_threads,
        )
    config = uvicorn.Config(
        app,
        host=args.host,
        http=http_protocol(),
        port=args.port,
        access_log=False,
        log_level="info",
        lifespan="on",
        limit_concurrency=args.max_connections,
        timeout_graceful_shutdown=max(1, round(args.graceful_timeout)),
        server_header=False,
    )
    uv = uvicorn.Server(config)
    # uvicorn re-raises the signal it stopped on once it has shut down; with
    # these handlers in place that re-raise is a no-op and the exit status is 0.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: None)
    uv.run()
    if access_log is not None:
        access_log.flush()
    if not uv.started:
        print("tfjs-infer: error: the server did not start (see above)", file=sys.stderr)
        return 1
    log.info("stopped cleanly")
    return 0


def _configure_logging() -> None:
    main = logging.getLogger("tfjs_infer.serve")
    if not main.handlers:
        plain = logging.StreamHandler(sys.stderr)
        plain.setFormatter(logging.Formatter("tfjs-infer serve: %(message)s"))
        main.addHandler(plain)
    main.setLevel(logging.INFO)
