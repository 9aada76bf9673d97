"""A licence library for the tests: a seal for the civil-affairs department and a 结婚证 type it issues."""

from __future__ import annotations

import pytest

from datong.licenses import keys, service
from datong.licenses.service import Draft, TypeSpec
from tests.helpers import BUREAU_CODE, OTHER_CODE, citizen_id

MARRIAGE_CODE = "11100000000013127D001"  # 民政部's credit code and a sequence
FIELDS = [{"name": "持证人", "element": "DE0002"}, {"name": "登记日期", "element": "DE0020"},
          {"name": "配偶姓名", "element": None}, {"name": "结婚证字号", "element": "DE0019"},
          {"name": "备注", "element": None, "required": False}]


def marriage_spec(**overrides) -> TypeSpec:
    values = {"code": MARRIAGE_CODE, "name": "结婚证", "ministry": "民政部", "issuers": [OTHER_CODE],
              "holder_kind": "person", "fields": FIELDS, "valid_years": None} | overrides
    return TypeSpec(**values)


def draft(n: int = 1, **data) -> Draft:
    return Draft(holder_key=citizen_id(n, "19900101"), holder_name=f"测试{n}",
                 data={"持证人": f"测试{n}", "登记日期": "2026-05-20", "配偶姓名": "配偶", "结婚证字号": f"J3301-2026-{n:06d}"}
                 | data)


@pytest.fixture
def library(database, operator, world):
    """Returns the seal's id and the type's code, with a bureau seal too (the bureau issues nothing)."""
    with database.unit_of_work() as session:
        seal = keys.create_seal(session, operator, department=OTHER_CODE, name="测试省民政厅证照专用章")
        keys.create_seal(session, operator, department=BUREAU_CODE, name="测试省大数据局公章", kind="公章")
        kind = service.save_licence_type(session, operator, spec=marriage_spec())
        return {"seal": seal.id, "type": kind.code}
