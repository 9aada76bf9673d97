"""Every hostile file, through the API (both databases) and the CLI: the expected answer, a message
that names the problem, and a store left as it was.

A case is (file, HTTP status, a fragment of the English message, rows inserted). Files come from
``files/`` or, when too large to keep, from the builders in ``build.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from datong.store.models import Record
from tests.corpus.build import BUILDERS
from tests.helpers import cli_env
from tests.ingest.conftest import population  # noqa: F401 - the fixture

FILES = Path(__file__).parent / "files"
UNCHANGED = 0

CASES = [
    # encodings
    ("utf16-le-bom.csv", 422, "the file is UTF-16 text", UNCHANGED),
    ("utf16-be-nobom.csv", 422, "the file is UTF-16 text", UNCHANGED),
    ("utf32-bom.csv", 422, "the file is UTF-32 text", UNCHANGED),
    ("utf8-bom.csv", 201, None, 2),
    ("utf8-double-bom.csv", 422, "unknown columns", UNCHANGED),
    ("gbk.csv", 201, None, 2),
    ("mixed-encodings.csv", 422, "line 3 has bytes that are not UTF-8 text", UNCHANGED),
    ("truncated-gbk.csv", 422, "ends in the middle of a character", UNCHANGED),
    # structure
    ("empty.csv", 422, "the first line must be the header", UNCHANGED),
    ("header-only.csv", 201, None, 0),
    ("no-header.csv", 422, "unknown columns", UNCHANGED),
    ("duplicate-header.csv", 422, "the header names 姓名 more than once", UNCHANGED),
    ("wide.csv", 422, "the header has 2000 columns, more than the limit of 1024", UNCHANGED),
    ("ragged.csv", 422, "line 3", UNCHANGED),
    ("unclosed-quote.csv", 422, "CSV", UNCHANGED),
    ("nul-bytes.csv", 201, None, 2),
    ("big-field.csv", 422, "line 2", UNCHANGED),
    # values: refused row by row, the rest loads
    ("emoji-zero-width-ids.csv", 201, None, 0),
    ("formula.csv", 201, None, 1),
    # other formats
    ("binary.exe", 422, "files ending in .exe are not read", UNCHANGED),
    ("not-a-workbook.xlsx", 422, "not an Excel workbook", UNCHANGED),
    ("wrong-header.xlsx", 422, "unknown columns 甲、乙", UNCHANGED),
    ("inflating.xlsx", 422, "inflates to 3840 MB, more than the limit of 1024 MB", UNCHANGED),
    ("deep.jsonl", 422, "line 1 nests arrays or objects more than 64 deep", UNCHANGED),
    ("brackets-in-strings.jsonl", 201, None, 1),
    ("not-json.jsonl", 422, "not valid JSON Lines", UNCHANGED),
    ("not-parquet.parquet", 422, "not a Parquet file", UNCHANGED),
]


def corpus_file(name: str, folder: Path) -> Path:
    return BUILDERS[name](folder) if name in BUILDERS else FILES / name



def records(database) -> list[tuple]:
    with database.reading() as session:
        return sorted((r.key, json.dumps(r.payload, sort_keys=True)) for r in session.scalars(select(Record)))


@pytest.mark.parametrize("name, status, fragment, inserted", CASES, ids=[c[0] for c in CASES])
def test_api(client, login, database, population, tmp_path, name, status, fragment, inserted):
    before = records(database)
    path = corpus_file(name, tmp_path)
    with path.open("rb") as handle:
        response = client.post(f"/api/v1/resources/{population}/loads", headers=login("dadmin") | {
            "Accept-Language": "en"}, files={"file": (name, handle)}, data={"mode": "incremental"})
    assert response.status_code == status, response.text
    body = response.json()
    if fragment is not None:
        assert fragment in body["detail"] and name in body["detail"], body["detail"]
        assert response.headers["content-type"].startswith("application/problem+json")
    if status >= 400:
        assert records(database) == before
    else:
        assert body["inserted"] == inserted
        assert len(records(database)) == len(before) + inserted


CLI_CASES = [c for c in CASES if c[1] >= 400]


@pytest.mark.parametrize("name, status, fragment, inserted", CLI_CASES, ids=[c[0] for c in CLI_CASES])
def test_cli(settings, database, population, tmp_path, name, status, fragment, inserted):
    """In a process of its own, as an operator runs it: a crash would show as a signal, not exit 2."""
    if settings.database_url.startswith("postgresql"):
        pytest.skip("the CLI reads files the same way on both databases; the API cases cover PostgreSQL")
    before = records(database)
    path = corpus_file(name, tmp_path)
    done = subprocess.run([sys.executable, "-m", "datong.cli", "--lang", "en", "ingest", population, str(path),
                           "--mode", "incremental"], env={**os.environ, **cli_env(settings)},
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 2, (done.returncode, done.stderr[-2000:])
    assert fragment in done.stderr and "Traceback" not in done.stderr, done.stderr[-2000:]
    assert records(database) == before
