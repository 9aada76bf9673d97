"""Guessing passwords: the account locks after the set number of failures (even against the right
password), the source address is made to wait, every refusal is audited, and the security
administrator can unlock. The console login goes through the same guard."""

from __future__ import annotations

import re

from sqlalchemy import select

from datong.security.models import AuditEvent
from tests.helpers import PASSWORD


def sign_in(client, username, password, **headers):
    return client.post("/api/v1/auth/token", data={"grant_type": "password", "username": username,
                                                   "password": password}, headers={"Accept-Language": "en", **headers})


def events(database, action):
    with database.reading() as session:
        return session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)).all()


def test_wrong_passwords_lock_the_account_until_unlocked(client, world, database, login):
    answers = [sign_in(client, "boss", "wrong").status_code for _ in range(5)]
    assert answers == [401] * 5
    locked = sign_in(client, "boss", PASSWORD)
    assert locked.status_code == 423, locked.text
    assert locked.json()["code"] == "account_locked" and "security administrator" in locked.json()["detail"]
    lock = events(database, "auth.lock")
    assert len(lock) == 1 and lock[0].target == "user:boss"
    assert [e.outcome for e in events(database, "auth.login")][-6:] == ["failure"] * 5 + ["denied"]
    # The lock is visible to those who list accounts, and only a security administrator lifts it.
    listed = client.get("/api/v1/users", headers=login("sys")).json()["items"]
    assert next(u for u in listed if u["username"] == "boss")["locked_until"] is not None
    assert client.post("/api/v1/users/boss/unlock", headers=login("sys")).status_code == 403
    unlocked = client.post("/api/v1/users/boss/unlock", headers=login("sec"))
    assert unlocked.status_code == 200 and unlocked.json()["locked_until"] is None
    assert sign_in(client, "boss", PASSWORD).status_code == 200
    assert events(database, "user.unlock")[-1].actor == "sec"


def test_a_right_password_resets_the_count(client, world):
    for _ in range(4):
        assert sign_in(client, "boss", "wrong").status_code == 401
    assert sign_in(client, "boss", PASSWORD).status_code == 200
    for _ in range(4):
        assert sign_in(client, "boss", "wrong").status_code == 401
    assert sign_in(client, "boss", PASSWORD).status_code == 200  # never five in a row


def test_an_address_guessing_across_accounts_is_made_to_wait(client, world, database):
    answers = [sign_in(client, f"nobody{n}", "wrong").status_code for n in range(20)]
    assert answers == [401] * 20
    throttled = sign_in(client, "boss", PASSWORD)
    assert throttled.status_code == 429 and int(throttled.headers["Retry-After"]) > 0
    assert "Too many failed sign-ins" in throttled.json()["detail"]
    assert events(database, "auth.login")[-1].detail["reason"] == "address throttled"
    other = sign_in(client, "boss", PASSWORD, **{"X-Forwarded-For": "10.0.0.9"})
    assert other.status_code == 429  # a header the client writes does not move it to another address
    throttled = [e for e in events(database, "auth.login") if (e.detail or {}).get("reason") == "address throttled"]
    assert len(throttled) == 1  # one event per address and window, not one per refused attempt


def test_the_console_login_is_guarded_too(client, world):
    for _ in range(5):
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
        client.post("/login", data={"username": "boss", "password": "wrong", "csrf_token": token})
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
    refused = client.post("/login", data={"username": "boss", "password": PASSWORD, "csrf_token": token},
                          follow_redirects=False)
    assert refused.status_code == 423 and "安全管理员" in refused.text


def test_cli_unlocks(client, world, settings):
    from typer.testing import CliRunner

    from datong.cli import app as cli
    from tests.helpers import cli_env

    for _ in range(5):
        sign_in(client, "boss", "wrong")
    done = CliRunner().invoke(cli, ["--lang", "en", "user", "unlock", "boss"], env=cli_env(settings))
    assert done.exit_code == 0 and "boss is unlocked" in done.output
    assert sign_in(client, "boss", PASSWORD).status_code == 200
