"""datong licence: verifying offline with the published keys and a downloaded status list (no
database), showing, revoking and listing types."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from datong.cli import app as cli
from datong.licenses import render, service
from tests.helpers import cli_env

runner = CliRunner()


def run(settings, *args, env=None):
    return runner.invoke(cli, ["--lang", "en", *args], env=env if env is not None else cli_env(settings))


def _files(settings, database, identifier, tmp_path):
    with database.reading() as session:
        lic = service.get_licence(session, identifier)
        signed = render.signed_json(lic.document, lic.signature, lic.key.kid, lic.key.algorithm)
    path = tmp_path / "licence.json"
    path.write_text(json.dumps(signed, ensure_ascii=False), encoding="utf-8")
    exported = run(settings, "licence", "keys", "--out", str(tmp_path / "keys.json"),
                   "--status", str(tmp_path / "status.json"))
    assert exported.exit_code == 0, exported.output
    return path, signed


def test_offline_verification_needs_no_database(settings, database, issued, tmp_path):
    path, signed = _files(settings, database, issued[0], tmp_path)
    offline = {"DATONG_DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none", "DATONG_ENV": "test"}
    args = ["licence", "verify", str(path), "--keys", str(tmp_path / "keys.json"),
            "--status", str(tmp_path / "status.json"), "--json"]
    ok = run(settings, *args, env=offline)
    assert ok.exit_code == 0, ok.output
    verdict = json.loads(ok.output)
    assert verdict["outcome"] == "valid" and verdict["status_source"] == "list"
    signed["document"]["holder"]["name"] = "冒名"
    path.write_text(json.dumps(signed, ensure_ascii=False), encoding="utf-8")
    bad = run(settings, *args[:-1], env=offline)
    assert bad.exit_code == 1 and bad.output.startswith("tampered with")


def test_a_revocation_reaches_offline_verifiers_through_the_status_list(settings, database, operator, issued,
                                                                        tmp_path):
    with database.unit_of_work() as session:
        service.change_status(session, operator, identifier=issued[1], action="revoke", reason="登记无效")
    path, _ = _files(settings, database, issued[1], tmp_path)
    result = run(settings, "licence", "verify", str(path), "--keys", str(tmp_path / "keys.json"),
                 "--status", str(tmp_path / "status.json"))
    assert result.exit_code == 1 and result.output.startswith("revoked")
    forged = json.loads((tmp_path / "status.json").read_text())
    forged["list"]["encodedList"] = forged["list"]["encodedList"][:-4] + "AAAA"
    (tmp_path / "status.json").write_text(json.dumps(forged))
    refused = run(settings, "licence", "verify", str(path), "--keys", str(tmp_path / "keys.json"),
                  "--status", str(tmp_path / "status.json"))
    assert refused.exit_code == 2 and "not signed by the authority" in refused.output


def test_online_verification_of_qr_text_and_other_commands(settings, database, issued, tmp_path):
    with database.reading() as session:
        lic = service.get_licence(session, issued[2])
        qr = render.qr_for("http://hub", lic.document, lic.signature)
    online = run(settings, "licence", "verify", qr)
    assert online.exit_code == 0 and online.output.startswith("valid")
    assert run(settings, "licence", "verify", "not a licence").exit_code == 2
    types = run(settings, "licence", "types")
    assert types.exit_code == 0 and "结婚证" in types.output and "valid 3" in types.output
    shown = run(settings, "licence", "show", issued[2])
    assert shown.exit_code == 0 and json.loads(shown.output)["status"] == "valid"
    revoked = run(settings, "licence", "revoke", issued[2], "--reason", "重复登记")
    assert revoked.exit_code == 0 and "revoked" in revoked.output
