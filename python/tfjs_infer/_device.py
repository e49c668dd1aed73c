"""The ``device=`` argument: parsing, cuBLAS preloading, and where each layer runs."""

from __future__ import annotations

import ctypes
import importlib.util
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .errors import InvalidArgumentError

DEVICE_KINDS = ("cpu", "cuda")
_CUBLAS_SONAMES = ("libcublas.so.13", "libcublas.so.12")


def parse_device(device: Any) -> tuple[str, int]:
    """``"cpu"``, ``"cuda"`` or ``"cuda:N"`` as (kind, index); refuses anything else."""
    if isinstance(device, str):
        kind, sep, index = device.strip().lower().partition(":")
        if kind == "cpu" and not sep:
            return "cpu", 0
        if kind == "cuda" and not sep:
            return "cuda", 0
        if kind == "cuda" and index.isdigit():
            return "cuda", int(index)
    raise InvalidArgumentError(
        f"device must be 'cpu', 'cuda' or 'cuda:N' (N = 0, 1, ...); received "
        f"{device!r} ({type(device).__name__})"
    )


def check_device_flags(allow_tf32: Any, cublas: Any) -> None:
    """allow_tf32 and cublas take bools only (a string "False" would be true)."""
    for name, value in (("allow_tf32", allow_tf32), ("cublas", cublas)):
        if not isinstance(value, bool):
            raise InvalidArgumentError(
                f"{name} must be True or False; received {value!r} ({type(value).__name__})"
            )


def device_arguments(device: Any, allow_tf32: Any, cublas: Any) -> dict[str, Any]:
    """The checked device options as Model keeps them (and pickles them):
    ``device`` in its canonical spelling, ``allow_tf32`` and ``cublas``."""
    kind, index = parse_device(device)
    check_device_flags(allow_tf32, cublas)
    return {"device": device_text(kind, index), "allow_tf32": allow_tf32, "cublas": cublas}


def core_device_arguments(options: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments of ``_core.CompiledModel`` for these options
    (cuBLAS preloaded from its wheel first when asked for)."""
    kind, index = parse_device(options["device"])
    if kind != "cpu" and options["cublas"]:
        preload_cublas()
    return {
        "device": kind,
        "device_index": index,
        "allow_tf32": options["allow_tf32"],
        "cublas": options["cublas"],
    }


def device_text(kind: str, index: int) -> str:
    """The canonical spelling: ``"cpu"`` or ``"cuda:N"``."""
    return "cpu" if kind == "cpu" else f"{kind}:{index}"


def preload_cublas() -> str | None:
    """Load cuBLAS from NVIDIA's ``nvidia-cublas`` wheel (the ``cuda`` extra), if
    installed, so the core's ``dlopen("libcublas.so.13")`` finds it by soname.
    Returns the path loaded, or None (the core then tries the system's)."""
    for folder in _wheel_lib_folders():
        for soname in _CUBLAS_SONAMES:
            path = folder / soname
            if path.is_file():
                try:
                    lt = folder / soname.replace("libcublas", "libcublasLt")
                    if lt.is_file():
                        ctypes.CDLL(str(lt), mode=ctypes.RTLD_GLOBAL)
                    ctypes.CDLL(str(path), mode=ctypes.RTLD_GLOBAL)
                except OSError:
                    continue
                return str(path)
    return None


def _wheel_lib_folders() -> list[Path]:
    """Where the nvidia-cublas wheels put their libraries (cu13 and cu12 layouts)."""
    spec = importlib.util.find_spec("nvidia")
    roots = [Path(p) for p in (spec.submodule_search_locations or [])] if spec else []
    out = []
    for root in roots:
        out += [root / "cu13" / "lib", root / "cublas" / "lib"]
    extra = os.environ.get("TFJS_INFER_CUBLAS_DIR")
    return ([Path(extra)] if extra else []) + out


def layer_devices(
    layers: Sequence[dict[str, Any]], ops: Sequence[tuple[Any, ...]], placement: Sequence[str]
) -> list[str]:
    """Per layer: where its ops run ("cuda", "cpu", "cuda+cpu"), or "-" when the
    compiler folded it into another op (BatchNorm into a conv) or dropped it."""
    where: dict[str, set[str]] = {}
    for op, device in zip(ops, placement):
        where.setdefault(str(op[0]), set()).add(device)
    out = []
    for layer in layers:
        devices = where.get(str(layer["name"]))
        out.append("+".join(sorted(devices, key=DEVICE_KINDS[::-1].index)) if devices else "-")
    return out
