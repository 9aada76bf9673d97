"""Every message in the code and templates has a Chinese translation."""

import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po

from datong.i18n import negotiate, translate

ROOT = Path(__file__).resolve().parents[1]


def test_every_extracted_message_is_translated(tmp_path):
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "extract", "-F", str(ROOT / "babel.cfg"),
         "-k", "N_", "-k", "_", "-o", str(pot), str(ROOT)],
        check=True, capture_output=True, cwd=ROOT,
    )
    extracted = {m.id for m in read_po(pot.open("rb")) if m.id}
    catalog = read_po((ROOT / "src/datong/locale/zh_CN/LC_MESSAGES/messages.po").open("rb"))
    translated = {m.id for m in catalog if m.id and m.string}
    assert len(extracted) > 50
    assert extracted - translated == set()


def test_negotiation():
    assert negotiate("en-US,en;q=0.9,zh-CN;q=0.8") == "en"
    assert negotiate("fr-FR, zh;q=0.5") == "zh-CN"
    assert negotiate(None) == "zh-CN"
    assert negotiate("de") == "zh-CN"


def test_parameters_are_filled_after_translation():
    assert translate("zh-CN", "Welcome, {name}", name="张三") == "张三，您好"
    assert translate("en", "Welcome, {name}", name="Zhang San") == "Welcome, Zhang San"

