"""Catalogue import and export: Excel in the layout departments keep, YAML and JSON.

Import validates every resource first and lands all of them or none; each problem names the
sheet, row and column and says what to fix. Export writes the same layout, so an exported
catalogue imports back unchanged.
"""

from __future__ import annotations

import io
import zipfile
import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path

import yaml
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.worksheet.datavalidation import DataValidation
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from datong.untrusted import inflated_size, text_cells
from datong.catalog import service
from datong.catalog.models import DataElement, Resource
from datong.catalog.schemas import ResourceIn
from datong.security.models import Department
from datong.catalog.vocab import (
    Category, DataType, KeyKind, OpenType, Sensitivity, SharingMethod, SharingType, UpdateCycle, chinese,
    parse_label,
)
from datong.errors import DatongError, InvalidInput, NotFound
from datong.i18n import N_, Message, Term
from datong.security import authz
from datong.security.authz import Actor, Target, authorize

SHEET = "信息资源目录"
TITLE = "政务信息资源目录"
# (header, field, kind): resource columns, then data item columns.
RESOURCE_COLUMNS = (
    ("信息资源代码", "code", str), ("信息资源名称", "name", str), ("提供方代码", "provider", str),
    ("信息资源摘要", "summary", str), ("资源分类", "category", Category), ("主题分类", "theme", str),
    ("关键字", "keywords", list), ("信息资源格式", "format", str), ("共享类型", "sharing_type", SharingType),
    ("共享条件", "sharing_condition", str), ("共享方式", "sharing_methods", SharingMethod),
    ("开放类型", "open_type", OpenType), ("开放条件", "open_condition", str),
    ("更新周期", "update_cycle", UpdateCycle), ("发布日期", "published_on", date),
)
ITEM_COLUMNS = (
    ("信息项名称", "name", str), ("数据元标识符", "element", str), ("数据类型", "data_type", DataType),
    ("长度", "length", int), ("敏感级别", "sensitivity", Sensitivity), ("主键", "key", KeyKind),
    ("说明", "note", str),
)
HEADERS = [c[0] for c in RESOURCE_COLUMNS + ITEM_COLUMNS]
_SPLIT = re.compile(r"[、,，;；\s]+")
_PYDANTIC = {
    "missing": N_("this is required"),
    "string_too_short": N_("this must not be empty"),
    "too_short": N_("a resource needs at least one data item"),
    "extra_forbidden": N_("this field is not part of a resource"),
    "string_pattern_mismatch": N_("the value does not have the required form"),
}


@dataclass
class Problem:
    """One thing wrong with an imported catalogue, and where."""

    sheet: str
    row: int | None
    column: str | None
    reason: object  # a str, a Term or a DatongError: anything that can be put in the reader's language

    def localise(self, locale: str) -> str:
        if isinstance(self.reason, InvalidInput) and self.column:
            reason = self.reason.params.get("reason")  # the column already names the field
            return reason.localise(locale) if hasattr(reason, "localise") else str(reason)
        if isinstance(self.reason, DatongError):
            return self.reason.localised(locale)
        if hasattr(self.reason, "localise"):
            return self.reason.localise(locale)
        return str(self.reason)

    def where(self) -> str:
        return " ".join(p for p in (self.sheet, f"#{self.row}" if self.row else "", self.column or "") if p)


class CatalogRejected(DatongError):
    status = 422
    code = "catalog_rejected"
    message = N_("The catalogue was not imported: {count} problems. Fix them and import again; nothing was changed.")

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(count=len(problems))
        self.problems = problems


@dataclass
class Parsed:
    """A resource read from a file, with where each part of it came from."""

    data: dict
    sheet: str
    row: int | None
    item_rows: list[int | None] = field(default_factory=list)
    unreadable: set[tuple] = field(default_factory=set)  # fields already reported as unreadable


@dataclass
class ImportResult:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    changes: dict[str, list[str]] = field(default_factory=dict)  # updated code → the fields that change
    names: dict[str, str] = field(default_factory=dict)  # code → resource name
    dry_run: bool = False


# --- reading ------------------------------------------------------------------------------------


UNREADABLE = object()


def _cell(value: object, kind: type, header: str, problems: list[Problem], sheet: str, row: int) -> object:
    if value is None or (isinstance(value, str) and not value.strip()):
        return [] if kind in (list, SharingMethod) else None
    try:
        if kind is str:
            return str(value).strip() if not isinstance(value, float) else f"{value:g}"
        if kind is int:
            return int(value)
        if kind is date:
            return value.date() if isinstance(value, datetime) else date.fromisoformat(str(value).strip()[:10])
        if kind is list:
            return [part for part in _SPLIT.split(str(value)) if part]
        if kind is SharingMethod:
            return [parse_label(SharingMethod, part).value for part in _SPLIT.split(str(value)) if part]
        return parse_label(kind, str(value)).value
    except ValueError:
        problems.append(Problem(sheet, row, header, _allowed(kind) or Term(N_("this value cannot be read"))))
        return UNREADABLE


def _allowed(kind: type) -> Message | None:
    """What a column accepts, as a hint for the person filling it in."""
    if isinstance(kind, type) and issubclass(kind, StrEnum):
        return Message(N_("use one of: {values}"), values="、".join(chinese(m) for m in kind))
    hints = {int: N_("write a whole number"), date: N_("write a date as 2024-01-31")}
    return Message(hints[kind]) if kind in hints else None


def read_workbook(content: bytes, problems: list[Problem]) -> list[Parsed]:
    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 - openpyxl raises many kinds for a file that is not a workbook
        problems.append(Problem("", None, None, Term(N_("the file is not an Excel workbook (.xlsx)"))))
        return []
    parsed: list[Parsed] = []
    for sheet in book.worksheets:
        rows = list(sheet.iter_rows(values_only=True))
        header_at = next((i for i, r in enumerate(rows[:10]) if r and {"信息资源名称", "信息项名称"}
                          <= {str(c or "").strip() for c in r}), None)
        if header_at is None:
            continue
        header = [str(c or "").strip() for c in rows[header_at]]
        missing = [h for h in ("信息资源名称", "提供方代码", "信息项名称") if h not in header]
        unknown = [h for h in header if h and h not in HEADERS]
        for h in missing:
            problems.append(Problem(sheet.title, header_at + 1, h, Term(N_("this column is missing"))))
        for h in unknown:
            problems.append(Problem(sheet.title, header_at + 1, h, Term(N_("unknown column; remove it or correct its name"))))
        if missing:
            continue
        index = {h: header.index(h) for h in HEADERS if h in header}
        for offset, values in enumerate(rows[header_at + 1:], start=header_at + 2):
            if not values or all(v is None or str(v).strip() == "" for v in values):
                continue
            get = lambda h, kind: _cell(values[index[h]] if h in index and index[h] < len(values) else None,  # noqa: E731
                                        kind, h, problems, sheet.title, offset)
            starts = get("信息资源名称", str) or get("信息资源代码", str)
            if starts or not parsed:
                resource = {f: get(h, k) for h, f, k in RESOURCE_COLUMNS}
                entry = Parsed({k: v for k, v in resource.items() if v not in (None, [], UNREADABLE)}, sheet.title,
                               offset, unreadable={(k,) for k, v in resource.items() if v is UNREADABLE})
                entry.data["items"] = []
                parsed.append(entry)
            item = {f: get(h, k) for h, f, k in ITEM_COLUMNS}
            if any(v not in (None, "") for v in item.values()):
                position = len(parsed[-1].data["items"])
                parsed[-1].unreadable |= {("items", position, k) for k, v in item.items() if v is UNREADABLE}
                parsed[-1].data["items"].append({k: v for k, v in item.items() if v not in (None, UNREADABLE)})
                parsed[-1].item_rows.append(offset)
    return parsed


def read_structured(content: bytes, suffix: str, problems: list[Problem]) -> list[Parsed]:
    try:
        text = content.decode("utf-8-sig")
        document = json.loads(text) if suffix == ".json" else yaml.safe_load(text)
    except (UnicodeDecodeError, ValueError, yaml.YAMLError) as exc:
        problems.append(Problem("", None, None, f"{type(exc).__name__}: {exc}"))
        return []
    resources = document.get("resources") if isinstance(document, dict) else document
    if not isinstance(resources, list):
        problems.append(Problem("", None, "resources", Term(N_("expected a list under 'resources'"))))
        return []
    return [Parsed(r if isinstance(r, dict) else {}, f"resources[{i}]", None, [None] * len(r.get("items", [])))
            for i, r in enumerate(resources) if isinstance(r, dict)]


def _column_for(loc: tuple) -> str | None:
    names = {f: h for h, f, _ in RESOURCE_COLUMNS}
    if loc and loc[0] == "items" and len(loc) >= 3:
        return {f: h for h, f, _ in ITEM_COLUMNS}.get(str(loc[2]))
    return names.get(str(loc[0])) if loc else None


def _validate(parsed: Parsed, problems: list[Problem]) -> ResourceIn | None:
    try:
        return ResourceIn.model_validate(parsed.data)
    except ValidationError as error:
        for e in error.errors():
            loc = e["loc"]
            if tuple(loc) in parsed.unreadable:
                continue  # already reported with what the cell should contain
            row = parsed.row
            if loc and loc[0] == "items" and len(loc) > 1 and isinstance(loc[1], int) and loc[1] < len(parsed.item_rows):
                row = parsed.item_rows[loc[1]] or row
            where = _column_for(loc) if parsed.row else ".".join(map(str, loc))
            reason = Term(_PYDANTIC[e["type"]]) if e["type"] in _PYDANTIC else e["msg"]
            problems.append(Problem(parsed.sheet, row, where, reason))
        return None


def _service_problem(parsed: Parsed, error: DatongError) -> Problem:
    row, column = parsed.row, None
    field_name = str(error.params.get("field", ""))
    if match := re.match(r"items\[(\d+)\]", field_name):
        position = int(match.group(1))
        row = parsed.item_rows[position] if position < len(parsed.item_rows) else row
        column = "信息项" if parsed.row else field_name  # the data item on that row, as a whole
    elif field_name:
        column = next((h for h, f, _ in RESOURCE_COLUMNS if f == field_name), field_name)
    return Problem(parsed.sheet, row, column, error)


def _unknown_elements(parsed: Parsed, known: set[str], problems: list[Problem]) -> bool:
    """Report every item whose element is not in the dictionary, so one pass shows all mistakes."""
    found = False
    for position, item in enumerate(parsed.data.get("items") or []):
        identifier = item.get("element") if isinstance(item, dict) else None
        if isinstance(identifier, str) and identifier.strip() and identifier.strip().upper() not in known:
            row = parsed.item_rows[position] if position < len(parsed.item_rows) else parsed.row
            column = "数据元标识符" if parsed.row else f"items.{position}.element"
            problems.append(Problem(parsed.sheet, row or parsed.row, column,
                                    NotFound(what=service.ELEMENT, key=identifier)))
            found = True
    return found


def _inflates_too_far(content: bytes) -> bool:
    try:
        return inflated_size(io.BytesIO(content)) > CATALOG_MAX_INFLATED
    except zipfile.BadZipFile:
        return False  # read_workbook says the file is not a workbook


#: A catalog of thousands of resources is a few MB of sheet XML; more is not a catalog.
CATALOG_MAX_INFLATED = 64 << 20


@authz.service(mutates=True)
def import_catalog(session: Session, actor: Actor, *, filename: str, content: bytes,
                   dry_run: bool = False) -> ImportResult:
    """Import every resource in the file, or none: raises CatalogRejected listing each problem.
    Each resource is created or updated by the catalog's own services, which authorize it. A row
    matches an existing resource by its code or, without one, by provider and name, so importing
    the same file again updates rather than duplicates. ``dry_run`` does all of it (every check
    included) and rolls it back: the result is the preview of what the import would change."""
    authorize(actor, "resource.edit", Target("catalog", department_id=actor.department_id))
    suffix = Path(filename).suffix.lower()
    problems: list[Problem] = []
    if suffix == ".xlsx" and _inflates_too_far(content):
        raise CatalogRejected([Problem(filename, None, None, Term(N_(
            "the workbook inflates to more than 64 MB; that is not a catalog")))])
    if suffix == ".xlsx":
        parsed = read_workbook(content, problems)
    elif suffix in (".yaml", ".yml", ".json"):
        parsed = read_structured(content, suffix, problems)
    else:
        raise CatalogRejected([Problem(filename, None, None, Term(N_("use an .xlsx, .yaml or .json file")))])
    if not parsed and not problems:
        problems.append(Problem(filename, None, None, Term(N_("no resources were found in the file"))))
    result = ImportResult()
    seen: dict[str, int | None] = {}
    known = set(session.scalars(select(DataElement.identifier)))
    preview = session.begin_nested()  # a dry run ends by rolling this back
    for entry in parsed:
        unknown = _unknown_elements(entry, known, problems)
        data = _validate(entry, problems)
        if data is None or unknown:
            continue
        key = data.code or f"{data.provider}/{data.name.strip()}"
        if key in seen:
            problems.append(Problem(entry.sheet, entry.row, "信息资源代码" if data.code else "信息资源名称", Term(
                N_("this resource code appears twice in the file") if data.code else
                N_("this provider's resource of this name appears twice in the file"))))
            continue
        seen[key] = entry.row
        try:
            with session.begin_nested():
                _land(session, actor, data, result)
        except DatongError as error:
            problems.append(_service_problem(entry, error))
    if problems:
        raise CatalogRejected(problems)
    if dry_run:
        preview.rollback()
        result.dry_run = True
    else:
        preview.commit()
    return result


def _existing(session: Session, data: ResourceIn) -> str | None:
    """The code of the resource a row is about: its own code, or the provider's resource of that name."""
    if data.code:
        return session.scalar(select(Resource.code).where(Resource.code == data.code))
    return session.scalar(select(Resource.code).join(Department, Department.id == Resource.provider_id).where(
        Department.code == data.provider, Resource.name == data.name.strip(), Resource.withdrawn_at.is_(None)))


def _land(session: Session, actor: Actor, data: ResourceIn, result: ImportResult) -> None:
    code = _existing(session, data)
    if code:
        resource, changes = service.update_resource(session, actor, code=code, data=data.model_copy(
            update={"code": code}))
        (result.updated if changes else result.unchanged).append(resource.code)
        if changes:
            result.changes[resource.code] = sorted(changes)
    else:
        resource = service.create_resource(session, actor, data=data)
        result.created.append(resource.code)
    result.names[resource.code] = resource.name


# --- writing ------------------------------------------------------------------------------------


def _resource_cells(resource: Resource) -> list[object]:
    values = {
        "code": resource.code, "name": resource.name, "provider": resource.provider.code,
        "summary": resource.summary, "category": chinese(Category(resource.category)), "theme": resource.theme,
        "keywords": "、".join(resource.keywords), "format": resource.format,
        "sharing_type": chinese(SharingType(resource.sharing_type)), "sharing_condition": resource.sharing_condition,
        "sharing_methods": "、".join(chinese(SharingMethod(m)) for m in resource.sharing_methods),
        "open_type": chinese(OpenType(resource.open_type)), "open_condition": resource.open_condition,
        "update_cycle": chinese(UpdateCycle(resource.update_cycle)),
        "published_on": resource.published_on.isoformat() if resource.published_on else None,
    }
    return [values[f] or None for _, f, _ in RESOURCE_COLUMNS]


def _item_cells(item) -> list[object]:
    return [item.name, item.element.identifier if item.element else None, chinese(DataType(item.data_type)),
            item.length, chinese(Sensitivity(item.sensitivity)), chinese(KeyKind(item.key_kind)) if item.key_kind else None,
            item.note or None]


def _sheet(book: Workbook, title: str):
    sheet = book.active
    sheet.title = SHEET
    sheet.append([title])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(HEADERS))
    sheet["A1"].font = Font(bold=True, size=14)
    sheet["A1"].alignment = Alignment(horizontal="center")
    sheet.append(HEADERS)
    fill = PatternFill("solid", fgColor="DDE6F0")
    for cell in sheet[2]:
        cell.font, cell.fill = Font(bold=True), fill
    for i, header in enumerate(HEADERS, start=1):
        sheet.column_dimensions[sheet.cell(2, i).column_letter].width = max(10, len(header) * 2 + 2)
    sheet.freeze_panes = "A3"
    return sheet


def export_workbook(resources: list[Resource], title: str = TITLE) -> bytes:
    book = Workbook()
    sheet = _sheet(book, title)
    blank = [None] * len(RESOURCE_COLUMNS)
    for resource in resources:
        for position, item in enumerate(resource.items):
            sheet.append((_resource_cells(resource) if position == 0 else blank) + _item_cells(item))
    text_cells(sheet)  # a name or note typed as =… stays text
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def export_structured(resources: list[Resource], fmt: str) -> bytes:
    documents = []
    for resource in resources:
        data = ResourceIn(
            code=resource.code, name=resource.name, provider=resource.provider.code, summary=resource.summary,
            category=resource.category, theme=resource.theme, keywords=resource.keywords, format=resource.format,
            sharing_type=resource.sharing_type, sharing_condition=resource.sharing_condition,
            sharing_methods=resource.sharing_methods, open_type=resource.open_type,
            open_condition=resource.open_condition, update_cycle=resource.update_cycle,
            published_on=resource.published_on,
            items=[{"name": i.name, "element": i.element.identifier if i.element else None, "data_type": i.data_type,
                    "length": i.length, "sensitivity": i.sensitivity, "key": i.key_kind, "note": i.note}
                   for i in resource.items],
        )
        documents.append(data.model_dump(mode="json", exclude_defaults=True, exclude={"class_code"}))
    document = {"resources": documents}
    if fmt == "json":
        return json.dumps(document, ensure_ascii=False, indent=2).encode()
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False).encode()


def template_workbook() -> bytes:
    """The empty Excel template, with drop-down lists and one example resource."""
    book = Workbook()
    sheet = _sheet(book, f"{TITLE}（模板）")
    example = [
        ["", "户籍人口基本信息", "113300000020000227", "本省户籍人口的基本身份信息", "基础信息资源", "人口",
         "户籍、人口", "数据库", "有条件共享", "用于办理政务服务事项时核验身份", "接口、订阅", "不予开放", "",
         "实时", "2026-01-01", "公民身份号码", "DE0001", "字符型", 18, "高度敏感个人信息", "公民身份号码", ""],
        [None] * len(RESOURCE_COLUMNS) + ["姓名", "DE0002", "字符型", 50, "敏感", "", ""],
        [None] * len(RESOURCE_COLUMNS) + ["户籍地址", "", "字符型", 200, "敏感", "", "非标准：户籍登记地址"],
    ]
    for row in example:
        sheet.append(row)
    for header, _field, kind in RESOURCE_COLUMNS + ITEM_COLUMNS:
        if isinstance(kind, type) and issubclass(kind, StrEnum) and kind is not SharingMethod:
            column = sheet.cell(2, HEADERS.index(header) + 1).column_letter
            rule = DataValidation(type="list", formula1='"' + ",".join(chinese(m) for m in kind) + '"', allow_blank=True)
            rule.add(f"{column}3:{column}5000")
            sheet.add_data_validation(rule)
    notes = book.create_sheet("填写说明")
    notes.append(["列", "填写要求"])
    for header, _field, kind in RESOURCE_COLUMNS + ITEM_COLUMNS:
        hint = _allowed(kind)
        notes.append([header, hint.localise("zh-CN") if hint else ""])
    notes.append(["", "每个信息项一行；同一信息资源的后续行，信息资源各列留空。信息资源代码留空时自动生成。"])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
