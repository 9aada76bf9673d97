"""The console: server-rendered pages (Jinja2 + htmx), no build step."""

from __future__ import annotations

from importlib import resources

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from datong.web import (assessment_pages, audit_pages, catalog_pages, dashboard, licence_pages, opendata_pages, pages, portal_pages,
                        quality_pages, registry_pages, service_pages, sharing_pages)
from datong.web.render import Renderer


class CachedStatic(StaticFiles):
    """Static files; those asked for with the release in ``?v=`` (as every page links them) are
    cached by browsers for a year, since a new release links new addresses."""

    async def get_response(self, path: str, scope):
        response = await super().get_response(path, scope)
        if response.status_code == 200 and b"v=" in scope.get("query_string", b""):
            response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        return response


def install(app: FastAPI) -> None:
    settings = app.state.settings
    renderer = Renderer(app)
    app.state.renderer = renderer
    app.state.html_error = renderer.error_page
    app.mount("/static", CachedStatic(directory=str(resources.files("datong.web") / "static")), name="static")
    app.include_router(pages.router)
    app.include_router(dashboard.router)
    app.include_router(portal_pages.router)  # before the audit pages' /audit/{seq}
    app.include_router(audit_pages.router)
    app.include_router(quality_pages.router)  # before the catalog's /catalog/r/{code} pages
    app.include_router(sharing_pages.router)
    app.include_router(registry_pages.router)
    app.include_router(licence_pages.router)
    app.include_router(service_pages.router)
    app.include_router(opendata_pages.router)
    app.include_router(assessment_pages.router)
    app.include_router(catalog_pages.router)
    app.add_exception_handler(pages.LoginRequired, pages.to_login)
    app.add_exception_handler(portal_pages.PortalLoginRequired, portal_pages.to_portal_login)
    app.add_middleware(
        SessionMiddleware,
        secret_key=app.state.secret,
        session_cookie="datong_session",
        max_age=settings.session_ttl_seconds,
        same_site="lax",
        https_only=settings.secure_cookies,
    )
