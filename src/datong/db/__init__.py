"""The relational store: engine, unit of work and migrations."""

from datong.db.base import Base
from datong.db.engine import Database

__all__ = ["Base", "Database"]
