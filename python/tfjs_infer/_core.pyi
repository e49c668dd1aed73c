# Hand-written stub of the compiled module tfjs_infer._core (cpp/bindings/module.cpp).
# tests/usability/test_typing.py checks that its names match the compiled module:
# when you add or remove a binding, update this file.
from collections.abc import Mapping, Sequence
from types import ModuleType
from typing import Any

import numpy as np

_Shape = Sequence[int | None]
_ValueType = tuple[tuple[int | None, ...], str]  # (shape, dtype name)
_KnownType = tuple[tuple[int, ...], str]  # every size known (concrete input shapes)

_testing: ModuleType  # raw kernels for the test suite; not a public API

class Graph:
    """A graph of core ops under construction (built by tfjs_infer.frontend)."""

    def __init__(self) -> None: ...
    def add_input(self, name: str, shape: _Shape, dtype: str = "float32") -> int:
        """Declare a model input (None = any size); returns its value id."""
    def add_op(
        self,
        type: str,
        name: str,
        inputs: Sequence[int],
        attrs: Mapping[str, Any] = ...,
        weights: Mapping[str, np.ndarray | None] = ...,
    ) -> list[int]:
        """Append an op reading value ids `inputs`; returns its output value ids,
        typed by the op's own shape rule (see value_types).

        Aligned C-contiguous float32 weights are referenced, not copied (the
        core keeps them alive and never writes into them): do not modify them
        afterwards."""
    def value_types(self, ids: Sequence[int]) -> list[_ValueType]:
        """(shape with None where unknown, dtype) of each value id."""
    def set_outputs(self, outputs: Sequence[int], /) -> None:
        """The value ids the model returns, in order."""
    def set_inputs(self, inputs: Sequence[int], /) -> None:
        """The graph inputs, in order (each an input value id)."""
    def cut_at(self, id: int, name: str, shape: _Shape, dtype: str = "float32") -> int:
        """A new input value replacing value `id` for its readers and the outputs."""
    @property
    def num_values(self) -> int: ...
    @property
    def num_ops(self) -> int: ...

class CompiledModel:
    """A graph after passes, with prepacked weights; run() is thread-safe."""

    def __init__(
        self,
        graph: Graph,
        isa: str = "",
        num_threads: int = 0,
        optimize: bool = True,
        consume: bool = False,
        precision: str = "fp32",
        device: str = "cpu",
        device_index: int = 0,
        allow_tf32: bool = False,
        cublas: bool = False,
    ) -> None:
        """Compile `graph`; with consume=True its weights move into the model (graph left empty).
        precision: "fp32", "bf16" or "int8" for dense/conv products (fp32 where the ISA lacks
        it). device="cuda" compiles for CUDA device `device_index` (DeviceError when unusable)."""
    def run(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        """Run once on C-contiguous float32/int32 arrays (GIL released); one array per output."""
    def run_into(self, inputs: list[np.ndarray], outputs: list[np.ndarray]) -> None:
        """Run once, writing each output into the matching array of `outputs`."""
    def profile(self, inputs: list[np.ndarray], rounds: int) -> list[float]:
        """Run `rounds` times; per op (ops() order) the median wall time in microseconds."""
    def run1(self, x: np.ndarray) -> np.ndarray | list[np.ndarray]:
        """run([x]) for a single-input model; a single output is returned bare."""
    def output_types(self, input_shapes: Sequence[Sequence[int]], /) -> list[_KnownType]:
        """The outputs' (shape, dtype) for these concrete input shapes (validates them)."""
    def value_types(self, input_shapes: Sequence[Sequence[int]], /) -> list[_ValueType]:
        """Every graph value's (shape, dtype) for these input shapes."""
    def workspace_bytes(self, input_shapes: Sequence[Sequence[int]]) -> int:
        """Bytes of one call's workspace (activations, scratch) for these input shapes."""
    def ops(self) -> list[tuple[str, str, list[int], list[int]]]:
        """(name, op type, input ids, output ids) of each op after the passes."""
    @property
    def num_threads(self) -> int: ...
    @num_threads.setter
    def num_threads(self, value: int) -> None: ...
    @property
    def isa(self) -> str: ...
    @property
    def precision(self) -> str:
        """The precision asked for when this ISA runs it, else "fp32"."""
    def op_precisions(self) -> list[str]:
        """Per op (ops() order): what its matrix product runs in."""
    @property
    def num_plans(self) -> int: ...
    @property
    def device(self) -> str:
        """ "cpu", or the device's label ("cuda:0 (NVIDIA H100 ...)")."""
    @property
    def placement(self) -> list[str]:
        """Per op (ops() order): "cuda" or "cpu"."""
    @property
    def gemm_engine(self) -> str:
        """Which GEMMs serve dense/conv on the device, and why."""
    @property
    def device_workspaces(self) -> int:
        """Device workspaces (stream, memory, staging) built so far for this model."""

def build_info() -> dict[str, Any]:
    """ISAs built and selected, OpenMP, CUDA and compiler facts."""

def available_isas() -> list[str]:
    """Instruction sets this build can run on this CPU."""

def device_unusable_reason(kind: str, index: int = 0) -> str:
    """Why device kind:index cannot run models, or '' when it can."""

def cublas_probe(names: list[str]) -> str:
    """Tries to dlopen cuBLAS under these names: which loaded, or why none did."""

def first_nonfinite(a: np.ndarray, /) -> int:
    """Flat index of the first NaN or +-inf of a C-contiguous float32 array, or -1."""
