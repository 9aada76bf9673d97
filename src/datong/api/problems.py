"""Errors as RFC 9457 problem documents (``application/problem+json``), in the caller's language."""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException

from datong.api.deps import request_locale
from datong.errors import DatongError, database_error
from datong.i18n import N_, Message, translate

PROBLEM = "application/problem+json"
_TITLES = {
    400: N_("Bad request"), 401: N_("Not signed in"), 403: N_("Forbidden"), 404: N_("Not found"),
    405: N_("Method not allowed"), 409: N_("Conflict"), 413: N_("Too large"),
    422: N_("Invalid input"), 429: N_("Too many requests"), 500: N_("Server error"), 503: N_("Unavailable"),
}


def wants_html(request: Request) -> bool:
    """Console pages (not the API) answer a browser with an HTML error page."""
    path = request.url.path
    return not path.startswith(("/api/", "/healthz", "/metrics", "/openapi")) and (
        "text/html" in request.headers.get("accept", "")
    )


def problem(request: Request, status: int, code: str, detail: Callable[[str], str], **extra) -> Response:
    """Answer with a problem document; ``detail(locale)`` words the message in the chosen language
    (the console's own language for a browser page, Accept-Language for the API)."""
    renderer = getattr(request.app.state, "html_error", None)
    if renderer is not None and wants_html(request):
        return renderer(request, status, detail)
    locale = request_locale(request)
    body = {
        "type": f"/problems/{code}",
        "title": translate(locale, _TITLES.get(status, N_("Error"))),
        "status": status,
        "detail": detail(locale),
        "instance": request.url.path,
        "code": code,
        **extra,
    }
    headers = {"Content-Language": locale}
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="datong"'
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


async def datong_error(request: Request, exc: DatongError) -> JSONResponse:
    response = problem(request, exc.status, exc.code, exc.localised)
    response.headers.update(getattr(exc, "headers", None) or {})  # e.g. Retry-After on 429
    return response


#: Pydantic's messages for the usual mistakes, in words we translate (others keep pydantic's English).
FIELD_MESSAGES = {
    "missing": N_("required"), "extra_forbidden": N_("not a known field; remove it"),
    "string_too_short": N_("too short (at least {min_length} characters)"),
    "string_too_long": N_("too long (at most {max_length} characters)"),
    "too_short": N_("too few entries (at least {min_length})"), "too_long": N_("too many entries (at most {max_length})"),
    "greater_than_equal": N_("must be at least {ge}"), "less_than_equal": N_("must be at most {le}"),
    "greater_than": N_("must be more than {gt}"), "less_than": N_("must be less than {lt}"),
    "int_parsing": N_("must be a whole number"), "int_type": N_("must be a whole number"),
    "string_type": N_("must be text"), "bool_parsing": N_("must be true or false"),
    "list_type": N_("must be a list"), "dict_type": N_("must be an object"),
    "string_pattern_mismatch": N_("does not have the expected form"), "enum": N_("must be one of {expected}"),
    "literal_error": N_("must be one of {expected}"), "date_from_datetime_parsing": N_("must be a date (2020-01-02)"),
    "date_parsing": N_("must be a date (2020-01-02)"), "datetime_parsing": N_("must be a time (ISO 8601)"),
    "datetime_from_date_parsing": N_("must be a time (ISO 8601)"),
    "json_invalid": N_("the body is not valid JSON (near character {position})"),
}


def _field_error(error: dict) -> dict:
    location = error["loc"][0] if error["loc"] else None
    if error["type"] == "json_invalid":  # the location is a character position, not a field
        return {"field": "body", "location": "body", "type": "json_invalid", "message": error["msg"],
                "text": Message(FIELD_MESSAGES["json_invalid"], position=error["loc"][-1])}
    field = ".".join(str(p) for p in error["loc"] if p not in ("body", "query", "path", "form", "header"))
    template = FIELD_MESSAGES.get(error["type"])
    context = {k: v for k, v in (error.get("ctx") or {}).items() if isinstance(v, (str, int, float))}
    text = Message(template, **context) if template and _fills(template, context) else None
    return {"field": field, "location": location, "message": error["msg"], "type": error["type"], "text": text}


def _fills(template: str, context: dict) -> bool:
    try:
        template.format(**context)
        return True
    except (KeyError, IndexError):
        return False


async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    locale = request_locale(request)
    errors = []
    for found in (_field_error(e) for e in exc.errors()):
        text = found.pop("text")
        errors.append({**found, "message": text.localise(locale) if text is not None else found["message"]})
    fields = ", ".join(sorted({e["field"] for e in errors if e["field"]})) or "-"
    def detail(locale: str) -> str:
        return translate(locale, N_("Check these fields and send again: {fields}"), fields=fields)

    return problem(request, 422, "invalid_input", detail, errors=errors)


async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
    def detail(locale: str) -> str:
        text = exc.detail if isinstance(exc.detail, str) else None
        if text is None or text == HTTPStatus(exc.status_code).phrase:  # Starlette's own "Not Found", …
            text = _TITLES.get(exc.status_code, N_("Error"))
        return translate(locale, text)

    return problem(request, exc.status_code, f"http_{exc.status_code}", detail)


async def database_failure(request: Request, exc: Exception) -> Response:
    """A busy or unreachable database is 503 with Retry-After, never 500."""
    error = database_error(exc)
    if error is None:
        raise exc
    return await datong_error(request, error)


async def too_deep(request: Request, exc: RecursionError) -> Response:
    """A body or value nested past what a parser can follow (the limits in datong.untrusted
    normally refuse it first)."""
    return problem(request, 400, "too_deep", lambda locale: translate(
        locale, N_("The input is nested too deeply to be read; send flat records.")))


async def bad_value(request: Request, exc: Exception) -> Response:
    """A value the database refuses to hold (a number past 64 bits, text with a NUL character,
    which PostgreSQL cannot store) is the caller's to fix: 422, never 500."""
    if isinstance(exc, OverflowError) or "out of range" in str(getattr(exc, "orig", exc)):
        return problem(request, 422, "out_of_range", lambda locale: translate(
            locale, N_("A number in the request is out of range (at most {limit}); check the ids you sent."),
            limit=2**63 - 1))
    if "NUL" in str(getattr(exc, "orig", exc)):
        return problem(request, 422, "nul_character", lambda locale: translate(
            locale, N_("The request contains a NUL character (0x00), which text cannot hold; remove it.")))
    return problem(request, 422, "bad_value", lambda locale: translate(
        locale, N_("A value in the request cannot be stored as it is; check its form.")))


def install(app: FastAPI) -> None:
    from sqlalchemy.exc import DataError, OperationalError, TimeoutError as PoolTimeout

    app.add_exception_handler(DatongError, datong_error)
    app.add_exception_handler(OperationalError, database_failure)
    app.add_exception_handler(PoolTimeout, database_failure)
    app.add_exception_handler(RecursionError, too_deep)
    app.add_exception_handler(OverflowError, bad_value)
    app.add_exception_handler(DataError, bad_value)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(HTTPException, http_error)
