"""The CUDA host emulator's own checks: it must catch the bugs it exists to
catch (a missing __syncthreads, an early return before a barrier, a warp
deadlock, a shuffle naming an exited lane, a read of unwritten shared memory),
run shuffles and atomics with the hardware's semantics, shake the thread order
when asked, and report an invalid launch as CUDA does. Expected values here
are written out from the CUDA programming guide's definitions."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from cuda_kernels import CT, needs_emulator

pytestmark = needs_emulator


def test_barrier_makes_shared_memory_reverse_correct() -> None:
    x = np.arange(64, dtype=np.float32)
    np.testing.assert_array_equal(CT.emu_reverse(x, True), x[::-1])


def test_missing_syncthreads_is_caught_as_a_wrong_result() -> None:
    # A thread that reads before its partner has written gets the poisoned
    # (NaN) shared cell: in thread order, the first half reads too early.
    x = np.arange(64, dtype=np.float32)
    got = CT.emu_reverse(x, False)
    read_late = ~np.isnan(got)
    assert not read_late.all()
    np.testing.assert_array_equal(got[read_late], x[::-1][read_late])
    if "TFJS_INFER_EMU_SEED" not in os.environ:
        assert not read_late[:32].any() and read_late[32:].all()


def test_early_return_before_a_barrier_aborts_the_launch() -> None:
    with pytest.raises(RuntimeError, match=r"divergent barrier.*exited"):
        CT.emu_early_return(64)


def test_barrier_in_a_barrier_free_launch_is_reported() -> None:
    with pytest.raises(RuntimeError, match="TFJS_LAUNCH_FLAT"):
        CT.emu_barrier_in_flat_launch(np.arange(8, dtype=np.float32))


def test_warp_deadlock_is_reported() -> None:
    with pytest.raises(RuntimeError, match="deadlock"):
        CT.emu_warp_deadlock()


def test_shuffle_from_an_exited_lane_is_reported() -> None:
    with pytest.raises(RuntimeError, match="divergent warp barrier"):
        CT.emu_shuffle_exited_lane()


def test_unwritten_shared_memory_reads_as_poison() -> None:
    got = CT.emu_read_unwritten_shared()
    assert (got.view(np.uint32) == 0xFFFFFFFF).all()  # static and dynamic


def test_fresh_device_memory_is_poisoned() -> None:
    assert (CT.emu_fresh_device_bytes(33) == 0xFF).all()


@pytest.mark.parametrize("src, xor_mask, delta", [(5, 1, 1), (31, 16, 3), (-1, 7, 31)])
def test_shuffles_follow_the_hardware_lane_rules(src: int, xor_mask: int, delta: int) -> None:
    x = (np.arange(32) * 1.5 + 2).astype(np.float32)
    got = CT.emu_shuffles(x, src, xor_mask, delta).reshape(5, 32)
    lanes = np.arange(32)
    np.testing.assert_array_equal(got[0], np.full(32, x[src % 32]))
    np.testing.assert_array_equal(got[1], x[lanes ^ xor_mask])
    np.testing.assert_array_equal(
        got[2], np.where(lanes + delta < 32, x[np.minimum(lanes + delta, 31)], x)
    )
    np.testing.assert_array_equal(
        got[3], np.where(lanes - delta >= 0, x[np.maximum(lanes - delta, 0)], x)
    )
    assert (got[4] == x.sum(dtype=np.float64)).all()  # exact: small integers and halves


def test_atomics_across_blocks() -> None:
    x = np.random.default_rng(3).integers(0, 1000, 1000).astype(np.int32)
    np.testing.assert_array_equal(CT.emu_histogram(x, 7), np.bincount(x % 7, minlength=7))


def test_invalid_launch_configuration_is_a_cuda_error() -> None:
    assert CT.emu_oversized_block_error() == "cudaErrorInvalidConfiguration"


def _run_order(seed: str | None) -> list[int]:
    env = dict(os.environ)
    env.pop("TFJS_INFER_EMU_SEED", None)
    if seed is not None:
        env["TFJS_INFER_EMU_SEED"] = seed
    code = (
        "import json; from tfjs_infer import _core; "
        "print(json.dumps(_core._cuda_testing.emu_run_order(96).tolist()))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(out.stdout)


def test_thread_order_is_in_order_by_default_and_shuffled_by_a_seed() -> None:
    assert _run_order(None) == list(range(96))
    shuffled = _run_order("7")
    assert sorted(shuffled) == list(range(96)) and shuffled != list(range(96))
    assert _run_order("7") == shuffled  # reproducible from the seed
    assert _run_order("8") != shuffled


def test_launch_statistics_count_blocks() -> None:
    before = CT.emu_launch_stats()
    CT.emu_histogram(np.zeros(130, np.int32), 2)  # 3 blocks of 64
    after = CT.emu_launch_stats()
    assert after["launches"] == before["launches"] + 1
    assert after["blocks"] == before["blocks"] + 3
