"""``tfjs-infer serve``: models over HTTP, speaking TF Serving's REST API and the
Open Inference Protocol v2 (KServe, Triton clients) on one port, with request
batching, Prometheus metrics, an access log, limits and a graceful shutdown.

Needs the ``serve`` extra (Starlette, uvicorn, prometheus_client):
``pip install "tfjs-infer[serve]"``. Modules: ``repository`` (which models),
``batcher`` (request batching), ``codec`` (tensors on the wire),
``tfserving`` and ``v2`` (the protocols), ``hot`` (the inference endpoints on
plain ASGI), ``app`` (the ASGI app: timing, routing, the access log),
``protocol`` (uvicorn's HTTP protocol with the arrival stamp), ``fast``
(inference answered inside that protocol's callback), ``record`` (timing,
metrics and log line of a request), ``metrics``, ``cli`` (the command).
"""

from __future__ import annotations
