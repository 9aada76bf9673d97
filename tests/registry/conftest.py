"""A small province for the registry tests, with the defects departments' data really has: a
public-security register (the authoritative source), social assistance applicants without IDs,
homophone typos and swapped birth dates, a wrong ID, a disagreeing name, and companies known only
by their old registration numbers."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from datong.catalog import service as catalog
from datong.catalog import sources
from datong.catalog.schemas import ResourceIn
from datong.codes.credit_code import make_credit_code
from datong.ingest.flows import run_load
from datong.ingest.sources import Source
from tests.helpers import DEPT_CODE, OTHER_CODE, citizen_id

PEOPLE = [  # id serial, name, sex, birth, address, phone
    (1, "王建国", "1", "1960-03-15", "浙江省杭州市西湖区文三路1号", "13812340001"),
    (3, "李明", "1", "1975-11-02", "浙江省杭州市上城区解放路8号", "13812340003"),
    (4, "陈芳", "2", "1982-07-21", "浙江省宁波市鄞州区天童南路5号", "13812340004"),
    (6, "张丽", "2", "1990-01-09", "浙江省温州市鹿城区人民路3号", "13812340006"),
    (7, "刘洋", "1", "1988-05-30", "浙江省杭州市西湖区文三路9号", "13812340007"),
    (8, "赵静", "2", "1979-12-12", "浙江省杭州市拱墅区湖墅南路2号", "13812340008"),
    (9, "孙伟", "1", "1966-08-08", "浙江省嘉兴市南湖区中山路6号", "13812340009"),
    (10, "周敏", "2", "1995-04-17", "浙江省杭州市滨江区江南大道4号", "13812340010"),
]


def person_id(n: int, birth: str) -> str:
    return citizen_id(n, birth.replace("-", ""))


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _resource(session, operator, provider, name, items, **extra):
    body = {"name": name, "provider": provider, "summary": name, "theme": "人口", "sharing_type": "conditional",
            "sharing_condition": "核验", "sharing_methods": ["api"], "open_type": "none", "update_cycle": "daily",
            "items": items, **extra}
    return catalog.create_resource(session, operator, data=ResourceIn.model_validate(body)).code


COMPANY = [make_credit_code("9", "1", "330106", f"{n:08d}") for n in (12345678, 22345678, 32345678)]
REG_NOS = ["330106000012345", "330106000022345", "330106000032345"]


@pytest.fixture
def province(database, operator, world, tmp_path):
    """Loads every resource; returns the resource codes and the truth of who is who."""
    people = {n: person_id(n, birth) for n, _, _, birth, _, _ in PEOPLE}
    with database.unit_of_work() as session:
        for element in ("DE0002", "DE0003", "DE0004", "DE0008", "DE0011", "DE0012"):
            sources.claim_source(session, operator, element=element, department=DEPT_CODE)
        hj = _resource(session, operator, DEPT_CODE, "户籍人口基本信息", [
            {"name": "公民身份号码", "element": "DE0001", "key": "person"}, {"name": "姓名", "element": "DE0002"},
            {"name": "性别代码", "element": "DE0003"}, {"name": "出生日期", "element": "DE0004"},
            {"name": "户籍地址", "element": "DE0008"}, {"name": "联系电话", "element": "DE0009"}])
        db = _resource(session, operator, OTHER_CODE, "最低生活保障对象信息", [
            {"name": "申请编号", "key": "record", "note": "非标准：民政业务编号"},
            {"name": "公民身份号码", "element": "DE0001"}, {"name": "姓名", "element": "DE0002"},
            {"name": "性别代码", "element": "DE0003"}, {"name": "出生日期", "element": "DE0004"},
            {"name": "居住地址", "element": "DE0008"}, {"name": "联系电话", "element": "DE0009"},
            {"name": "婚姻状况代码", "element": "DE0016"}])
        qy = _resource(session, operator, DEPT_CODE, "企业登记信息", [
            {"name": "统一社会信用代码", "element": "DE0010", "key": "entity"}, {"name": "企业名称", "element": "DE0011"},
            {"name": "法定代表人", "element": "DE0012"}, {"name": "成立日期", "element": "DE0014"},
            {"name": "注册号", "element": "DE0023"}], theme="法人", sharing_type="unconditional")
        xk = _resource(session, operator, OTHER_CODE, "行政许可信息", [
            {"name": "许可编号", "key": "record", "note": "非标准"}, {"name": "注册号", "element": "DE0023"},
            {"name": "组织机构代码", "element": "DE0024"}, {"name": "单位名称", "element": "DE0011"}],
            theme="法人", sharing_type="unconditional")
    hj_rows = [[people[n], name, sex, birth, address, phone] for n, name, sex, birth, address, phone in PEOPLE]
    # 低保: DB1 has a good ID but a name that differs from 公安's (a disagreement); DB2 has no ID and a
    # homophone typo; DB3 no ID and day/month swapped; DB4 no ID, traditional characters; DB5 carries
    # 陈芳's ID with 孙伟's name and birth date (a wrong ID); DB6 no ID and nobody in the register.
    db_rows = [
        ["DB1", people[1], "王建", "1", "1960-03-15", "杭州市西湖区文三路1号", "13812340001", "20"],
        ["DB2", "", "李铭", "1", "1975-11-02", "杭州市上城区解放路8号", "13812340003", "20"],
        ["DB3", "", "张丽", "2", "1990-09-01", "温州市鹿城区人民路3号", "13812340006", "10"],
        ["DB4", "", "劉洋", "1", "1988-05-30", "西湖区文三路9号", "13812340007", "20"],
        ["DB5", people[4], "孙伟", "1", "1966-08-08", "嘉兴市南湖区中山路6号", "13812340009", "20"],
        ["DB6", "", "钱多多", "2", "2001-02-03", "丽水市莲都区中山街1号", "13900000000", "10"],
        # the first-generation card's 15 digits: upgraded at ingest, linked by ID
        ["DB7", people[8][:6] + people[8][8:17], "赵静", "2", "1979-12-12", "", "", "20"],
    ]
    qy_rows = [[COMPANY[0], "示范省数通科技有限公司", "王建国", "2010-05-01", REG_NOS[0]],
               [COMPANY[1], "杭州市湖畔餐饮有限责任公司", "李明", "2015-09-12", REG_NOS[1]],
               [COMPANY[2], "宁波海港物流股份有限公司", "陈芳", "2008-03-03", ""]]
    xk_rows = [["XK1", REG_NOS[0], "", "数通科技有限公司"], ["XK2", "", COMPANY[1][8:17], "湖畔餐饮有限公司"],
               ["XK3", "", "", "宁波海港物流股份公司"]]
    files = {hj: (["公民身份号码", "姓名", "性别代码", "出生日期", "户籍地址", "联系电话"], hj_rows),
             db: (["申请编号", "公民身份号码", "姓名", "性别代码", "出生日期", "居住地址", "联系电话", "婚姻状况代码"], db_rows),
             qy: (["统一社会信用代码", "企业名称", "法定代表人", "成立日期", "注册号"], qy_rows),
             xk: (["许可编号", "注册号", "组织机构代码", "单位名称"], xk_rows)}
    for code, (header, rows) in files.items():
        path = write_csv(tmp_path / f"{code.replace('/', '_')}.csv", header, rows)
        run_load(database, operator, resource_code=code, source=Source.from_path(path), mode="full")
    return {"hj": hj, "db": db, "qy": qy, "xk": xk, "people": people,
            "truth": {"DB1": people[1], "DB2": people[3], "DB3": people[6], "DB4": people[7], "DB5": people[9],
                      "DB6": None, "DB7": people[8], "XK1": COMPANY[0], "XK2": COMPANY[1], "XK3": COMPANY[2]}}
