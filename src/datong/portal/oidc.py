"""Signing in to the portal through the province's identity provider with OpenID Connect.

The authorization code flow with PKCE (authlib's OAuth2 client), a state and a nonce kept in the
browser's signed session, and the ID token checked with joserfc (signature against the
provider's published keys, issuer, audience, expiry, nonce). The ID number comes from the claim
``DATONG_PORTAL_OIDC_ID_CLAIM``; it must name a person the population registry holds, as for a
one-time code. Every sign-in, refused or not, is in the audit chain (``portal.login``, method oidc).
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

import requests
from authlib.integrations.requests_client import OAuth2Session
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from datong.errors import DatongError
from datong.i18n import N_
from datong.registry.spec import PERSON
from datong.security.authz import Actor

DISCOVERY_TTL = 3600


class OidcFailed(DatongError):
    status = 401
    code = "oidc_failed"
    message = N_("Signing in with {provider} did not succeed ({reason}). Try again, or sign in with a code "
                 "sent to your phone.")


class NotConfigured(DatongError):
    status = 404
    code = "oidc_not_configured"
    message = N_("Signing in through an identity provider is not set up here; sign in with a code sent to your phone.")


@dataclass(frozen=True)
class Started:
    url: str
    state: str
    nonce: str
    verifier: str


class OidcSignIn:
    def __init__(self, database, *, issuer: str, client_id: str, client_secret: str | None, id_claim: str,
                 name: str, timeout: float = 10.0) -> None:
        self.database, self.issuer, self.client_id, self.client_secret = database, issuer.rstrip("/"), client_id, client_secret
        self.id_claim, self.name, self.timeout = id_claim, name, timeout
        self._metadata: tuple[float, dict] | None = None
        self._keys: tuple[float, KeySet] | None = None

    @classmethod
    def from_settings(cls, database, settings) -> OidcSignIn | None:
        if not settings.portal_oidc_issuer:
            return None
        return cls(database, issuer=settings.portal_oidc_issuer, client_id=settings.portal_oidc_client_id or "",
                   client_secret=settings.portal_oidc_client_secret, id_claim=settings.portal_oidc_id_claim,
                   name=settings.portal_oidc_name)

    def metadata(self) -> dict:
        if self._metadata is None or time.monotonic() - self._metadata[0] > DISCOVERY_TTL:
            answer = requests.get(f"{self.issuer}/.well-known/openid-configuration", timeout=self.timeout)
            answer.raise_for_status()
            self._metadata = (time.monotonic(), answer.json())
        return self._metadata[1]

    def keys(self, *, fresh: bool = False) -> KeySet:
        if fresh or self._keys is None or time.monotonic() - self._keys[0] > DISCOVERY_TTL:
            answer = requests.get(self.metadata()["jwks_uri"], timeout=self.timeout)
            answer.raise_for_status()
            self._keys = (time.monotonic(), KeySet.import_key_set(answer.json()))
        return self._keys[1]

    def _client(self, redirect_uri: str) -> OAuth2Session:
        return OAuth2Session(self.client_id, self.client_secret, scope="openid profile", redirect_uri=redirect_uri,
                             code_challenge_method="S256")

    def start(self, redirect_uri: str) -> Started:
        """Where to send the browser, and what to keep in its session until it comes back."""
        state, nonce, verifier = secrets.token_urlsafe(24), secrets.token_urlsafe(24), secrets.token_urlsafe(48)
        url, _ = self._client(redirect_uri).create_authorization_url(
            self.metadata()["authorization_endpoint"], state=state, nonce=nonce, code_verifier=verifier)
        return Started(url, state, nonce, verifier)

    def finish(self, *, code: str, state: str, kept: dict, redirect_uri: str, address: str) -> Actor:
        """The holder the provider vouched for, once the code, state, nonce and ID token check out."""
        try:
            if not kept or not secrets.compare_digest(state or "", kept.get("state", "")):
                raise OidcFailed(provider=self.name, reason="state")
            try:
                token = self._client(redirect_uri).fetch_token(self.metadata()["token_endpoint"], code=code,
                                                               code_verifier=kept["verifier"], timeout=self.timeout)
            except Exception as error:
                raise OidcFailed(provider=self.name, reason="token") from error
            claims = self._claims(token.get("id_token") or "", kept["nonce"])
            key = claims.get(self.id_claim)
        except OidcFailed as error:
            self._record(None, "denied", address, error.params.get("reason"))
            raise
        return self._holder(key, claims, address)

    def _claims(self, id_token: str, nonce: str) -> dict:
        try:
            try:
                decoded = jwt.decode(id_token, self.keys())
            except JoseError:
                decoded = jwt.decode(id_token, self.keys(fresh=True))  # the provider may have rotated its keys
            jwt.JWTClaimsRegistry(iss={"essential": True, "value": self.issuer},
                                  aud={"essential": True, "value": self.client_id},
                                  exp={"essential": True}, nonce={"essential": True, "value": nonce},
                                  leeway=60).validate(decoded.claims)
        except (JoseError, ValueError) as error:
            raise OidcFailed(provider=self.name, reason="id_token") from error
        return decoded.claims

    def _holder(self, key, claims: dict, address: str) -> Actor:
        from datong.portal.signin import _golden
        from datong.registry.service import normalise_key

        try:
            person = normalise_key(PERSON, str(key or ""))
        except DatongError:
            self._record(None, "denied", address, "claim")
            raise OidcFailed(provider=self.name, reason=self.id_claim) from None
        with self.database.reading() as session:
            golden = _golden(session, PERSON, person)
        if not golden:
            self._record(person, "denied", address, "not_in_registry")
            raise OidcFailed(provider=self.name, reason="not_in_registry")
        self._record(person, "success", address, None)
        return Actor.holder(person, display_name=golden.get("DE0002") or claims.get("name"))

    def _record(self, person: str | None, outcome: str, address: str, reason: str | None) -> None:
        actor = Actor.holder(person) if person else Actor.system("portal")
        self.database.audit.record(actor=actor, action="portal.login", target=f"holder:{person}" if person else None,
                                   subjects=[person] if person else [], outcome=outcome,
                                   detail={"address": address, "method": "oidc", "provider": self.issuer,
                                           "reason": reason})
