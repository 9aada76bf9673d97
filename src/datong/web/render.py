"""Rendering console pages: the template environment, the language and the CSRF token."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from importlib import resources
from zoneinfo import ZoneInfo

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from datong import __version__
from datong.i18n import N_, SUPPORTED, gettext_for, normalise
from datong.security.authz import Actor, Target, is_allowed
from datong.catalog.vocab import ENUMS, label
from datong.security.roles import ROLE_LABELS, Role

LOCALE_COOKIE = "datong_locale"
CSRF_KEY = "csrf"


def console_locale(request: Request) -> str:
    """The console speaks the deployment's default language (Chinese) unless the user switched."""
    settings = request.app.state.settings
    return (
        normalise(request.query_params.get("lang"))
        or normalise(request.cookies.get(LOCALE_COOKIE))
        or normalise(settings.default_locale)
        or "zh-CN"
    )


def csrf_token(request: Request) -> str:
    token = request.session.get(CSRF_KEY)
    if not token:
        token = request.session[CSRF_KEY] = secrets.token_urlsafe(32)
    return token


def vocab_label(enum: str, value: str | None, locale: str) -> str:
    """A catalog vocabulary value as a person reads it (``term("SharingType", "none")``)."""
    if not value:
        return ""
    text = label(ENUMS[enum](value), locale)
    return gettext_for(locale)(text) if locale == "en" else text


def local_time(value: datetime | None, zone: ZoneInfo, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored time (UTC) as people read it: in the deployment's time zone (DATONG_TIMEZONE)."""
    if value is None:
        return "—"
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(zone).strftime(fmt)


def navigation(actor: Actor) -> list[tuple[str, str]]:
    """The menu: only the pages this person may open."""
    items = [("/", N_("Home"), None), ("/departments", N_("Departments"), ("department.list", "departments")),
             ("/catalog", N_("Catalog"), ("department.list", "departments")),
             ("/quality", N_("Data quality"), ("quality.read", "scores")),
             ("/share", N_("Data sharing"), ("share.read", "share")),
             ("/registry", N_("Registries"), ("registry.stats", "registry")),
             ("/licences", N_("Licences"), ("licence.read", "licence")),
             ("/window", N_("One window"), ("case.list", "case")),
             ("/opendata", N_("Open data"), ("opendata.publish", "open_dataset")),
             ("/assessment", N_("Assessment"), ("assessment.read", "assessment")),
             ("/users", N_("Users"), ("user.list", "users")), ("/clients", N_("API clients"), ("client.list", "clients")),
             ("/audit", N_("Audit log"), ("audit.read", "audit_events"))]
    return [(href, label) for href, label, rule in items
            if rule is None or is_allowed(actor, rule[0], Target(rule[1], department_id=actor.department_id))]


class Renderer:
    def __init__(self, app: FastAPI) -> None:
        self.templates = Jinja2Templates(directory=str(resources.files("datong.web") / "templates"))
        self.templates.env.globals.update(version=__version__, locales=SUPPORTED)
        zone = ZoneInfo(app.state.settings.timezone)
        self.templates.env.globals["timezone"] = app.state.settings.timezone
        self.templates.env.filters["local"] = lambda value, fmt="%Y-%m-%d %H:%M": local_time(value, zone, fmt)

    def page(self, request: Request, name: str, status: int = 200, **context) -> HTMLResponse:
        locale = context.pop("page_locale", None) or console_locale(request)
        gettext = gettext_for(locale)
        actor = getattr(request.state, "actor", None)
        context.update(
            nav=navigation(actor) if actor else [],
            _=gettext,
            locale=locale,
            actor=actor,
            csrf_token=csrf_token(request),
            role_label=lambda role: gettext(ROLE_LABELS[Role(role)]),
            term=lambda enum, value: vocab_label(enum, value, locale),
        )
        return self.templates.TemplateResponse(request, name, context, status_code=status)

    def error_page(self, request: Request, status: int, detail) -> HTMLResponse:
        """An error as a console page; ``detail(locale)`` words it in the console's language."""
        return self.page(request, "error.html", status=status, status_code=status,
                         detail=detail(console_locale(request)))
