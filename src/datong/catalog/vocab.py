"""The catalog's controlled vocabularies, with their Chinese and English labels."""

from __future__ import annotations

from enum import StrEnum

from datong.i18n import N_


class SharingType(StrEnum):
    UNCONDITIONAL = "unconditional"  # 无条件共享
    CONDITIONAL = "conditional"  # 有条件共享
    NONE = "none"  # 不予共享


class OpenType(StrEnum):
    OPEN = "open"  # 无条件开放
    CONDITIONAL = "conditional"  # 有条件开放
    NONE = "none"  # 不予开放


class SharingMethod(StrEnum):
    API = "api"
    FILE = "file"
    SUBSCRIPTION = "subscription"


class UpdateCycle(StrEnum):
    REALTIME = "realtime"
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    YEARLY = "yearly"


class Sensitivity(StrEnum):
    PUBLIC = "public"
    INTERNAL = "internal"
    SENSITIVE = "sensitive"
    HIGHLY_SENSITIVE = "highly_sensitive"


class Category(StrEnum):
    """The catalog's top classes (类) in the national catalogue guidelines."""

    BASE = "1"  # 基础信息资源
    THEME = "2"  # 主题信息资源
    DEPARTMENT = "3"  # 部门信息资源


class DataType(StrEnum):
    STRING = "string"
    INTEGER = "integer"
    DECIMAL = "decimal"
    DATE = "date"
    DATETIME = "datetime"
    BOOLEAN = "boolean"


class KeyKind(StrEnum):
    PERSON = "person"  # a citizen ID number
    ENTITY = "entity"  # a unified social credit code
    RECORD = "record"  # the department's own record number (申请编号, 学籍号): names a record, not a subject


class Registry(StrEnum):
    POPULATION = "population"
    LEGAL_ENTITY = "legal_entity"


#: Chinese labels as departments write them in their Excel catalogues, and English ones.
#: Keyed by (enum, value): SharingType.NONE and OpenType.NONE are equal strings.
_LABEL_LIST: list[tuple[StrEnum, tuple[str, str]]] = [
    (SharingType.UNCONDITIONAL, ("无条件共享", N_("unconditional sharing"))),
    (SharingType.CONDITIONAL, ("有条件共享", N_("conditional sharing"))),
    (SharingType.NONE, ("不予共享", N_("not shared"))),
    (OpenType.OPEN, ("无条件开放", N_("open"))),
    (OpenType.CONDITIONAL, ("有条件开放", N_("open on conditions"))),
    (OpenType.NONE, ("不予开放", N_("not open"))),
    (SharingMethod.API, ("接口", N_("API query"))),
    (SharingMethod.FILE, ("文件", N_("file"))),
    (SharingMethod.SUBSCRIPTION, ("订阅", N_("subscription"))),
    (UpdateCycle.REALTIME, ("实时", N_("real time"))),
    (UpdateCycle.DAILY, ("每日", N_("daily"))),
    (UpdateCycle.WEEKLY, ("每周", N_("weekly"))),
    (UpdateCycle.MONTHLY, ("每月", N_("monthly"))),
    (UpdateCycle.QUARTERLY, ("每季度", N_("quarterly"))),
    (UpdateCycle.YEARLY, ("每年", N_("yearly"))),
    (Sensitivity.PUBLIC, ("公开", N_("public"))),
    (Sensitivity.INTERNAL, ("内部", N_("internal"))),
    (Sensitivity.SENSITIVE, ("敏感", N_("sensitive"))),
    (Sensitivity.HIGHLY_SENSITIVE, ("高度敏感个人信息", N_("highly sensitive personal"))),
    (Category.BASE, ("基础信息资源", N_("base resource"))),
    (Category.THEME, ("主题信息资源", N_("theme resource"))),
    (Category.DEPARTMENT, ("部门信息资源", N_("department resource"))),
    (DataType.STRING, ("字符型", N_("text"))),
    (DataType.INTEGER, ("整数型", N_("integer"))),
    (DataType.DECIMAL, ("数值型", N_("decimal"))),
    (DataType.DATE, ("日期型", N_("date"))),
    (DataType.DATETIME, ("日期时间型", N_("date and time"))),
    (DataType.BOOLEAN, ("布尔型", N_("yes/no"))),
    (KeyKind.PERSON, ("公民身份号码", N_("citizen ID"))),
    (KeyKind.ENTITY, ("统一社会信用代码", N_("credit code"))),
    (KeyKind.RECORD, ("记录编号", N_("record number"))),
    (Registry.POPULATION, ("人口库", N_("population registry"))),
    (Registry.LEGAL_ENTITY, ("法人库", N_("legal entity registry"))),
]

SENSITIVITY_ORDER = list(Sensitivity)


def _labels(value: StrEnum) -> tuple[str, str]:
    return LABELS[(type(value), value.value)]


def chinese(value: StrEnum) -> str:
    return _labels(value)[0]


def label(value: StrEnum, locale: str) -> str:
    """The label a person reads: Chinese, or English in the English locale."""
    zh, en = _labels(value)
    return zh if locale != "en" else en


def parse_label(enum: type[StrEnum], text: str) -> StrEnum:
    """Read a value written as its code, its Chinese label or its English label."""
    text = (text or "").strip()
    for member in enum:
        zh, en = _labels(member)
        if text in (member.value, zh, en) or text.lower() == member.value:
            return member
    raise ValueError(text)


LABELS = {(type(member), member.value): labels for member, labels in _LABEL_LIST}

ENUMS = {e.__name__: e for e in (SharingType, OpenType, SharingMethod, UpdateCycle, Sensitivity, Category,
                                 DataType, KeyKind, Registry)}
