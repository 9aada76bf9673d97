"""Dynamic masking (动态脱敏): one policy, used by the API, exports and the console alike.

A value is masked by what it is (its data element) and how sensitive it is. Public and
internal values are returned as they are; sensitive and highly sensitive ones are masked unless
the grant lets that item be returned in plain text.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable

REDACTED = "***"


def id_number(value: str) -> str:
    """Keep the first 6 (the division) and the last 4 characters."""
    return value[:6] + "*" * max(len(value) - 10, 0) + value[-4:] if len(value) > 10 else REDACTED


def name(value: str) -> str:
    """The surname only (the first character; two for the common compound surnames)."""
    compound = ("欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙")
    keep = 2 if value[:2] in compound else 1
    return value[:keep] + "*" * max(len(value) - keep, 1)


def phone(value: str) -> str:
    """3 + 4: the carrier prefix and the last four digits of a mobile number."""
    digits = re.sub(r"\D", "", value)
    return digits[:3] + "****" + digits[-4:] if len(digits) >= 11 else REDACTED


_COUNTY = re.compile(r"(?<!自治)区|县|旗")  # 自治区 is a province, not a district


def address(value: str) -> str:
    """Up to the district or county (the first 区, 县 or 旗; else the last 市); the rest is hidden."""
    found = _COUNTY.search(value)
    end = found.end() if found else value.rfind("市") + 1
    return value[:end] + REDACTED if 0 < end < len(value) else REDACTED


def year_only(value: str) -> str:
    return value[:4] if re.match(r"^\d{4}", value) else REDACTED


def hashed(value: str) -> str:
    return "sha256:" + hashlib.sha256(value.encode("utf-8")).hexdigest()[:16]


def redact(value: str) -> str:
    return REDACTED


FUNCTIONS: dict[str, Callable[[str], str]] = {
    "id_number": id_number, "name": name, "phone": phone, "address": address, "year_only": year_only,
    "hash": hashed, "redact": redact,
}
#: Which function masks which data element; other sensitive elements are redacted.
BY_ELEMENT = {"DE0001": "id_number", "DE0002": "name", "DE0009": "phone", "DE0008": "address",
              "DE0004": "year_only", "DE0017": "year_only", "DE0012": "name"}
MASKED_LEVELS = ("sensitive", "highly_sensitive")


def policy_for(element: str | None, sensitivity: str, overrides: dict[str, str] | None = None) -> str | None:
    """The function that masks an item, or None when it is returned as it is. ``overrides``
    (``DATONG_MASKING``) maps a data element identifier or a sensitivity level to a function name
    or ``plain``; an element's entry wins over its level's."""
    overrides = overrides or {}
    chosen = overrides.get(element or "") or overrides.get(sensitivity)
    if chosen is not None:
        return None if chosen == "plain" else chosen
    if sensitivity not in MASKED_LEVELS:
        return None
    return BY_ELEMENT.get(element or "", "redact")


def mask(value: object, function: str | None) -> object:
    if value is None or function is None:
        return value
    return FUNCTIONS[function](str(value))


def sql_for(function: str | None, column: str) -> str:
    """The same masking as a DuckDB expression over ``column`` (already quoted), for exports;
    a test keeps the two forms in agreement."""
    v = column
    if function is None:
        return v
    return {
        "id_number": f"CASE WHEN length({v}) > 10 THEN left({v}, 6) || repeat('*', length({v}) - 10) || right({v}, 4) "
                     f"ELSE '{REDACTED}' END",
        "name": f"CASE WHEN left({v}, 2) IN ('欧阳', '司马', '上官', '诸葛', '东方', '皇甫', '尉迟', '公孙', '慕容', '长孙') "
                f"THEN left({v}, 2) || repeat('*', greatest(length({v}) - 2, 1)) "
                f"ELSE left({v}, 1) || repeat('*', greatest(length({v}) - 1, 1)) END",
        "phone": f"CASE WHEN length(regexp_replace({v}, '\\D', '', 'g')) >= 11 THEN "
                 f"left(regexp_replace({v}, '\\D', '', 'g'), 3) || '****' || right(regexp_replace({v}, '\\D', '', 'g'), 4) "
                 f"ELSE '{REDACTED}' END",
        "address": f"CASE WHEN regexp_extract({v}, '^(.*?(?:[县旗]|(?:[^治]|^)区))', 1) <> '' "
                   f"THEN CASE WHEN regexp_extract({v}, '^(.*?(?:[县旗]|(?:[^治]|^)区))', 1) = {v} THEN '{REDACTED}' "
                   f"ELSE regexp_extract({v}, '^(.*?(?:[县旗]|(?:[^治]|^)区))', 1) || '{REDACTED}' END "
                   f"WHEN strpos({v}, '市') > 0 AND strpos(reverse({v}), '市') > 1 "
                   f"THEN left({v}, length({v}) - strpos(reverse({v}), '市') + 1) || '{REDACTED}' "
                   f"ELSE '{REDACTED}' END",
        "year_only": f"CASE WHEN regexp_matches({v}, '^\\d{{4}}') THEN left({v}, 4) ELSE '{REDACTED}' END",
        "hash": f"'sha256:' || left(sha256({v}), 16)",
        "redact": f"'{REDACTED}'",
    }[function]
