"""Mutation check: plant realistic bugs one at a time and see which tests catch them.

Not part of CI (it rebuilds the C++ core and reruns tests many times). Run from
the repository root with the Python that has tfjs_infer's build tools and test
dependencies installed (pybind11, numpy, pytest, h5py, hypothesis)::

    python tools/mutation.py                 # every mutant
    python tools/mutation.py --only gru_blend_generic lstm_gate_order
    python tools/mutation.py --list

The repository's files are never edited. Each run works on copies under
build/mutation/ (git-ignored):
- src/: a copy of CMakeLists.txt and cpp/, built with CMake in src/build (the
  first run builds everything; later runs and mutants rebuild only what a
  mutation touches);
- pkg/tfjs_infer: a copy of python/tfjs_infer with the mutant's _core module.
A mutant is applied to the copy, the copy is rebuilt when it is C++, the
mutant's tests run (pytest -x, importing tfjs_infer from pkg/ instead of the
installed one), and the copy is restored in a ``finally`` block, so an
interrupted run (Ctrl-C) leaves the copies clean too; the next run starts by
re-syncing them from the repository anyway.

The report is a table: mutant -> the first test that failed ("KILLED"), or
SURVIVED when every selected test passed (EQUIVALENT for a mutant known to
change no reachable behaviour, with the reason). A mutant that does not apply (its
text is gone after a refactor) is reported as STALE, one that does not compile
as NO BUILD. After a C++ mutant the clean core is rebuilt before the next
Python mutant runs.
"""

from __future__ import annotations

import argparse
import glob
import os
import shutil
import subprocess
import sys
import sysconfig
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "build" / "mutation"
SRC = WORK / "src"
BUILD = SRC / "build"
PKG = WORK / "pkg"
PER_MUTANT_TIMEOUT = 900  # seconds of pytest per mutant

RNN = ["tests/kernels/test_rnn_gates.py", "tests/layers/test_keras_rnn_fixtures.py"]
RNN_TFJS = ["tests/layers/test_rnn_fixtures.py"]
ACT = ["tests/kernels/test_activation.py", "tests/layers/test_divergence_fixtures.py"]
CONV = ["tests/layers/test_conv_fixtures.py", "tests/ops/test_conv_numpy.py"]
POOL = ["tests/layers/test_pool_fixtures.py", "tests/ops/test_pooling_numpy.py"]
FIXTURES = [
    "tests/layers/test_tfjs_fixtures.py",
    "tests/layers/test_keras_fixtures.py",
    "tests/layers/test_converter_fixtures.py",
]
DECODE = ["tests/io/test_tfjs_decode.py", "tests/layers/test_converter_fixtures.py"]


@dataclass
class Mutant:
    name: str
    path: str  # relative to the repository root
    old: str
    new: str
    tests: list[str]
    what: str
    count: int = 1  # occurrences of `old` that must exist (all are replaced)
    isas: str = ""  # TFJS_INFER_TEST_ISAS for the run ("" = every ISA)
    # Why surviving is expected: the mutated code is not reached by any real
    # file's semantics (reported as EQUIVALENT, not as a gap).
    equivalent: str = ""

    @property
    def is_cpp(self) -> bool:
        return self.path.startswith("cpp/")


MUTANTS = [
    # -- kernels ---------------------------------------------------------------
    Mutant(
        "gru_blend_generic",
        "cpp/kernels/generic/rnn_generic.cpp",
        "    const float hh = act(a.act, x[2 * u + j] + r * pre[2 * u + j]);\n"
        "    h[j] = z * h[j] + (1.0f - z) * hh;",
        "    const float hh = act(a.act, x[2 * u + j] + r * pre[2 * u + j]);\n"
        "    h[j] = (1.0f - z) * h[j] + z * hh;",
        RNN,
        "generic GRU reset_after=True: update gate blend swapped",
    ),
    Mutant(
        "gru_blend_generic_by_fixtures",
        "cpp/kernels/generic/rnn_generic.cpp",
        "    const float hh = act(a.act, x[2 * u + j] + r * pre[2 * u + j]);\n"
        "    h[j] = z * h[j] + (1.0f - z) * hh;",
        "    const float hh = act(a.act, x[2 * u + j] + r * pre[2 * u + j]);\n"
        "    h[j] = (1.0f - z) * h[j] + z * hh;",
        ["tests/layers/test_keras_rnn_fixtures.py"],
        "the same GRU bug, against the Keras RNN fixture suite alone (it missed it before)",
    ),
    Mutant(
        "lstm_gate_order_generic",
        "cpp/kernels/generic/rnn_generic.cpp",
        "    const float i = act(a.ract, pre[j]);\n    const float f = act(a.ract, pre[u + j]);",
        "    const float f = act(a.ract, pre[j]);\n    const float i = act(a.ract, pre[u + j]);",
        RNN,
        "generic LSTM: input and forget gates swapped (gate order)",
    ),
    Mutant(
        "gru_h_blend_simd",
        "cpp/kernels/simd/rnn_simd.h",
        "store<V>(h + j, V::add(V::mul(zv, hv), V::mul(V::sub(one, zv), hh)), n);",
        "store<V>(h + j, V::add(V::mul(zv, hh), V::mul(V::sub(one, zv), hv)), n);",
        RNN + RNN_TFJS,
        "SIMD GRU reset_after=False: candidate blend swapped",
    ),
    Mutant(
        "lstm_cell_act_simd",
        "cpp/kernels/simd/rnn_simd.h",
        "store<V>(h + j, V::mul(o, act(cn)), n);",
        "store<V>(h + j, V::mul(o, cn), n);",
        RNN + RNN_TFJS,
        "SIMD LSTM: output gate times the raw cell (activation dropped)",
    ),
    Mutant(
        "leaky_relu_sign_generic",
        "cpp/kernels/activation_math.h",
        "return xf >= 0.0f ? xf : static_cast<float>(p.alpha * x);",
        "return xf >= 0.0f ? xf : static_cast<float>(-p.alpha * x);",
        ["tests/kernels/test_activation.py", *FIXTURES],
        "generic leaky_relu: sign of the negative slope",
    ),
    Mutant(
        "gelu_exact_uses_approx",
        "cpp/kernels/activation_math.h",
        "return static_cast<float>(0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0))));",
        "return static_cast<float>(0.5 * x * (1.0 + erf_tfjs(x / std::sqrt(2.0))));",
        ACT,
        "generic gelu (Keras, exact erf) computed with TF.js's erf approximation",
    ),
    Mutant(
        "gelu_tanh_uses_erf",
        "cpp/kernels/activation_math.h",
        "return static_cast<float>(0.5 * x * (1.0 + std::tanh(c * (x + 0.044715 * x * x * x))));",
        "return static_cast<float>(0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0)) + 0 * c));",
        ACT,
        "generic gelu tanh approximation replaced by the erf form",
    ),
    Mutant(
        "gelu_tanh_uses_erf_by_fixtures",
        "cpp/kernels/activation_math.h",
        "return static_cast<float>(0.5 * x * (1.0 + std::tanh(c * (x + 0.044715 * x * x * x))));",
        "return static_cast<float>(0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0)) + 0 * c));",
        ["tests/layers/test_divergence_fixtures.py"],
        "the same gelu bug, against the divergence fixtures alone",
    ),
    Mutant(
        "avg_pool_counts_padding",
        "cpp/kernels/generic/pool_generic.cpp",
        "const float count = static_cast<float>((d1 - d0) * (h1 - h0) * (w1 - w0));",
        "const float count = static_cast<float>(a.k_d * a.k_h * a.k_w);",
        POOL,
        "generic average pooling divides by the window size (padding counted)",
    ),
    Mutant(
        "gemm_residual_row_stride",
        "cpp/kernels/generic/gemm_generic.cpp",
        "if (g.residual) v += g.residual[i * g.ldr + p0 + j];",
        "if (g.residual) v += g.residual[p0 + j];",
        ["tests/kernels/test_gemm.py", *FIXTURES],
        "generic GEMM: fused residual read without its row stride",
    ),
    # -- ops -------------------------------------------------------------------
    Mutant(
        "same_padding_split",
        "cpp/ops/conv_geometry.h",
        "return total > 0 ? total / 2 : 0;",
        "return total > 0 ? (total + 1) / 2 : 0;",
        CONV + POOL,
        "'same' padding: the odd pixel before (top/left) instead of after",
    ),
    # -- lowerings (Python) ----------------------------------------------------
    Mutant(
        "hard_sigmoid_keras3_slope",
        "python/tfjs_infer/frontend/activations.py",
        'slope = 1.0 / 6.0 if semantics == "keras3" else 0.2',
        "slope = 0.2",
        ["tests/layers/test_divergence_fixtures.py", "tests/layers/test_keras_fixtures.py"],
        "hard_sigmoid: Keras 3 files get the 0.2 x + 0.5 formula",
    ),
    Mutant(
        "gelu_tfjs_exact",
        "python/tfjs_infer/frontend/activations.py",
        'return {"activation": "gelu_tfjs" if semantics == "tfjs" else "gelu"}',
        'return {"activation": "gelu"}',
        ["tests/layers/test_tfjs_fixtures.py", "tests/layers/test_divergence_fixtures.py"],
        "gelu: TF.js files get the exact erf instead of TF.js's approximation",
    ),
    Mutant(
        "gelu_approximate_flag_ignored",
        "python/tfjs_infer/frontend/keras_ops.py",
        'attrs: dict[str, Any] = {"activation": "gelu_tanh" if approx else "gelu"}',
        'attrs: dict[str, Any] = {"activation": "gelu"}',
        ["tests/layers/test_keras_fixtures.py", "tests/layers/test_divergence_fixtures.py"],
        "tf.nn.gelu(approximate=True) lowered to the erf form",
    ),
    Mutant(
        "leaky_relu_string_slope",
        "python/tfjs_infer/frontend/activations.py",
        'return {"activation": "leaky_relu", "act_alpha": 0.2}',
        'return {"activation": "leaky_relu", "act_alpha": 0.3}',
        FIXTURES,
        "activation='leaky_relu' string with the layer's default slope 0.3",
    ),
    Mutant(
        "mask_merge_rule_keras2",
        "python/tfjs_infer/frontend/masks.py",
        'op = "max" if semantics == "keras3" else "mul"',
        'op = "max"',
        ["tests/layers/test_keras_fixtures.py", *RNN, "tests/layers/test_divergence_fixtures.py"],
        "element-wise merge of masks: Keras 2's AND replaced by Keras 3's OR",
    ),
    Mutant(
        "mask_merge_rule_keras3",
        "python/tfjs_infer/frontend/masks.py",
        'op = "max" if semantics == "keras3" else "mul"',
        'op = "mul"',
        ["tests/layers/test_keras_fixtures.py", *RNN, "tests/layers/test_divergence_fixtures.py"],
        "element-wise merge of masks: Keras 3's OR replaced by Keras 2's AND",
        equivalent="Keras 3 files record the merged mask as keras.ops nodes (LogicalOr) "
        "passed as each consumer's `mask` kwarg, which keras3 consumers read "
        "(recurrent.layer_mask); on k3_mask_merge, where AND and OR differ, this "
        "branch changes no output",
    ),
    Mutant(
        "batchnorm_epsilon_ignored",
        "python/tfjs_infer/frontend/normalization.py",
        '"epsilon": layer.config_float("epsilon", 1e-3),\n    }',
        '"epsilon": 1e-3,\n    }',
        FIXTURES,
        "BatchNormalization: the file's epsilon ignored (default 1e-3 used)",
    ),
    Mutant(
        "masked_gap1d_ignores_mask",
        "python/tfjs_infer/frontend/pooling.py",
        "    return masked_global_average_1d(b, layer, x, mask, keepdims=keepdims)",
        "    mask = b.op('ones_mask', layer.name + '/m', [x])\n"
        "    return masked_global_average_1d(b, layer, x, mask, keepdims=keepdims)",
        ["tests/layers/test_keras_fixtures.py", *RNN, "tests/layers/test_pool_fixtures.py"],
        "Keras GlobalAveragePooling1D averages masked steps too (TF.js's rule)",
    ),
    # -- io (Python) -----------------------------------------------------------
    Mutant(
        "dequantize_in_float32",
        "python/tfjs_infer/io/tfjs.py",
        'value = q * float(quant["scale"]) + float(quant["min"])',
        'value = (q.astype(np.float32) * np.float32(quant["scale"]) + np.float32(quant["min"]))',
        DECODE,
        "uint8/uint16 dequantization in float32 instead of float64",
    ),
    Mutant(
        "dequantize_scale_order",
        "python/tfjs_infer/io/tfjs.py",
        'value = q * float(quant["scale"]) + float(quant["min"])',
        'value = (q + float(quant["min"])) * float(quant["scale"])',
        DECODE,
        "dequantization: min added before scaling",
    ),
    Mutant(
        "int32_round_half_even",
        "python/tfjs_infer/io/tfjs.py",
        "return np.floor(value + 0.5).astype(np.int32).reshape(shape)  # JS Math.round",
        "return np.round(value).astype(np.int32).reshape(shape)",
        DECODE,
        "int32 dequantization rounds halves to even (numpy) instead of up (Math.round)",
    ),
]


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, text=True, capture_output=True, **kw)


def sync_copies() -> None:
    """Refresh src/ and pkg/ from the repository (copying changed files only,
    so CMake rebuilds only what changed since the last run)."""
    SRC.mkdir(parents=True, exist_ok=True)
    sync_tree(ROOT / "cpp", SRC / "cpp")
    sync_file(ROOT / "CMakeLists.txt", SRC / "CMakeLists.txt")
    pkg = PKG / "tfjs_infer"
    core = sorted(pkg.glob("_core*")) if pkg.exists() else []
    sync_tree(ROOT / "python" / "tfjs_infer", pkg, keep=[c.name for c in core])


def sync_file(src: Path, dst: Path) -> None:
    if not dst.exists() or dst.read_bytes() != src.read_bytes():
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dst)


def sync_tree(src: Path, dst: Path, keep: list[str] | None = None) -> None:
    wanted = set()
    for path in src.rglob("*"):
        if "__pycache__" in path.parts or path.suffix in (".so", ".pyd"):
            continue
        rel = path.relative_to(src)
        wanted.add(rel)
        if path.is_file():
            sync_file(path, dst / rel)
    for path in sorted(dst.rglob("*"), reverse=True) if dst.exists() else []:
        rel = path.relative_to(dst)
        if rel in wanted or "__pycache__" in rel.parts or rel.name in (keep or []):
            continue
        shutil.rmtree(path) if path.is_dir() else path.unlink()


def build_core() -> Path:
    """Configure once, then build incrementally; returns the built module."""
    if not (BUILD / "build.ninja").exists() and not (BUILD / "Makefile").exists():
        import pybind11  # a build requirement of the package

        gen = ["-G", "Ninja"] if shutil.which("ninja") else []
        cfg = run(
            [
                "cmake",
                "-S",
                str(SRC),
                "-B",
                str(BUILD),
                *gen,
                f"-DPython_EXECUTABLE={sys.executable}",
                f"-Dpybind11_DIR={pybind11.get_cmake_dir()}",
                "-DCMAKE_BUILD_TYPE=Release",
            ]
        )
        if cfg.returncode:
            raise SystemExit("cmake configure failed:\n" + cfg.stdout[-3000:] + cfg.stderr[-3000:])
    jobs = str(os.cpu_count() or 2)
    out = run(["cmake", "--build", str(BUILD), "-j", jobs])
    if out.returncode:
        raise BuildError(out.stdout[-4000:] + out.stderr[-4000:])
    suffix = sysconfig.get_config_var("EXT_SUFFIX") or ".so"
    found = glob.glob(str(BUILD / "**" / f"_core{suffix}"), recursive=True)
    if not found:
        raise SystemExit(f"no _core{suffix} under {BUILD}")
    return Path(found[0])


class BuildError(Exception):
    pass


def install_core(module: Path) -> None:
    dst = PKG / "tfjs_infer" / module.name
    shutil.copy2(module, dst)


# Imports tfjs_infer from pkg/ (dropping an editable install's import hook),
# then runs pytest with the given arguments.
BOOT = """
import sys
sys.meta_path[:] = [f for f in sys.meta_path if "editable" not in type(f).__module__.lower()
                    and "scikit" not in type(f).__name__.lower()]
sys.path.insert(0, {pkg!r})
for name in [m for m in sys.modules if m == "tfjs_infer" or m.startswith("tfjs_infer.")]:
    del sys.modules[name]
import tfjs_infer
assert tfjs_infer.__file__.startswith({pkg!r}), tfjs_infer.__file__
import pytest
sys.exit(pytest.main(sys.argv[1:]))
"""


def pytest_run(tests: list[str], isas: str) -> tuple[int, str]:
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    if isas:
        env["TFJS_INFER_TEST_ISAS"] = isas
    cmd = [
        sys.executable,
        "-c",
        BOOT.format(pkg=str(PKG)),
        "-x",
        "-q",
        "-p",
        "no:cacheprovider",
        "-o",
        "addopts=",
        "-rf",
        *tests,
    ]
    try:
        out = run(cmd, cwd=ROOT, env=env, timeout=PER_MUTANT_TIMEOUT)
    except subprocess.TimeoutExpired:
        return 124, "timeout"
    return out.returncode, out.stdout + out.stderr


def outcome(code: int, output: str) -> str:
    """pytest's exit status as a verdict: 1 (tests failed) kills the mutant."""
    if code == -1:
        return "NO BUILD"
    if code == 1 or (code == 2 and "error during collection" in output):
        return "KILLED"
    return {0: "SURVIVED", 124: "TIMEOUT"}.get(code, f"ERROR {code}")


def first_failure(output: str) -> str:
    for line in output.splitlines():
        if line.startswith(("FAILED ", "ERROR ")):
            return line.split(" ", 1)[1].split(" - ")[0]
    return "?"


def apply(m: Mutant) -> tuple[Path, str] | None:
    target = (SRC if m.is_cpp else PKG) / (m.path if m.is_cpp else m.path.removeprefix("python/"))
    text = target.read_text(encoding="utf-8")
    if text.count(m.old) != m.count:
        return None
    target.write_text(text.replace(m.old, m.new), encoding="utf-8")
    return target, text


def check_baseline(module: Path) -> None:
    install_core(module)
    code, out = pytest_run(["tests/kernels/test_rnn_gates.py"], "")
    if code:
        raise SystemExit("the unmutated copy fails its tests:\n" + out[-3000:])


def main() -> None:
    p = argparse.ArgumentParser(
        description="Plant bugs one at a time; report which tests catch them."
    )
    p.add_argument("--only", nargs="*", help="mutant names to run")
    p.add_argument("--list", action="store_true", help="list the mutants and exit")
    args = p.parse_args()
    chosen = [m for m in MUTANTS if not args.only or m.name in args.only]
    if args.list:
        for m in MUTANTS:
            print(f"{m.name:30} {m.path}: {m.what}")
        return
    sync_copies()
    clean_core = build_core()
    check_baseline(clean_core)
    rows = []
    core_is_mutant = False  # the installed _core was built from mutated sources
    for m in chosen:
        t0 = time.monotonic()
        if core_is_mutant and not m.is_cpp:
            install_core(build_core())  # sources restored: back to the clean core
            core_is_mutant = False
        applied = apply(m)
        if applied is None:
            rows.append((m, "STALE", "mutation text not found", 0.0))
            continue
        target, original = applied
        try:
            if m.is_cpp:
                core_is_mutant = True
                install_core(build_core())
            code, out = pytest_run(m.tests, m.isas)
        except BuildError as e:
            code, out = -1, f"FAILED build - {e}"
        finally:
            target.write_text(original, encoding="utf-8")
        status = outcome(code, out)
        if status == "SURVIVED" and m.equivalent:
            status = "EQUIVALENT"
        rows.append((m, status, first_failure(out) if code else "", time.monotonic() - t0))
        print(f"{m.name}: {status} {rows[-1][2]} ({rows[-1][3]:.0f} s)", flush=True)
    if core_is_mutant:
        install_core(build_core())  # leave the copy built from clean sources
    print()
    print("| mutant | where | planted bug | result | caught by |")
    print("|---|---|---|---|---|")
    for m, status, test, _ in rows:
        why = m.equivalent if status == "EQUIVALENT" else test
        print(f"| {m.name} | {m.path} | {m.what} | {status} | {why} |")
    killed = sum(s == "KILLED" for _, s, _, _ in rows)
    equivalent = sum(s == "EQUIVALENT" for _, s, _, _ in rows)
    survivors = [m.name for m, s, _, _ in rows if s not in ("KILLED", "EQUIVALENT")]
    print(
        f"\n{killed}/{len(rows)} killed, {equivalent} equivalent"
        + (f"; not killed: {survivors}" if survivors else "")
    )
    sys.exit(1 if survivors else 0)


if __name__ == "__main__":
    main()
