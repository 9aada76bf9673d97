"""The analytical engine: DuckDB in-process, for everything bulk."""
