"""People read times in the deployment's time zone (DATONG_TIMEZONE, Beijing time by default);
the API keeps ISO 8601 with its offset."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from datong.security.models import AuditEvent
from datong.settings import Settings
from datong.web.render import local_time
from tests.helpers import PASSWORD


def test_the_filter_converts_stored_utc():
    moment = datetime(2026, 11, 23, 17, 30, tzinfo=UTC)
    assert local_time(moment, ZoneInfo("Asia/Shanghai")) == "2026-11-24 01:30"
    assert local_time(moment.replace(tzinfo=None), ZoneInfo("Asia/Shanghai"), "%H:%M") == "01:30"
    assert local_time(None, ZoneInfo("UTC")) == "—"
    with pytest.raises(ValueError, match="DATONG_TIMEZONE"):
        Settings(timezone="Mars/Olympus")


def test_the_audit_page_shows_beijing_time(client, world, database):
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
    client.post("/login", data={"username": "aud", "password": PASSWORD, "csrf_token": token})
    html = client.get("/audit").text
    seq, shown = re.search(r'<td><a href="/audit/events/\d+">(\d+)</a></td><td>([\d: -]+)</td>', html).groups()
    with database.reading() as session:
        event = session.scalar(select(AuditEvent).where(AuditEvent.seq == int(seq)))
    beijing = event.occurred_at.replace(tzinfo=event.occurred_at.tzinfo or UTC) + timedelta(hours=8)
    assert shown == beijing.strftime("%Y-%m-%d %H:%M:%S") and "Asia/Shanghai" in html
    assert "<td>成功</td>" in html and "<td>success</td>" not in html  # outcomes in the reader's language
    api = client.get("/api/v1/audit/events?limit=1", headers={"Authorization": "Bearer " + client.post(
        "/api/v1/auth/token", data={"grant_type": "password", "username": "aud", "password": PASSWORD}
    ).json()["access_token"]}).json()["items"]
    assert api[0]["occurred_at"].endswith(("Z", "+00:00"))  # the API keeps UTC with its offset
