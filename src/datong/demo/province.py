"""Build (or top up) the demo province. Idempotent: what exists is left as it is."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from datong.codes.credit_code import make_credit_code
from datong.errors import ConfigurationError
from datong.security import service
from datong.security.authz import Actor
from datong.security.models import ApiClient, Department, User
from datong.settings import Settings

#: Every demo account has this password (the demo refuses to run in production).
DEMO_PASSWORD = "Datong@2026"
PROVINCE_DIVISION = "330000"
CLIENTS_FILE = "demo-clients.json"


@dataclass(frozen=True)
class DemoDepartment:
    key: str
    name: str
    short_name: str
    org_serial: int
    staff: tuple[tuple[str, str, tuple[str, ...]], ...] = field(default=())

    @property
    def code(self) -> str:
        return make_credit_code("1", "1", PROVINCE_DIVISION, f"0020{self.org_serial:04d}")


def _staff(key: str, admin: str, steward: str, clerk: str) -> tuple:
    return (
        (f"{key}_admin", admin, ("dept_admin",)),
        (f"{key}_steward", steward, ("data_steward",)),
        (f"{key}_clerk", clerk, ("clerk",)),
    )


BUREAU = DemoDepartment(
    "dsj", "示范省大数据发展管理局", "省大数据局", 1,
    (
        ("admin", "王建国", ("bureau_admin",)),
        ("sysadmin", "李明", ("system_admin",)),
        ("secadmin", "赵静", ("security_admin",)),
        ("auditor", "陈芳", ("auditor",)),
        ("dsj_steward", "刘洋", ("data_steward",)),
    ),
)
DEPARTMENTS = (
    DemoDepartment("gat", "示范省公安厅", "省公安厅", 11, _staff("gat", "周强", "吴磊", "郑丽")),
    DemoDepartment("rst", "示范省人力资源和社会保障厅", "省人社厅", 12, _staff("rst", "孙伟", "钱娟", "冯军")),
    DemoDepartment("mzt", "示范省民政厅", "省民政厅", 13, _staff("mzt", "何平", "许敏", "邓超")),
    DemoDepartment("scjg", "示范省市场监督管理局", "省市场监管局", 14, _staff("scjg", "曹磊", "彭霞", "曾勇")),
    DemoDepartment("bdc", "示范省不动产登记局", "省不动产登记局", 15, _staff("bdc", "罗刚", "梁红", "宋涛")),
    DemoDepartment("wjw", "示范省卫生健康委员会", "省卫健委", 16, _staff("wjw", "唐华", "韩雪", "董斌")),
    DemoDepartment("jyt", "示范省教育厅", "省教育厅", 17, _staff("jyt", "萧楠", "程琳", "蔡亮")),
    DemoDepartment("zwfw", "示范省政务服务中心", "省政务服务中心", 18, _staff("zwfw", "林峰", "黄蓉", "马丽")),
)


@dataclass
class DemoReport:
    departments_created: int = 0
    resources_created: int = 0
    claims_created: int = 0
    users_created: int = 0
    clients_created: int = 0
    logins: list[tuple[str, str, str, str]] = field(default_factory=list)  # user, name, dept, roles
    clients: dict[str, dict[str, str]] = field(default_factory=dict)


def _ensure_department(session: Session, actor: Actor, spec: DemoDepartment, parent: str | None,
                       report: DemoReport) -> None:
    if session.scalar(select(Department.id).where(Department.code == spec.code)) is None:
        service.create_department(session, actor, code=spec.code, name=spec.name,
                                  short_name=spec.short_name, parent_code=parent)
        report.departments_created += 1


def _ensure_users(session: Session, actor: Actor, spec: DemoDepartment, report: DemoReport) -> None:
    for username, display_name, roles in spec.staff:
        if session.scalar(select(User.id).where(User.username == username)) is None:
            service.create_user(session, actor, username=username, display_name=display_name,
                                department_code=spec.code, roles=list(roles), password=DEMO_PASSWORD)
            report.users_created += 1
        report.logins.append((username, display_name, spec.short_name, ", ".join(roles)))


def _ensure_client(session: Session, actor: Actor, spec: DemoDepartment, known: dict, report: DemoReport) -> None:
    name = f"{spec.short_name}共享交换前置系统"
    department_id = session.scalar(select(Department.id).where(Department.code == spec.code))
    exists = session.scalar(select(ApiClient).where(ApiClient.department_id == department_id,
                                                    ApiClient.name == name))
    if exists is None:
        client, secret = service.create_client(session, actor, department_code=spec.code, name=name)
        known[spec.key] = {"client_id": client.client_id, "client_secret": secret, "name": name}
        report.clients_created += 1
    if spec.key in known:
        report.clients[spec.key] = known[spec.key]


def build_demo_province(session: Session, settings: Settings) -> DemoReport:
    """Create what is missing of the demo province, as the local operator."""
    if settings.is_production:
        raise ConfigurationError("demo_in_production")
    actor = Actor.system("demo")
    report = DemoReport()
    clients_path = Path(settings.data_dir) / CLIENTS_FILE
    known = json.loads(clients_path.read_text(encoding="utf-8")) if clients_path.exists() else {}
    _ensure_department(session, actor, BUREAU, None, report)
    for spec in DEPARTMENTS:
        _ensure_department(session, actor, spec, None, report)
    for spec in (BUREAU, *DEPARTMENTS):
        _ensure_users(session, actor, spec, report)
        _ensure_client(session, actor, spec, known, report)
    from datong.demo.catalog import build_demo_catalog

    report.resources_created, report.claims_created = build_demo_catalog(
        session, actor, {spec.key: spec.code for spec in (BUREAU, *DEPARTMENTS)}
    )
    if report.clients_created:
        # Secrets are stored hashed; the demo keeps its own copy so that every run can print them.
        clients_path.parent.mkdir(parents=True, exist_ok=True)
        clients_path.write_text(json.dumps(known, ensure_ascii=False, indent=2), encoding="utf-8")
        clients_path.chmod(0o600)
    return report
