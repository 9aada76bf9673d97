"""The licence catalogue (证照目录) in Excel, in the catalog's layout: one row per licence field,
the type's columns filled on its first row. Import lands every type or none, each problem naming
sheet, row and column (the catalog's own Problem and refusal); export writes the same layout, so an
exported workbook imports back unchanged."""

from __future__ import annotations

import io
import re

from openpyxl import Workbook, load_workbook
from sqlalchemy.orm import Session

from datong.catalog.transfer import CatalogRejected, Problem, _inflates_too_far
from datong.errors import DatongError
from datong.i18n import N_, Term
from datong.licenses import service
from datong.licenses.models import LicenceType
from datong.security import authz
from datong.untrusted import fill_sheet
from datong.security.authz import Actor, Target, authorize

SHEET = "证照目录"
TYPE_COLUMNS = ("证照类型代码", "证照名称", "主管部门", "颁发机构代码", "持证主体", "有效期（年）", "来源资源代码",
                "持证主体代码信息项", "持证主体名称信息项")
FIELD_COLUMNS = ("照面项名称", "数据元标识符", "必填", "来源信息项")
HEADERS = TYPE_COLUMNS + FIELD_COLUMNS
HOLDERS = {"自然人": "person", "个人": "person", "person": "person", "法人": "entity", "单位": "entity",
           "entity": "entity"}
_SPLIT = re.compile(r"[、,，;；\s]+")


def _text(value) -> str:
    return "" if value is None else str(value).strip()


def _rows(content: bytes, problems: list[Problem]) -> list[tuple[int, dict]]:
    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 - openpyxl raises many kinds for a file that is not a workbook
        problems.append(Problem("", None, None, Term(N_("the file is not an Excel workbook (.xlsx)"))))
        return []
    sheet = book[SHEET] if SHEET in book.sheetnames else book.worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    at = next((i for i, r in enumerate(rows[:10]) if r and "证照名称" in {_text(c) for c in r}), None)
    if at is None:
        problems.append(Problem(sheet.title, None, "证照名称", Term(N_("this column is missing"))))
        return []
    header = [_text(c) for c in rows[at]]
    for name in header:
        if name and name not in HEADERS:
            problems.append(Problem(sheet.title, at + 1, name, Term(N_("unknown column; remove it or correct its name"))))
    index = {h: header.index(h) for h in HEADERS if h in header}
    found = []
    for number, values in enumerate(rows[at + 1:], start=at + 2):
        cells = {h: _text(values[i]) if i < len(values) else "" for h, i in index.items()}
        if any(cells.values()):
            found.append((number, cells))
    return found


def _specs(sheet: str, rows: list[tuple[int, dict]], problems: list[Problem]) -> list[tuple[int, service.TypeSpec]]:
    groups: list[tuple[int, dict, list[dict]]] = []
    for number, cells in rows:
        if cells.get("证照名称") or cells.get("证照类型代码") or not groups:
            groups.append((number, cells, []))
        if cells.get("照面项名称"):
            groups[-1][2].append(cells)
    specs = []
    for number, head, fields in groups:
        holder = HOLDERS.get(head.get("持证主体", ""))
        if holder is None:
            problems.append(Problem(sheet, number, "持证主体", Term(N_("write 自然人 or 法人"))))
            continue
        years = head.get("有效期（年）", "")
        if years and not years.isdigit():
            problems.append(Problem(sheet, number, "有效期（年）", Term(N_("a whole number of years, or empty for no limit"))))
            continue
        mapping = None
        if head.get("来源资源代码"):
            mapping = {"holder_key": head.get("持证主体代码信息项"), "holder_name": head.get("持证主体名称信息项"),
                       "fields": {f["照面项名称"]: f["来源信息项"] for f in fields if f.get("来源信息项")}}
        specs.append((number, service.TypeSpec(
            code=head.get("证照类型代码", ""), name=head.get("证照名称", ""), ministry=head.get("主管部门", ""),
            issuers=[c for c in _SPLIT.split(head.get("颁发机构代码", "")) if c], holder_kind=holder,
            fields=[{"name": f["照面项名称"], "element": f.get("数据元标识符") or None,
                     "required": f.get("必填", "是") not in ("否", "no", "N")} for f in fields],
            valid_years=int(years) if years else None, source=head.get("来源资源代码") or None, mapping=mapping)))
    return specs


@authz.service(mutates=True)
def import_licence_types(session: Session, actor: Actor, *, filename: str, content: bytes) -> list[LicenceType]:
    """Create or update every licence type in the workbook, or none (CatalogRejected lists why)."""
    authorize(actor, "licence.type", Target("licence_type", filename))
    if _inflates_too_far(content):
        raise CatalogRejected([Problem(filename, None, None, Term(N_(
            "the workbook inflates to more than 64 MB; that is not a catalog")))])
    problems: list[Problem] = []
    rows = _rows(content, problems)
    specs = _specs(SHEET, rows, problems)
    if not specs and not problems:
        problems.append(Problem(filename, None, None, Term(N_("no licence types were found in the file"))))
    saved = []
    for number, spec in specs:
        try:
            with session.begin_nested():
                saved.append(service.save_licence_type(session, actor, spec=spec))
        except DatongError as error:
            column = {"code": "证照类型代码", "issuers": "颁发机构代码", "fields": "照面项名称", "mapping": "来源信息项",
                      "holder_kind": "持证主体"}.get(str(error.params.get("field", "")), None)
            problems.append(Problem(SHEET, number, column, error))
    if problems:
        raise CatalogRejected(problems)
    return saved


def export_licence_types(kinds: list[LicenceType]) -> bytes:
    """The licence catalogue in the layout :func:`import_licence_types` reads."""
    book = Workbook()
    sheet = book.active
    sheet.title = SHEET
    rows = []
    for kind in kinds:
        mapping = kind.source_mapping or {}
        head = [kind.code, kind.name, kind.ministry, "、".join(kind.issuers),
                "自然人" if kind.holder_kind == "person" else "法人", kind.valid_years or "",
                kind.source.code if kind.source else "", mapping.get("holder_key") or "", mapping.get("holder_name") or ""]
        for i, f in enumerate(kind.fields):
            source = (mapping.get("fields") or {}).get(f["name"], "")
            rows.append((head if i == 0 else [""] * len(head)) +
                        [f["name"], f.get("element") or "", "是" if f.get("required", True) else "否", source])
    fill_sheet(sheet, list(HEADERS), rows)  # a name typed as =… stays text
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
