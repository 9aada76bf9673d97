"""The verify API as pure ASGI, ahead of the framework (as ``datong.sharing.hot`` does for the
governed reads): a scanner at a window or a department system checks licences all day, and the
console's session middleware, the router's matching among some 150 routes and FastAPI's dependency
solving cost more than the check itself. This layer answers ``POST /api/v1/licences/verify`` with
no query string by running exactly what its FastAPI handler runs (``datong.licenses.api.judge``),
and hands anything else to the app. The route stays declared in FastAPI, which documents it."""

from __future__ import annotations

from fastapi.concurrency import run_in_threadpool
from starlette.responses import JSONResponse

from datong.licenses import api
from datong.sharing.hot import _handled

PATH = "/api/v1/licences/verify"


class FastVerify:
    """Pure ASGI middleware; install it inside the metrics layer and outside the console's."""

    def __init__(self, app) -> None:
        self.app = app
        self.route = next(r for r in api.router.routes if getattr(r, "endpoint", None) is api.verify)

    async def __call__(self, scope, receive, send) -> None:
        if not (scope["type"] == "http" and scope["method"] == "POST" and scope["path"] == PATH
                and not scope["query_string"]):
            await self.app(scope, receive, send)
            return
        scope["route"] = self.route  # the metrics layer labels by route template
        try:
            raw = bytearray()
            while True:
                message = await receive()
                raw += message.get("body", b"")
                if len(raw) > api.MAX_PRESENTED:
                    raise api.TooLarge(limit=api.MAX_PRESENTED // (1024 * 1024))
                if not message.get("more_body"):
                    break
            response = JSONResponse(await run_in_threadpool(api.judge, scope["app"].state.database, bytes(raw)))
        except Exception as exc:  # noqa: BLE001 - answered by the app's own handler, or raised on
            response = await _handled(scope, receive, exc)
        await response(scope, receive, send)
