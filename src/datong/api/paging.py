"""One paging scheme for every list endpoint, and no silently ignored query parameters.

A list answers ``{"items": [...], "total": n, "total_exact": true, "limit": l, "offset": o,
"next": url | null}``; ``total_exact`` is false when the list has more rows than were counted
(``total`` is then a lower bound; see ``datong.db.paging``); ``next`` is the same request's path and query with the next window (relative, so that it stays
right behind a proxy), absent on the last page. ``limit`` and ``offset`` are query parameters of
every list; the audit log also takes a ``before_seq`` cursor, stable while events are appended.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel

from datong.db.paging import DEFAULT_LIMIT, MAX_LIMIT, Found, Window

T = TypeVar("T")

#: Accepted on every route: the language of messages (see ``request_locale``).
EVERYWHERE = frozenset({"lang"})


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    total_exact: bool = True
    limit: int
    offset: int
    next: str | None = None


def window(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Rows per page")] = DEFAULT_LIMIT,
    offset: Annotated[int, Query(ge=0, le=2**31, description="Rows to skip")] = 0,
) -> Window:
    return Window(limit=limit, offset=offset)


WindowDep = Annotated[Window, Depends(window)]
#: A list's search words: each must occur (by substring: Chinese has no spaces between words).
Search = Annotated[str | None, Query(max_length=100, description="Words that must all occur")]


def next_link(request: Request, **params: Any) -> str:
    query = request.url.include_query_params(**params).query
    return f"{request.url.path}?{query}"


def page(request: Request, found: Found, at: Window, convert: Callable[[Any], T]) -> Page[T]:
    items = [convert(row) for row in found]
    more = at.offset + len(items) < found.total and bool(items)
    return Page(items=items, total=found.total, total_exact=found.exact, limit=at.limit, offset=at.offset,
                next=next_link(request, offset=at.offset + at.limit) if more else None)


def _query_names(route: Any) -> frozenset[str]:
    """The query parameters a route declares, worked out once and kept on the route."""
    names = getattr(route, "_datong_query_names", None)
    if names is None:
        found, pending = set(EVERYWHERE), [route.dependant]
        while pending:  # the route's own parameters and its dependencies', at any depth
            dependant = pending.pop()
            found.update(p.alias for p in dependant.query_params)
            pending.extend(dependant.dependencies)
        names = frozenset(found)
        route._datong_query_names = names
    return names


async def known_query(request: Request) -> None:
    """Answer 422 for a query parameter the route does not declare: a misspelt filter
    (``?departmnt=``) would otherwise return everything, as if it had matched."""
    route = request.scope.get("route")
    if route is None or not request.url.query:
        return
    unknown: Iterable[str] = (name for name in request.query_params if name not in _query_names(route))
    errors = [{"type": "extra_forbidden", "loc": ("query", name), "msg": "Extra inputs are not permitted",
               "input": request.query_params.get(name)} for name in dict.fromkeys(unknown)]
    if errors:
        raise RequestValidationError(errors)
