"""Build and run a one-op core graph (for op tests against numpy references)."""

from __future__ import annotations

from typing import Any

import numpy as np

from tfjs_infer import _core


def run_op(
    op_type: str,
    inputs: list[np.ndarray],
    attrs: dict[str, Any] | None = None,
    weights: dict[str, np.ndarray] | None = None,
    isa: str = "",
    num_outputs: int = 1,
    num_threads: int = 1,
    optimize: bool = False,
) -> list[np.ndarray]:
    g = _core.Graph()
    ids = []
    for i, x in enumerate(inputs):
        dtype = "int32" if x.dtype == np.int32 else "float32"
        ids.append(g.add_input(f"x{i}", [None, *x.shape[1:]], dtype))
    outs = g.add_op(op_type, "op", ids, attrs or {}, weights or {})
    assert len(outs) == num_outputs, f"{op_type} has {len(outs)} outputs, expected {num_outputs}"
    g.set_outputs(outs)
    model = _core.CompiledModel(g, isa=isa, num_threads=num_threads, optimize=optimize)
    return model.run([np.ascontiguousarray(x) for x in inputs])
