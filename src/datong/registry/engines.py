"""Where the linkage model runs: DuckDB in process (the default), or Apache Spark when one
machine is not enough (``DATONG_REGISTRY_ENGINE=spark``; local mode unless ``SPARK_REMOTE`` or
a cluster master is configured the usual Spark way). The build's own tables stay in DuckDB;
only the two comparison tables go to Spark and the scored pairs come back, as Arrow."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import duckdb

DUCKDB, SPARK = "duckdb", "spark"
ENGINES = (DUCKDB, SPARK)


class DuckDBBackend:
    dialect = "duckdb"

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        from splink import DuckDBAPI

        self.con = con
        self.api = DuckDBAPI(connection=con)

    def tables(self, names: list[str]) -> list:
        return [self.api.register(name, dataset_display_name=name) for name in names]

    def into(self, frame, table: str) -> None:
        self.con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM {frame.physical_name}")


class SparkBackend:
    dialect = "spark"

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        from pyspark.sql import SparkSession  # optional: pip install 'datong[spark]'
        from splink import SparkAPI
        from splink.backends.spark import similarity_jar_location

        self.con = con
        # Splink's string-similarity functions (Damerau–Levenshtein and others) come in its jar.
        builder = SparkSession.builder.appName("datong-registry").config("spark.jars", similarity_jar_location())
        if not os.environ.get("SPARK_REMOTE") and not os.environ.get("MASTER"):
            builder = builder.master("local[*]").config("spark.sql.shuffle.partitions", "8") \
                .config("spark.ui.enabled", "false").config("spark.driver.memory", "2g")
        self.spark = builder.getOrCreate()
        self.spark.sparkContext.setCheckpointDir(os.environ.get("DATONG_SPARK_CHECKPOINTS", "/tmp/datong-spark"))
        self.api = SparkAPI(spark_session=self.spark)

    def tables(self, names: list[str]) -> list:
        frames = []
        for name in names:
            frame = self.spark.createDataFrame(self.con.execute(f"SELECT * FROM {name}").fetch_arrow_table())
            frames.append(self.api.register(frame, dataset_display_name=name))
        return frames

    def into(self, frame, table: str) -> None:
        scored = frame.as_spark_dataframe().select("source_dataset_l", "unique_id_l", "source_dataset_r",
                                                   "unique_id_r", "match_probability").toPandas()
        self.con.register("spark_scored", scored)
        self.con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM spark_scored")
        self.con.unregister("spark_scored")


@contextmanager
def open_engine(name: str, con: duckdb.DuckDBPyConnection) -> Iterator[DuckDBBackend | SparkBackend]:
    if name == SPARK:
        yield SparkBackend(con)
    else:
        yield DuckDBBackend(con)
