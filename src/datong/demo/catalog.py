"""The demo province's catalog: realistic resources for each department, and 一数一源 claims."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from datong.catalog import service, sources
from datong.catalog.models import Resource, SourceClaim
from datong.catalog.schemas import ResourceIn
from datong.security.authz import Actor
from datong.security.service import get_department

# item: (name, element or None, key or None, note)
P, E = "person", "entity"
ID, NAME = ("公民身份号码", "DE0001", P, ""), ("姓名", "DE0002", None, "")
RESOURCES = {
    "gat": [
        dict(name="户籍人口基本信息", category="1", class_code="01", theme="人口", keywords=["户籍", "人口", "身份"],
             summary="本省户籍人口的身份、出生与户籍地址信息，一数一源的姓名、出生日期来源。",
             sharing_type="conditional", sharing_condition="用于办理政务服务事项时核验身份，须说明事由和案卷号",
             sharing_methods=["api", "subscription"], open_type="none", update_cycle="realtime",
             items=[ID, NAME, ("性别代码", "DE0003", None, ""), ("出生日期", "DE0004", None, ""),
                    ("民族代码", "DE0005", None, ""), ("户籍地址", "DE0008", None, ""),
                    ("户籍地行政区划代码", "DE0007", None, "")]),
        dict(name="流动人口居住登记信息", theme="人口", keywords=["居住证", "流动人口"],
             summary="在本省办理居住登记的流动人口信息。", sharing_type="conditional",
             sharing_condition="用于居住证积分、随迁子女入学等事项", sharing_methods=["api"], open_type="none",
             update_cycle="daily",
             items=[ID, NAME, ("居住地址", "DE0008", None, ""), ("登记日期", "DE0020", None, "")]),
    ],
    "rst": [
        dict(name="社会保险参保信息", theme="社会保障", keywords=["社保", "参保"],
             summary="企业职工和城乡居民基本养老、医疗、失业、工伤保险的参保登记信息。",
             sharing_type="conditional", sharing_condition="用于社会救助、人才引进等资格核验",
             sharing_methods=["api", "file"], open_type="none", update_cycle="monthly",
             items=[ID, NAME, ("参保险种", None, None, "非标准：险种代码为人社部行业标准"),
                    ("参保状态", "DE0025", None, ""), ("参保日期", "DE0020", None, "")]),
        dict(name="就业登记信息", theme="就业创业", keywords=["就业", "失业登记"], summary="劳动者就业与失业登记信息。",
             sharing_type="unconditional", sharing_methods=["api"], open_type="none", update_cycle="daily",
             items=[ID, NAME, ("用人单位统一社会信用代码", "DE0010", E, ""), ("登记日期", "DE0020", None, "")]),
    ],
    "mzt": [
        dict(name="婚姻登记信息", theme="婚姻", keywords=["结婚", "离婚", "婚姻"], summary="结婚、离婚登记及补领婚姻登记证信息。",
             sharing_type="conditional", sharing_condition="用于不动产登记、公积金提取等需核验婚姻状况的事项",
             sharing_methods=["api"], open_type="none", update_cycle="realtime",
             items=[("男方公民身份号码", "DE0001", P, ""), ("女方公民身份号码", "DE0001", P, ""),
                    ("男方姓名", "DE0002", None, ""), ("女方姓名", "DE0002", None, ""),
                    ("婚姻状况代码", "DE0016", None, ""), ("登记日期", "DE0020", None, ""),
                    ("婚姻登记证号", "DE0019", None, "")]),
        dict(name="最低生活保障对象信息", theme="社会救助", keywords=["低保", "社会救助"],
             summary="最低生活保障申请和在保对象信息；部分申请人未登记身份证号，姓名、地址多为手工录入。",
             sharing_type="conditional", sharing_condition="用于社会救助资格核查", sharing_methods=["api"],
             open_type="none", update_cycle="monthly",
             items=[("申请编号", None, "record", "非标准：民政业务编号"), ("公民身份号码", "DE0001", None, ""), NAME,
                    ("性别代码", "DE0003", None, ""), ("出生日期", "DE0004", None, ""),
                    ("居住地址", "DE0008", None, ""), ("联系电话", "DE0009", None, ""),
                    ("婚姻状况代码", "DE0016", None, "")]),
        dict(name="死亡登记信息", theme="人口", keywords=["死亡", "殡葬", "户籍注销"],
             summary="殡葬服务与死亡登记信息，供社保停发、户籍注销等使用。", sharing_type="unconditional",
             sharing_methods=["api", "subscription"], open_type="none", update_cycle="daily",
             items=[ID, NAME, ("死亡日期", "DE0017", None, "")]),
        dict(name="社会组织登记信息", theme="法人", keywords=["社会团体", "民办非企业", "基金会"],
             summary="社会团体、民办非企业单位和基金会的登记信息。", sharing_type="unconditional",
             sharing_methods=["api", "file"], open_type="open", update_cycle="monthly",
             items=[("统一社会信用代码", "DE0010", E, ""), ("单位名称", "DE0011", None, ""),
                    ("法定代表人", "DE0012", None, ""), ("成立日期", "DE0014", None, "")]),
    ],
    "scjg": [
        dict(name="企业登记信息", category="1", class_code="02", theme="法人", keywords=["企业", "营业执照", "市场主体"],
             summary="企业设立、变更、注销登记信息，法人库的权威来源。", sharing_type="unconditional",
             sharing_methods=["api", "file", "subscription"], open_type="open", update_cycle="daily",
             items=[("统一社会信用代码", "DE0010", E, ""), ("企业名称", "DE0011", None, ""),
                    ("法定代表人", "DE0012", None, ""), ("注册资本", "DE0013", None, ""),
                    ("成立日期", "DE0014", None, ""), ("经营范围", "DE0015", None, ""),
                    ("注册号", "DE0023", None, ""), ("登记状态", "DE0026", None, "")]),
        dict(name="食品经营许可信息", theme="市场监管", keywords=["食品", "许可"],
             summary="食品经营许可证信息；2015 年前发证的记录只有原注册号。", sharing_type="unconditional",
             sharing_methods=["api"], open_type="conditional", open_condition="许可信息向社会公示",
             update_cycle="daily",
             items=[("许可证编号", None, "record", "非标准：许可证号"), ("注册号", "DE0023", None, ""),
                    ("经营者名称", "DE0011", None, ""), ("法定代表人", "DE0012", None, "")]),
        dict(name="行政处罚信息", theme="信用", keywords=["处罚", "信用"], summary="市场监管领域行政处罚决定信息。",
             sharing_type="unconditional", sharing_methods=["api"], open_type="conditional",
             open_condition="公示期内向社会公开", update_cycle="daily",
             items=[("统一社会信用代码", "DE0010", E, ""), ("处罚决定书文号", None, None, "非标准：文书编号"),
                    ("处罚日期", "DE0020", None, "")]),
    ],
    "bdc": [
        dict(name="不动产登记信息", theme="不动产", keywords=["房产", "不动产权证"], summary="不动产权利及抵押登记信息。",
             sharing_type="conditional", sharing_condition="用于住房保障、户籍迁入等事项，须经权利人授权",
             sharing_methods=["api"], open_type="none", update_cycle="realtime",
             items=[("不动产单元号", "DE0021", None, ""), ("权利人公民身份号码", "DE0001", P, ""),
                    ("权利人姓名", "DE0002", None, ""), ("坐落", None, None, "非标准：不动产坐落地址"),
                    ("登记日期", "DE0020", None, "")]),
        dict(name="不动产查封登记信息", theme="不动产", keywords=["查封", "司法协助"],
             summary="人民法院等机关嘱托办理的不动产查封、解封登记信息。", sharing_type="conditional",
             sharing_condition="用于不动产交易、抵押贷款审查，须提供案件编号", sharing_methods=["api"],
             open_type="none", update_cycle="daily",
             items=[("不动产单元号", "DE0021", None, ""), ("权利人公民身份号码", "DE0001", P, ""),
                    ("权利人统一社会信用代码", "DE0010", E, ""), ("查封机关", None, None, "非标准：嘱托机关名称"),
                    ("登记日期", "DE0020", None, "")]),
    ],
    "wjw": [
        dict(name="出生医学证明信息", theme="出生", keywords=["出生", "新生儿", "出生证"],
             summary="医疗机构签发的出生医学证明信息，用于新生儿落户等一件事。", sharing_type="conditional",
             sharing_condition="用于新生儿出生一件事联办", sharing_methods=["api"], open_type="none",
             update_cycle="daily",
             items=[("出生医学证明编号", "DE0022", None, ""), ("新生儿姓名", "DE0002", None, ""),
                    ("性别代码", "DE0003", None, ""), ("出生日期", "DE0004", None, ""),
                    ("母亲公民身份号码", "DE0001", P, ""), ("母亲姓名", "DE0002", None, ""),
                    ("父亲公民身份号码", "DE0001", P, "")]),
        dict(name="医疗机构执业登记信息", theme="卫生健康", keywords=["医院", "医疗机构"], summary="医疗机构执业许可登记信息。",
             sharing_type="unconditional", sharing_methods=["api", "file"], open_type="open", update_cycle="monthly",
             items=[("统一社会信用代码", "DE0010", E, ""), ("机构名称", "DE0011", None, ""),
                    ("所在地行政区划代码", "DE0007", None, "")]),
    ],
    "jyt": [
        dict(name="学历学位信息", theme="教育", keywords=["学历", "学位", "毕业证书"], summary="高等教育学历和学位证书信息。",
             sharing_type="conditional", sharing_condition="用于人才引进、职称评审等学历核验",
             sharing_methods=["api"], open_type="none", update_cycle="yearly",
             items=[ID, NAME, ("学历代码", "DE0018", None, ""), ("证书编号", "DE0019", None, ""),
                    ("毕业日期", None, None, "非标准：毕业年月")]),
        dict(name="学籍信息", theme="教育", keywords=["学籍", "学生"], summary="中小学学生学籍信息；姓名常有同音错字。",
             sharing_type="conditional", sharing_condition="用于入学、资助等资格核验", sharing_methods=["api"],
             open_type="none", update_cycle="yearly",
             items=[("学籍号", None, "record", "非标准：全国学籍号"), ("公民身份号码", "DE0001", None, ""), NAME,
                    ("性别代码", "DE0003", None, ""), ("出生日期", "DE0004", None, "")]),
        dict(name="学校名录", theme="教育", keywords=["学校", "幼儿园"], summary="各级各类学校的基本信息。",
             sharing_type="unconditional", sharing_methods=["file"], open_type="open", update_cycle="yearly",
             items=[("统一社会信用代码", "DE0010", E, ""), ("学校名称", "DE0011", None, ""),
                    ("所在地行政区划代码", "DE0007", None, "")]),
    ],
}
# department key → elements it is the authoritative source of. 卫健委 also claims 出生日期, which
# 公安 holds: a conflict the bureau sees on the 一数一源 page.
CLAIMS = {
    "gat": ["DE0001", "DE0002", "DE0003", "DE0004", "DE0005", "DE0008"],
    "mzt": ["DE0016", "DE0017"],
    "scjg": ["DE0010", "DE0011", "DE0012", "DE0013", "DE0014", "DE0015", "DE0023", "DE0026"],
    "wjw": ["DE0022", "DE0004"],
    "jyt": ["DE0018"],
    "rst": ["DE0025"],
}


def _resource_in(spec: dict, provider: str) -> ResourceIn:
    items = [{"name": n, "element": e, "key": k, "note": note} for n, e, k, note in spec["items"]]
    return ResourceIn(**{**spec, "provider": provider, "items": items, "published_on": "2026-01-01"})


def build_demo_catalog(session: Session, actor: Actor, codes: dict[str, str]) -> tuple[int, int]:
    """Create the demo resources and claims that are missing; returns (resources, claims) created."""
    made_resources = made_claims = 0
    for key, specs in RESOURCES.items():
        department = get_department(session, codes[key])
        for spec in specs:
            exists = session.scalar(select(Resource.id).where(Resource.provider_id == department.id,
                                                              Resource.name == spec["name"]))
            if exists is None:
                service.create_resource(session, actor, data=_resource_in(spec, department.code))
                made_resources += 1
    for key, elements in CLAIMS.items():
        department = get_department(session, codes[key])
        for element in elements:
            claimed = session.scalar(select(SourceClaim.id).where(SourceClaim.department_id == department.id,
                                                                  SourceClaim.element.has(identifier=element)))
            if claimed is None:
                sources.claim_source(session, actor, element=element, department=department.code)
                made_claims += 1
    return made_resources, made_claims
