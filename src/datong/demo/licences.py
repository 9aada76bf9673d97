"""The demo province's licence library: each issuing department's seal (SM2 by default; 不动产,
人社 and 教育 show Ed25519 and P-256), six licence types issued from the loaded data, and a few
licences revoked, suspended and reissued (换发), as a live library has them. 身份证 is not here: the
hub does not issue it."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from datong.catalog.models import Resource
from datong.codes.credit_code import make_credit_code
from datong.db.engine import Database
from datong.licenses import flows, keys, service
from datong.licenses.models import Licence, LicenceType, Seal
from datong.security.authz import Actor
from datong.security.models import Department
from datong.store.snapshots import last_snapshot


def _definer(serial: int) -> str:
    """A defining ministry's credit code (made up, but well formed) and the type's sequence."""
    return make_credit_code("1", "1", "100000", f"0000{serial:04d}") + "001"


#: name, ministry, issuer, seal algorithm, source resource, holder kind, valid years, holder key item,
#: holder name item, {field: (element, item)}
TYPES = [
    ("结婚证", "民政部", "mzt", None, "婚姻登记信息", "person", None, "男方公民身份号码", "男方姓名",
     {"持证人": ("DE0002", "男方姓名"), "配偶姓名": (None, "女方姓名"), "登记日期": ("DE0020", "登记日期"),
      "结婚证字号": ("DE0019", "婚姻登记证号")}),
    ("营业执照", "国家市场监督管理总局", "scjg", None, "企业登记信息", "entity", None, "统一社会信用代码", "企业名称",
     {"名称": ("DE0011", "企业名称"), "法定代表人": ("DE0012", "法定代表人"), "注册资本": ("DE0013", "注册资本"),
      "成立日期": ("DE0014", "成立日期"), "经营范围": ("DE0015", "经营范围")}),
    ("不动产权证书", "自然资源部", "bdc", "ed25519", "不动产登记信息", "person", None, "权利人公民身份号码", "权利人姓名",
     {"不动产单元号": ("DE0021", "不动产单元号"), "坐落": (None, "坐落"), "登记日期": ("DE0020", "登记日期")}),
    ("学历证明", "教育部", "jyt", "p256", "学历学位信息", "person", None, "公民身份号码", "姓名",
     {"学历": ("DE0018", "学历代码"), "证书编号": ("DE0019", "证书编号"), "毕业日期": (None, "毕业日期")}),
    ("社保参保证明", "人力资源和社会保障部", "rst", "ed25519", "社会保险参保信息", "person", 1, "公民身份号码", "姓名",
     {"参保险种": (None, "参保险种"), "参保状态": ("DE0025", "参保状态"), "参保日期": ("DE0020", "参保日期")}),
    ("出生医学证明", "国家卫生健康委员会", "wjw", None, "出生医学证明信息", "person", None, "母亲公民身份号码", "母亲姓名",
     {"出生医学证明编号": ("DE0022", "出生医学证明编号"), "新生儿姓名": (None, "新生儿姓名"),
      "性别": ("DE0003", "性别代码"), "出生日期": ("DE0004", "出生日期")}),
]


@dataclass
class DemoLicences:
    issued: dict[str, int] = field(default_factory=dict)
    revoked: int = 0
    suspended: int = 0
    reissued: int = 0


def build_demo_licences(database: Database, *, progress=None) -> DemoLicences:
    """Seals, licence types and licences from the demo's loaded data (idempotent: what exists stays)."""
    from datong.demo.province import DEPARTMENTS

    actor, result = Actor.system("demo"), DemoLicences()
    codes = {d.key: d.code for d in DEPARTMENTS}
    with database.unit_of_work() as session:
        for n, (name, ministry, dept, algorithm, source, holder_kind, years, key_item, name_item, fields) in \
                enumerate(TYPES, start=1):
            if session.scalar(select(Seal.id).join(Department).where(Department.code == codes[dept])) is None:
                short = next(d.name for d in DEPARTMENTS if d.key == dept)
                keys.create_seal(session, actor, department=codes[dept], name=f"{short}电子证照专用章", algorithm=algorithm)
            if session.scalar(select(LicenceType.id).where(LicenceType.name == name)) is None:
                source_code = session.scalar(select(Resource.code).where(Resource.name == source))
                service.save_licence_type(session, actor, spec=service.TypeSpec(
                    code=_definer(n), name=name, ministry=ministry, issuers=[codes[dept]], holder_kind=holder_kind,
                    fields=[{"name": f, "element": e} for f, (e, _) in fields.items()], valid_years=years,
                    source=source_code, mapping={"holder_key": key_item, "holder_name": name_item,
                                                 "fields": {f: item for f, (_, item) in fields.items()}}))
    for name, *_ in TYPES:
        with database.reading() as session:
            kind = service.licence_type(session, name)
            snapshot = last_snapshot(session, kind.source_resource_id) if kind.source_resource_id else None
        if snapshot is not None:
            report = flows.issue_from_snapshot(database, actor, type_code=kind.code, snapshot=snapshot)
            result.issued[name] = report.issued
            if progress:
                progress(name, report.issued)
    _lifecycle(database, actor, result)
    return result


def _lifecycle(database: Database, actor: Actor, result: DemoLicences) -> None:
    """A few licences revoked, suspended and reissued, once."""
    with database.reading() as session:
        if session.scalar(select(Licence.id).where(Licence.status != "valid").limit(1)) is not None:
            return
        picks = {}
        for name in ("结婚证", "营业执照", "不动产权证书"):
            picks[name] = list(session.scalars(select(Licence.identifier).join(LicenceType)
                                               .where(LicenceType.name == name).order_by(Licence.id).limit(6)))
    with database.unit_of_work() as session:
        for ident in picks["结婚证"][:2]:
            service.change_status(session, actor, identifier=ident, action="revoke", reason="离婚登记后收回")
            result.revoked += 1
        for ident in picks["营业执照"][:2]:
            service.change_status(session, actor, identifier=ident, action="suspend", reason="经营异常核查中")
            result.suspended += 1
        for ident in picks["营业执照"][2:3]:
            service.change_status(session, actor, identifier=ident, action="revoke", reason="依法吊销")
            result.revoked += 1
        for ident in picks["不动产权证书"][:2] + picks["结婚证"][2:3]:
            service.reissue_licence(session, actor, identifier=ident, reason="证书遗失，申请补发")
            result.reissued += 1
