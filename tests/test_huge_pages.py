"""Large buffers on transparent huge pages (core/tensor.cpp alloc_buffer_bytes):
from 2 MiB up a Buffer is 2 MiB aligned and its whole 2 MiB pages are advised
with MADV_HUGEPAGE (the VmFlags "hg" of its mapping), smaller ones keep 64-byte
alignment and no advice, TFJS_INFER_HUGE_PAGES=0 advises nothing; every buffer
reads zero; and a model whose weights take the huge pages gives the same bits
as with the switch off, on every ISA. The switch is read once per process, so
each setting runs in its own child."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

import tfjs_infer
from child_process import run_json_child

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux")
    or not Path("/sys/kernel/mm/transparent_hugepage").exists(),
    reason="transparent huge pages are a Linux feature this kernel lacks",
)

HUGE = 2 << 20
# Floats: far below, one 64-byte line below, exactly at, odd sizes above the
# 2 MiB threshold (a tail that is not a whole huge page), several huge pages.
COUNTS = [16, HUGE // 4 - 16, HUGE // 4, HUGE // 4 + 17, 3 * HUGE // 4 + 5]

LAYOUT_CHILD = r"""
import json
from tfjs_infer import _core
print(json.dumps([_core._testing.buffer_probe(n) for n in %s]))
"""

# Two dense layers: 1024 x 640 (2.6 MB packed: huge pages) and 640 x 37
# (small), relu then softmax; batch 1 and 7 rows on every ISA.
MODEL_CHILD = r"""
import hashlib, json
import numpy as np
import tfjs_infer
from tfjs_infer import _core
# numpy advises its own large arrays onto huge pages: off, so that the
# mappings counted below are the engine's.
np._core.multiarray._set_madvise_hugepage(False)
rng = np.random.default_rng(3)
w1 = (rng.standard_normal((1024, 640)) / 32).astype(np.float32)
b1 = rng.standard_normal(640).astype(np.float32)
w2 = (rng.standard_normal((640, 37)) / 25).astype(np.float32)
b2 = rng.standard_normal(37).astype(np.float32)
x = rng.standard_normal((7, 1024)).astype(np.float32)
h = np.maximum(x.astype(np.float64) @ w1 + b1, 0) @ w2 + b2
ref = np.exp(h - h.max(1, keepdims=True))
ref /= ref.sum(1, keepdims=True)
out = {}
for isa in tfjs_infer.available_isas():
    g = _core.Graph()
    i = g.add_input("x", [None, 1024], "float32")
    (a,) = g.add_op("dense", "d1", [i], {"activation": "relu"}, {"kernel": w1, "bias": b1})
    (y,) = g.add_op("dense", "d2", [a], {"activation": "softmax"}, {"kernel": w2, "bias": b2})
    g.set_outputs([y])
    m = _core.CompiledModel(g, isa=isa, num_threads=1)
    ys = [m.run([x[:1]])[0], m.run([x])[0]]
    np.testing.assert_allclose(ys[1], ref, rtol=1e-4, atol=1e-6)
    out[isa] = [hashlib.sha256(y.tobytes()).hexdigest() for y in ys]
advised = 0
with open("/proc/self/smaps") as f:
    for line in f:
        if line.startswith("VmFlags:") and "hg" in line.split():
            advised += 1
print(json.dumps({"digests": out, "advised_mappings": advised}))
"""


def _env(huge: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "TFJS_INFER_HUGE_PAGES"}
    # fp32 weights stay out of core/huge_pages.h's regions (on by default on
    # AMD family 0x19; tests/ops/test_f32_huge_pages.py), so that the dense
    # layer's 2.6 MB are a Buffer here.
    env["TFJS_INFER_F32_HUGE_PAGES"] = "0"
    if huge is not None:
        env["TFJS_INFER_HUGE_PAGES"] = huge
    return env


@pytest.mark.parametrize("huge", [None, "0"], ids=["default", "off"])
def test_buffer_alignment_and_advice(huge: str | None) -> None:
    probes = run_json_child(LAYOUT_CHILD % COUNTS, _env(huge))
    for count, p in zip(COUNTS, probes):
        big = (count * 4 + 63) // 64 * 64 >= HUGE
        assert p["zero"], count
        assert p["address"] % 64 == 0, count
        first, last = p["flags_first"].split(), p["flags_last_whole"].split()
        if huge is None and big:
            assert p["address"] % HUGE == 0, count
            assert "hg" in first and "hg" in last, (count, first, last)
        else:
            assert "hg" not in first, (count, first)


def test_huge_pages_keep_the_bits_on_every_isa() -> None:
    on = run_json_child(MODEL_CHILD, _env(None))
    off = run_json_child(MODEL_CHILD, _env("0"))
    assert set(on["digests"]) == set(tfjs_infer.available_isas())
    assert on["digests"] == off["digests"]
    # The weights did take the huge-page path with the switch on, and only then.
    assert on["advised_mappings"] > 0
    assert off["advised_mappings"] == 0
