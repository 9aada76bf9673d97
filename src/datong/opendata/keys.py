"""API keys for the open-data API: anyone applies, the bureau approves (the key is shown once),
refuses or revokes. A key unlocks the 有条件开放 datasets it was approved for, and raises its
holder's rate limit on the open ones."""

from __future__ import annotations

import hashlib
import secrets

from limits import RateLimitItemPerHour, storage, strategies
from sqlalchemy import select
from sqlalchemy.orm import Session

from datong.db.base import utcnow
from datong.db.paging import Found, Window, window
from datong.errors import DatongError, InvalidInput, NotFound
from datong.i18n import N_, Message, Term
from datong.opendata.models import (
    APPROVED,
    PENDING,
    PUBLISHED,
    REFUSED,
    REVOKED,
    OpenApiKey,
    OpenDataset,
)
from datong.security.audit import append_event
from datong.security.authz import Actor, Target, authorize, service

APPLICATION = Term(N_("API key application"))
PREFIX = "dtk_"
APPLICATIONS = Actor.system("open-applications")


class KeyNeeded(DatongError):
    status = 401
    code = "api_key_needed"
    message = N_("{dataset} is open on conditions (有条件开放): send an approved API key in the X-Api-Key "
                 "header. Apply for one on the dataset's page.")


class KeyNotValid(DatongError):
    status = 403
    code = "api_key_not_valid"
    message = N_("This API key is unknown, revoked, or not approved for {dataset}. Apply for access to it "
                 "on the dataset's page.")


class Decided(DatongError):
    status = 409
    code = "application_decided"
    message = N_("This application is {status} already.")


class TooManyApplications(DatongError):
    status = 429
    code = "too_many_applications"
    message = N_("Too many key applications from this address: at most {limit} an hour. Try again later.")


def throttle_applications(state, address: str) -> None:
    """At most ``open_applications_per_hour`` applications an hour from one address (shared storage)."""
    if getattr(state, "open_apply_limiter", None) is None:
        state.open_apply_limiter = strategies.MovingWindowRateLimiter(
            storage.storage_from_string(state.settings.rate_limit_storage))
    per_hour = state.settings.open_applications_per_hour
    if not state.open_apply_limiter.hit(RateLimitItemPerHour(per_hour), "open-apply", address):
        raise TooManyApplications(limit=per_hour)


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def apply(session: Session, *, applicant: str, email: str, purpose: str, datasets: list[str],
          organisation: str = "") -> OpenApiKey:
    """Anyone may apply (no account): who, how to reach them, what for, and which datasets."""
    codes = sorted({c.strip() for c in datasets if c.strip()})
    if not codes:
        raise InvalidInput(field="datasets", reason=Term(N_("name at least one dataset")))
    known = set(session.scalars(select(OpenDataset.code).where(OpenDataset.code.in_(codes),
                                                              OpenDataset.status == PUBLISHED)))
    unknown = [c for c in codes if c not in known]
    if unknown:
        raise InvalidInput(field="datasets", reason=Message(N_("no published dataset {codes}"), codes=", ".join(unknown)))
    application = OpenApiKey(applicant=applicant.strip(), email=email.strip(), purpose=purpose.strip(),
                             organisation=organisation.strip(), datasets=codes, status=PENDING)
    session.add(application)
    session.flush()
    # The applicant has no account: the portal records the application on their behalf.
    append_event(session, actor=APPLICATIONS, action="open.key.apply", target=f"open_key:{application.id}",
                 detail={"datasets": codes})
    return application


def get_application(session: Session, application_id: int) -> OpenApiKey:
    application = session.get(OpenApiKey, application_id)
    if application is None:
        raise NotFound(what=APPLICATION, key=str(application_id))
    return application


@service(mutates=False)
def list_applications(session: Session, actor: Actor, *, status: str | None = None,
                      page: Window | None = None) -> Found[OpenApiKey]:
    authorize(actor, "opendata.keys", Target("open_key"))
    stmt = select(OpenApiKey).order_by(OpenApiKey.id.desc())
    if status:
        stmt = stmt.where(OpenApiKey.status == status)
    return window(session, stmt, page)


@service(mutates=True)
def approve(session: Session, actor: Actor, *, application_id: int, per_minute: int = 60) -> tuple[OpenApiKey, str]:
    """Approve an application; returns the key, which is shown this once and kept only as a hash."""
    authorize(actor, "opendata.keys", Target("open_key", str(application_id)))
    application = get_application(session, application_id)
    if application.status != PENDING:
        raise Decided(status=application.status)
    key = PREFIX + secrets.token_urlsafe(32)
    application.status, application.key_hash, application.key_hint = APPROVED, digest(key), key[:10]
    application.per_minute, application.decided_by, application.decided_at = per_minute, actor.name, utcnow()
    append_event(session, actor=actor, action="open.key.approve", target=f"open_key:{application_id}",
                 detail={"datasets": application.datasets, "per_minute": per_minute})
    return application, key


def _close(session: Session, actor: Actor, application_id: int, *, was: str, becomes: str, reason: str) -> OpenApiKey:
    authorize(actor, "opendata.keys", Target("open_key", str(application_id)))
    application = get_application(session, application_id)
    if application.status != was:
        raise Decided(status=application.status)
    application.status, application.reason = becomes, reason
    application.decided_by, application.decided_at = actor.name, utcnow()
    append_event(session, actor=actor, action=f"open.key.{'refuse' if becomes == REFUSED else 'revoke'}",
                 target=f"open_key:{application_id}", detail={"reason": reason})
    return application


@service(mutates=True)
def refuse(session: Session, actor: Actor, *, application_id: int, reason: str) -> OpenApiKey:
    """Refuse a pending application, with the reason the applicant is told."""
    return _close(session, actor, application_id, was=PENDING, becomes=REFUSED, reason=reason)


@service(mutates=True)
def revoke(session: Session, actor: Actor, *, application_id: int, reason: str) -> OpenApiKey:
    """Revoke an approved key: its next call is refused."""
    return _close(session, actor, application_id, was=APPROVED, becomes=REVOKED, reason=reason)


def check(session: Session, dataset: OpenDataset, key: str | None) -> OpenApiKey | None:
    """The approved key a call comes with (None for an open dataset called without one)."""
    if not key:
        if dataset.access != "open":
            raise KeyNeeded(dataset=dataset.title)
        return None
    found = session.scalar(select(OpenApiKey).where(OpenApiKey.key_hash == digest(key.strip()),
                                                    OpenApiKey.status == APPROVED))
    if found is None or (dataset.access != "open" and dataset.code not in found.datasets):
        raise KeyNotValid(dataset=dataset.title)
    return found
