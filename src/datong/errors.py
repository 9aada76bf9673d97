"""Errors that reach people.

Each error carries an English message template (translated at the edge into the request's
language), a stable machine code and an HTTP status. The API renders them as RFC 9457
problem documents, the console as a flash message and the CLI as a line on stderr.
"""

from __future__ import annotations

from datong.i18n import N_, translate


class DatongError(Exception):
    status = 400
    code = "bad_request"
    message = N_("The request could not be processed.")

    def __init__(self, message: str | None = None, /, **params: object) -> None:
        if message is not None:
            self.message = message
        self.params = params
        super().__init__(self.message.format(**params) if params else self.message)

    def localised(self, locale: str) -> str:
        return translate(locale, self.message, **self.params)


class ConfigurationError(DatongError):
    status = 500
    code = "configuration"

    def __init__(self, reason: str) -> None:
        messages = {
            "secret_key_required": N_(
                "DATONG_SECRET_KEY must be set to a random value of at least 32 characters (about 128 bits; "
                "make one with: python -c 'import secrets; print(secrets.token_urlsafe(48))') "
                "when DATONG_ENV=production."
            ),
            "demo_in_production": N_("The demo province cannot be built when DATONG_ENV=production."),
        }
        super().__init__(messages[reason])
        self.code = reason


class InvalidInput(DatongError):
    status = 422
    code = "invalid_input"
    message = N_("Invalid value for {field}: {reason}")


class NotFound(DatongError):
    status = 404
    code = "not_found"
    message = N_("{what} {key} was not found.")


class Conflict(DatongError):
    status = 409
    code = "conflict"
    message = N_("{what} {key} already exists.")


class NotAuthenticated(DatongError):
    status = 401
    code = "not_authenticated"
    message = N_("Sign in first: a valid bearer token is required.")


class BadCredentials(DatongError):
    status = 401
    code = "bad_credentials"
    message = N_("Wrong username or password, or the account is disabled.")


class PermissionDenied(DatongError):
    status = 403
    code = "permission_denied"
    message = N_("You are not allowed to {action}. Ask an administrator for the role that permits it.")


class UncheckedService(RuntimeError):
    """A service changed state or read personal data without calling authorize() (a bug)."""


class DatabaseBusy(DatongError):
    status = 503
    code = "database_busy"
    message = N_("The database is busy with other work (a large load, or many writers). Nothing was changed; "
                 "try again in a few seconds.")
    headers = {"Retry-After": "5"}


class DatabaseUnavailable(DatongError):
    status = 503
    code = "database_unavailable"
    message = N_("The database cannot be reached. Nothing was changed; try again later, or ask the operator "
                 "to check the database server.")
    headers = {"Retry-After": "30"}


_BUSY = ("database is locked", "database table is locked", "lock timeout", "could not obtain lock",
         "queuepool limit", "deadlock detected")


def database_error(exc: BaseException) -> DatongError | None:
    """The person-facing error for a database failure (busy: wait and retry; down), or None if the
    exception is not a database failure."""
    from sqlalchemy.exc import OperationalError, TimeoutError as PoolTimeout

    if isinstance(exc, PoolTimeout):
        return DatabaseBusy()
    if isinstance(exc, OperationalError):
        text = str(exc).lower()
        return DatabaseBusy() if any(marker in text for marker in _BUSY) else DatabaseUnavailable()
    return None
