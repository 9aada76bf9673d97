"""Tokens, the bearer requirement and problem documents."""

import base64
import re

import jwt

from tests.helpers import PASSWORD

PROBLEM = "application/problem+json"


def test_password_grant_returns_a_signed_bearer_token(client, world, settings):
    response = client.post("/api/v1/auth/token",
                           data={"grant_type": "password", "username": "boss", "password": PASSWORD})
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == settings.token_ttl_seconds
    claims = jwt.decode(body["access_token"], settings.resolved_secret(), algorithms=["HS256"], issuer="datong")
    assert (claims["sub"], claims["kind"]) == ("boss", "user")


def test_wrong_password_is_a_401_problem_in_chinese_by_default(client, world):
    response = client.post("/api/v1/auth/token",
                           data={"grant_type": "password", "username": "boss", "password": "nope"})
    assert response.status_code == 401
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == 401 and body["type"] == "/problems/bad_credentials"
    assert body["detail"] == "用户名或密码错误，或账号已停用。"


def test_problem_follows_accept_language(client, world):
    response = client.post("/api/v1/auth/token", headers={"Accept-Language": "en-US,en;q=0.9"},
                           data={"grant_type": "password", "username": "boss", "password": "nope"})
    assert response.json()["detail"] == "Wrong username or password, or the account is disabled."
    assert response.headers["content-language"] == "en"


def test_client_credentials_in_form_and_basic_auth(client, login, world):
    created = client.post("/api/v1/clients", headers=login("dadmin"),
                          json={"department_code": world["dept"], "name": "户籍查询系统"})
    assert created.status_code == 201, created.text
    client_id, secret = created.json()["client_id"], created.json()["client_secret"]
    form = client.post("/api/v1/auth/token",
                       data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret})
    assert form.status_code == 200
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    by_header = client.post("/api/v1/auth/token", data={"grant_type": "client_credentials"},
                            headers={"Authorization": f"Basic {basic}"})
    assert by_header.status_code == 200
    token = by_header.json()["access_token"]
    departments = client.get("/api/v1/departments", headers={"Authorization": f"Bearer {token}"})
    assert departments.status_code == 200
    wrong = client.post("/api/v1/auth/token",
                        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": "x"})
    assert wrong.status_code == 401


def test_unknown_grant_type_is_explained(client, world):
    response = client.post("/api/v1/auth/token", data={"grant_type": "implicit"},
                           headers={"Accept-Language": "en"})
    assert response.status_code == 422
    assert "client_credentials" in response.json()["detail"]


#: Public by design (a path, or "method path"): what an offline licence verifier downloads, verifying itself, a seal's picture.
PUBLIC = {"/api/v1/licences/keys", "/api/v1/licences/status", "/api/v1/licences/verify",
          "/api/v1/seals/{seal_id}/image.svg", "/api/v1/guide/{code}", "/api/v1/track/{number}",
          # the portal's sign-in: a one-time code, then the token (throttled and audited)
          "/api/v1/portal/codes", "/api/v1/portal/tokens",
          # the open-data portal: published datasets (no personal data), their files and rows (a key
          # for 有条件开放 ones, rate-limited), DCAT-AP, providers, and applying for a key (throttled)
          "get /api/v1/open/datasets", "/api/v1/open/datasets/{code}", "/api/v1/open/datasets/{code}/download.{fmt}",
          "/api/v1/open/datasets/{code}/records", "/api/v1/open/catalog.{fmt}", "/api/v1/open/providers",
          "/api/v1/open/applications"}


def test_every_api_route_but_the_token_needs_a_token(client, app, world):
    checked = 0
    for path, operations in app.openapi()["paths"].items():
        if not path.startswith("/api/v1") or path == "/api/v1/auth/token":
            continue
        concrete = re.sub(r"\{[^}]+\}", "1", path)
        for method in operations:
            if path in PUBLIC or f"{method} {path}" in PUBLIC:  # a path, or one method of it
                assert client.request(method.upper(), concrete, content=b"{}").status_code in (200, 404, 422)
                continue
            response = client.request(method.upper(), concrete, json={})
            assert response.status_code == 401, (method, path, response.status_code)
            assert response.headers["www-authenticate"].startswith("Bearer")
            checked += 1
    assert checked >= 10


def test_a_forged_or_expired_token_is_refused(client, world, settings):
    forged = jwt.encode({"sub": "boss", "kind": "user", "iss": "datong", "exp": 9999999999}, "a-different-key-of-sufficient-length-0123")
    assert client.get("/api/v1/departments", headers={"Authorization": f"Bearer {forged}"}).status_code == 401
    expired = jwt.encode({"sub": "boss", "kind": "user", "iss": "datong", "exp": 1}, settings.resolved_secret())
    assert client.get("/api/v1/departments", headers={"Authorization": f"Bearer {expired}"}).status_code == 401


def test_validation_errors_name_the_fields(client, login):
    response = client.post("/api/v1/departments", headers={**login("boss"), "Accept-Language": "en"},
                           json={"name": "x"})
    assert response.status_code == 422
    body = response.json()
    assert body["errors"][0]["field"] == "code"
    assert "code" in body["detail"]


def test_unknown_api_path_is_a_problem(client):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404 and response.headers["content-type"].startswith(PROBLEM)
