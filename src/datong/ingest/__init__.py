"""Ingest (归集): getting departments' data into the hub, whole or not at all."""
