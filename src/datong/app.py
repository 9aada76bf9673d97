"""The composition root: ``create_app(settings)`` builds the whole web application."""

from __future__ import annotations

import time

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from sqlalchemy import text

from datong import __version__
from datong.api import problems
from datong.api.routers import ROUTERS
from datong.db import Database
from datong.settings import Settings, load_settings


def _install_metrics(app: FastAPI) -> None:
    registry = CollectorRegistry()
    requests = Counter("datong_http_requests", "HTTP requests", ["method", "route", "status"], registry=registry)
    latency = Histogram("datong_http_request_seconds", "HTTP request duration", ["method", "route"],
                        registry=registry)
    app.state.metrics = registry

    @app.middleware("http")
    async def measure(request: Request, call_next):
        started = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        template = getattr(route, "path", "unmatched")
        requests.labels(request.method, template, str(response.status_code)).inc()
        latency.labels(request.method, template).observe(time.perf_counter() - started)
        return response

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


def create_app(settings: Settings | None = None, database: Database | None = None) -> FastAPI:
    settings = settings or load_settings()
    database = database or Database.from_settings(settings)
    app = FastAPI(
        title="Datong 数通",
        version=__version__,
        description="Government data sharing and exchange hub (政务数据共享交换平台).",
        openapi_url="/openapi.json",
        docs_url="/docs",
    )
    app.state.settings = settings
    app.state.database = database
    app.state.secret = settings.resolved_secret()
    problems.install(app)
    _install_metrics(app)
    for router in ROUTERS:
        app.include_router(router)

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
    return app
