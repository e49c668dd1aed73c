"""The README's Spark recipes on a real local Spark (``local[2]``: two Python
worker processes): ``df.mapInPandas(...)`` and a ``pandas_udf``. Predictions
equal in-process predict bitwise, rows in order. Needs Java (.ci/run installs
a JRE when it is missing)."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
from batch_utils import DIGITS, digits_rows, digits_zip_bytes, reference

import tfjs_infer as ti

pyspark = pytest.importorskip("pyspark")
if shutil.which("java") is None:
    pytest.skip("Spark needs Java (.ci/setup-java.sh installs it)", allow_module_level=True)

from pyspark.sql import SparkSession  # noqa: E402
from pyspark.sql import functions as F  # noqa: E402
from pyspark.sql import types as T  # noqa: E402


@pytest.fixture(scope="module")
def spark() -> Iterator[SparkSession]:
    # The Python workers run this interpreter (the one with tfjs_infer installed).
    saved = os.environ.get("PYSPARK_PYTHON")
    os.environ["PYSPARK_PYTHON"] = sys.executable
    session = (
        SparkSession.builder.master("local[2]")
        .config("spark.pyspark.python", sys.executable)
        .config("spark.pyspark.driver.python", sys.executable)
        .appName("tfjs-infer-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.task.cpus", "1")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    try:
        yield session
    finally:
        session.stop()
        if saved is None:
            os.environ.pop("PYSPARK_PYTHON", None)
        else:
            os.environ["PYSPARK_PYTHON"] = saved


def digits_frame(spark: SparkSession, n: int, partitions: int = 4):
    x, ids = digits_rows(n)
    schema = T.StructType(
        [
            T.StructField("id", T.LongType(), False),
            T.StructField("pixels", T.ArrayType(T.FloatType(), False), False),
        ]
    )
    frame = pd.DataFrame({"id": ids, "pixels": list(x)})
    return x, ids, spark.createDataFrame(frame, schema=schema).repartition(partitions)


def test_map_in_pandas_with_a_model_from_bytes(spark: SparkSession) -> None:
    x, ids, df = digits_frame(spark, 2000)
    df = df.orderBy("id")  # a known order across partitions
    predictor = ti.BatchPredictor(digits_zip_bytes(), top_k=1)
    out = df.mapInPandas(
        lambda batches: (predictor(b) for b in batches), schema=predictor.spark_schema(df.schema)
    ).toPandas()
    assert out["id"].tolist() == ids.tolist()
    probs = reference(x)
    np.testing.assert_array_equal(np.stack(out["probs"].to_numpy()), probs)
    assert out["top_labels"].tolist() == [str(i) for i in probs.argmax(1)]
    np.testing.assert_array_equal(out["top_scores"].to_numpy(np.float32), probs.max(1))


def test_pandas_udf_and_task_cpus(spark: SparkSession) -> None:
    x, ids, df = digits_frame(spark, 1200)
    predictor = ti.BatchPredictor(str(DIGITS))

    @F.pandas_udf(T.ArrayType(T.FloatType()))
    def predict_udf(pixels: pd.Series) -> pd.Series:
        return predictor(pixels)

    @F.pandas_udf(T.IntegerType())
    def threads_udf(pixels: pd.Series) -> pd.Series:
        return pd.Series([predictor.model.num_threads] * len(pixels))

    out = (
        df.select("id", predict_udf("pixels").alias("probs"), threads_udf("pixels").alias("t"))
        .orderBy("id")
        .toPandas()
    )
    assert out["id"].tolist() == ids.tolist()
    np.testing.assert_array_equal(np.stack(out["probs"].to_numpy()), reference(x))
    assert set(out["t"]) == {1}  # spark.task.cpus
