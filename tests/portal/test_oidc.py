"""Signing in through the province's identity provider (OpenID Connect), against a small but real
provider served on a port of its own: discovery, the authorization code with PKCE, an RS256 ID
token and its published keys."""

from __future__ import annotations

import base64
import hashlib
import secrets
import socket
import threading
import time
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
import uvicorn
from fastapi import FastAPI, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import RSAKey
from sqlalchemy import select

from datong.app import create_app
from datong.security.models import AuditEvent
from tests.helpers import citizen_id
from tests.portal.conftest import portal  # noqa: F401 - the fixture

CLIENT_ID, CLIENT_SECRET = "datong-portal", "provider-issued-secret"


class Provider:
    """An OpenID provider that vouches for whoever ``person`` is, and can be made to misbehave."""

    def __init__(self) -> None:
        self.key = RSAKey.generate_key(2048, parameters={"kid": "k1", "use": "sig", "alg": "RS256"})
        self.codes: dict[str, dict] = {}
        self.person, self.tamper, self.url = None, None, None
        app = FastAPI()

        @app.get("/.well-known/openid-configuration")
        def discovery():
            return {"issuer": self.url, "authorization_endpoint": f"{self.url}/authorize",
                    "token_endpoint": f"{self.url}/token", "jwks_uri": f"{self.url}/jwks",
                    "response_types_supported": ["code"], "id_token_signing_alg_values_supported": ["RS256"],
                    "code_challenge_methods_supported": ["S256"]}

        @app.get("/jwks")
        def jwks():
            return {"keys": [self.key.as_dict(private=False)]}

        @app.get("/authorize")
        def authorize(request: Request):
            query = request.query_params
            assert query["client_id"] == CLIENT_ID and query["code_challenge_method"] == "S256"
            code = secrets.token_urlsafe(16)
            self.codes[code] = {"nonce": query["nonce"], "challenge": query["code_challenge"],
                                "redirect_uri": query["redirect_uri"]}
            return RedirectResponse(f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query['state']})}",
                                    status_code=303)

        @app.post("/token")
        def token(request: Request, code: str = Form(), code_verifier: str = Form(), redirect_uri: str = Form(),
                  grant_type: str = Form()):
            basic = base64.b64decode(request.headers["authorization"].split()[1]).decode()
            grant = self.codes.pop(code, None)
            challenge = base64.urlsafe_b64encode(hashlib.sha256(code_verifier.encode()).digest()).rstrip(b"=").decode()
            if basic != f"{CLIENT_ID}:{CLIENT_SECRET}" or grant is None or grant["challenge"] != challenge \
                    or grant["redirect_uri"] != redirect_uri or grant_type != "authorization_code":
                return JSONResponse({"error": "invalid_grant"}, status_code=400)
            now = int(time.time())
            claims = {"iss": self.url, "aud": CLIENT_ID, "sub": "u-1", "iat": now, "exp": now + 300,
                      "nonce": grant["nonce"], "id_number": self.person, "name": "王建国"}
            if self.tamper == "nonce":
                claims["nonce"] = "another"
            if self.tamper == "audience":
                claims["aud"] = "someone-else"
            key = RSAKey.generate_key(2048) if self.tamper == "signature" else self.key
            id_token = jwt.encode({"alg": "RS256", "kid": "k1"}, claims, key)
            return {"access_token": secrets.token_urlsafe(16), "token_type": "Bearer", "expires_in": 300,
                    "id_token": id_token}

        self.app = app


@pytest.fixture
def provider():
    made = Provider()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    made.url = f"http://127.0.0.1:{port}"
    server = uvicorn.Server(uvicorn.Config(made.app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield made
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def hub(settings, database, provider, portal):  # noqa: F811
    settings.portal_oidc_issuer, settings.portal_oidc_client_id = provider.url, CLIENT_ID
    settings.portal_oidc_client_secret = CLIENT_SECRET
    with TestClient(create_app(settings, database)) as client:
        yield client


def round_trip(hub) -> requests.Response:
    """The browser's way: to the provider, which sends it back to the hub's callback."""
    start = hub.get("/me/login/oidc", follow_redirects=False)
    assert start.status_code == 303 and start.headers["location"].startswith(f"{hub.app.state.portal_oidc.issuer}/authorize")
    back = requests.get(start.headers["location"], allow_redirects=False, timeout=10)
    callback = urlsplit(back.headers["location"])
    assert callback.path == "/me/login/oidc/callback"
    return hub.get(f"{callback.path}?{callback.query}", follow_redirects=False)


def logins(database) -> list[tuple[str, str]]:
    with database.reading() as session:
        return [(e.outcome, e.detail.get("reason")) for e in session.scalars(
            select(AuditEvent).where(AuditEvent.action == "portal.login").order_by(AuditEvent.seq))
            if e.detail.get("method") == "oidc"]


def test_a_person_signs_in_through_the_identity_provider(hub, provider, database, portal):  # noqa: F811
    provider.person = portal["people"][1]
    assert 'data-testid="oidc"' in hub.get("/me/login").text
    answer = round_trip(hub)
    assert answer.status_code == 303 and answer.headers["location"] == "/me"
    assert "王建国" in hub.get("/me").text
    assert logins(database) == [("success", None)]


@pytest.mark.parametrize("tamper", ["nonce", "audience", "signature"])
def test_a_token_that_does_not_check_out_is_refused(hub, provider, database, portal, tamper):  # noqa: F811
    provider.person, provider.tamper = portal["people"][1], tamper
    answer = round_trip(hub)
    assert answer.status_code == 401 and "验证码" in answer.text  # and what to do instead
    assert hub.get("/me", follow_redirects=False).status_code in (302, 303, 307)  # not signed in
    assert logins(database) == [("denied", "id_token")]


def test_a_replayed_callback_and_a_person_the_registry_does_not_hold_are_refused(hub, provider, database, portal):  # noqa: F811
    provider.person = portal["people"][1]
    start = hub.get("/me/login/oidc", follow_redirects=False)
    back = urlsplit(requests.get(start.headers["location"], allow_redirects=False, timeout=10).headers["location"])
    forged = parse_qs(back.query)
    assert hub.get("/me/login/oidc/callback", params={"code": forged["code"][0], "state": "guessed"}).status_code == 401
    assert hub.get(f"{back.path}?{back.query}").status_code == 401  # the state was used up by the first try
    provider.person = citizen_id(999, "19900307", "110101")  # valid, but not in the registry
    assert round_trip(hub).status_code == 401
    assert logins(database) == [("denied", "state"), ("denied", "state"), ("denied", "not_in_registry")]


def test_without_a_provider_the_page_says_so(client, portal):  # noqa: F811
    assert 'data-testid="oidc"' not in client.get("/me/login").text
    assert client.get("/me/login/oidc").status_code == 404
