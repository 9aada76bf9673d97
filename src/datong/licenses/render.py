"""A licence as people and machines receive it: the printable PDF (fields, seal, QR code and the
signed licence embedded), the signed JSON, the QR text and the Verifiable Credential. Rendered on
demand from the stored signed document; nothing here changes the licence.

Fonts: reportlab embeds TrueType outlines only, and Debian's Noto CJK fonts are OpenType with
PostScript (CFF) outlines, which it refuses. So the first TrueType CJK font found is embedded
(one named by ``DATONG_PDF_FONT``, or WenQuanYi Micro Hei from ``fonts-wqy-microhei``); without
one the PDF names Adobe's STSong-Light, which every PDF reader with Asian fonts supplies.
"""

from __future__ import annotations

import io
import json
from datetime import datetime
from functools import lru_cache
from pathlib import Path

import segno
from reportlab.lib.colors import HexColor
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

from datong.licenses import documents, seal_image, signing

FONT_CANDIDATES = ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
                   "/usr/share/fonts/truetype/arphic/uming.ttc")
LABELS = {"identifier": "证照标识", "holder": "持证主体", "holder_key": "证件号码", "issuer": "颁发机构",
          "valid": "有效期", "forever": "长期", "issued": "颁发日期", "version": "版本"}


@lru_cache(maxsize=8)
def font(configured: str | None = None) -> str:
    """The name of the registered CJK font: ``configured`` (DATONG_PDF_FONT) or the first TrueType
    CJK font installed, embedded; else STSong-Light."""
    for number, path in enumerate(filter(None, (configured, *FONT_CANDIDATES))):
        if Path(path).is_file():
            try:
                name = f"DatongCJK{number}"
                pdfmetrics.registerFont(TTFont(name, path, subfontIndex=0))
                return name
            except Exception:  # noqa: BLE001 - a font reportlab cannot read: try the next
                continue
    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    return "STSong-Light"


def signed_json(document: str, signature: str, kid: str, algorithm: str) -> dict:
    """The licence as a signed JSON file (what the PDF carries and the verify API accepts)."""
    return {"document": json.loads(document), "kid": kid, "algorithm": algorithm, "signature": signature}


def qr_for(base_url: str, document: str, signature: str) -> str:
    return documents.qr_text(base_url, json.loads(document), signing.unb64(signature))


def qr_svg(text: str, scale: int = 3) -> str:
    return segno.make(text, error="m").svg_inline(scale=scale, border=2)


def _seal(pdf: canvas.Canvas, name: str, label: str, cx: float, cy: float, radius: float, face: str) -> None:
    shape = seal_image.layout(name, label)
    pdf.saveState()
    pdf.setStrokeColor(HexColor(seal_image.RED))
    pdf.setFillColor(HexColor(seal_image.RED))
    pdf.setLineWidth(shape.ring * radius)
    pdf.circle(cx, cy, radius * (1 - shape.ring / 2), stroke=1, fill=0)
    path = pdf.beginPath()
    for i, (x, y) in enumerate(shape.star):
        (path.moveTo if i == 0 else path.lineTo)(cx + x * radius, cy + y * radius)
    path.close()
    pdf.drawPath(path, stroke=0, fill=1)
    for glyph in shape.arc + shape.label:
        pdf.saveState()
        pdf.translate(cx + glyph.x * radius, cy + glyph.y * radius)
        pdf.rotate(-glyph.rotation)
        pdf.setFont(face, glyph.size * radius)
        pdf.drawCentredString(0, -glyph.size * radius * 0.35, glyph.char)
        pdf.restoreState()
    pdf.restoreState()


def _qr(pdf: canvas.Canvas, text: str, x: float, y: float, size: float) -> None:
    code = segno.make(text, error="m")
    matrix = list(code.matrix)
    cell = size / len(matrix)
    for r, row in enumerate(matrix):
        for c, dark in enumerate(row):
            if dark:
                pdf.rect(x + c * cell, y + size - (r + 1) * cell, cell, cell, stroke=0, fill=1)


def pdf(document: str, signature: str, kid: str, algorithm: str, *, seal_kind: str, base_url: str,
        status: str = "valid", order: list[str] | None = None, font_path: str | None = None,
        layout: dict | None = None) -> bytes:
    """The printable licence on A4: title, fields, holder, issuer with the seal over it, validity,
    identifier and the QR code; the signed JSON rides along as an attachment (licence.json). The
    type's ``layout`` may give the printed title, a frame colour and a note under the fields."""
    doc, layout = json.loads(document), layout or {}
    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=A4, invariant=1)
    width, height = A4
    name = font(font_path)
    pdf.setTitle(f"{doc['type']['name']} {doc['id']}")
    pdf.setAuthor(doc["issuer"]["name"])
    pdf.setCreator("Datong 数通")
    pdf.setStrokeColor(HexColor(layout.get("colour") or "#8a6d3b"))
    pdf.setLineWidth(3)
    pdf.rect(36, 36, width - 72, height - 72)
    pdf.setFont(name, 30)
    pdf.drawCentredString(width / 2, height - 110, layout.get("title") or doc["type"]["name"])
    pdf.setFont(name, 12)
    rows = [(LABELS["holder"], doc["holder"]["name"]), (LABELS["holder_key"], doc["holder"]["key"])]
    named = [n for n in order or [] if n in doc["data"]]  # the type's field order (JCS sorted the keys)
    rows += [(n, doc["data"][n]) for n in named + sorted(set(doc["data"]) - set(named))]
    until = doc.get("valid_until") or LABELS["forever"]
    rows += [(LABELS["valid"], f"{doc['valid_from']} — {until}"), (LABELS["version"], str(doc["version"]))]
    y = height - 170
    for label, value in rows:
        pdf.setFillColor(HexColor("#555555"))
        pdf.drawString(90, y, f"{label}")
        pdf.setFillColor(HexColor("#000000"))
        for line in _wrap(str(value), 34):
            pdf.drawString(200, y, line)
            y -= 20
        y -= 6
    if layout.get("note"):
        pdf.setFillColor(HexColor("#555555"))
        for line in _wrap(str(layout["note"]), 40):
            pdf.drawString(90, y, line)
            y -= 16
        pdf.setFillColor(HexColor("#000000"))
    issued = datetime.fromisoformat(doc["issued_at"]).date()
    pdf.drawString(width - 300, 200, f"{LABELS['issuer']}：{doc['issuer']['name']}")
    pdf.drawString(width - 300, 178, f"{LABELS['issued']}：{issued.year}年{issued.month}月{issued.day}日")
    _seal(pdf, doc["issuer"]["name"], seal_kind, width - 190, 200, 58, name)
    _qr(pdf, qr_for(base_url, document, signature), 72, 86, 150)
    pdf.setFont(name, 7)
    pdf.drawString(72, 70, f"{LABELS['identifier']}：{doc['id']}")
    if status != "valid":
        pdf.saveState()
        pdf.setFillColor(HexColor("#cc0000"), alpha=0.35)
        pdf.setFont(name, 64)
        pdf.translate(width / 2, height / 2)
        pdf.rotate(35)
        pdf.drawCentredString(0, 0, {"revoked": "已注销", "suspended": "已中止", "superseded": "已换发"}.get(status, status))
        pdf.restoreState()
    pdf.showPage()
    pdf.save()
    return _attach(out.getvalue(), json.dumps(signed_json(document, signature, kid, algorithm),
                                              ensure_ascii=False).encode())


def _attach(page: bytes, signed: bytes) -> bytes:
    """The signed licence as a PDF attachment (reportlab writes none; pypdf adds it)."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(page)))
    writer.add_attachment(documents.PDF_ATTACHMENT, signed)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _wrap(text: str, width: int) -> list[str]:
    return [text[i:i + width] for i in range(0, len(text), width)] or [""]


def credential(document: str, *, key, algorithm: str, kid: str, base_url: str, index: int) -> dict:
    """The licence as a W3C Verifiable Credential 2.0 with a Data Integrity proof (Ed25519 and
    P-256 seals; there is no registered cryptosuite for SM2)."""
    doc = json.loads(document)
    vc = documents.credential(doc, status_url=f"{base_url}/api/v1/licences/status", index=index)
    return documents.add_proof(vc, key, algorithm, f"{base_url}/api/v1/licences/keys#{kid}", doc["issued_at"])


