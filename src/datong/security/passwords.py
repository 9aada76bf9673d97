"""Argon2id password and secret hashing."""

from __future__ import annotations

import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from datong.errors import InvalidInput
from datong.i18n import N_, Term

_hasher = PasswordHasher()
MIN_LENGTH = 8
_CLASSES = (re.compile(r"[a-z]"), re.compile(r"[A-Z]"), re.compile(r"\d"), re.compile(r"[^A-Za-z0-9]"))

# A valid hash of a random secret, checked when the account does not exist so that a wrong
# username costs as long as a wrong password.
_DUMMY = _hasher.hash("datong-timing-equaliser")


def check_strength(password: str) -> None:
    classes = sum(1 for pattern in _CLASSES if pattern.search(password))
    if len(password) < MIN_LENGTH or classes < 3:
        raise InvalidInput(
            field=Term(N_("password")),
            reason=Term(N_("use at least 8 characters from three of: lower case, upper case, digits, symbols")),
        )


def hash_secret(secret: str) -> str:
    return _hasher.hash(secret)


def verify_secret(stored_hash: str | None, secret: str) -> bool:
    try:
        return _hasher.verify(stored_hash or _DUMMY, secret) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False
