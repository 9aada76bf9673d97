"""The console: server-rendered pages (Jinja2 + htmx), no build step."""

from __future__ import annotations

from importlib import resources

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from datong.web import catalog_pages, pages, quality_pages, sharing_pages
from datong.web.render import Renderer


def install(app: FastAPI) -> None:
    settings = app.state.settings
    renderer = Renderer(app)
    app.state.renderer = renderer
    app.state.html_error = renderer.error_page
    app.mount("/static", StaticFiles(directory=str(resources.files("datong.web") / "static")), name="static")
    app.include_router(pages.router)
    app.include_router(quality_pages.router)  # before the catalog's /catalog/r/{code} pages
    app.include_router(sharing_pages.router)
    app.include_router(catalog_pages.router)
    app.add_exception_handler(pages.LoginRequired, pages.to_login)
    app.add_middleware(
        SessionMiddleware,
        secret_key=app.state.secret,
        session_cookie="datong_session",
        max_age=settings.session_ttl_seconds,
        same_site="lax",
        https_only=settings.secure_cookies,
    )
