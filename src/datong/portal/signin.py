"""Citizens and companies sign in to the portal, apart from staff accounts.

A person gives their ID number; the hub sends a one-time code to the phone the population
registry holds for them, and the code signs them in. A company signs in through its legal
representative: the credit code and the representative's ID number, where the legal-entity
registry names that person (by the golden 法定代表人 and 姓名), and the code goes to the
representative's phone. Codes live ``DATONG_PORTAL_CODE_MINUTES`` and allow five guesses; a number
may ask for ``DATONG_PORTAL_CODES_PER_HOUR`` codes and an address for
``DATONG_PORTAL_ADDRESS_CODES_PER_HOUR``, counted in the shared rate-limit storage. Every code
sent (the registry's phone was read to send it), every sign-in and every wrong code is audited.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, timedelta

from limits import RateLimitItemPerHour, storage, strategies
from sqlalchemy import select

from datong.db.base import utcnow
from datong.errors import DatongError
from datong.i18n import N_, Term
from datong.portal.models import SignInCode
from datong.portal.senders import Sender
from datong.registry.spec import ENTITY, PERSON
from datong.security import masking
from datong.security.audit import append_event
from datong.security.authz import Actor

GUESSES = 5
PORTAL = Actor.system("portal")


class NoPhoneOnRecord(DatongError):
    status = 404
    code = "no_phone_on_record"
    message = N_("The registry holds no phone number for {key}. Sign in at a service window, where a clerk can "
                 "check your identity, or have your phone number recorded first.")


class NotRepresentative(DatongError):
    status = 403
    code = "not_legal_representative"
    message = N_("The legal-entity registry does not name this person as the legal representative of {key}.")


class WrongCode(DatongError):
    status = 401
    code = "wrong_code"
    message = N_("That code is wrong. {left} tries left.")


class CodeGone(DatongError):
    status = 401
    code = "code_expired"
    message = N_("This code has expired or was used already. Ask for a new one.")


class TooManyCodes(DatongError):
    status = 429
    code = "too_many_codes"
    message = N_("Too many codes were asked for {what}. Try again in {minutes} min.")


@dataclass(frozen=True)
class CodeSent:
    challenge: str  # the code's id, which the second step sends back with the code
    phone_hint: str
    minutes: int


def _digest(salt: str, code: str) -> str:
    # A salted hash is enough here (not Argon2): a code lives minutes, allows five guesses, and a
    # stolen table holds only used or expired ones.
    return hashlib.sha256(f"{salt}:{code}".encode()).hexdigest()


def _golden(session, kind: str, key: str) -> dict[str, str]:
    """A subject's golden values by data element, read from the registry's own resource (the
    system reads it to sign the person in; the code event records the read)."""
    from datong.registry.service import registry_resource
    from datong.store.models import Record

    registry = registry_resource(session, kind)
    payload = session.scalar(select(Record.payload).where(Record.resource_id == registry.id, Record.key == key))
    if payload is None:
        return {}
    values = json.loads(payload)
    return {i.element.identifier: values.get(i.name) for i in registry.items if i.element is not None
            and values.get(i.name) not in (None, "")}


class PortalSignIn:
    def __init__(self, database, sender: Sender, *, storage_uri: str, minutes: int, per_holder: int,
                 per_address: int) -> None:
        self.database, self.sender, self.minutes = database, sender, minutes
        self.limiter = strategies.MovingWindowRateLimiter(storage.storage_from_string(storage_uri))
        self.per_holder, self.per_address = RateLimitItemPerHour(per_holder), RateLimitItemPerHour(per_address)

    @classmethod
    def from_settings(cls, database, sender: Sender, settings) -> PortalSignIn:
        return cls(database, sender, storage_uri=settings.rate_limit_storage, minutes=settings.portal_code_minutes,
                   per_holder=settings.portal_codes_per_hour, per_address=settings.portal_address_codes_per_hour)

    def send_code(self, *, id_number: str, credit_code: str | None = None, address: str) -> CodeSent:
        from datong.registry.service import normalise_key

        person = normalise_key(PERSON, id_number)
        company = normalise_key(ENTITY, credit_code) if credit_code else None
        self._throttle(self.per_address, "address", address)
        self._throttle(self.per_holder, "number", company or person)
        with self.database.reading() as session:
            phone, name, refused = self._phone(session, person, company)
        if refused is not None:
            # Committed although the request fails: the attempt itself is what an auditor looks for.
            with self.database.unit_of_work() as session:
                append_event(session, actor=PORTAL, action="portal.code", target=f"holder:{company or person}",
                             subjects=[s for s in (person, company) if s], outcome="denied",
                             detail={"reason": refused.code, "address": address})
            raise refused
        with self.database.unit_of_work() as session:
            code, salt = f"{secrets.randbelow(10**6):06d}", secrets.token_hex(16)
            row = SignInCode(id=secrets.token_hex(16), holder_key=person, acting_for=company, display_name=name,
                             salt=salt, code_hash=_digest(salt, code), phone_hint=masking.mask(phone, "phone"),
                             expires_at=utcnow() + timedelta(minutes=self.minutes))
            session.add(row)
            append_event(session, actor=PORTAL, action="portal.code", target=f"holder:{company or person}",
                         subjects=[s for s in (person, company) if s],
                         purpose="门户登录身份核验", detail={"phone": row.phone_hint, "address": address})
            sent = CodeSent(row.id, row.phone_hint, self.minutes)
        self.sender.send(phone, f"【数通】您的登录验证码为{code}，{self.minutes}分钟内有效。如非本人操作，请忽略本短信。")
        return sent

    def _phone(self, session, person: str, company: str | None) -> tuple[str, str, DatongError | None]:
        """The phone to send the code to and the name to greet, or why not."""
        values = _golden(session, PERSON, person)
        name = str(values.get("DE0002") or "")
        if company:
            entity = _golden(session, ENTITY, company)
            if not entity or not name or entity.get("DE0012") != name:
                return "", "", NotRepresentative(key=company)
            name = f"{entity.get('DE0011', company)}（{name}）"
        phone = values.get("DE0009")
        if not phone:
            return "", "", NoPhoneOnRecord(key=masking.mask(person, "id_number"))
        return str(phone), name, None

    def sign_in(self, *, challenge: str, code: str, address: str) -> Actor:
        """The holder the code was sent for (a company when its representative signed in)."""
        with self.database.unit_of_work() as session:
            row = session.get(SignInCode, challenge[:32], with_for_update=self.database.dialect == "postgresql")
            expired = row is None or row.used_at is not None or row.attempts >= GUESSES or \
                row.expires_at.replace(tzinfo=row.expires_at.tzinfo or UTC) < utcnow()
            if expired:
                raise CodeGone()
            row.attempts += 1
            right = hmac.compare_digest(_digest(row.salt, (code or "").strip()), row.code_hash)
            holder = row.acting_for or row.holder_key
            if right:
                row.used_at = utcnow()
            append_event(session, actor=Actor.holder(holder), action="portal.login", target=f"holder:{holder}",
                         subjects=[s for s in (row.holder_key, row.acting_for) if s],
                         outcome="success" if right else "denied",
                         detail={"address": address, "representative": row.holder_key if row.acting_for else None,
                                 "attempt": row.attempts})
            left, name = GUESSES - row.attempts, row.display_name
        if not right:  # the attempt is counted (committed) before the refusal
            raise WrongCode(left=left) if left > 0 else CodeGone()
        return Actor.holder(holder, display_name=name)

    def _throttle(self, item, what: str, key: str) -> None:
        if self.limiter.hit(item, "portal-code", what, key):
            return
        reset = self.limiter.get_window_stats(item, "portal-code", what, key).reset_time
        minutes = max(math.ceil((reset - time.time()) / 60), 1)
        error = TooManyCodes(what=Term(N_("from this address") if what == "address" else N_("for this number")),
                             minutes=minutes)
        error.headers = {"Retry-After": str(minutes * 60)}
        raise error
