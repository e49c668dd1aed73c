"""How many core threads a worker of Ray, Dask or Spark was given.

Each engine runs several workers on one machine; a model that used every core
in every worker would oversubscribe the CPUs. Only engines already imported in
this process are asked (importing one to ask would cost seconds), and any
failure to ask means "not in that engine".
"""

from __future__ import annotations

import math
import sys
from typing import Any


def engine_threads() -> tuple[int | None, str]:
    """The CPUs the current engine task was allotted, and the engine's name.

    Spark: ``spark.task.cpus`` (the task context's ``cpus()``); Dask: the
    worker's ``nthreads``; Ray: the ``CPU`` resource assigned to the actor or
    task (``num_cpus``). ``(None, "none")`` outside any engine.
    """
    for name, probe in (("spark", _spark), ("dask", _dask), ("ray", _ray)):
        cpus = probe()
        if cpus is not None:
            return max(1, cpus), name
    return None, "none"


def _spark() -> int | None:
    if "pyspark" not in sys.modules:
        return None
    try:
        from pyspark import TaskContext

        context = TaskContext.get()
        return None if context is None else int(context.cpus())
    except Exception:  # an old pyspark without cpus(), or not in a task
        return None


def _dask() -> int | None:
    if "distributed" not in sys.modules:
        return None
    try:
        from distributed import get_worker

        worker = get_worker()  # ValueError outside a worker
        state: Any = getattr(worker, "state", worker)  # older distributed: on the worker
        return int(state.nthreads)
    except Exception:
        return None


def _ray() -> int | None:
    if "ray" not in sys.modules:
        return None
    try:
        import ray

        if not ray.is_initialized():
            return None
        context = ray.get_runtime_context()
        if context.worker.mode != ray.WORKER_MODE:  # the driver has no allotment
            return None
        cpus = context.get_assigned_resources().get("CPU")
        return None if not cpus else math.ceil(float(cpus))
    except Exception:
        return None
