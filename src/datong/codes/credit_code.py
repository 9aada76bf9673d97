"""GB 32100 unified social credit code (统一社会信用代码).

18 characters from a 31-character alphabet: registration authority (1), entity type (1),
division code of the registering authority (6), the GB 11714 organisation code (8 + a MOD 11
check character) and a MOD 31 check character over the first 17.
"""

from __future__ import annotations

import re

from datong.codes.divisions import NATIONAL, is_known
from datong.codes.verdict import Verdict, invalid

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_PATTERN = re.compile(f"[{ALPHABET}]{{18}}")

#: Registration authorities and the entity types each may register (GB 32100 and its updates).
AUTHORITIES: dict[str, dict[str, str]] = {
    "1": {"1": "机关", "2": "事业单位", "3": "中央编办直接管理机构编制的群众团体", "9": "其他"},
    "2": {"1": "外国常驻新闻机构", "9": "其他"},
    "3": {"1": "律师执业机构", "2": "公证处", "3": "基层法律服务所", "4": "司法鉴定机构",
          "5": "仲裁委员会", "9": "其他"},
    "4": {"1": "外国在华文化中心", "9": "其他"},
    "5": {"1": "社会团体", "2": "民办非企业单位", "3": "基金会", "9": "其他"},
    "6": {"1": "外国旅游部门常驻代表机构", "2": "港澳台地区旅游部门常驻内地（大陆）代表机构", "9": "其他"},
    "7": {"1": "宗教活动场所", "2": "宗教院校", "9": "其他"},
    "8": {"1": "基层工会", "9": "其他"},
    "9": {"1": "企业", "2": "个体工商户", "3": "农民专业合作社"},
    "A": {"1": "军队事业单位", "9": "其他"},
    "N": {"1": "组级集体经济组织", "2": "村级集体经济组织", "3": "乡镇级集体经济组织", "9": "其他"},
    "Y": {"1": "其他"},
}
AUTHORITY_NAMES = {
    "1": "机构编制", "2": "外交", "3": "司法行政", "4": "文化", "5": "民政", "6": "旅游",
    "7": "宗教", "8": "工会", "9": "市场监督管理", "A": "中央军委改革和编制办公室", "N": "农业",
    "Y": "其他",
}


def org_code_value(character: str) -> int:
    """GB 11714 character value: digits as themselves, letters A=10 … Z=35."""
    return int(character) if character.isdigit() else ord(character) - 55


def org_check_character(org8: str) -> str:
    remainder = 11 - sum(org_code_value(c) * w for c, w in zip(org8, ORG_WEIGHTS, strict=True)) % 11
    return {10: "X", 11: "0"}.get(remainder, str(remainder))


def check_character(first17: str) -> str:
    total = sum(ALPHABET.index(c) * w for c, w in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def make_credit_code(authority: str, entity_type: str, division: str, org8: str) -> str:
    """Assemble a valid code from its parts (demo data and tests)."""
    first17 = authority + entity_type + division + org8 + org_check_character(org8)
    return first17 + check_character(first17)


def validate_credit_code(value: str) -> Verdict:
    """Check one credit code; reason keys match the vectorised check."""
    raw = value
    value = (value or "").strip().upper()
    if not value:
        return invalid(raw, "empty")
    if len(value) != 18:
        return invalid(raw, "length", length=len(value), expected=18)
    if not _PATTERN.fullmatch(value):
        return invalid(raw, "characters", allowed="0-9, A-Y without I, O, S, V, Z")
    authority, entity_type, division = value[0], value[1], value[2:8]
    if authority not in AUTHORITIES:
        return invalid(raw, "authority", authority=authority)
    if entity_type not in AUTHORITIES[authority]:
        return invalid(raw, "entity_type", entity_type=entity_type, authority=authority)
    if division != NATIONAL and not is_known(division):
        return invalid(raw, "division", division=division)
    org = value[8:17]
    expected_org = org_check_character(org[:8])
    if org[8] != expected_org:
        return invalid(raw, "org_check", org=org, expected=expected_org)
    expected = check_character(value[:17])
    if value[17] != expected:
        return invalid(raw, "check", actual=value[17], expected=expected)
    return Verdict(
        value=raw,
        valid=True,
        normalised=value,
        facts={
            "authority": AUTHORITY_NAMES[authority],
            "entity_type": AUTHORITIES[authority][entity_type],
            "division": division,
            "organisation_code": org,
        },
    )
