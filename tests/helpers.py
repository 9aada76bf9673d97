"""Small builders shared by the tests."""

from __future__ import annotations

from datong.codes.credit_code import make_credit_code
from datong.security import service
from datong.security.authz import Actor

PASSWORD = "Test#Pass2026"
BUREAU_CODE = make_credit_code("1", "1", "330000", "00300001")
DEPT_CODE = make_credit_code("1", "1", "330000", "00300002")
OTHER_CODE = make_credit_code("1", "1", "330000", "00300003")

ACCOUNTS = {
    "boss": (BUREAU_CODE, ["bureau_admin"]),
    "sys": (BUREAU_CODE, ["system_admin"]),
    "sec": (BUREAU_CODE, ["security_admin"]),
    "aud": (BUREAU_CODE, ["auditor"]),
    "dadmin": (DEPT_CODE, ["dept_admin"]),
    "clerk1": (DEPT_CODE, ["clerk"]),
}


def seed_world(session, operator: Actor) -> dict:
    service.create_department(session, operator, code=BUREAU_CODE, name="测试省大数据局")
    service.create_department(session, operator, code=DEPT_CODE, name="测试省公安厅", parent_code=None)
    service.create_department(session, operator, code=OTHER_CODE, name="测试省民政厅")
    for username, (code, roles) in ACCOUNTS.items():
        service.create_user(session, operator, username=username, display_name=username.upper(),
                            department_code=code, roles=roles, password=PASSWORD)
    return {"bureau": BUREAU_CODE, "dept": DEPT_CODE, "other": OTHER_CODE}


def cli_env(settings) -> dict[str, str]:
    """Environment that points the ``datong`` command at a test's database."""
    return {"DATONG_DATABASE_URL": settings.database_url, "DATONG_DATA_DIR": str(settings.data_dir),
            "DATONG_ENV": "test", "DATONG_SECRET_KEY": settings.resolved_secret(),
            "DATONG_CALLBACK_ALLOW": settings.callback_allow or ""}


def resource_body(provider: str, name: str = "户籍人口基本信息", **overrides) -> dict:
    """A valid resource for the API, with a citizen-ID key and a non-standard item."""
    body = {
        "name": name, "provider": provider, "summary": "本省户籍人口基本信息", "category": "1", "class_code": "01",
        "theme": "人口", "keywords": ["户籍", "人口"], "sharing_type": "conditional",
        "sharing_condition": "办理政务服务事项时核验身份", "sharing_methods": ["api"], "open_type": "none",
        "update_cycle": "daily",
        "items": [
            {"name": "公民身份号码", "element": "DE0001", "key": "person"},
            {"name": "姓名", "element": "DE0002"},
            {"name": "户籍地址", "note": "非标准：户籍登记地址"},
        ],
    }
    body.update(overrides)
    return body


def citizen_id(serial: int, birth: str = "19800101", division: str = "330106") -> str:
    """A valid 18-digit citizen ID number; an odd ``serial`` is a man, an even one a woman."""
    from datong.codes.id_number import check_character

    first17 = f"{division}{birth}{serial % 1000:03d}"
    return first17 + check_character(first17)


POPULATION_ITEMS = [
    {"name": "公民身份号码", "element": "DE0001", "key": "person"},
    {"name": "姓名", "element": "DE0002"},
    {"name": "性别代码", "element": "DE0003"},
    {"name": "出生日期", "element": "DE0004"},
    {"name": "住址", "element": "DE0008"},
]
POPULATION_HEADER = ["公民身份号码", "姓名", "性别代码", "出生日期", "住址"]


def population_rows(count: int, start: int = 1) -> list[list[str]]:
    """Consistent rows: sex and birth date agree with the ID number."""
    rows = []
    for n in range(start, start + count):
        birth = f"{1950 + n % 50}{(n % 12) + 1:02d}{(n % 28) + 1:02d}"
        rows.append([citizen_id(n, birth), f"测试{n}", "1" if n % 2 else "2",
                     f"{birth[:4]}-{birth[4:6]}-{birth[6:]}", f"杭州市西湖区文三路{n}号"])
    return rows
