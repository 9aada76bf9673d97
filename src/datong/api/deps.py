"""Dependencies shared by every router: the unit of work, the caller, the language."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from datong.errors import NotAuthenticated
from datong.i18n import negotiate, normalise
from datong.security.authz import Actor
from datong.security.service import actor_from_claims
from datong.security.tokens import read_token

LOCALE_COOKIE = "datong_locale"


#: Routes whose reads end in a write to the audit chain: their transaction takes the write lock first.
GOVERNED_READS = ("/api/v1/share/",)


def unit_of_work(request: Request) -> Iterator[Session]:
    immediate = request.url.path.startswith(GOVERNED_READS)
    with request.app.state.database.unit_of_work(immediate=immediate) as session:
        yield session


def request_locale(request: Request) -> str:
    settings = request.app.state.settings
    chosen = normalise(request.query_params.get("lang")) or normalise(request.cookies.get(LOCALE_COOKIE))
    return chosen or negotiate(request.headers.get("accept-language"), settings.default_locale)


def bearer_actor(request: Request, session: Annotated[Session, Depends(unit_of_work)]) -> Actor:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthenticated()
    claims = read_token(secret=request.app.state.secret, token=token.strip())
    actor = actor_from_claims(session, claims)
    if actor is None:
        raise NotAuthenticated()
    request.state.actor = actor
    return actor


SessionDep = Annotated[Session, Depends(unit_of_work)]
ActorDep = Annotated[Actor, Depends(bearer_actor)]
