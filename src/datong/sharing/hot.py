"""The hot path: the governed GET reads answered as pure ASGI, ahead of the framework.

A governed read by key is what department systems call all day. Through the full stack each one
paid for the console's session middleware, matching among some 150 routes, FastAPI's dependency
solving and two more layers of exception handling: together more CPU than the read and its audit.
This layer answers the two GET reads (one record by key, the 一号 view) when the request is plain:
no query string and a bearer token already verified (in the app's cache of verified tokens). It
runs exactly what their FastAPI handlers run (``datong.sharing.api``: the same readers, the same
``governed`` call, the same error handlers), and hands anything else to the app untouched: an
unknown or expired token, a query string (``lang``, or a parameter to refuse), a header to refuse.
The routes stay declared in FastAPI, which documents them and answers those other requests.
"""

from __future__ import annotations

import inspect

from fastapi.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse

from datong.errors import DatongError
from datong.sharing import api

_WANTED = (b"authorization", b"x-purpose", b"x-case-no")


class GovernedReads:
    """Pure ASGI middleware; install it inside the metrics layer and outside the console's."""

    def __init__(self, app) -> None:
        self.app = app
        routes = api.router.routes
        by_endpoint = {getattr(route, "endpoint", None): route for route in routes}
        # The routes' own compiled patterns, and those of the GET routes declared before them (the
        # sharing routes are matched first), so that this layer takes what the router would.
        self.routes = [(route, reader, [r.path_regex for r in routes[:routes.index(route)]
                                        if "GET" in getattr(r, "methods", ())])
                       for route, reader in ((by_endpoint[api.subject], self._subject),
                                             (by_endpoint[api.record], self._record))]

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and not scope["query_string"] \
                and scope["path"].startswith("/api/v1/share/"):
            path = scope["path"]
            for route, reader, earlier in self.routes:
                match = route.path_regex.match(path)
                if match:
                    if not any(pattern.match(path) for pattern in earlier) and \
                            await self._answer(scope, receive, send, route, reader, match.groups()):
                        return
                    break
        await self.app(scope, receive, send)

    @staticmethod
    def _subject(actor, groups, purpose, case):
        return api.subject_reader(actor, groups[0], purpose, case)

    @staticmethod
    def _record(actor, groups, purpose, case):
        return api.record_reader(actor, groups[0], groups[1], purpose, case)

    async def _answer(self, scope, receive, send, route, reader, groups) -> bool:
        """True when answered; False hands the request to the app (nothing was done yet)."""
        headers: dict[bytes, bytes] = {}
        for name, value in scope["headers"]:
            if name in _WANTED:
                headers.setdefault(name, value)  # the first, as Starlette's headers.get() takes
        scheme, _, token = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
        state = scope["app"].state
        actor = state.actor_cache.get(token.strip()) if scheme.lower() == "bearer" else None
        if actor is None:
            return False
        try:
            purpose = api.purpose_from(headers.get(b"x-purpose", b"").decode("latin-1"))
            case = api.case_from(headers.get(b"x-case-no", b"").decode("latin-1"))
        except DatongError:
            return False  # the app words the refusal, as for any other route
        scope["route"] = route  # the metrics layer labels by route template
        try:
            response = JSONResponse(await api.governed(state, actor, reader(actor, groups, purpose, case)))
        except Exception as exc:  # noqa: BLE001 - answered by the app's own handler, or raised on
            response = await _handled(scope, receive, exc)
        await response(scope, receive, send)
        return True


async def _handled(scope, receive, exc: Exception):
    """The app's exception handler for ``exc`` (problem+json in the caller's language, 503 for a
    busy database); re-raised when the app has none, so that the server answers 500 and logs it."""
    handlers = scope["app"].exception_handlers
    for cls in type(exc).__mro__:
        handler = handlers.get(cls)
        if handler is not None:
            request = Request(scope, receive)
            if inspect.iscoroutinefunction(handler):
                return await handler(request, exc)
            return await run_in_threadpool(handler, request, exc)
    raise exc
