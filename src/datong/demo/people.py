"""Realistic demo data for the catalog's resources, with the defects real departments have.

People get citizen ID numbers built from real, current GB/T 2260 county codes of the province
and plausible birth dates (Faker's own ID numbers often carry divisions and birth years that
never existed); companies get credit codes by the GB 32100 algorithm. Faker (zh_CN) gives names,
addresses and phone numbers. Defects are injected at fixed rates, so a test or a benchmark knows
how many to expect; everything is reproducible from the seed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache

from faker import Faker

from datong.codes import credit_code, id_number
from datong.codes.divisions import _periods, lookup_division

#: Share of rows with each defect (per resource file).
RATES = {"bad_check": 0.004, "impossible_date": 0.003, "full_width": 0.01, "duplicate": 0.002,
         "name_differs": 0.005}
ORG_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
SCOPES = ("软件开发；信息技术咨询服务", "食品销售；日用百货销售", "建设工程施工", "道路货物运输", "餐饮服务",
          "医疗器械经营", "房地产经纪", "教育咨询服务")


@cache
def counties(province: str = "33") -> tuple[str, ...]:
    """Current county-level codes of a province (not 市辖区, not retired)."""
    found = []
    for code, periods in _periods().items():
        if code.startswith(province) and code[4:] not in ("00", "01") and any(p.end_year is None for p in periods):
            division = lookup_division(code)
            if division is not None and not division.retired:
                found.append(code)
    return tuple(sorted(found))


@dataclass
class Person:
    id_number: str
    name: str
    sex: str
    birth: date
    address: str
    phone: str
    division: str


@dataclass
class Company:
    code: str
    name: str
    legal_rep: str
    capital: str
    founded: date
    scope: str
    reg_no: str = ""  # the 注册号 it had before the credit code (GS15-2006), for companies before 2015


def make_registration_number(rng: random.Random, division: str) -> str:
    """A 15-digit 注册号: the registering authority's division, a serial, and the ISO 7064
    MOD 11,10 check digit that GS15-2006 prescribes."""
    first14 = f"{division}{rng.randrange(10**7, 10**8)}"
    product = 10
    for digit in first14:
        total = (int(digit) + product) % 10 or 10
        product = (total * 2) % 11
    return first14 + str((11 - product) % 10)


@dataclass
class Population:
    people: list[Person]
    companies: list[Company]
    seed: int
    rng: random.Random = field(repr=False, default_factory=random.Random)


def make_id(rng: random.Random, division: str, birth: date, sex: str) -> str:
    serial = rng.randrange(0, 100) * 10 + rng.choice((1, 3, 5, 7, 9) if sex == "1" else (0, 2, 4, 6, 8))
    first17 = f"{division}{birth:%Y%m%d}{serial:03d}"
    return first17 + id_number.check_character(first17)


def make_credit_code(rng: random.Random, division: str) -> str:
    org = "".join(rng.choice(ORG_ALPHABET[:10]) for _ in range(8))
    return credit_code.make_credit_code("9", "1", division, org)


def generate(people: int, *, seed: int = 2026, province: str = "33", companies: int | None = None) -> Population:
    rng = random.Random(seed)
    fake = Faker("zh_CN")
    fake.seed_instance(seed)
    names = [fake.name() for _ in range(min(people, 4000))]
    streets = [fake.street_address() for _ in range(min(people, 2000))]
    phones = [fake.phone_number() for _ in range(min(people, 4000))]
    places = counties(province)
    place_names = {code: lookup_division(code).full_name for code in places}
    today = date.today()
    population, seen = [], set()
    while len(population) < people:
        division = rng.choice(places)
        sex = rng.choice("12")
        birth = date(1940, 1, 1) + timedelta(days=rng.randrange((today - date(1940, 1, 1)).days))
        number = make_id(rng, division, birth, sex)
        if number in seen:
            continue
        seen.add(number)
        population.append(Person(number, rng.choice(names), sex, birth, place_names[division] + rng.choice(streets),
                                 rng.choice(phones), division))
    firms = []
    for _ in range(companies if companies is not None else max(people // 20, 10)):
        division = rng.choice(places)
        founded = date(1995, 1, 1) + timedelta(days=rng.randrange(10000))
        firms.append(Company(make_credit_code(rng, division), fake.company(), rng.choice(names),
                             f"{rng.choice((10, 50, 100, 200, 500, 1000))}万元人民币", founded, rng.choice(SCOPES),
                             make_registration_number(rng, division) if founded.year < 2015 else ""))
    return Population(population, firms, seed, rng)


# --- values for a resource's data items ------------------------------------------------------------

CHOICES = {
    "参保险种": ("职工基本养老保险", "城乡居民基本养老保险", "职工基本医疗保险", "失业保险", "工伤保险"),
    "参保状态": ("参保缴费", "暂停缴费", "终止参保"),
    "查封机关": ("杭州市西湖区人民法院", "宁波市中级人民法院", "温州市鹿城区人民法院"),
    "坐落": ("西湖区文三路", "鄞州区天童南路", "鹿城区人民路"),
    "毕业日期": ("2008-07-01", "2012-06-30", "2016-07-01", "2020-06-30", "2024-07-01"),
    "处罚决定书文号": ("杭市监罚〔2025〕12号", "甬市监罚〔2025〕88号", "温市监罚〔2026〕7号"),
}


def _getter(element: str | None, name: str, rng: random.Random):
    """A function (person, company, spouse) → the item's value, chosen once per item."""
    today = date.today()
    by_element = {
        "DE0001": lambda p, c: p.id_number, "DE0002": lambda p, c: p.name, "DE0003": lambda p, c: p.sex,
        "DE0004": lambda p, c: p.birth.isoformat(), "DE0005": lambda p, c: "01" if rng.random() < 0.9 else "02",
        "DE0006": lambda p, c: "CHN", "DE0007": lambda p, c: p.division, "DE0008": lambda p, c: p.address,
        "DE0009": lambda p, c: p.phone, "DE0010": lambda p, c: c.code, "DE0011": lambda p, c: c.name,
        "DE0012": lambda p, c: c.legal_rep, "DE0013": lambda p, c: c.capital,
        "DE0014": lambda p, c: c.founded.isoformat(), "DE0015": lambda p, c: c.scope,
        "DE0016": lambda p, c: rng.choice(("10", "20", "20", "20", "40")),
        "DE0017": lambda p, c: (today - timedelta(days=rng.randrange(1, 2000))).isoformat(),
        "DE0018": lambda p, c: rng.choice(("10", "20", "30", "60", "70")),
        "DE0019": lambda p, c: f"{rng.randrange(10**11, 10**12)}",
        "DE0020": lambda p, c: (today - timedelta(days=rng.randrange(1, 3000))).isoformat(),
        "DE0021": lambda p, c: f"{p.division}{rng.randrange(10**5, 10**6)}GB{rng.randrange(10**4, 10**5)}"
                               f"F{rng.randrange(10**7, 10**8)}",
        "DE0022": lambda p, c: f"{rng.choice('PQRS')}{rng.randrange(10**8, 10**9)}",
        "DE0023": lambda p, c: c.reg_no,
        "DE0025": lambda p, c: rng.choice(("参保缴费", "参保缴费", "参保缴费", "暂停缴费", "终止参保")),
        "DE0026": lambda p, c: rng.choice(("存续", "存续", "存续", "存续", "注销", "吊销")),
    }
    if element in by_element:
        get = by_element[element]
    elif name in CHOICES:
        get = lambda p, c: rng.choice(CHOICES[name])  # noqa: E731
    else:
        get = lambda p, c: f"{name}{rng.randrange(1000)}"  # noqa: E731
    if any(word in name for word in ("男方", "女方", "父亲", "母亲")):  # a couple: a man and a woman
        male = "男方" in name or "父亲" in name
        return lambda p, c, spouse: get(p if (p.sex == "1") == male else spouse, c)
    return lambda p, c, spouse: get(p, c)


def _serial(name: str):
    """A department's own record numbers: unique, in order."""
    counter = iter(range(1, 10**9))
    return lambda p, c, spouse: f"{name[:2]}{next(counter):09d}"


FULL_WIDTH_DIGITS = str.maketrans("0123456789", "０１２３４５６７８９")


def rows_for(pop: Population, items: list[tuple[str, str | None, str | None]], share: float,
             *, with_defects: bool = True, authoritative: bool = False) -> tuple[list[str], list[list[str]], dict]:
    """Rows for a resource whose data items are (name, element, key kind): one per person of a
    ``share`` of the population (or per company for company-keyed resources), with defects
    injected at RATES; returns the header, the rows and how many of each defect were injected."""
    rng = random.Random(f"{pop.seed}:{items[0][0]}:{share}")
    elements = {e for _, e, _ in items}
    by_company = bool(elements & {"DE0010", "DE0023"}) and not any(key == "person" for _, _, key in items) \
        and "DE0001" not in elements
    subjects = pop.companies if by_company else pop.people
    chosen = rng.sample(range(len(subjects)), max(1, int(len(subjects) * share)))
    header = [name for name, _, _ in items]
    getters = [_getter(element, name, rng) if key != "record" else _serial(name)
               for name, element, key in items]
    rows, injected = [], dict.fromkeys(RATES, 0)
    people, firms = pop.people, pop.companies
    for n in chosen:
        person = people[n] if not by_company else people[rng.randrange(len(people))]
        company = firms[n] if by_company else firms[rng.randrange(len(firms))]
        spouse = people[rng.randrange(len(people))]
        rows.append([get(person, company, spouse) for get in getters])
    if with_defects:
        _inject(rows, items, rng, injected, authoritative)
    return header, rows, injected


def _inject(rows, items, rng, injected, authoritative) -> None:
    key_at = next((i for i, (_, e, k) in enumerate(items) if k and e in ("DE0001", "DE0010")), None)
    dates = [i for i, (_, e, _) in enumerate(items) if e in ("DE0004", "DE0014", "DE0017", "DE0020")]
    names = [i for i, (_, e, _) in enumerate(items) if e == "DE0002"]
    count = len(rows)
    order = rng.sample(range(count), count)  # each row gets at most one defect
    start = 0
    for defect, rate in RATES.items():
        picked, start = order[start:start + int(count * rate)], start + int(count * rate)
        for index in picked:
            row = rows[index]
            if defect == "bad_check" and key_at is not None:
                value = row[key_at]
                wrong = next(c for c in "0123456789X" if c != value[-1])
                row[key_at] = value[:-1] + wrong
            elif defect == "impossible_date" and dates:
                row[rng.choice(dates)] = f"{rng.randrange(1950, 2000)}-02-30"
            elif defect == "full_width" and key_at is not None:
                row[key_at] = row[key_at].translate(FULL_WIDTH_DIGITS)
            elif defect == "duplicate":
                rows.append(list(row))
            elif defect == "name_differs" and names and not authoritative:
                row[names[0]] = row[names[0]][:1] + "某某"
            else:
                continue
            injected[defect] += 1
