"""A one window for the tests, on the registry tests' small province and the licence tests' 结婚证:
the test department (公安) runs the window and holds a grant on 人口综合库; 民政 owns the items and
reviews with 公安 in parallel; a 结婚证 is issued to 王建国."""

from __future__ import annotations

from dataclasses import replace

import pytest

from datong.licenses import service as licences
from datong.licenses.service import Draft
from datong.registry import service as registry
from datong.registry.flows import run_build
from datong.security import service as security
from datong.services import bpmn
from datong.services.service import ItemSpec, save_bundle, save_item
from datong.sharing import service as sharing
from tests.helpers import DEPT_CODE, OTHER_CODE, PASSWORD
from tests.licenses.conftest import MARRIAGE_CODE, library  # noqa: F401 - the fixture
from tests.registry.conftest import province  # noqa: F401 - the fixture

ALLOWANCE = "MZ-GLJT"  # 高龄津贴: decided automatically
CERTIFICATE = "MZ-HYZM"  # 婚姻状况证明: reviewed by 民政 and 公安 in parallel, issues a 结婚证 (for the tests)
HOUSEHOLD = "GA-HKDJ"  # 户口登记: reviewed by 公安, after the certificate in the bundle


def certificate_spec(**overrides) -> ItemSpec:
    flow = bpmn.review_flow("hyzm", "婚姻状况证明", [[(OTHER_CODE, "民政审核"), (DEPT_CODE, "公安核查")]])
    spec = ItemSpec(
        code=CERTIFICATE, name="婚姻状况证明", department=OTHER_CODE, kind="public_service", applicant_kind="person",
        legal_days=20, promised_days=5, flow=flow, online=True,
        fields=[{"name": "姓名", "element": "DE0002"}, {"name": "出生日期", "element": "DE0004"},
                {"name": "配偶姓名", "licence": f"{MARRIAGE_CODE}:配偶姓名"},
                {"name": "联系地址", "required": True}],
        materials=[{"name": "结婚证", "source": "licence", "licence_type": MARRIAGE_CODE},
                   {"name": "户口簿", "source": "upload"}],
        result={"type": MARRIAGE_CODE, "holder_name": "姓名",
                "fields": {"持证人": "姓名", "登记日期": "出生日期", "配偶姓名": "配偶姓名", "结婚证字号": "联系地址"}})
    return replace(spec, **overrides)


@pytest.fixture
def window(database, operator, province, library):  # noqa: F811 - pytest fixtures by name
    """Registry built, 公安 granted 人口综合库 in plain text, 民政 staff, items and a bundle."""
    run_build(database, operator, kind="person")
    people = province["people"]
    with database.unit_of_work() as session:
        for username, roles in (("mzadmin", ["dept_admin"]), ("mzclerk", ["clerk"])):
            security.create_user(session, operator, username=username, display_name=username, department_code=OTHER_CODE,
                                 roles=roles, password=PASSWORD)
        resource = registry.registry_resource(session, "person")
        code, items = resource.code, [i.name for i in resource.items]
        asked = sharing.request_access(session, staff(session, "clerk1"), resource_code=code, items=items, purpose="一窗受理预填", legal_basis="政务服务条例", days=365)
        sharing.decide_request(session, operator, request_id=asked.id, approve=True, plain_items=items)
        licences.issue_licences(session, operator, type_code=MARRIAGE_CODE, issuer=OTHER_CODE, drafts=[Draft(
            people[1], "王建国", {"持证人": "王建国", "登记日期": "1985-10-01", "配偶姓名": "李芳", "结婚证字号": "J1985-001"})])
        save_item(session, operator, spec=certificate_spec())
        save_item(session, operator, spec=ItemSpec(
            code=ALLOWANCE, name="高龄津贴", department=OTHER_CODE, kind="payment", applicant_kind="person",
            legal_days=10, promised_days=3, sample_rate=1.0, online=True,
            fields=[{"name": "姓名", "element": "DE0002"}, {"name": "出生日期", "element": "DE0004"},
                    {"name": "户籍地址", "element": "DE0008"}],
            auto_rules=[{"op": "age_at_least", "field": "出生日期", "value": 60},
                        {"op": "starts_with", "field": "户籍地址", "value": "浙江省"}, {"op": "not_already"}]))
        save_item(session, operator, spec=ItemSpec(
            code=HOUSEHOLD, name="户口登记", department=DEPT_CODE, kind="confirmation", applicant_kind="person",
            legal_days=10, promised_days=5, fields=[{"name": "姓名", "element": "DE0002"}, {"name": "联系地址"}],
            materials=[{"name": "婚姻状况证明结果", "source": "result", "item": CERTIFICATE}]))
        save_bundle(session, operator, code="BUNDLE-TEST", name="测试一件事",
                    items=[{"item": CERTIFICATE}, {"item": HOUSEHOLD, "after": [CERTIFICATE]}])
    return {"people": people, "registry": code}


def staff(session, username: str):
    """The actor of a test account, as the API would resolve it."""
    from sqlalchemy import select

    from datong.security.models import User

    return security.actor_for_user(session.scalar(select(User).where(User.username == username)))
