"""What both protocols share: the served models, their batchers, one inference call."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import TfjsInferError
from ..postprocess import TopK, top_k
from .batcher import Batcher, Result
from .codec import bad_request, check_shape
from .metrics import Metrics
from .repository import Repository, ServedModel


@dataclass
class Limits:
    """The server's limits on what one request may cost."""

    max_body_bytes: int = 64 << 20
    request_timeout_s: float = 30.0


@dataclass
class Server:
    """Everything a request handler needs (one per server)."""

    repository: Repository
    batchers: dict[tuple[str, int], Batcher]
    metrics: Metrics
    limits: Limits = field(default_factory=Limits)
    # The model each inference path routed to, by (protocol, path): see hot.py.
    routes: dict[tuple[str, str], ServedModel] = field(default_factory=dict)

    async def infer(
        self, served: ServedModel, arrays: list[np.ndarray], info: dict[str, Any]
    ) -> Result:
        """Validate `arrays` against the model, queue them, and wait for the outputs.

        `info` is the request's log record: the compute time and batch rows go there.
        """
        batcher = self._admit(served, arrays, info)
        ticket = info.get("ticket")
        result = batcher.predict_now(arrays, ticket) or await batcher.predict(arrays, ticket)
        return _noted(result, info)

    def infer_at_once(
        self, served: ServedModel, batcher: Batcher, arrays: list[np.ndarray], info: dict[str, Any]
    ) -> Result | None:
        """:meth:`infer` without awaiting, for a request whose model's `batcher`
        said it answers now (:meth:`Batcher.answers_now`) in this same callback,
        nothing having run on the loop since (fast.py): the inputs are checked
        and computed at once, or None (nothing queued) when their row count makes
        the batch not quick after all."""
        inputs = served.inputs
        if len(arrays) == 1:
            check_shape(arrays[0], inputs[0].shape, inputs[0].name)
        else:
            self._check(served, arrays)
        info["rows"] = arrays[0].shape[0]
        result = batcher.predict_answering_now(arrays)
        return None if result is None else _noted(result, info)

    def _admit(
        self, served: ServedModel, arrays: list[np.ndarray], info: dict[str, Any]
    ) -> Batcher:
        """Check `arrays` against the model's inputs; the model's batcher."""
        self._check(served, arrays)
        info["rows"] = int(arrays[0].shape[0])
        return self.batchers[(served.name, served.version)]

    @staticmethod
    def _check(served: ServedModel, arrays: list[np.ndarray]) -> None:
        """Refuse inputs whose shapes do not fit the model's, or whose row counts differ."""
        for spec, arr in zip(served.inputs, arrays):
            check_shape(arr, spec.shape, spec.name)
        if len(arrays) > 1:
            rows = {int(a.shape[0]) for a in arrays}
            if len(rows) > 1:
                raise bad_request(f"inputs {served.input_names} have different row counts {rows}")


def _noted(result: Result, info: dict[str, Any]) -> Result:
    """`result`, its compute time and batch rows noted in the request's record."""
    info["compute_s"] = result.compute_s
    info["handoff_s"] = result.handoff_s
    info["batch_rows"] = result.batch_rows
    return result


def expect_body(server: Server, served: ServedModel, info: dict[str, Any]) -> Any:
    """Tell the model's batcher a request is on its way (released by `infer` or the caller)."""
    ticket = server.batchers[(served.name, served.version)].expect()
    info["ticket"] = ticket
    return ticket


def note_model(info: dict[str, Any], served: ServedModel) -> None:
    """Record which model a request reached (for the log and the metrics)."""
    info["model"] = served.name
    info["version"] = served.version


def rank(served: ServedModel, outputs: list[np.ndarray], k: Any) -> tuple[TopK, int]:
    """The `k` best classes per row of the model's class output, and that output's index."""
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise bad_request(f"top_k must be a positive integer, received {k!r}")
    labels = served.model.labels
    try:
        j = served.model._output_index(None, labels)
        classes = outputs[j].shape[-1]
        if k > classes:
            raise bad_request(f"top_k must be at most {classes} (the classes), received {k}")
        use = labels if labels is not None and len(labels) == classes else None
        return top_k(outputs[j], k=k, labels=use), j
    except TfjsInferError as exc:
        raise bad_request(f"top_k: {exc}") from None
