"""Sharing (共享): requests, grants, queries by key with masking and purpose, all audited."""
