"""Kernel parameters from the CPU: cpuid decoding and the blocking derived from it.

The decoder runs on recorded cpuid outputs of several CPUs
(tests/fixtures/cpuid, sources in its README). The expected cache sizes are
the vendors' published figures; the expected parameters follow the rules of
cpp/kernels/cpu_params.cpp worked by hand: L2 block = half the core's L2 (at most
512 KiB),
k block = L1D / (6 rows x 4 bytes) rounded down to 16, row chunk = L1D / (64
columns x 4 bytes) rounded down to 12, a B prefetch 16 k rows ahead for
the first row tile of a sweep (PREFETCH), the next B block's prefetch into L2
on, the thin-k L1 column block = half of L1D, and the small-m (GEMV) tiles'
B prefetch 4 k rows ahead except on AMD family 0x19 (Zen 4): none. The Zen 5 recording must give the
constants the GEMM used before they were derived (tuned on Zen 5): 512 KiB,
2048, 192.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tfjs_infer
from fixture_utils import cpuid_leaves
from tfjs_infer import _core

T = _core._testing
KIB, MIB = 1 << 10, 1 << 20
PREFETCH = 16


def blocking(
    l2_block: int,
    k_block: int,
    row_chunk: int,
    prefetch: int = PREFETCH,
    next_prefetch: int = 1,
    l1_block: int = 24 * KIB,
    gemv_prefetch: int = 4,
    res_prefetch: int = 0,
    int8_k_block: int = 128,
    narrow_tail: int = 0,
    bf16_half_panel: int = 0,
    bf16_mem_broadcast: int = 0,
    int8_huge_pages: int = 0,
    fixed_k: int = 0,
    f32_huge_pages: int = 0,
    bf16_huge_pages: int = 0,
    int8_amx: int | None = None,
    bf16_amx: int | None = None,
) -> dict:
    """The gemm parameters as build_info() and derive_cpu_params report them
    (l1_block: half of a 48 KiB L1D unless given; int8_amx and bf16_amx:
    unless given, whether this machine grants AMX-INT8 and AMX-BF16, which
    the derivation reads from the running CPU and OS rather than from
    recorded cpuid leaves)."""
    return {
        "l2_block_bytes": l2_block,
        "k_block": k_block,
        "row_chunk": row_chunk,
        "prefetch_rows": prefetch,
        "next_prefetch": next_prefetch,
        "l1_block_bytes": l1_block,
        "gemv_prefetch_rows": gemv_prefetch,
        "res_prefetch": res_prefetch,
        "int8_k_block_words": int8_k_block,
        "narrow_tail": narrow_tail,
        "bf16_half_panel": bf16_half_panel,
        "bf16_mem_broadcast": bf16_mem_broadcast,
        "int8_huge_page_bytes": int8_huge_pages,
        "fixed_k": fixed_k,
        "f32_huge_page_bytes": f32_huge_pages,
        "bf16_huge_page_bytes": bf16_huge_pages,
        "int8_amx": int(tfjs_infer.build_info()["amx_int8"]) if int8_amx is None else int8_amx,
        "bf16_amx": int(tfjs_infer.build_info()["amx_bf16"]) if bf16_amx is None else bf16_amx,
    }


# name -> (model, vendor, family, model id, L1D, L2, L3, threads/core,
#          L2 per core, (L2 block, k block, row chunk), GEMV prefetch rows)
CPUS = {
    "intel_xeon_emerald_rapids_kvm.txt": (
        "Intel(R) Xeon(R) Processor",
        "GenuineIntel",
        6,
        207,
        48 * KIB,
        2 * MIB,
        260 * MIB,
        1,
        2 * MIB,
        (512 * KIB, 2048, 192),
        4,
    ),
    "intel_xeon_amx_kvm.txt": (
        "Intel(R) Xeon(R) Processor",
        "GenuineIntel",
        6,
        167,
        48 * KIB,
        2 * MIB,
        480 * MIB,
        1,
        2 * MIB,
        (512 * KIB, 2048, 192),
        4,
    ),
    "amd_epyc_zen4_kvm.txt": (
        "AMD EPYC",
        "AuthenticAMD",
        0x19,
        0x11,
        32 * KIB,
        1 * MIB,
        32 * MIB,
        1,
        1 * MIB,
        (512 * KIB, 1360, 120),
        0,
    ),
    "amd_ryzen9_9950x.txt": (
        "AMD Ryzen 9 9950X 16-Core Processor",
        "AuthenticAMD",
        0x1A,
        0x44,
        48 * KIB,
        1 * MIB,
        32 * MIB,
        2,
        1 * MIB,
        (512 * KIB, 2048, 192),
        4,
    ),
    "intel_core_i5_6600k.txt": (
        "Intel(R) Core(TM) i5-6600K CPU @ 3.50GHz",
        "GenuineIntel",
        6,
        94,
        32 * KIB,
        256 * KIB,
        6 * MIB,
        1,
        256 * KIB,
        (128 * KIB, 1360, 120),
        4,
    ),
    "intel_core_i7_7800x.txt": (
        "Intel(R) Core(TM) i7-7800X CPU @ 3.50GHz",
        "GenuineIntel",
        6,
        85,
        32 * KIB,
        1 * MIB,
        8448 * KIB,
        2,
        1 * MIB,
        (512 * KIB, 1360, 120),
        4,
    ),
}


@pytest.mark.parametrize("name", sorted(CPUS))
def test_recorded_cpuid_decodes_to_published_caches(name: str) -> None:
    model, vendor, family, model_id, l1d, l2, l3, smt, l2_core, _, _ = CPUS[name]
    p = T.derive_cpu_params(cpuid_leaves(name))
    assert (p["model"], p["vendor"], p["family"], p["model_id"]) == (
        model,
        vendor,
        family,
        model_id,
    )
    assert (p["l1d_bytes"], p["l2_bytes"], p["l3_bytes"]) == (l1d, l2, l3)
    assert p["threads_per_core"] == smt
    assert p["l2_per_core_bytes"] == l2_core


@pytest.mark.parametrize("name", sorted(CPUS))
def test_blocking_follows_the_caches(name: str) -> None:
    (l2_block, k_block, row_chunk), gemv_prefetch = CPUS[name][-2:]
    p = T.derive_cpu_params(cpuid_leaves(name))
    l1_block = CPUS[name][4] // 2
    _, vendor, family = CPUS[name][:3]
    zen4 = vendor == "AuthenticAMD" and family == 0x19
    expected = blocking(
        l2_block,
        k_block,
        row_chunk,
        l1_block=l1_block,
        gemv_prefetch=gemv_prefetch,
        res_prefetch=1 if zen4 else 0,
        int8_k_block=0 if zen4 else 128,
        narrow_tail=1 if zen4 else 0,
        bf16_half_panel=1 if zen4 else 0,
        bf16_mem_broadcast=1 if zen4 else 0,
        int8_huge_pages=1 if zen4 else 0,
        fixed_k=1 if zen4 else 0,
        f32_huge_pages=1 if zen4 or vendor == "GenuineIntel" else 0,
        bf16_huge_pages=1 if zen4 else 0,
    )
    assert p["gemm"] == expected
    assert p["overrides"] == [] and p["overrides_ignored"] == []


def test_zen5_gives_the_constants_it_was_tuned_with() -> None:
    p = T.derive_cpu_params(cpuid_leaves("amd_ryzen9_9950x.txt"))
    assert p["cache_leaf"] == "0x8000001d"
    assert p["gemm"] == blocking(512 * KIB, 2048, 192)


def test_amd_without_cache_leaf_uses_the_legacy_leaves() -> None:
    # The 9950X's own 0x80000005/6 without 0x8000001D (as on pre-Zen parts).
    leaves = [r for r in cpuid_leaves("amd_ryzen9_9950x.txt") if r[0] != 0x8000001D]
    p = T.derive_cpu_params(leaves)
    assert p["cache_leaf"] == "legacy"
    assert (p["l1d_bytes"], p["l2_bytes"], p["l3_bytes"]) == (48 * KIB, 1 * MIB, 64 * MIB)


def test_no_cpuid_falls_back_to_the_tuned_defaults() -> None:
    p = T.derive_cpu_params([])
    assert p["l1d_bytes"] == 0 and p["l2_bytes"] == 0 and p["model"] == ""
    assert p["gemm"] == blocking(512 * KIB, 2048, 192)


def test_cache_overrides_feed_the_derivation() -> None:
    # Skylake-style caches forced on the Zen 5 recording give Skylake's blocking.
    env = {"TFJS_INFER_L1D_BYTES": "32K", "TFJS_INFER_L2_BYTES": "256K"}
    p = T.derive_cpu_params(cpuid_leaves("amd_ryzen9_9950x.txt"), env)
    assert p["l2_per_core_bytes"] == 256 * KIB
    assert p["gemm"] == blocking(128 * KIB, 1360, 120, l1_block=16 * KIB)
    assert sorted(p["overrides"]) == ["TFJS_INFER_L1D_BYTES=32K", "TFJS_INFER_L2_BYTES=256K"]


def test_blocking_overrides_win_and_bad_values_are_reported() -> None:
    env = {
        "TFJS_INFER_GEMM_L2_BLOCK": "256k",
        "TFJS_INFER_GEMM_K_BLOCK": "1024",
        "TFJS_INFER_GEMM_ROW_CHUNK": "many",
        "TFJS_INFER_GEMM_PREFETCH_ROWS": "0",
    }
    p = T.derive_cpu_params(cpuid_leaves("intel_xeon_emerald_rapids_kvm.txt"), env)
    assert p["gemm"] == blocking(256 * KIB, 1024, 192, prefetch=0, f32_huge_pages=1)
    assert p["gemm_derived"] == blocking(512 * KIB, 2048, 192, f32_huge_pages=1)
    assert p["overrides_ignored"] == ["TFJS_INFER_GEMM_ROW_CHUNK=many"]


def test_every_override_is_applied_and_documented() -> None:
    names = [
        "TFJS_INFER_L1D_BYTES",
        "TFJS_INFER_L2_BYTES",
        "TFJS_INFER_L3_BYTES",
        "TFJS_INFER_GEMM_L2_BLOCK",
        "TFJS_INFER_GEMM_K_BLOCK",
        "TFJS_INFER_GEMM_ROW_CHUNK",
        "TFJS_INFER_GEMM_PREFETCH_ROWS",
        "TFJS_INFER_GEMM_NEXT_PREFETCH",
        "TFJS_INFER_GEMM_L1_BLOCK",
        "TFJS_INFER_GEMM_GEMV_PREFETCH",
        "TFJS_INFER_GEMM_RES_PREFETCH",
        "TFJS_INFER_INT8_K_BLOCK",
        "TFJS_INFER_GEMM_NARROW_TAIL",
        "TFJS_INFER_BF16_HALF_PANEL",
        "TFJS_INFER_BF16_MEM_BROADCAST",
        "TFJS_INFER_INT8_HUGE_PAGES",
        "TFJS_INFER_GEMM_FIXED_K",
        "TFJS_INFER_F32_HUGE_PAGES",
        "TFJS_INFER_BF16_HUGE_PAGES",
        "TFJS_INFER_INT8_AMX",
        "TFJS_INFER_BF16_AMX",
    ]
    p = T.derive_cpu_params(cpuid_leaves("amd_ryzen9_9950x.txt"), dict.fromkeys(names, "8K"))
    assert sorted(p["overrides"]) == sorted(f"{n}=8K" for n in names)
    assert p["gemm"] == blocking(*[8 * KIB] * 18)
    assert p["l3_bytes"] == 8 * KIB
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    assert [n for n in names if n not in readme] == []


def test_build_info_reports_this_cpu() -> None:
    cpu = tfjs_infer.build_info()["cpu"]
    here = T.derive_cpu_params(T.cpuid_leaves())
    for key in ("model", "vendor", "l1d_bytes", "l2_bytes", "l3_bytes", "gemm_derived"):
        assert cpu[key] == here[key], key
    assert set(cpu["gemm"]) == set(blocking(0, 0, 0))


# Shapes that take the k-blocked path (k > k block) with several column
# blocks and row chunks under small blockings, the plain blocked path, and
# thin k with L1 column blocks (row chunks outermost, ragged m, n and edges).
SHAPES = [(49, 4608, 96), (200, 700, 130), (13, 3000, 40), (64, 300, 257)]
SHAPES += [(300, 64, 300), (451, 20, 520), (37, 9, 100)]
# The small-m (GEMV) tiles, with the B prefetch at several distances.
SHAPES += [(1, 700, 130), (2, 300, 257), (4, 64, 100)]
# (L2 block, k block, row chunk, prefetch rows, next-block prefetch (1: into
#  L2, 2: into L1 too), L1 block, GEMV prefetch rows, residual/C rows prefetch
#  (1: with a residual, 2: C rows without one too))
BLOCKINGS = [
    (512 * KIB, 2048, 192, 0, 0, 0, 0, 0),
    (1 * MIB, 2048, 192, 16, 1, 24 * KIB, 4, 1),
    (16 * KIB, 256, 48, 3, 2, 8 * KIB, 1, 1),
    (64 * KIB, 512, 12, 40, 0, 16 * KIB, 40, 0),
    (64 * KIB, 512, 12, 0, 1, 0, 0, 2),
]


@pytest.mark.parametrize("isa", T.available_isas())
@pytest.mark.parametrize("m,k,n", SHAPES)
def test_blocking_never_changes_a_bit(isa: str, m: int, k: int, n: int) -> None:
    rng = np.random.default_rng(m * 7 + k)
    a = rng.standard_normal((m, k), dtype=np.float32)
    b = rng.standard_normal((k, n), dtype=np.float32)
    bias = rng.standard_normal(n, dtype=np.float32)
    res = rng.standard_normal((m, n), dtype=np.float32)
    packed = T.pack_b(isa, b)
    saved = tfjs_infer.build_info()["cpu"]["gemm"]
    outs, plain = [], []
    try:
        for blocking in BLOCKINGS:
            T.set_gemm_blocking(*blocking)
            outs.append(T.gemm(isa, a, packed, bias=bias, residual=res, act="relu"))
            # C over the residual: the residual/C prefetch reads rows not yet written.
            over = res.copy()
            outs.append(T.gemm(isa, a, packed, bias=bias, residual=over, act="relu", out=over))
            plain.append(T.gemm(isa, a, packed, bias=bias, act="relu"))
    finally:
        T.set_gemm_blocking(**saved)
    for out in outs[1:]:
        np.testing.assert_array_equal(out.view(np.uint32), outs[0].view(np.uint32))
    for out in plain[1:]:
        np.testing.assert_array_equal(out.view(np.uint32), plain[0].view(np.uint32))
    ref = np.maximum(a.astype(np.float64) @ b.astype(np.float64) + bias + res, 0)
    bound = (k + 2) * 2.0**-24 * (np.abs(a) @ np.abs(b) + np.abs(bias) + np.abs(res))
    assert np.all(np.abs(outs[0] - ref) <= bound)
    ref = np.maximum(a.astype(np.float64) @ b.astype(np.float64) + bias, 0)
    bound = (k + 1) * 2.0**-24 * (np.abs(a) @ np.abs(b) + np.abs(bias))
    assert np.all(np.abs(plain[0] - ref) <= bound)


# The AVX-512 packed-B layout's panel group: 2 on Intel and AMD family 0x19
# (Zen 4), 4 elsewhere (Zen 5's).
@pytest.mark.parametrize("name", sorted(CPUS))
def test_panel_group_follows_the_microarchitecture(name: str) -> None:
    p = T.derive_cpu_params(cpuid_leaves(name))
    _, vendor, family = CPUS[name][:3]
    two = vendor == "GenuineIntel" or (vendor == "AuthenticAMD" and family == 0x19)
    assert p["gemm_panel_group"] == (2 if two else 4)


def test_panel_group_override_takes_2_or_4_only() -> None:
    intel = cpuid_leaves("intel_xeon_emerald_rapids_kvm.txt")
    assert T.derive_cpu_params([])["gemm_panel_group"] == 4
    p = T.derive_cpu_params(intel, {"TFJS_INFER_GEMM_PANEL_GROUP": "4"})
    assert p["gemm_panel_group"] == 4 and p["overrides"] == ["TFJS_INFER_GEMM_PANEL_GROUP=4"]
    for bad in ("3", "8", "two"):
        p = T.derive_cpu_params(intel, {"TFJS_INFER_GEMM_PANEL_GROUP": bad})
        assert p["gemm_panel_group"] == 2 and p["overrides"] == []
        assert p["overrides_ignored"] == [f"TFJS_INFER_GEMM_PANEL_GROUP={bad}"]
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    assert "TFJS_INFER_GEMM_PANEL_GROUP" in readme


# Shapes through every AVX-512 path: the m <= 4 tiles (whole groups or
# panels), the blocked path with and without k blocks, ragged column edges.
GROUP_SHAPES = [(1, 300, 200), (2, 70, 257), (3, 33, 130), (4, 9, 64), (49, 4608, 96)]
GROUP_SHAPES += [(37, 100, 193), (200, 700, 130)]
CHILD = """
import sys
import numpy as np
import tfjs_infer
from tfjs_infer import _core
T = _core._testing
assert tfjs_infer.build_info()["cpu"]["gemm_panel_group"] == int(sys.argv[2])
data = np.load(sys.argv[1])
outs = {}
for key in [k for k in data.files if k.startswith("a")]:
    i = key[1:]
    outs[i] = T.gemm("avx512", data[key], data["b" + i], bias=data["c" + i], act="relu")
np.savez(sys.argv[1].replace("in.npz", "out.npz"), **outs)
"""


@pytest.mark.skipif("avx512" not in T.available_isas(), reason="the CPU has no AVX-512")
def test_panel_groups_give_the_same_bits(tmp_path: Path) -> None:
    """Both AVX-512 layouts (each process packs with one) give identical bits:
    the grouping moves weights in memory, never an FMA in a lane's order."""
    rng = np.random.default_rng(11)
    arrays = {}
    for i, (m, k, n) in enumerate(GROUP_SHAPES):
        arrays[f"a{i}"] = rng.standard_normal((m, k), dtype=np.float32)
        arrays[f"b{i}"] = rng.standard_normal((k, n), dtype=np.float32)
        arrays[f"c{i}"] = rng.standard_normal(n, dtype=np.float32)
    np.savez(tmp_path / "in.npz", **arrays)
    results = {}
    for group in (2, 4):
        env = {**os.environ, "TFJS_INFER_GEMM_PANEL_GROUP": str(group)}
        args = [sys.executable, "-c", CHILD, str(tmp_path / "in.npz"), str(group)]
        subprocess.run(args, env=env, check=True, timeout=120)
        with np.load(tmp_path / "out.npz") as out:
            results[group] = {key: out[key] for key in out.files}
    for i in range(len(GROUP_SHAPES)):
        two, four = results[2][str(i)], results[4][str(i)]
        assert np.array_equal(two.view(np.uint32), four.view(np.uint32)), GROUP_SHAPES[i]
        a, b, c = (arrays[f"{x}{i}"].astype(np.float64) for x in "abc")
        np.testing.assert_allclose(two, np.maximum(a @ b + c, 0), rtol=1e-4, atol=1e-3)


# The AVX-512 blocked path's tile rows: 6 on every CPU (Intel too since the
# tiles' k loop runs in phases; 7 by override).
@pytest.mark.parametrize("name", sorted(CPUS))
def test_tile_rows_are_6_on_every_cpu(name: str) -> None:
    p = T.derive_cpu_params(cpuid_leaves(name))
    assert p["gemm_tile_rows"] == 6


def test_tile_rows_override_takes_6_or_7_only() -> None:
    intel = cpuid_leaves("intel_xeon_emerald_rapids_kvm.txt")
    p = T.derive_cpu_params(intel, {"TFJS_INFER_GEMM_TILE_ROWS": "7"})
    assert p["gemm_tile_rows"] == 7 and p["overrides"] == ["TFJS_INFER_GEMM_TILE_ROWS=7"]
    for bad in ("5", "8", "seven"):
        p = T.derive_cpu_params(intel, {"TFJS_INFER_GEMM_TILE_ROWS": bad})
        assert p["gemm_tile_rows"] == 6 and p["overrides"] == []
        assert p["overrides_ignored"] == [f"TFJS_INFER_GEMM_TILE_ROWS={bad}"]
    with pytest.raises(ValueError, match="6 or 7"):
        T.set_gemm_tile_rows(8)
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    assert "TFJS_INFER_GEMM_TILE_ROWS" in readme


# Row counts around the tile heights (6, 7, 12, 14 and their multiples), one
# k-blocked shape (ResNet50's conv5 3x3), ragged columns, thin n.
TILE_SHAPES = [(5, 40, 64), (7, 33, 96), (13, 70, 130), (15, 64, 32), (29, 100, 48)]
TILE_SHAPES += [(49, 4608, 80), (97, 147, 64), (200, 300, 257)]


@pytest.mark.skipif("avx512" not in T.available_isas(), reason="the CPU has no AVX-512")
@pytest.mark.parametrize("m,k,n", TILE_SHAPES)
def test_tile_rows_never_change_a_bit(m: int, k: int, n: int) -> None:
    """6- and 7-row tiles (and the 12- and 14-row single-panel tiles) run every
    lane's FMAs in the same order: identical bits, with bias, residual and relu."""
    rng = np.random.default_rng(m * 5 + n)
    a = rng.standard_normal((m, k), dtype=np.float32)
    b = rng.standard_normal((k, n), dtype=np.float32)
    bias = rng.standard_normal(n, dtype=np.float32)
    res = rng.standard_normal((m, n), dtype=np.float32)
    packed = T.pack_b("avx512", b)
    outs = {}
    saved = T.set_gemm_tile_rows(6)
    try:
        for rows in (6, 7):
            T.set_gemm_tile_rows(rows)
            assert tfjs_infer.build_info()["cpu"]["gemm_tile_rows"] == rows
            outs[rows] = T.gemm("avx512", a, packed, bias=bias, residual=res, act="relu")
    finally:
        T.set_gemm_tile_rows(saved)
    np.testing.assert_array_equal(outs[7].view(np.uint32), outs[6].view(np.uint32))
    ref = np.maximum(a.astype(np.float64) @ b.astype(np.float64) + bias + res, 0)
    bound = (k + 3) * 2.0**-24 * (np.abs(a) @ np.abs(b) + np.abs(bias) + np.abs(res))
    assert np.all(np.abs(outs[7] - ref) <= bound)


# name -> bf16/int8 slice bytes: half the L3, at most 24 MiB (kernels/cpu_params.cpp).
SLICES = {
    "intel_xeon_emerald_rapids_kvm.txt": 24 * MIB,
    "intel_xeon_amx_kvm.txt": 24 * MIB,
    "amd_epyc_zen4_kvm.txt": 16 * MIB,
    "amd_ryzen9_9950x.txt": 16 * MIB,
    "intel_core_i5_6600k.txt": 3 * MIB,
    "intel_core_i7_7800x.txt": 4224 * KIB,
}


@pytest.mark.parametrize("name", sorted(SLICES))
def test_lowp_slices_follow_the_l3(name: str) -> None:
    assert T.derive_cpu_params(cpuid_leaves(name))["lowp_slice_bytes"] == SLICES[name]


def test_lowp_slices_without_or_with_a_forced_l3() -> None:
    assert T.derive_cpu_params([])["lowp_slice_bytes"] == 24 * MIB
    env = {"TFJS_INFER_L3_BYTES": "10M"}
    p = T.derive_cpu_params(cpuid_leaves("intel_xeon_emerald_rapids_kvm.txt"), env)
    assert p["lowp_slice_bytes"] == 5 * MIB


# int8 models' slices: lowp_slice_bytes, but a quarter of the L3 on AMD family
# 0x19 (Zen 4), where ResNet50's int8 plan shrank with its projections run
# first (compile/int8_order_pass.cpp, kernels/cpu_params.cpp).
INT8_SLICES = {**SLICES, "amd_epyc_zen4_kvm.txt": 8 * MIB}


@pytest.mark.parametrize("name", sorted(INT8_SLICES))
def test_int8_slices_follow_the_l3(name: str) -> None:
    assert T.derive_cpu_params(cpuid_leaves(name))["int8_slice_bytes"] == INT8_SLICES[name]


def test_int8_slices_with_a_forced_l3() -> None:
    assert T.derive_cpu_params([])["int8_slice_bytes"] == 24 * MIB
    env = {"TFJS_INFER_L3_BYTES": "10M"}
    p = T.derive_cpu_params(cpuid_leaves("amd_epyc_zen4_kvm.txt"), env)
    assert p["int8_slice_bytes"] == 2560 * KIB
    p = T.derive_cpu_params(cpuid_leaves("intel_xeon_emerald_rapids_kvm.txt"), env)
    assert p["int8_slice_bytes"] == 5 * MIB
