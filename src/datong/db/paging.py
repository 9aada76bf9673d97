"""One page of a listing, counted and cut in SQL.

Every list in the API and the console pages the same way: a window of ``limit`` rows from
``offset``, and the total that matched. A service that lists takes a ``Window`` and returns a
``Found``: a list (so that callers that only iterate need not change) that also knows ``total``.

Lists that grow without end (the audit log, cases, licences) would cost a count of every row on
every page. So the count stops ``COUNT_UP_TO`` rows past the window: past that, ``total`` is a
lower bound and ``exact`` is false ("more than 10,050"), and the next page is still offered.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, Iterable, TypeVar

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session

T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
#: How far past the window a list's rows are counted (see the module's text).
COUNT_UP_TO = 10_000


@dataclass(frozen=True)
class Window:
    limit: int = DEFAULT_LIMIT
    offset: int = 0


class Found(list, Generic[T]):
    """The rows of one window, and how many rows matched in all (``exact``), or at least
    (``total`` is a lower bound: the count stopped, see ``COUNT_UP_TO``)."""

    def __init__(self, rows: Iterable[T], total: int, exact: bool = True) -> None:
        super().__init__(rows)
        self.total, self.exact = total, exact

    @property
    def shown(self) -> str:
        """The total as a page says it: "10050+" when the count stopped there."""
        return f"{self.total}" if self.exact else f"{self.total}+"

    def counts(self) -> dict:
        """The figures a list answer carries beside its rows."""
        return {"total": self.total, "total_exact": self.exact}


def window(session: Session, stmt: Select, page: Window | None, *, count_up_to: int | None = None) -> Found:
    """Run ``stmt`` (ordered by its caller) for one window; without a window, every row. The
    matching rows are counted up to ``count_up_to`` (default ``COUNT_UP_TO``) past the window."""
    if page is None:
        rows = list(session.scalars(stmt))
        return Found(rows, len(rows))
    cap = page.offset + page.limit + (COUNT_UP_TO if count_up_to is None else count_up_to)
    counted = session.scalar(select(func.count()).select_from(stmt.order_by(None).limit(cap + 1).subquery())) or 0
    total = min(counted, cap)
    rows = list(session.scalars(stmt.limit(page.limit).offset(page.offset))) if page.offset < total else []
    return Found(rows, total, exact=counted <= cap)


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
