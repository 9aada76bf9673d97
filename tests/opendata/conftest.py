"""A company register open to the public, a permit list open on conditions, and a population
resource (personal data), each with data loaded."""

import pytest

from datong.catalog import service
from datong.catalog.schemas import ResourceIn
from datong.codes.credit_code import make_credit_code
from datong.ingest.flows import run_load
from datong.ingest.sources import Source
from tests.helpers import (
    DEPT_CODE,
    POPULATION_HEADER,
    POPULATION_ITEMS,
    citizen_id,
    population_rows,
    resource_body,
)
from tests.ingest.conftest import write_csv

COMPANY_HEADER = ["统一社会信用代码", "单位名称", "成立日期", "所在地行政区划代码"]
COMPANY_ITEMS = [
    {"name": "统一社会信用代码", "element": "DE0010", "key": "entity"},
    {"name": "单位名称", "element": "DE0011"},
    {"name": "成立日期", "element": "DE0014"},
    {"name": "所在地行政区划代码", "element": "DE0007"},
]


def company_rows(count: int) -> list[list[str]]:
    return [[make_credit_code("9", "1", "330106", f"{70000000 + n:08d}"), f"杭州测试{n}科技有限公司",
             f"20{10 + n % 10}-0{1 + n % 9}-1{n % 10}", "330106" if n % 3 else "330108"] for n in range(1, count + 1)]


def load_csv(database, operator, code, tmp_path, header, rows, name="data.csv"):
    path = write_csv(tmp_path / name, header, rows)
    return run_load(database, operator, resource_code=code, source=Source.from_path(path), mode="full")


@pytest.fixture
def open_world(database, operator, world, tmp_path):
    bodies = {
        "companies": resource_body(DEPT_CODE, name="企业名录", summary="本省登记的企业名录", theme="法人",
                                   keywords=["企业", "名录"], open_type="open", sharing_type="unconditional",
                                   items=COMPANY_ITEMS),
        "permits": resource_body(DEPT_CODE, name="许可企业名录", summary="取得许可的企业", theme="市场监管",
                                 keywords=["许可"], open_type="conditional", open_condition="用于研究和公益用途",
                                 sharing_type="unconditional", items=COMPANY_ITEMS),
        "people": resource_body(DEPT_CODE, name="常住人口信息", items=POPULATION_ITEMS, open_type="open"),
        "empty": resource_body(DEPT_CODE, name="尚无数据的名录", theme="法人", keywords=["名录"], open_type="open",
                               sharing_type="unconditional", items=COMPANY_ITEMS),
    }
    with database.unit_of_work() as session:
        codes = {key: service.create_resource(session, operator, data=ResourceIn.model_validate(body)).code
                 for key, body in bodies.items()}
    companies = company_rows(12)
    # Forty people in 330106, and three in 330108: a group too small to publish.
    people = population_rows(40) + [[citizen_id(n, "19700305", "330108"), f"测试{n}", "1" if n % 2 else "2",
                                     "1970-03-05", f"杭州市拱墅区{n}号"] for n in range(41, 44)]
    load_csv(database, operator, codes["companies"], tmp_path, COMPANY_HEADER, companies, "companies.csv")
    load_csv(database, operator, codes["permits"], tmp_path, COMPANY_HEADER, companies[:6], "permits.csv")
    load_csv(database, operator, codes["people"], tmp_path, POPULATION_HEADER, people, "people.csv")
    return {"codes": codes, "companies": companies, "people": people}
