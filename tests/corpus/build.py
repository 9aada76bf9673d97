"""The hostile inputs that are too large to keep in the repository, built when a test needs them.

Each builder writes one file and returns its path. The small cases are files in this folder.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterable
from pathlib import Path
from xml.sax.saxutils import escape

HEADER = ["公民身份号码", "姓名", "性别代码", "出生日期", "住址"]

_PARTS = {
    "[Content_Types].xml": (
        '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
        'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
        'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/'
        'workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-'
        'officedocument.spreadsheetml.worksheet+xml"/></Types>'),
    "_rels/.rels": (
        '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
        '2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'),
    "xl/workbook.xml": (
        '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
        '2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>'
        '<sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'),
    "xl/_rels/workbook.xml.rels": (
        '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
        '2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>'),
}


def _row(cells: Iterable[str]) -> str:
    return "<row>" + "".join(f'<c t="inlineStr"><is><t>{escape(c)}</t></is></c>' for c in cells) + "</row>"


def xlsx(path: Path, rows: Iterable[Iterable[str]]) -> Path:
    """A minimal workbook written straight to the zip, streamed (openpyxl would hold every row)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for name, text in _PARTS.items():
            archive.writestr(name, text)
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
                        b'spreadsheetml/2006/main"><sheetData>')
            for row in rows:
                sheet.write(_row(row).encode())
            sheet.write(b"</sheetData></worksheet>")
    return path


def deep_jsonl(folder: Path) -> Path:
    path = folder / "deep.jsonl"
    path.write_text("[" * 100_000 + "]" * 100_000 + "\n")
    return path


def wrong_header_xlsx(folder: Path) -> Path:
    """200 MB of sheet in a 2 MB file, under a header that names no data item: refused on the header."""
    filler = "x" * 2000
    return xlsx(folder / "wrong-header.xlsx", [["甲", "乙"], *([filler, filler] for _ in range(50_000))])


def inflating_xlsx(folder: Path) -> Path:
    """A workbook whose directory says its sheet inflates to 4 GB: refused before a byte is inflated."""
    path = xlsx(folder / "inflating.xlsx", [HEADER])
    data = bytearray(path.read_bytes())
    name = b"xl/worksheets/sheet1.xml"
    central = data.rfind(b"PK\x01\x02", 0, data.rfind(name))  # the sheet's central directory entry
    data[central + 24:central + 28] = (0xF0000000).to_bytes(4, "little")  # its uncompressed size
    path.write_bytes(bytes(data))
    return path


def wide_csv(folder: Path) -> Path:
    path = folder / "wide.csv"
    path.write_text(",".join(f"列{i}" for i in range(2000)) + "\n")
    return path


def big_field_csv(folder: Path) -> Path:
    path = folder / "big-field.csv"
    path.write_text(",".join(HEADER) + "\n" + "330106198001010011,王" + "五" * 3_400_000 + ",1,1980-01-01,地址\n",
                    encoding="utf-8")
    return path


BUILDERS = {"deep.jsonl": deep_jsonl, "wrong-header.xlsx": wrong_header_xlsx, "inflating.xlsx": inflating_xlsx,
            "wide.csv": wide_csv, "big-field.csv": big_field_csv}
