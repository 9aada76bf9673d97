"""Console forms refuse requests without the session's CSRF token."""

import re

import pytest

from tests.helpers import PASSWORD


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def test_login_without_token_is_refused(client, world):
    response = client.post("/login", data={"username": "boss", "password": PASSWORD},
                           headers={"Accept": "text/html"})
    assert response.status_code == 403
    assert "安全令牌已过期" in response.text


def test_form_post_needs_the_token_even_when_signed_in(client, world):
    token = _csrf(client.get("/login").text)
    signed_in = client.post("/login", data={"username": "boss", "password": PASSWORD, "csrf_token": token},
                            follow_redirects=False)
    assert signed_in.status_code == 303
    stale = token  # signing in starts a new session, so the pre-login token no longer works
    token = _csrf(client.get("/departments").text)
    assert token != stale
    assert client.post("/departments", data={"code": "x", "name": "y", "csrf_token": stale}).status_code == 403
    forged = client.post("/departments", data={"code": "x", "name": "y"}, headers={"Accept": "text/html"})
    assert forged.status_code == 403
    wrong = client.post("/departments", data={"code": "x", "name": "y", "csrf_token": "guess"})
    assert wrong.status_code == 403
    with_header = client.post("/departments", data={"code": "x", "name": "y"}, headers={"X-CSRF-Token": token})
    assert with_header.status_code == 422  # past CSRF, stopped by the credit-code check


def test_session_cookie_is_httponly_and_samesite(client, world):
    response = client.get("/login")
    cookie = response.headers["set-cookie"]
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()


def test_pages_redirect_to_login_when_signed_out(client):
    response = client.get("/users", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login?next=/users"


@pytest.mark.parametrize("back, expected", [
    ("http://evil.example/", "/"), ("https://evil.example/catalog", "/"), ("//evil.example/x", "/"),
    ("/\\evil.example", "/"), ("javascript:alert(1)", "/"), ("http://testserver/catalog?q=%E4%BA%BA", "/catalog?q=%E4%BA%BA"),
    ("/audit?action=share.read", "/audit?action=share.read"), (None, "/"),
])
def test_language_switch_and_sign_in_never_leave_the_console(client, world, back, expected):
    headers = {"Referer": back} if back else {}
    switched = client.get("/locale/en", headers=headers, follow_redirects=False)
    assert switched.status_code == 303 and switched.headers["location"] == expected
    token = _csrf(client.get("/login").text)
    signed_in = client.post("/login", data={"username": "boss", "password": PASSWORD, "csrf_token": token,
                                            "next": back or ""}, follow_redirects=False)
    assert signed_in.status_code == 303 and signed_in.headers["location"] == expected
