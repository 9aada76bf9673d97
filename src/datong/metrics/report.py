"""The assessment as a report for a month or quarter: an Excel workbook (ranking, each indicator's
value and points, trends, with charts) and a PDF (the ranking with a bar chart of totals)."""

from __future__ import annotations

import io

from openpyxl import Workbook
from openpyxl.chart import BarChart, LineChart, Reference
from reportlab.graphics.charts.barcharts import HorizontalBarChart
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from datong.i18n import N_, translate
from datong.licenses.render import font
from datong.metrics.assessment import INDICATORS, DepartmentResult, Period


def _labels(locale: str) -> dict[str, str]:
    return {i.key: translate(locale, i.label) for i in INDICATORS}


def _value(result: DepartmentResult, key: str):
    value = result.values.get(key)
    return "—" if value is None else value


def excel(at: Period, results: list[DepartmentResult], trend: dict, *, locale: str = "zh-CN") -> bytes:
    labels = _labels(locale)
    book = Workbook()
    sheet = book.active
    sheet.title = translate(locale, N_("Ranking"))[:31]
    sheet.append([translate(locale, N_("Assessment {period}"), period=at.key)])
    sheet.append([translate(locale, N_("Rank")), translate(locale, N_("Department")), translate(locale, N_("Total")),
                  *labels.values()])
    for r in results:
        sheet.append([r.rank, r.name, r.total, *(r.points.get(k, "—") for k in labels)])
    if results:
        chart = BarChart()
        chart.type, chart.title = "bar", translate(locale, N_("Total"))
        chart.add_data(Reference(sheet, min_col=3, min_row=2, max_row=2 + len(results)), titles_from_data=True)
        chart.set_categories(Reference(sheet, min_col=2, min_row=3, max_row=2 + len(results)))
        chart.height, chart.width = 8 + len(results) * 0.4, 18
        sheet.add_chart(chart, f"B{len(results) + 5}")
    values = book.create_sheet(translate(locale, N_("Values"))[:31])
    values.append([translate(locale, N_("Department")), *labels.values()])
    for r in results:
        values.append([r.name, *(_value(r, k) for k in labels)])
    trends = book.create_sheet(translate(locale, N_("Trend"))[:31])
    trends.append([translate(locale, N_("Department")), *trend["periods"]])
    for row in trend["departments"]:
        trends.append([row["name"], *(t if t is not None else None for t in row["totals"])])
    if trend["departments"]:
        line = LineChart()
        line.title = translate(locale, N_("Trend"))
        rows = len(trend["departments"])
        for n in range(rows):
            line.add_data(Reference(trends, min_col=1, max_col=1 + len(trend["periods"]), min_row=2 + n),
                          from_rows=True, titles_from_data=True)
        line.set_categories(Reference(trends, min_col=2, max_col=1 + len(trend["periods"]), min_row=1))
        trends.add_chart(line, f"A{rows + 4}")
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def pdf(at: Period, results: list[DepartmentResult], *, locale: str = "zh-CN") -> bytes:
    face = font()
    labels = _labels(locale)
    title = ParagraphStyle("title", fontName=face, fontSize=16, leading=22)
    body = ParagraphStyle("body", fontName=face, fontSize=8, leading=10)
    out = io.BytesIO()
    document = SimpleDocTemplate(out, pagesize=landscape(A4), title=translate(locale, N_("Assessment {period}"), period=at.key))
    story = [Paragraph(translate(locale, N_("Assessment {period}"), period=at.key), title), Spacer(1, 8)]
    if results:
        drawing = Drawing(760, 30 + 18 * len(results))
        chart = HorizontalBarChart()
        chart.x, chart.y, chart.width, chart.height = 160, 10, 560, 18 * len(results)
        ordered = list(reversed(results))  # the first is drawn at the top
        chart.data = [[r.total for r in ordered]]
        chart.categoryAxis.categoryNames = [r.name for r in ordered]
        chart.categoryAxis.labels.fontName = face
        chart.valueAxis.valueMin, chart.valueAxis.valueMax = 0, 100
        chart.bars[0].fillColor = colors.HexColor("#1f6feb")
        drawing.add(chart)
        story += [drawing, Spacer(1, 12)]
    header = [translate(locale, N_("Rank")), translate(locale, N_("Department")), translate(locale, N_("Total")), *labels.values()]
    rows = [[Paragraph(str(c), body) for c in header]]
    rows += [[Paragraph(str(c), body) for c in (r.rank, r.name, r.total, *(r.points.get(k, "—") for k in labels))]
             for r in results]
    table = Table(rows, repeatRows=1)
    table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.3, colors.grey),
                               ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eef2f7"))]))
    story.append(table)
    document.build(story)
    return out.getvalue()
