"""The defects department lists really have, for the registry to overcome, with the truth kept.

A record about a person may come without an ID number (低保 applicants: about 15%), with a
homophone typo in the name (王建国/王健国), in traditional characters (刘洋/劉洋), with day and
month of birth swapped, with an address missing its 省/市 prefix. A company may be named only by
its old 注册号. Each row knows whom it is really about, and which defect it carries, so tests and
``benchmarks/linkage.py`` can score the linkage by defect kind.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

#: Homophones (same toneless pinyin) that people type for one another.
HOMOPHONES = dict(pair for a, b in [
    ("建", "健"), ("明", "铭"), ("丽", "莉"), ("伟", "玮"), ("芳", "方"), ("静", "婧"), ("强", "蔷"), ("磊", "垒"),
    ("军", "君"), ("杰", "洁"), ("勇", "永"), ("涛", "韬"), ("霞", "侠"), ("娟", "鹃"), ("平", "萍"), ("华", "桦"),
    ("玲", "铃"), ("燕", "艳"), ("斌", "彬"), ("辉", "晖"), ("鹏", "朋"), ("宇", "雨"), ("浩", "昊"), ("婷", "亭"),
    ("红", "虹"), ("英", "瑛"), ("秀", "绣"), ("兰", "岚"), ("桂", "贵"), ("梅", "玫"), ("飞", "菲"), ("波", "博"),
] for pair in ((a, b), (b, a)))
#: Simplified → traditional, for the characters of common names.
TRADITIONAL = str.maketrans({
    "国": "國", "华": "華", "军": "軍", "丽": "麗", "伟": "偉", "刘": "劉", "陈": "陳", "张": "張", "杨": "楊",
    "赵": "趙", "孙": "孫", "吴": "吳", "郑": "鄭", "冯": "馮", "邓": "鄧", "许": "許", "红": "紅", "龙": "龍",
    "东": "東", "马": "馬", "黄": "黃", "罗": "羅", "韩": "韓", "杰": "傑", "涛": "濤", "刚": "剛", "凤": "鳳",
    "兰": "蘭", "云": "雲", "静": "靜", "辉": "輝", "鹏": "鵬", "宁": "寧", "叶": "葉",
})
#: Share of a defective resource's rows with each defect (a row carries at most one).
RATES = {"no_id": 0.15, "homophone": 0.03, "traditional": 0.02, "swapped_birth": 0.02, "no_prefix": 0.05,
         "wrong_id": 0.005}


@dataclass(frozen=True)
class Truth:
    """Whom each record is really about, and the defect it carries (None: clean)."""

    subject: dict[str, str]  # record key → the true ID number or credit code
    defect: dict[str, str | None]


def homophone(name: str, rng: random.Random) -> str | None:
    """The name with one character replaced by a homophone, or None if none of its characters has one."""
    places = [i for i, c in enumerate(name) if c in HOMOPHONES and i > 0] or \
             [i for i, c in enumerate(name) if c in HOMOPHONES]
    if not places:
        return None
    i = rng.choice(places)
    return name[:i] + HOMOPHONES[name[i]] + name[i + 1:]


def traditional(name: str) -> str | None:
    changed = name.translate(TRADITIONAL)
    return changed if changed != name else None


def swap_birth(birth: str) -> str | None:
    """YYYY-MM-DD with day and month swapped, when that is still a date and not the same one."""
    year, month, day = birth[:4], birth[5:7], birth[8:10]
    return f"{year}-{day}-{month}" if day != month and int(day) <= 12 else None


def drop_prefix(address: str) -> str | None:
    for prefix in ("浙江省", "示范省"):
        if address.startswith(prefix):
            rest = address[len(prefix):]
            cut = rest.find("市")
            return rest[cut + 1:] if 0 <= cut <= 4 else rest
    return None


def inject_person_defects(rows: list[list[str]], columns: dict[str, int], rng: random.Random,
                          rates: dict[str, float] = RATES, others: list[str] = ()) -> dict[int, str]:
    """Apply the defects to rows in place (columns: id, name, birth, address → index); returns
    row index → defect. A defect that cannot apply to a row (no homophone in the name) leaves it
    clean. ``wrong_id`` puts another person's valid ID (from ``others``) on the row."""
    order = rng.sample(range(len(rows)), len(rows))
    change = {"no_id": ("id", lambda v: ""), "homophone": ("name", lambda v: homophone(v, rng)),
              "traditional": ("name", traditional), "swapped_birth": ("birth", swap_birth),
              "no_prefix": ("address", drop_prefix),
              "wrong_id": ("id", lambda v: rng.choice(others) if others and v else None)}
    applied, start = {}, 0
    for defect, rate in rates.items():
        count = int(len(rows) * rate)
        column, function = change[defect]
        for index in order[start:start + count]:
            if column not in columns:
                continue
            value = function(rows[index][columns[column]])
            if value is not None:
                rows[index][columns[column]] = value
                applied[index] = defect
        start += count
    # a typo in the name or birth date usually comes with the ID left out (that is why it is not
    # caught at the window): a third of those rows lose the ID as well
    for index, defect in applied.items():
        if defect in ("homophone", "traditional", "swapped_birth") and rng.random() < 0.33:
            rows[index][columns["id"]] = ""
    return applied
