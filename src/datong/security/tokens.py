"""Signed bearer tokens (JWT, HS256) for users and API clients."""

from __future__ import annotations

import uuid
from datetime import timedelta

import jwt

from datong.db.base import utcnow
from datong.errors import NotAuthenticated

ALGORITHM = "HS256"
ISSUER = "datong"


def issue_token(*, secret: str, subject: str, kind: str, ttl_seconds: int, name: str | None = None) -> str:
    now = utcnow()
    claims = {**({"name": name} if name else {}),
        "iss": ISSUER,
        "sub": subject,
        "kind": kind,
        "iat": now,
        "exp": now + timedelta(seconds=ttl_seconds),
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def read_token(*, secret: str, token: str) -> dict:
    try:
        return jwt.decode(
            token, secret, algorithms=[ALGORITHM], issuer=ISSUER, options={"require": ["exp", "sub"]}
        )
    except jwt.PyJWTError as exc:
        raise NotAuthenticated() from exc
