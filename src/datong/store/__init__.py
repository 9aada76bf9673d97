"""The shared store: records and the keys that find them, loads and their snapshots.

No domain owns it: ingest writes it, quality checks it, sharing, registries and licences read it.
"""
