"""Errors in the caller's language, naming what to fix: Starlette's own 404/405, pydantic's field
messages, and a body that is not JSON."""

from __future__ import annotations


def test_not_found_and_method_not_allowed_are_translated(client):
    missing = client.get("/api/v1/no-such-thing", headers={"Accept-Language": "zh-CN"})
    assert missing.status_code == 404 and missing.json()["detail"] == "未找到"
    wrong = client.put("/healthz", headers={"Accept-Language": "zh-CN"})
    assert wrong.status_code == 405 and "Method" not in wrong.json()["detail"]


def test_field_messages_are_translated(client, login):
    answer = client.post("/api/v1/share/requests", json={"resource": "x", "items": [], "extra": 1},
                         headers=login("clerk1") | {"Accept-Language": "zh-CN"})
    assert answer.status_code == 422
    messages = {e["field"]: e["message"] for e in answer.json()["errors"]}
    assert messages["purpose"] == "必填" and messages["extra"] == "不是可识别的字段；请删除"
    assert messages["items"] == "条目太少（至少 1 个）"


def test_a_body_that_is_not_json_names_the_body(client, login):
    answer = client.post("/api/v1/share/requests", content=b'{"resource": ', headers=login("clerk1") | {
        "Content-Type": "application/json", "Accept-Language": "en"})
    assert answer.status_code == 422
    error = answer.json()["errors"][0]
    assert error["field"] == "body" and "not valid JSON" in error["message"]
