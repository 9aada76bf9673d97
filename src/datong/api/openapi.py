"""The OpenAPI document as clients and tools should read it: how to authenticate (OAuth2 password
and client-credentials flows against the token endpoint, so that /docs has an Authorize button) and
what an error looks like (every 4xx and 5xx is an RFC 9457 problem document)."""

from __future__ import annotations

from fastapi import FastAPI
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
                responses = operation.setdefault("responses", {})
                for status, text in ERRORS.items():
                    responses[status] = {"description": text, "content": {
                        "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}
        app.openapi_schema = schema
        return schema

    app.openapi = document
