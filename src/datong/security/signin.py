"""Sign-in with throttling: the token endpoint and the console login both come through here.

Two limits, both in settings. Per account (kept in the database, so every server process sees it):
``DATONG_LOGIN_MAX_FAILURES`` wrong passwords in a row lock the account for
``DATONG_LOGIN_LOCKOUT_MINUTES``, even against the right password; the security administrator can
lift the lock. Per source address (counted in the rate-limit storage, shared when it is Redis):
``DATONG_LOGIN_ADDRESS_FAILURES`` failures in that many minutes make the address wait, whatever
account or system it tries next. Every failed password, lock and unlock is in the audit chain, and
the first refusal of a throttled address in each window.
"""

from __future__ import annotations

import math
import time
from datetime import timedelta

from limits import RateLimitItemPerMinute, storage, strategies

from datong.db.engine import Database
from datong.errors import BadCredentials, DatongError
from datong.i18n import N_
from datong.security import service
from datong.security.authz import Actor


class TooManyAttempts(DatongError):
    status = 429
    code = "too_many_sign_ins"
    message = N_("Too many failed sign-ins from {address}. Try again in {seconds} s.")


class SignInGuard:
    def __init__(self, database: Database, *, storage_uri: str, max_failures: int, lockout_minutes: int,
                 address_failures: int) -> None:
        self.database = database
        self.limiter = strategies.MovingWindowRateLimiter(storage.storage_from_string(storage_uri))
        self.max_failures, self.lockout = max_failures, timedelta(minutes=lockout_minutes)
        self.per_address = RateLimitItemPerMinute(address_failures, multiples=lockout_minutes)
        # One audit event per throttled address and window: a flood of refused attempts must not
        # become a flood of audit events.
        self.audit_once = RateLimitItemPerMinute(1, multiples=lockout_minutes)

    @classmethod
    def from_settings(cls, database: Database, settings) -> SignInGuard:
        return cls(database, storage_uri=settings.rate_limit_storage, max_failures=settings.login_max_failures,
                   lockout_minutes=settings.login_lockout_minutes, address_failures=settings.login_address_failures)

    def user(self, *, username: str, password: str, address: str) -> Actor:
        self._check(address, f"user:{username[:64]}")
        try:
            with self.database.unit_of_work() as session:
                return service.authenticate_user(session, username=username, password=password)
        except BadCredentials:
            self.limiter.hit(self.per_address, "sign-in", address)
            with self.database.unit_of_work() as session:
                service.count_failed_login(session, username=username, max_failures=self.max_failures,
                                           lockout=self.lockout)
            raise

    def client(self, *, client_id: str, secret: str, address: str) -> Actor:
        self._check(address, f"client:{client_id[:64]}")
        try:
            with self.database.unit_of_work() as session:
                return service.authenticate_client(session, client_id=client_id, secret=secret)
        except BadCredentials:
            self.limiter.hit(self.per_address, "sign-in", address)
            raise

    def _check(self, address: str, target: str) -> None:
        if self.limiter.test(self.per_address, "sign-in", address):
            return
        reset = self.limiter.get_window_stats(self.per_address, "sign-in", address).reset_time
        seconds = max(math.ceil(reset - time.time()), 1)
        error = TooManyAttempts(address=address, seconds=seconds)
        error.headers = {"Retry-After": str(seconds)}
        if self.limiter.hit(self.audit_once, "sign-in-audit", address):
            self.database.audit.record(actor=Actor(kind="user", name=address), action="auth.login", target=target,
                                       outcome="denied", detail={"reason": "address throttled", "address": address})
        raise error
