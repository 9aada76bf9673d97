"""The composition root: ``create_app(settings)`` builds the whole web application."""

from __future__ import annotations

import hmac
import logging
import time
from contextlib import asynccontextmanager

import anyio.to_thread

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from sqlalchemy import text

from datong import __version__
from datong.api import openapi, problems
from datong.api.deps import ActorCache
from datong.api.routers import ROUTERS
from datong.db import Database
from datong.errors import NotAuthenticated
from datong.portal.senders import sender_from_settings
from datong.opendata.usage import UsageMeter
from datong.portal.oidc import OidcSignIn
from datong.portal.signin import PortalSignIn
from datong.security.signin import SignInGuard
from datong.settings import Settings, load_settings


class Metrics:
    """Request counts and latency per route template, as pure ASGI middleware (Starlette's
    BaseHTTPMiddleware runs each request through an extra task and memory stream)."""

    def __init__(self, app, registry: CollectorRegistry) -> None:
        self.app = app
        self.requests = Counter("datong_http_requests", "HTTP requests", ["method", "route", "status"],
                                registry=registry)
        self.latency = Histogram("datong_http_request_seconds", "HTTP request duration", ["method", "route"],
                                 registry=registry)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, status = time.perf_counter(), [500]

        async def sending(message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            template = getattr(scope.get("route"), "path", "unmatched")
            self.requests.labels(scope["method"], template, str(status[0])).inc()
            self.latency.labels(scope["method"], template).observe(time.perf_counter() - started)


def _install_metrics(app: FastAPI, settings: Settings) -> None:
    registry = CollectorRegistry()
    app.state.metrics = registry
    if not settings.metrics_open:
        return  # production without DATONG_METRICS_TOKEN: no /metrics at all
    token = settings.metrics_token.get_secret_value().encode() if settings.metrics_token else None

    @app.get("/metrics", include_in_schema=False)
    def metrics(request: Request) -> Response:
        sent = request.headers.get("authorization", "").removeprefix("Bearer ").encode()
        if token is not None and not hmac.compare_digest(sent, token):
            raise NotAuthenticated()
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


def _lifespan(settings: Settings, database: Database):
    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        # Request handlers run in this many threads, and the pool has as many connections (plus a
        # spare ten), so a request holding a connection always finds a thread to finish on.
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.db_pool_size
        # What a killed process left: running loads whose holder is gone, their work folders.
        from datong.ingest.lease import clean_dead_loads

        try:
            await anyio.to_thread.run_sync(clean_dead_loads, database)
        except Exception as exc:  # noqa: BLE001 - a busy database: the next load cleans up instead
            logging.getLogger(__name__).warning("dead loads not cleaned at start: %s", exc)
        yield
        _app.state.open_usage.close()
        database.audit.close()

    return lifespan


def create_app(settings: Settings | None = None, database: Database | None = None) -> FastAPI:
    settings = settings or load_settings()
    database = database or Database.from_settings(settings)
    app = FastAPI(
        title="Datong 数通",
        version=__version__,
        description="Government data sharing and exchange hub (政务数据共享交换平台).",
        openapi_url="/openapi.json" if settings.docs_open else None,
        docs_url=None,  # served from the package by openapi.install_docs
        redoc_url=None,
        lifespan=_lifespan(settings, database),
    )
    app.state.settings = settings
    app.state.database = database
    app.state.secret = settings.resolved_secret()
    app.state.actor_cache = ActorCache()
    app.state.signin = SignInGuard.from_settings(database, settings)
    app.state.sender = sender_from_settings(settings)
    app.state.portal_signin = PortalSignIn.from_settings(database, app.state.sender, settings)
    app.state.portal_oidc = OidcSignIn.from_settings(database, settings)
    app.state.open_usage = UsageMeter(database, every_seconds=settings.open_usage_flush_seconds)
    problems.install(app)
    openapi.install(app)
    if settings.docs_open:
        openapi.install_docs(app)
    _install_metrics(app, settings)
    for router, checks in ROUTERS:
        app.include_router(router, dependencies=checks)

    @app.get("/healthz", tags=["operations"])
    def healthz() -> JSONResponse:
        try:
            with database.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception as exc:  # noqa: BLE001 - any database failure means "not healthy"
            return JSONResponse({"status": "unavailable", "database": type(exc).__name__}, status_code=503)
        return JSONResponse({"status": "ok", "database": database.dialect, "version": __version__})

    from datong.web import install as install_console  # the console mounts last: it owns "/"

    install_console(app)
    # Middleware added last runs first: metrics see every request; the hot paths (governed GET
    # reads, licence checks, the intake's calls) answer before the console's session middleware
    # and the router.
    from datong.licenses.hot import FastVerify
    from datong.services.hot import FastIntake
    from datong.sharing.hot import GovernedReads

    app.add_middleware(GovernedReads)
    app.add_middleware(FastVerify)
    app.add_middleware(FastIntake)
    app.add_middleware(Metrics, registry=app.state.metrics)
    return app
