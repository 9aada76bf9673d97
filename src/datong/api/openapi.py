"""The OpenAPI document as clients and tools should read it: how to authenticate (OAuth2 password
and client-credentials flows against the token endpoint, so that /docs has an Authorize button) and
what an error looks like (every 4xx and 5xx is an RFC 9457 problem document). /docs is Swagger UI
served from the package (government networks reach no CDN)."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.openapi.utils import get_openapi

TOKEN_URL = "/api/v1/auth/token"
PROBLEM = {
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
        "detail": {"type": "string"}, "instance": {"type": "string"}, "code": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "object"}},
    },
}
#: What any operation may answer besides its own success: bad input, sign-in, permission, missing
#: things, conflicts, size, throttling, a busy database.
ERRORS = {
    "400": "Bad request", "401": "Not signed in", "403": "Forbidden", "404": "Not found", "409": "Conflict",
    "413": "Too large", "422": "Invalid input", "423": "Locked", "429": "Too many requests",
    "503": "Unavailable (busy database or audit chain; see Retry-After)",
}
PUBLIC = {TOKEN_URL, "/healthz"}
#: Headers the handlers read as optional so that their absence gets the service's own 400 in the
#: caller's language; the document says what they are.
HEADERS = {
    "x-purpose": {"required": True, "description": "Why the data is read (stored in the audit chain). "
                  "Percent-encoded UTF-8 or an RFC 8187 value, e.g. UTF-8''%E8%B5%84%E6%A0%BC%E6%A0%B8%E6%9F%A5."},
    "x-case-no": {"description": "The application or case number behind the read (percent-encoded UTF-8)."},
}
ASSETS = "/static/vendor/swagger-ui"


def install_docs(app: FastAPI) -> None:
    """/docs from the vendored swagger-ui-dist (see static/vendor/README), with the OAuth2 redirect."""

    @app.get("/docs", include_in_schema=False)
    def docs():
        return get_swagger_ui_html(
            openapi_url="/openapi.json", title=f"{app.title} API", swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css", swagger_favicon_url="data:,",
            oauth2_redirect_url="/docs/oauth2-redirect", swagger_ui_parameters={"persistAuthorization": True})

    @app.get("/docs/oauth2-redirect", include_in_schema=False)
    def oauth2_redirect():
        return get_swagger_ui_oauth2_redirect_html()


def install(app: FastAPI) -> None:
    def document() -> dict:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        components = schema.setdefault("components", {})
        components.setdefault("schemas", {})["Problem"] = PROBLEM
        components["securitySchemes"] = {"oauth2": {"type": "oauth2", "flows": {
            "password": {"tokenUrl": TOKEN_URL, "scopes": {}},
            "clientCredentials": {"tokenUrl": TOKEN_URL, "scopes": {}}}}}
        for path, operations in schema["paths"].items():
            for operation in operations.values():
                if path not in PUBLIC:
                    operation["security"] = [{"oauth2": []}]
                for parameter in operation.get("parameters", []):
                    if parameter["name"].lower() in HEADERS:  # the service refuses a read without it (400)
                        parameter.update(HEADERS[parameter["name"].lower()])
                responses = operation.setdefault("responses", {})
                for status, text in ERRORS.items():
                    responses[status] = {"description": text, "content": {
                        "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}
        app.openapi_schema = schema
        return schema

    app.openapi = document
