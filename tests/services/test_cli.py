"""``datong services``: items, saving an item from JSON with a BPMN file, cases, one case as JSON
(the read audited), the escalation sweep, and the measures."""

from __future__ import annotations

import json
from datetime import date

from sqlalchemy import select
from typer.testing import CliRunner

from datong.cli import app as cli
from datong.security.models import AuditEvent
from datong.services import bpmn, intake
from datong.services.calendar import add_working_days
from tests.helpers import OTHER_CODE, cli_env
from tests.services.conftest import CERTIFICATE, staff

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64


def test_services_commands(database, settings, window, tmp_path):
    runner = CliRunner()

    def run(*args):
        done = runner.invoke(cli, ["--lang", "en", *args], env=cli_env(settings))
        assert done.exit_code == 0, done.output
        return done.output

    assert CERTIFICATE in run("services", "items") and "BUNDLE-TEST" in run("services", "items")
    item = {"name": "临时救助", "department": OTHER_CODE, "kind": "payment", "applicant_kind": "person",
            "legal_days": 10, "promised_days": 5, "fields": [{"name": "姓名", "element": "DE0002"}]}
    (tmp_path / "item.json").write_text(json.dumps(item, ensure_ascii=False), encoding="utf-8")
    (tmp_path / "flow.bpmn").write_text(bpmn.review_flow("lsjz", "临时救助", [[(OTHER_CODE, "民政审核")]]), encoding="utf-8")
    assert "MZ-LSJZ saved" in run("services", "save-item", "MZ-LSJZ", str(tmp_path / "item.json"),
                                  "--flow", str(tmp_path / "flow.bpmn"))
    (tmp_path / "bad.bpmn").write_text('<!DOCTYPE x [<!ENTITY a "a">]><x/>', encoding="utf-8")
    refused = runner.invoke(cli, ["--lang", "en", "services", "save-item", "MZ-LSJZ", str(tmp_path / "item.json"),
                                  "--flow", str(tmp_path / "bad.bpmn")], env=cli_env(settings))
    assert refused.exit_code != 0 and "BPMN" in refused.output

    with database.unit_of_work() as session:
        clerk = staff(session, "clerk1")
        number = intake.open_case(session, clerk, applicant=window["people"][1], item=CERTIFICATE, authorised=True).number
        intake.update_form(session, clerk, number=number, values={"联系地址": "杭州"})
        intake.attach(session, clerk, number=number, material="户口簿", filename="a.png", content=PNG)
        intake.accept_case(session, clerk, number=number)
    assert number in run("services", "cases", "--status", "in_review")
    shown = json.loads(run("services", "show", number))
    assert shown["status"] == "in_review" and len(shown["tasks"]) == 2
    with database.reading() as session:
        assert session.scalar(select(AuditEvent.seq).where(AuditEvent.action == "case.read",
                                                          AuditEvent.case_number == number)) is not None
    later = add_working_days(date.today(), 30).isoformat()
    assert "2 overdue reviews escalated" in run("services", "timers", "--today", later)
    assert "0 overdue reviews escalated" in run("services", "timers", "--today", later)
    assert json.loads(run("services", "measures"))["items"] == []  # nothing completed yet
