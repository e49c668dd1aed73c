"""load_model: read a model from any source and compile it into a Model."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator, Sequence

from ._arguments import check_load_arguments
from ._precision import check_precision
from .frontend.semantics import check_choice
from .io import (
    DEFAULT_MAX_BYTES,
    DEFAULT_TIMEOUT,
    DEFAULT_TOTAL_TIMEOUT,
    Source,
    WeightsSource,
    read_model,
)
from .model import Model


def load_model(
    source: Source,
    *,
    num_threads: int | None = None,
    isa: str | None = None,
    strict: bool = True,
    weights: WeightsSource | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    total_timeout: float = DEFAULT_TOTAL_TIMEOUT,
    max_bytes: int = DEFAULT_MAX_BYTES,
    headers: dict[str, str] | None = None,
    outputs: str | Sequence[str] | None = None,
    semantics: str = "auto",
    precision: str = "fp32",
    device: str = "cpu",
    allow_tf32: bool = False,
    cublas: bool = False,
) -> Model:
    """Load a TF.js LayersModel or a Keras model from a path, a URL, bytes or a file.

    Parameters
    ----------
    source:
        - a path to ``model.json``, a folder holding one, a ``.keras`` or an
          ``.h5`` file, or a ``.zip`` of a model folder;
        - an ``http://`` / ``https://`` URL of ``model.json`` (its weight shards
          are fetched from beside it, with its query string, as
          ``tf.loadLayersModel`` does) or of a zip, .keras or .h5 file;
        - ``bytes`` or a binary file object holding any of these, recognised
          by content (model.json text needs `weights`).
        Teachable Machine's ``metadata.json`` or ``labels.txt`` beside the model
        provide :attr:`Model.labels`.
    num_threads:
        Threads the compute core may use per call (default: all cores).
    isa:
        Force an instruction set (``"generic"``, ``"avx2"``, ``"avx512"``);
        default: the best this CPU has (or ``TFJS_INFER_ISA``).
    strict:
        Refuse files holding weights that no layer uses (as TF.js does).
    weights:
        When `source` is model.json content: the weight shards, as their bytes
        concatenated in manifest order, a dict ``{shard path: bytes}``, a file
        object, or the folder holding them.
    timeout, total_timeout:
        For URLs: seconds allowed for each connection or read, and for the
        whole download.
    max_bytes:
        The most bytes downloaded from URLs or read from memory and archives.
    headers:
        Extra HTTP request headers for URLs (e.g. authorization).
    outputs:
        Load a submodel instead (see :meth:`Model.submodel`): the layer
        name(s) whose outputs it returns; only what they need is computed.
    semantics:
        Whose numbers to give where TF.js 4.22 and Keras compute differently
        (README "Which numbers you get"): ``"auto"`` (TF.js's for a model.json
        TF.js wrote, the writing Keras version's for any other file),
        ``"tfjs"`` (TF.js 4.22's wherever TF.js runs the model) or
        ``"keras"``. :attr:`Model.semantics` says what was chosen and why; a
        ``SemanticsWarning`` at load names the layers where the choice matters.
    precision:
        What dense and convolution layers compute their matrix products in:
        ``"fp32"`` (default: TF.js's / Keras's numbers), ``"bf16"`` or
        ``"int8"`` (faster, approximate: README "Reduced precision"). Where
        the CPU lacks the kernels the model runs in float32 with a
        ``PrecisionWarning``; :attr:`Model.precision` says what was used.
    device:
        ``"cpu"`` (default), ``"cuda"`` or ``"cuda:N"``: run on an NVIDIA GPU
        (the CUDA build, README "GPU (CUDA)"). Weights are uploaded once; ops
        the GPU backend lacks run on the CPU with a copy (:meth:`Model.summary`
        shows where each layer runs). Pickles keep the device.
    allow_tf32:
        On a GPU, let GEMMs use TF32 tensor cores (10-bit mantissas: faster,
        less exact). Default False: fp32 arithmetic.
    cublas:
        On a GPU, let cuBLAS (the ``cuda`` extra's ``nvidia-cublas`` wheel, or
        the system's) serve the GEMMs. Default False: our kernels, whose
        results do not depend on the batch size (cuBLAS picks its kernel by
        shape, so a row's last bits may).

    Returns
    -------
    Model

    Raises
    ------
    InvalidModelError, WeightsError, UnsupportedLayerError
        The model is malformed or uses something tfjs_infer does not support.
    DownloadError
        A URL could not be fetched (HTTP error, timeout, size limit, redirect).
    DeviceError
        `device` names a GPU this build or machine cannot use; the message
        says why (CPU-only build, no driver, no device, index out of range).

    Examples
    --------
    >>> import tfjs_infer as ti
    >>> model = ti.load_model(ti.examples.digits_path())
    >>> model.predict(ti.examples.digits_samples()[0][:2]).shape
    (2, 10)
    """
    check_load_arguments(num_threads, isa, strict, timeout, total_timeout, max_bytes, headers)
    check_choice(semantics)
    check_precision(precision)
    with _gc_paused():
        spec = read_model(
            source,
            weights=weights,
            timeout=timeout,
            total_timeout=total_timeout,
            max_bytes=max_bytes,
            headers=headers,
        )
        return Model(
            spec,
            num_threads=num_threads,
            isa=isa,
            strict=strict,
            outputs=outputs,
            semantics=semantics,
            precision=precision,
            device=device,
            allow_tf32=allow_tf32,
            cublas=cublas,
        )


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector: loading builds many small objects
    (the parsed config, the lowering's tensors) that trigger collections
    without making garbage cycles; they cost ~5 % of a MobileNet's load."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
