"""The intake's three calls answered as pure ASGI, ahead of the framework (as ``datong.sharing.hot``
does for the governed reads).

A window takes in applications all day, each in three calls: open the case with its prefill,
complete the form, accept. Through the full stack each call also paid for the console's session
middleware, the router's matching among some 150 routes, FastAPI's dependency solving (the caller,
the unit of work, the known-query check, each in a hop of its own to a thread) and two more layers
of exception handling. This layer answers ``POST /api/v1/cases``, ``PATCH /api/v1/cases/{number}/form``
and ``POST /api/v1/cases/{number}/accept`` when the request is plain: no query string, a bearer
token already verified (in the app's cache of verified tokens), and for the first two a JSON body
that the route's own model accepts. It runs exactly what their FastAPI handlers run
(``datong.services.api``: ``open_answer``, ``form_answer``, ``accept_answer``, in a unit of work
that commits before the answer), in one hop to a thread, with the app's own error handlers. Any
other request goes to the app untouched, its body handed on as it came, so that the app words the
401 or the 422. The routes stay declared in FastAPI, which documents them.
"""

from __future__ import annotations

from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError

from datong.services import api
from datong.sharing.hot import _handled

PREFIX = "/api/v1/cases"
#: A larger body is the app's to read (an intake's form is a few kilobytes).
MAX_BODY = 256 * 1024


def _open(database, actor, params: dict, body) -> tuple[dict, int]:
    return api.open_answer(database, actor, body), 201


def _form(database, actor, params: dict, body) -> tuple[dict, int]:
    with database.unit_of_work() as session:
        out = api.form_answer(session, actor, params["number"], body)
    return out, 200


def _accept(database, actor, params: dict, body) -> tuple[dict, int]:
    with database.unit_of_work() as session:
        out = api.accept_answer(session, actor, params["number"])
    return out, 200


#: Each call: its FastAPI handler (for its route), its body's model, what answers it.
CALLS = ((api.open_case, api.CaseIn, _open), (api.update_form, api.FormIn, _form), (api.accept, None, _accept))


class FastIntake:
    """Pure ASGI middleware; install it inside the metrics layer and outside the console's."""

    def __init__(self, app) -> None:
        self.app = app
        self.routes: list | None = None

    def _routes(self, root) -> list:
        """The app's own routes for the three calls, each with the patterns of the routes declared
        before it for its method (matched first), so that this layer takes what the router would."""
        routes = list(_flat(root.router.routes))
        out = []
        for endpoint, model, answer in CALLS:
            route = next(r for r in routes if getattr(r, "endpoint", None) is endpoint)
            (method,) = route.methods
            earlier = [r.path_regex for r in routes[:routes.index(route)] if method in (getattr(r, "methods", None) or ())]
            out.append((method, route, model, answer, earlier))
        return out

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and scope["method"] in ("POST", "PATCH") and not scope["query_string"] \
                and scope["path"].startswith(PREFIX):
            if self.routes is None:
                self.routes = self._routes(scope["app"])
            path = scope["path"]
            for method, route, model, answer, earlier in self.routes:
                match = route.path_regex.match(path) if method == scope["method"] else None
                if match:
                    if not any(pattern.match(path) for pattern in earlier):
                        receive = await self._answer(scope, receive, send, route, model, answer, match.groupdict())
                        if receive is None:
                            return
                    break
        await self.app(scope, receive, send)

    async def _answer(self, scope, receive, send, route, model, answer, params: dict):
        """None when answered; otherwise the ``receive`` to hand the app (the body as it came)."""
        headers = dict(scope["headers"][::-1])  # the first of a repeated header, as Starlette's get() takes
        scheme, _, token = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
        state = scope["app"].state
        actor = state.actor_cache.get(token.strip()) if scheme.lower() == "bearer" else None
        if actor is None:
            return receive
        body = None
        if model is not None:
            if headers.get(b"content-type", b"").split(b";")[0].strip().lower() != b"application/json":
                return receive
            raw, more = await _read(receive)
            try:
                if more or len(raw) > MAX_BODY:
                    raise ValueError("too large for this layer")
                body = model.model_validate_json(raw)
            except (ValidationError, ValueError):
                return _replay(raw, more, receive)
        scope["route"] = route  # the metrics layer labels by route template
        try:
            out, status = await run_in_threadpool(answer, state.database, actor, params, body)
            response = api.case_json(out, status)
        except Exception as exc:  # noqa: BLE001 - answered by the app's own handler, or raised on
            response = await _handled(scope, receive, exc)
        await response(scope, receive, send)
        return None


def _flat(routes):
    """The routes in the order the router tries them (included routers' routes in their place)."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        yield from (_flat(inner.routes) if inner is not None else (route,))


async def _read(receive) -> tuple[bytes, bool]:
    """The body, or its first part past ``MAX_BODY``; True when more is still to come."""
    raw = bytearray()
    while True:
        message = await receive()
        raw += message.get("body", b"")
        more = message.get("more_body", False)
        if not more or len(raw) > MAX_BODY:
            return bytes(raw), more


def _replay(raw: bytes, more: bool, receive):
    """A ``receive`` that gives the body read so far, then the rest as it comes."""
    given = False

    async def replayed():
        nonlocal given
        if not given:
            given = True
            return {"type": "http.request", "body": raw, "more_body": more}
        return await receive()

    return replayed
