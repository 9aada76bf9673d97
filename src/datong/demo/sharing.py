"""The demo's sharing: requests in every state, and HR subscribed to civil affairs' deaths, with a
receiver inside the demo server so that deliveries can be seen at /demo/receiver."""

from __future__ import annotations

import csv
import json
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi import FastAPI, Request
from sqlalchemy import select

from datong.catalog.models import Resource
from datong.db.engine import Database
from datong.ingest.flows import run_load
from datong.ingest.sources import Source
from datong.security.authz import Actor
from datong.security.models import ApiClient, User
from datong.security.service import actor_for_client, actor_for_user
from datong.sharing import service as sharing
from datong.sharing import subscriptions
from datong.sharing.models import Grant, ShareRequest

RECEIVED = "demo-receiver.jsonl"


@dataclass
class DemoSharing:
    requests: int = 0
    subscription_secret: str | None = None
    deaths_loaded: int = 0


def _user(session, username: str) -> Actor:
    return actor_for_user(session.scalar(select(User).where(User.username == username)))


def _code(session, name: str) -> str:
    return session.scalar(select(Resource.code).where(Resource.name == name))


def _ask(session, actor: Actor, resource: str, items: list[str], purpose: str, basis: str, days: int = 365):
    return sharing.request_access(session, actor, resource_code=_code(session, resource), items=items,
                                  purpose=purpose, legal_basis=basis, days=days)


def build_demo_sharing(database: Database, *, callback_url: str) -> DemoSharing:
    """Create the demo's requests, grants and subscription once (idempotent)."""
    result = DemoSharing()
    with database.unit_of_work() as session:
        if session.scalar(select(ShareRequest.id).limit(1)) is not None:
            return result
        approved = _ask(session, _user(session, "rst_steward"), "户籍人口基本信息", ["公民身份号码", "姓名", "出生日期"],
                        "退休人员待遇资格认证", "《社会保险法》第七十四条")
        sharing.decide_request(session, _user(session, "gat_admin"), request_id=approved.id, approve=True,
                               reason="同意，限待遇资格认证使用")
        _ask(session, _user(session, "mzt_steward"), "就业登记信息", ["公民身份号码", "姓名", "用人单位统一社会信用代码"],
             "低保家庭就业状况核查", "《社会救助暂行办法》第十一条")
        _ask(session, _user(session, "mzt_steward"), "社会保险参保信息", ["公民身份号码", "参保状态"],
             "低保家庭收入核查", "《社会救助暂行办法》第十一条", days=180)
        rejected = _ask(session, _user(session, "jyt_steward"), "不动产登记信息", ["权利人公民身份号码", "坐落"],
                        "义务教育入学资格审核", "《义务教育法》第十二条")
        sharing.decide_request(session, _user(session, "bdc_admin"), request_id=rejected.id, approve=False,
                               reason="入学审核请使用户籍和居住登记信息；房产信息须经权利人授权")
        expired = _ask(session, _user(session, "gat_steward"), "婚姻登记信息", ["男方公民身份号码", "女方公民身份号码"],
                       "户口迁移夫妻投靠核验", "《户口登记条例》", days=30)
        sharing.decide_request(session, _user(session, "mzt_admin"), request_id=expired.id, approve=True)
        grant = session.scalar(select(Grant).where(Grant.request_id == expired.id))
        grant.valid_from, grant.valid_until = (datetime.now(UTC) - timedelta(days=40),
                                               datetime.now(UTC) - timedelta(days=10))
        hr_system = session.scalar(select(ApiClient).where(ApiClient.name.like("%人社厅%")))
        deaths = _ask(session, actor_for_client(hr_system), "死亡登记信息", ["公民身份号码", "姓名", "死亡日期"],
                      "死亡人员养老金停发", "《社会保险法》")
        death_grant = session.scalar(select(Grant).where(Grant.request_id == deaths.id))
        _, result.subscription_secret = subscriptions.subscribe(session, actor_for_client(hr_system),
                                                                grant_id=death_grant.id, callback_url=callback_url)
        result.requests = 6
        deaths_code = _code(session, "死亡登记信息")
    result.deaths_loaded = _register_deaths(database, deaths_code)
    return result


def _register_deaths(database: Database, code: str) -> int:
    """Civil affairs registers a few deaths after HR subscribed: they reach HR's receiver."""
    from datong.demo.people import generate

    people = generate(3, seed=99).people
    path = database.data_dir / "demo-data" / "新增死亡登记.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["公民身份号码", "姓名", "死亡日期"])
        for person in people:
            writer.writerow([person.id_number, person.name, (datetime.now(UTC) - timedelta(days=1)).date().isoformat()])
    load = run_load(database, Actor.system("demo"), resource_code=code, source=Source.from_path(path),
                    mode="incremental")
    return load.inserted


def install_receiver(app: FastAPI, folder: Path) -> None:
    """A stand-in for HR's system: it keeps what it is sent, and shows it at GET /demo/receiver."""
    target = folder / RECEIVED

    @app.post("/demo/receiver", include_in_schema=False)
    async def receive(request: Request):
        body = await request.body()
        entry = {"received_at": datetime.now(UTC).isoformat(timespec="seconds"),
                 "delivery": request.headers.get("x-datong-delivery"),
                 "signature": request.headers.get("x-datong-signature"), "body": json.loads(body)}
        with target.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry, ensure_ascii=False) + "\n")
        return {"ok": True}

    @app.get("/demo/receiver", include_in_schema=False)
    def received():
        if not target.exists():
            return []
        return [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines() if line]


def start_worker(database: Database, interval: float = 2.0) -> threading.Thread:
    """Deliver subscriptions in the demo server's process, as ``datong worker`` would."""

    def loop() -> None:
        while True:
            try:
                subscriptions.deliver_due(database, timeout=5.0)
            except Exception:  # noqa: BLE001 - the demo keeps delivering; failures stay in the outbox
                pass
            time.sleep(interval)

    thread = threading.Thread(target=loop, name="demo-worker", daemon=True)
    thread.start()
    return thread


def build_demo_registry(database: Database, *, progress=None) -> dict:
    """Build both registries from the loaded data, and give 民政 a grant on 人口综合库 (its staff
    then see profiles in the console). Idempotent: a built registry is left as it is."""
    from datong.registry import service as registry
    from datong.registry.flows import run_build

    from datong.demo.province import DEPARTMENTS
    from datong.registry.models import Precedence

    codes = {d.key: d.code for d in DEPARTMENTS}
    with database.unit_of_work() as session:  # 出生日期 is claimed twice: until the bureau decides, 公安 first
        if session.get(Precedence, "DE0004") is None:
            registry.set_precedence(session, Actor.system("demo"), element="DE0004",
                                    departments=[codes["gat"], codes["wjw"]])
    reports = {}
    for kind in ("person", "entity"):
        with database.reading() as session:
            try:
                built = registry.is_built(session, registry.registry_resource(session, kind).id)
            except Exception:  # noqa: BLE001 - not created yet
                built = False
        if not built:
            reports[kind] = run_build(database, Actor.system("demo"), kind=kind, progress=progress)
    with database.unit_of_work() as session:
        code = registry.registry_resource(session, "person").code
        if session.scalar(select(ShareRequest.id).join(Resource, Resource.id == ShareRequest.resource_id)
                          .where(Resource.code == code).limit(1)) is None:
            asked = sharing.request_access(session, _user(session, "mzt_steward"), resource_code=code,
                                           items=["公民身份号码", "姓名", "性别代码", "出生日期", "住址", "婚姻状况代码", "死亡日期"],
                                           purpose="最低生活保障对象身份与家庭状况核查",
                                           legal_basis="《社会救助暂行办法》第十一条", days=365)
            sharing.decide_request(session, _user(session, "admin"), request_id=asked.id, approve=True,
                                   reason="同意，限社会救助核查使用")
    return reports
