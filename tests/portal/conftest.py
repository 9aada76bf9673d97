"""The portal on the one window's test province: people with phones in the population
registry, companies in the legal-entity registry (王建国 is 示范省数通科技有限公司's legal
representative)."""

from __future__ import annotations

import re

import pytest

from datong.registry.flows import run_build
from tests.licenses.conftest import library  # noqa: F401 - the fixture
from tests.registry.conftest import (
    COMPANY,  # noqa: F401 - re-exported for the tests
    province,  # noqa: F401 - the fixture
)
from tests.services.conftest import window  # noqa: F401 - the fixture

PHONE = {1: "13812340001", 3: "13812340003"}


@pytest.fixture
def portal(database, operator, window):  # noqa: F811 - pytest fixtures by name
    run_build(database, operator, kind="entity")
    return window


def sent_code(client, phone: str) -> str:
    return re.search(r"验证码为(\d{6})", client.app.state.sender.last_to(phone)).group(1)


def sign_in(client, id_number: str, phone: str, credit_code: str | None = None) -> dict[str, str]:
    """Both steps over the API, the code read where the development sender keeps it."""
    body = {"id_number": id_number, **({"credit_code": credit_code} if credit_code else {})}
    sent = client.post("/api/v1/portal/codes", json=body)
    assert sent.status_code == 201, sent.text
    code = sent_code(client, phone)
    token = client.post("/api/v1/portal/tokens", json={"challenge": sent.json()["challenge"], "code": code})
    assert token.status_code == 201, token.text
    return {"Authorization": f"Bearer {token.json()['access_token']}"}
