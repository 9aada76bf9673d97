"""What ingest and quality share to stage a resource's data in DuckDB: the plan read from the
catalog, the item columns, and standardisation into ``staged``."""
