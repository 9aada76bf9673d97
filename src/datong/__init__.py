"""Datong (数通): a government data sharing and exchange hub."""

__version__ = "0.1.0"
