"""Dependencies shared by every router: the unit of work, the caller, the language.

A request holds a database connection within one thread hop: the caller is resolved from a cache
of verified tokens (or a short read of its own), so the handler is the first to take a connection
from the pool, and the unit of work is closed by FastAPI without waiting for a free thread.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from datong.errors import DatongError, NotAuthenticated
from datong.i18n import N_, Message, negotiate, normalise
from datong.security.authz import Actor
from datong.security.service import actor_from_claims
from datong.security.tokens import read_token
from datong.untrusted import MAX_JSON_DEPTH, too_deep

LOCALE_COOKIE = "datong_locale"
#: Reads that arrive as POST (a batch of keys in a body): they open a read transaction too.
GOVERNED_READS = ("/api/v1/share/",)
READ_METHODS = ("GET", "HEAD", "OPTIONS")
#: How long a resolved caller is reused before its account is looked up again (a disabled account
#: stops working within this time). A token enters the cache only once verified, and its expiry is
#: checked on every use.
ACTOR_CACHE_SECONDS = 30.0


def is_read(request: Request) -> bool:
    path = request.url.path
    return request.method in READ_METHODS or (path.startswith(GOVERNED_READS) and path.endswith("/query"))


def unit_of_work(request: Request) -> Iterator[Session]:
    database = request.app.state.database
    with (database.reading() if is_read(request) else database.unit_of_work()) as session:
        yield session


def request_locale(request: Request) -> str:
    settings = request.app.state.settings
    chosen = normalise(request.query_params.get("lang")) or normalise(request.cookies.get(LOCALE_COOKIE))
    return chosen or negotiate(request.headers.get("accept-language"), settings.default_locale)


class ActorCache:
    """Verified bearer tokens → the actor they name, for a short while (per process)."""

    def __init__(self, seconds: float = ACTOR_CACHE_SECONDS, size: int = 50_000) -> None:
        self.seconds, self.size = seconds, size
        self.entries: dict[str, tuple[Actor, float, float]] = {}

    def get(self, token: str) -> Actor | None:
        entry = self.entries.get(token)
        if entry is None:
            return None
        actor, until, expires = entry
        if time.monotonic() >= until or time.time() >= expires:
            self.entries.pop(token, None)
            return None
        return actor

    def put(self, token: str, actor: Actor, expires: float) -> None:
        if len(self.entries) >= self.size:
            self.entries.clear()
        self.entries[token] = (actor, time.monotonic() + self.seconds, expires)


def actor_for_token(request: Request, token: str) -> Actor:
    """Who a bearer token speaks for: the one resolver of the API, the CKAN routes and anything
    else that takes tokens (cached for a short while; refused with 401 when the token or its
    account is no longer good). Blocking: call it from a thread."""
    cached = request.app.state.actor_cache.get(token)
    if cached is not None:
        return cached
    claims = read_token(secret=request.app.state.secret, token=token)
    with request.app.state.database.reading() as session:
        actor = actor_from_claims(session, claims)
    if actor is None:
        raise NotAuthenticated()
    request.app.state.actor_cache.put(token, actor, float(claims["exp"]))
    return actor


async def bearer_actor(request: Request) -> Actor:
    """The caller: from the cache on the event loop, or looked up in a thread of its own."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise NotAuthenticated()
    actor = request.app.state.actor_cache.get(token)
    if actor is None:
        actor = await run_in_threadpool(actor_for_token, request, token)
    request.state.actor = actor
    return actor


class BadJson(DatongError):
    status = 400
    code = "bad_json"
    message = N_("The body is not JSON that can be read: {reason}")


async def json_body(request: Request) -> object:
    """A JSON body parsed only after its nesting passed the cheap limit (see datong.untrusted)."""
    raw = await request.body()
    if too_deep(raw):
        raise BadJson(reason=Message(N_("it nests arrays or objects more than {limit} deep"), limit=MAX_JSON_DEPTH))
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as error:
        raise BadJson(reason=str(error)[:200]) from None


def client_address(request: Request) -> str:
    """The caller's address as the server saw it (behind a proxy, uvicorn's --forwarded-allow-ips
    makes this the client's own)."""
    return request.client.host if request.client else "unknown"


#: Row ids are 64-bit signed integers in both databases; a larger number names nothing and is 422.
MAX_ID = 2**63 - 1
IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]

SessionDep = Annotated[Session, Depends(unit_of_work, scope="function")]
ActorDep = Annotated[Actor, Depends(bearer_actor)]
