"""The demo province's one window: the 政务服务中心 takes applications (its window holds a grant on
人口综合库 to fill forms), items of five departments with BPMN review flows, the three demo bundles
(出生一件事, 开办企业一件事, 退休一件事), 高龄津贴 decided automatically, and cases in every state, with
ratings and a 差评 being followed up, so the measures and charts have something to show."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select

from datong.catalog.models import Resource
from datong.db.engine import Database
from datong.licenses.service import licence_type
from datong.registry import service as registry
from datong.security.authz import Actor
from datong.services import bpmn, intake, ratings, review
from datong.services.models import ServiceItem
from datong.services.service import ItemSpec, save_bundle, save_item
from datong.sharing import service as sharing
from datong.sharing.models import ShareRequest
from datong.store.models import Record

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 32  # a stand-in for a scanned page


@dataclass
class DemoServices:
    items: int = 0
    bundles: int = 0
    cases: dict[str, int] = field(default_factory=dict)


def _flow(code: str, name: str, stages: list[list[tuple[str, str]]]) -> str:
    return bpmn.review_flow("item_" + code.replace("-", "_"), name, stages)


def _items(codes: dict[str, str], types: dict[str, str]) -> list[ItemSpec]:
    d = codes
    mother = [{"name": "母亲姓名", "element": "DE0002"}, {"name": "新生儿姓名"}, {"name": "新生儿性别"},
              {"name": "新生儿出生日期"}]
    return [
        ItemSpec(code="WJ-0001", name="出生医学证明签发", department=d["wjw"], kind="public_service", applicant_kind="person",
                 legal_days=10, promised_days=3, windows=["综合窗口"], online=True,
                 fields=[*mother, {"name": "出生医学证明编号"}], legal_basis="《中华人民共和国母婴保健法》第二十三条",
                 flow=_flow("WJ-0001", "出生医学证明签发", [[(d["wjw"], "卫健审核")]]),
                 result={"type": types["出生医学证明"], "holder_name": "母亲姓名",
                         "fields": {"出生医学证明编号": "出生医学证明编号", "新生儿姓名": "新生儿姓名", "性别": "新生儿性别",
                                    "出生日期": "新生儿出生日期"}}),
        ItemSpec(code="GA-0001", name="出生登记", department=d["gat"], kind="confirmation", applicant_kind="person",
                 legal_days=10, promised_days=5, windows=["综合窗口"], online=True, legal_basis="《中华人民共和国户口登记条例》第七条",
                 fields=[*mother, {"name": "户籍地址", "element": "DE0008"}],
                 materials=[{"name": "出生医学证明", "source": "result", "item": "WJ-0001"},
                            {"name": "结婚证", "source": "licence", "licence_type": types["结婚证"], "required": False}],
                 flow=_flow("GA-0001", "出生登记", [[(d["gat"], "户籍民警审核")]])),
        ItemSpec(code="RS-0001", name="城乡居民医保参保登记", department=d["rst"], kind="public_service",
                 applicant_kind="person", legal_days=10, promised_days=2, fields=mother, online=True,
                 materials=[{"name": "出生医学证明", "source": "result", "item": "WJ-0001"}],
                 flow=_flow("RS-0001", "城乡居民医保参保登记", [[(d["rst"], "医保经办审核")]])),
        ItemSpec(code="SJ-0001", name="企业设立登记", department=d["scjg"], kind="licensing", applicant_kind="person",
                 legal_days=15, promised_days=3, windows=["开办企业专窗"], online=True,
                 legal_basis="《中华人民共和国市场主体登记管理条例》第十九条",
                 fields=[{"name": "投资人姓名", "element": "DE0002"}, {"name": "企业名称"}, {"name": "统一社会信用代码"},
                         {"name": "注册资本"}, {"name": "经营范围"}],
                 materials=[{"name": "住所使用证明", "source": "upload"}],
                 flow=_flow("SJ-0001", "企业设立登记", [[(d["scjg"], "登记审核")]]),
                 result={"type": types["营业执照"], "holder": "统一社会信用代码", "holder_name": "企业名称",
                         "fields": {"名称": "企业名称", "法定代表人": "投资人姓名", "注册资本": "注册资本",
                                    "成立日期": "注册资本", "经营范围": "经营范围"}}),
        ItemSpec(code="GA-0002", name="公章刻制备案", department=d["gat"], kind="confirmation", applicant_kind="person",
                 legal_days=5, promised_days=1, fields=[{"name": "投资人姓名", "element": "DE0002"}, {"name": "企业名称"}],
                 materials=[{"name": "营业执照", "source": "result", "item": "SJ-0001"}],
                 flow=_flow("GA-0002", "公章刻制备案", [[(d["gat"], "治安备案")]])),
        ItemSpec(code="RS-0002", name="企业社保登记", department=d["rst"], kind="public_service", applicant_kind="person",
                 legal_days=5, promised_days=1, fields=[{"name": "投资人姓名", "element": "DE0002"}, {"name": "企业名称"}],
                 materials=[{"name": "营业执照", "source": "result", "item": "SJ-0001"}],
                 flow=_flow("RS-0002", "企业社保登记", [[(d["rst"], "社保经办")]])),
        ItemSpec(code="RS-0003", name="退休审批", department=d["rst"], kind="licensing", applicant_kind="person",
                 legal_days=20, promised_days=10, fields=[{"name": "姓名", "element": "DE0002"},
                                                           {"name": "出生日期", "element": "DE0004"}],
                 materials=[{"name": "社保参保证明", "source": "licence", "licence_type": types["社保参保证明"]},
                            {"name": "档案", "source": "upload"}],
                 flow=_flow("RS-0003", "退休审批", [[(d["rst"], "人社审核"), (d["gat"], "户籍核查")], [(d["rst"], "人社审批")]])),
        ItemSpec(code="RS-0004", name="基本养老金核定", department=d["rst"], kind="payment", applicant_kind="person",
                 legal_days=20, promised_days=5, fields=[{"name": "姓名", "element": "DE0002"}],
                 materials=[{"name": "退休审批结果", "source": "result", "item": "RS-0003"}],
                 flow=_flow("RS-0004", "基本养老金核定", [[(d["rst"], "待遇核定")]])),
        ItemSpec(code="MZ-0001", name="高龄津贴发放", department=d["mzt"], kind="payment", applicant_kind="person",
                 legal_days=20, promised_days=3, sample_rate=0.2, online=True, windows=["综合窗口"],
                 conditions="本省户籍、年满80周岁的老年人", legal_basis="《示范省老年人权益保障条例》",
                 fields=[{"name": "姓名", "element": "DE0002"}, {"name": "出生日期", "element": "DE0004"},
                         {"name": "户籍地址", "element": "DE0008"}, {"name": "死亡日期", "element": "DE0017", "required": False}],
                 auto_rules=[{"op": "age_at_least", "field": "出生日期", "value": 80},
                             {"op": "empty", "field": "死亡日期"}, {"op": "present", "field": "户籍地址"},
                             {"op": "not_already"}],
                 flow=_flow("MZ-0001", "高龄津贴发放", [[(d["mzt"], "民政审核")]])),
    ]


BUNDLES = [("YJS-CS", "出生一件事", "新生儿出生医学证明、户口登记、医保参保一次办",
            [{"item": "WJ-0001"}, {"item": "GA-0001", "after": ["WJ-0001"]}, {"item": "RS-0001", "after": ["WJ-0001"]}]),
           ("YJS-KB", "开办企业一件事", "营业执照、公章刻制、社保登记一次办",
            [{"item": "SJ-0001"}, {"item": "GA-0002", "after": ["SJ-0001"]}, {"item": "RS-0002", "after": ["SJ-0001"]}]),
           ("YJS-TX", "退休一件事", "退休审批和养老金核定一次办",
            [{"item": "RS-0003"}, {"item": "RS-0004", "after": ["RS-0003"]}])]


def _grant_window(session, user: Actor, boss: Actor) -> None:
    for kind in ("person", "entity"):
        resource = registry.registry_resource(session, kind)
        asked = session.scalar(select(ShareRequest.id).where(ShareRequest.resource_id == resource.id,
                                                             ShareRequest.consumer_id == user.department_id))
        if asked is not None:
            continue
        names = [i.name for i in resource.items]
        request = sharing.request_access(session, user, resource_code=resource.code, items=names,
                                         purpose="一窗受理：申请表单预填与身份核验", legal_basis="《优化营商环境条例》第三十五条",
                                         days=1095)
        if request.status == "pending":
            sharing.decide_request(session, boss, request_id=request.id, approve=True, plain_items=names,
                                   reason="同意，限一窗受理使用")


def _people(session, older: bool, count: int) -> list[str]:
    """Applicants from the population registry: people aged 80 or more, or younger ones."""
    code = registry.registry_resource(session, "person").id
    found = []
    for key, payload in session.execute(select(Record.key, Record.payload).where(Record.resource_id == code)
                                        .order_by(Record.key).limit(20000)):
        born = str(json.loads(payload).get("出生日期") or "")
        if born and (born[:4] <= str(date.today().year - 81)) == older:
            found.append(key)
            if len(found) >= count:
                break
    return found


def build_demo_services(database: Database) -> DemoServices:
    """Items, bundles and cases (idempotent: a province with items is left as it is)."""
    from datong.demo.province import DEPARTMENTS
    from datong.demo.sharing import _user

    result, operator = DemoServices(), Actor.system("demo")
    codes = {d.key: d.code for d in DEPARTMENTS}
    with database.unit_of_work() as session:
        if session.scalar(select(ServiceItem.id).limit(1)) is not None:
            return result
        if session.scalar(select(Resource.id).where(Resource.name == "人口综合库")) is None:
            return result  # no registry: the demo was built without people
        types = {name: licence_type(session, name).code for name in ("出生医学证明", "营业执照", "结婚证", "社保参保证明")}
        for spec in _items(codes, types):
            save_item(session, operator, spec=spec)
            result.items += 1
        for code, name, description, items in BUNDLES:
            save_bundle(session, operator, code=code, name=name, items=items, description=description)
            result.bundles += 1
        _grant_window(session, _user(session, "zwfw_clerk"), _user(session, "admin"))
        elders, younger = _people(session, True, 6), _people(session, False, 6)
    _demo_cases(database, elders, younger, result)
    return result


def _count(result: DemoServices, state: str) -> None:
    result.cases[state] = result.cases.get(state, 0) + 1


def _demo_cases(database: Database, elders: list[str], younger: list[str], result: DemoServices) -> None:
    from datong.demo.sharing import _user

    for key in elders[:4]:  # 高龄津贴: decided by the rules, no clerk
        with database.unit_of_work() as session:
            clerk = _user(session, "zwfw_clerk")
            case = intake.open_case(session, clerk, applicant=key, item="MZ-0001", window="综合窗口 1")
            case = intake.accept_case(session, clerk, number=case.number)
            _count(result, "automatic" if case.automatic else case.status)
            if case.status == "completed":
                ratings.rate_case(session, clerk, number=case.number, level=5, reasons=["办理快捷"])
    births = younger[:3]
    for n, key in enumerate(births):  # 出生一件事: one done, one half-way, one asked for more
        with database.unit_of_work() as session:
            clerk = _user(session, "zwfw_clerk")
            case = intake.open_case(session, clerk, applicant=key, bundle="YJS-CS", authorised=True, window="综合窗口 2")
            intake.update_form(session, clerk, number=case.number, values={
                "新生儿姓名": f"小明{n}", "新生儿性别": "1", "新生儿出生日期": date.today().isoformat(),
                "出生医学证明编号": f"Q33{date.today():%Y}{n:06d}"})
            number = intake.accept_case(session, clerk, number=case.number).number
        _review(database, number, steps=3 - n)
        with database.reading() as session:
            _count(result, intake.find_case(session, number).status)
    if len(younger) > 3:  # a 差评 of a window's wait, being followed up
        with database.unit_of_work() as session:
            clerk = _user(session, "zwfw_clerk")
            case = intake.open_case(session, clerk, applicant=younger[3], item="RS-0003", authorised=True, window="综合窗口 3")
            intake.attach(session, clerk, number=case.number, material="档案", filename="dangan.png", content=PNG)
            if not intake.missing(case, []):
                number = intake.accept_case(session, clerk, number=case.number).number
            else:
                number = None
                intake.refuse_case(session, clerk, number=case.number, reason="未持有社保参保证明，请先办理参保")
                _count(result, "refused")
        if number:
            _review(database, number, steps=3)
            with database.unit_of_work() as session:
                ratings.rate_case(session, _user(session, "zwfw_clerk"), number=number, level=2, reasons=["等候时间长"],
                                  comment="窗口排队一个多小时")
                _count(result, "rated_bad")


REVIEWERS = {"卫健审核": "wjw_clerk", "户籍民警审核": "gat_clerk", "医保经办审核": "rst_clerk", "人社审核": "rst_clerk",
             "户籍核查": "gat_clerk", "人社审批": "rst_admin"}


def _review(database: Database, number: str, steps: int) -> None:
    """Decide up to ``steps`` open reviews of a case (and of its bundle's items), as their departments."""
    from datong.demo.sharing import _user
    from datong.services.models import TASK_OPEN, Case, ReviewTask

    for _ in range(steps):
        with database.unit_of_work() as session:
            root = intake.find_case(session, number)
            ids = [root.id, *[c.id for c in intake.case_children(session, root)]]
            task = session.scalar(select(ReviewTask).join(Case).where(ReviewTask.case_id.in_(ids),
                                                                      ReviewTask.status == TASK_OPEN,
                                                                      ReviewTask.sample.is_(False),
                                                                      Case.status == "in_review").order_by(ReviewTask.id))
            if task is None:
                return
            outcome = "supplement" if steps == 1 else "approve"
            review.decide_task(session, _user(session, REVIEWERS.get(task.name, "gat_clerk")), task_id=task.id,
                               outcome=outcome, note="请补充新生儿父亲身份证明" if outcome == "supplement" else "")
