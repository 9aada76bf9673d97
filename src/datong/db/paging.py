"""One page of a listing, counted and cut in SQL.

Every list in the API and the console pages the same way: a window of ``limit`` rows from
``offset``, and the total that matched. A service that lists takes a ``Window`` and returns a
``Found``: a list (so that callers that only iterate need not change) that also knows ``total``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, Iterable, TypeVar

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session

T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 500


@dataclass(frozen=True)
class Window:
    limit: int = DEFAULT_LIMIT
    offset: int = 0


class Found(list, Generic[T]):
    """The rows of one window, and how many rows matched in all."""

    def __init__(self, rows: Iterable[T], total: int) -> None:
        super().__init__(rows)
        self.total = total


def window(session: Session, stmt: Select, page: Window | None) -> Found:
    """Run ``stmt`` (ordered by its caller) for one window; without a window, every row."""
    if page is None:
        rows = list(session.scalars(stmt))
        return Found(rows, len(rows))
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    rows = list(session.scalars(stmt.limit(page.limit).offset(page.offset))) if page.offset < total else []
    return Found(rows, total)


def escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def containing(q: str | None, *columns):
    """A condition for a listing's search box: each word of ``q`` occurs in one of ``columns``
    (case-insensitive; by substring, since Chinese has no spaces between words). None for no words."""
    words = (q or "").split()
    if not words:
        return None
    return and_(*(or_(*(column.ilike(f"%{escape_like(word)}%", escape="\\") for column in columns))
                  for word in words))
