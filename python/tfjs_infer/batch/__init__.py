"""Batch scoring: a picklable predictor for Ray Data, Dask and Spark, and the
streaming file reader/writer behind ``tfjs-infer predict MODEL data.parquet``."""

from __future__ import annotations

from .engines import engine_threads
from .predictor import BatchPredictor

__all__ = ["BatchPredictor", "engine_threads"]
