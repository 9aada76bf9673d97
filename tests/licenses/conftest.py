"""A licence library for the tests: seals for two departments and a 结婚证 type both may issue."""

from __future__ import annotations

import pytest

from datong.licenses import keys, service
from datong.licenses.service import Draft, TypeSpec
from tests.helpers import BUREAU_CODE, DEPT_CODE, OTHER_CODE, citizen_id

MARRIAGE_CODE = "11100000000013127D001"  # a defining authority's credit code and a sequence
FIELDS = [{"name": "持证人", "element": "DE0002"}, {"name": "登记日期", "element": "DE0020"},
          {"name": "配偶姓名", "element": None}, {"name": "结婚证字号", "element": "DE0019"},
          {"name": "备注", "element": None, "required": False}]


def marriage_spec(**overrides) -> TypeSpec:
    values = {"code": MARRIAGE_CODE, "name": "结婚证", "ministry": "民政部", "issuers": [OTHER_CODE, DEPT_CODE],
              "holder_kind": "person", "fields": FIELDS, "valid_years": None} | overrides
    return TypeSpec(**values)


def holder(n: int) -> str:
    return citizen_id(n, "19900101")


def draft(n: int = 1, **data) -> Draft:
    return Draft(holder_key=holder(n), holder_name=f"测试{n}",
                 data={"持证人": f"测试{n}", "登记日期": "2026-05-20", "配偶姓名": "配偶", "结婚证字号": f"J3301-2026-{n:06d}"}
                 | data)


def api_draft(n: int = 1, **data) -> dict:
    d = draft(n, **data)
    return {"holder_key": d.holder_key, "holder_name": d.holder_name, "data": d.data}


@pytest.fixture
def library(database, operator, world):
    """Seals for 民政 (SM2) and the test department (Ed25519), a bureau seal, and the 结婚证 type."""
    with database.unit_of_work() as session:
        seal = keys.create_seal(session, operator, department=OTHER_CODE, name="测试省民政厅证照专用章")
        dept_seal = keys.create_seal(session, operator, department=DEPT_CODE, name="测试省公安厅证照专用章",
                                     algorithm="ed25519")
        keys.create_seal(session, operator, department=BUREAU_CODE, name="测试省大数据局公章", kind="公章")
        kind = service.save_licence_type(session, operator, spec=marriage_spec())
        return {"seal": seal.id, "dept_seal": dept_seal.id, "type": kind.code, "resource": kind.resource.code}


@pytest.fixture
def issued(database, operator, library):
    """Three 结婚证 issued by 民政 (SM2): their identifiers."""
    with database.unit_of_work() as session:
        licences = service.issue_licences(session, operator, type_code=library["type"],
                                          drafts=[draft(n) for n in (1, 2, 3)], issuer=OTHER_CODE)
        return [lic.identifier for lic in licences]
