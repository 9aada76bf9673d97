"""The receipt the window hands over (受理通知书, or 不予受理通知书) with a QR code to follow the case,
and the public progress that QR opens: where the case is, with no personal data."""

from __future__ import annotations

import hmac
import io

from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas
from sqlalchemy import select
from sqlalchemy.orm import Session

from datong.errors import NotFound
from datong.i18n import N_, Term
from datong.licenses import render
from datong.security import masking
from datong.services.models import REFUSED, Case, ReviewTask


def track_url(base_url: str, number: str, code: str) -> str:
    return f"{base_url.rstrip('/')}/track/{number}?code={code}"


def pdf(case: Case, children: list[Case], base_url: str, code: str, font_path: str | None = None) -> bytes:
    out = io.BytesIO()
    page = canvas.Canvas(out, pagesize=A4, invariant=1)
    width, height = A4
    face = render.font(font_path)
    refused = case.status == REFUSED
    title = "不予受理通知书" if refused else "受理通知书"
    page.setTitle(f"{title} {case.number}")
    page.setCreator("Datong 数通")
    page.setFont(face, 24)
    page.drawCentredString(width / 2, height - 90, title)
    page.setFont(face, 12)
    name = case.item.name if case.item else case.bundle.name
    rows = [("办件编号", case.number), ("申请事项", name),
            ("申请人", masking.mask(case.applicant_name, "name") or "-"),
            ("证件号码", masking.mask(case.applicant_key, "id_number")), ("受理渠道", case.channel)]
    if refused:
        rows.append(("不予受理理由", case.reason or ""))
    else:
        rows += [("受理日期", str(case.accepted_on or "")), ("承诺办结日期", str(case.due_on or "")),
                 ("法定办结日期", str(case.legal_due_on or ""))]
        rows += [(f"  {c.item.name}", f"承诺 {c.due_on or '-'}") for c in children]
        brought = [m["name"] for c in (children or [case]) for m in c.materials if m.get("by") and not m.get("hub")]
        fetched = [m["name"] for c in (children or [case]) for m in c.materials if m.get("by") and m.get("hub")]
        rows += [("已收材料", "、".join(brought) or "无"), ("平台调取材料（免提交）", "、".join(fetched) or "无")]
    y = height - 140
    for label, value in rows:
        page.drawString(72, y, label)
        page.drawString(210, y, str(value)[:60])
        y -= 24
    render._qr(page, track_url(base_url, case.number, code), width - 72 - 110, 80, 110)
    page.setFont(face, 9)
    page.drawString(72, 90, "扫描二维码查询办理进度；本通知书不含证件原件信息。")
    page.showPage()
    page.save()
    return out.getvalue()


def progress(session: Session, number: str, code: str) -> dict:
    """A case's progress for the holder of its tracking code (a wrong code is an unknown case)."""
    from datong.services.intake import case_children, track_code

    case = session.scalar(select(Case).where(Case.number == number))
    if case is None or not hmac.compare_digest(code.encode(), track_code(session, number).encode()):
        raise NotFound(what=Term(N_("Case")), key=number)
    cases = [case, *case_children(session, case)]
    tasks = session.execute(select(ReviewTask.case_id, ReviewTask.name, ReviewTask.status, ReviewTask.due_on)
                            .where(ReviewTask.case_id.in_([c.id for c in cases]), ReviewTask.sample.is_(False))
                            .order_by(ReviewTask.id)).all()
    steps = {}
    for t in tasks:
        steps.setdefault(t.case_id, []).append({"name": t.name, "status": t.status, "due_on": t.due_on.isoformat()})
    return {"number": case.number, "name": case.item.name if case.item else case.bundle.name, "status": case.status,
            "outcome": case.outcome, "accepted_on": _d(case.accepted_on), "due_on": _d(case.due_on),
            "completed_on": _d(case.completed_on), "steps": steps.get(case.id, []),
            "items": [{"name": c.item.name, "status": c.status, "outcome": c.outcome, "steps": steps.get(c.id, [])}
                      for c in cases[1:]]}


def _d(value) -> str | None:
    return value.isoformat() if value else None
