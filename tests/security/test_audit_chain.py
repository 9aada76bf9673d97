"""The audit chain detects edits, deletions and reordering made directly in the database."""

import threading

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from datong.cli import app as cli
from datong.db import Database
from datong.db.engine import make_engine
from datong.security.audit import GENESIS, append_event, digest, verify_chain
from datong.security.authz import Actor
from tests.helpers import cli_env

ALICE = Actor(kind="user", name="alice", department_code="11330000002000110X", roles=frozenset())


@pytest.fixture(autouse=True)
def empty_chain(database_url):
    """Start each test from an empty chain (the test database holds the dictionary's install event)."""
    database = Database(make_engine(database_url))
    with database.engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_subjects"))
        connection.execute(text("DELETE FROM audit_events"))
        connection.execute(text("UPDATE audit_head SET last_seq = 0, last_hash = :h"), {"h": GENESIS})
    database.dispose()


def _append(database, n, **extra):
    with database.unit_of_work() as session:
        for i in range(n):
            append_event(session, actor=ALICE, action="record.read", target=f"resource:R{i}",
                         subjects=["11010519491231002X"], purpose="社保资格认定", case_number=f"CASE-{i}",
                         **extra)


def _verify(database):
    with database.unit_of_work() as session:
        return verify_chain(session)


def test_intact_chain_links_each_event_to_the_previous(database):
    _append(database, 5)
    report = _verify(database)
    assert report.intact and report.events == 5
    assert report.describe() == "intact: 5 events"
    with database.engine.connect() as connection:
        rows = connection.execute(text("SELECT seq, prev_hash, hash, algorithm FROM audit_events ORDER BY seq")).all()
    assert rows[0].prev_hash == GENESIS
    assert all(rows[i].prev_hash == rows[i - 1].hash for i in range(1, 5))
    assert {r.algorithm for r in rows} == {"sm3"}


def test_sha256_is_selectable_and_verifies(settings):
    database = Database(make_engine(settings.database_url), audit_hash="sha256")
    _append(database, 3)
    with database.engine.connect() as connection:
        assert connection.execute(text("SELECT DISTINCT algorithm FROM audit_events")).scalar() == "sha256"
    assert _verify(database).intact
    database.dispose()


def test_sm3_is_the_standard_function():
    # GB/T 32905 test vector for "abc"
    assert digest("sm3", b"abc") == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"


def _sql(database, statement, **params):
    with database.engine.begin() as connection:
        connection.execute(text(statement), params)


def test_edited_content_is_named(database):
    _append(database, 5)
    _sql(database, "UPDATE audit_events SET purpose = 'something else' WHERE seq = 3")
    report = _verify(database)
    assert (report.intact, report.first_bad_seq) == (False, 3)
    assert "altered" in report.problem


def test_json_is_judged_by_its_content_not_its_spelling(database):
    """The walk hashes the JSON columns' stored text first; JSON rewritten in another spelling (a
    restore through a tool that reformats it) is judged by its decoded content, and a change of
    content in a JSON column is named."""
    _append(database, 4, detail={"items": ["姓名"], "returned": 1})
    _sql(database, "UPDATE audit_events SET detail = :d WHERE seq = 2",
         d='{ "returned" : 1,\n  "items": ["\\u59d3\\u540d"] }')  # the same content, spelt otherwise
    assert _verify(database).intact
    _sql(database, "UPDATE audit_events SET subjects = :s WHERE seq = 3", s='["11010519491231002X", "X"]')
    report = _verify(database)
    assert (report.intact, report.first_bad_seq) == (False, 3) and "altered" in report.problem


def test_json_columns_that_are_not_whole_json_values_are_altered(database):
    """Stored text is hashed as it is only when it parses as one JSON value of its column's kind:
    otherwise text could be moved across a column's boundary without changing the bytes."""
    from datong.security.chain import stored_event

    row = (1, "2026-12-01 08:00:00.000000", "a", None, "x", None, '["S"]', None, None, "success",
           '{"k":1},"occurred_at":"x"', "sm3", GENESIS, "h", False)
    _, body = stored_event(row)
    assert b'"detail":"{\\"k\\":1},' in body  # not spliced: hashed as a JSON string
    if database.dialect == "sqlite":  # PostgreSQL's json type refuses such text at the door
        _append(database, 2)
        _sql(database, "UPDATE audit_events SET detail = :d WHERE seq = 2", d='{ } ')
        assert _verify(database).intact  # trailing space: still one JSON value, same content
        _sql(database, "UPDATE audit_events SET detail = :d WHERE seq = 2", d='{}{}')
        report = _verify(database)
        assert (report.intact, report.first_bad_seq) == (False, 2)


def test_deleted_event_is_named(database):
    _append(database, 5)
    _sql(database, "DELETE FROM audit_subjects WHERE seq = 2")
    _sql(database, "DELETE FROM audit_events WHERE seq = 2")
    report = _verify(database)
    assert (report.intact, report.first_bad_seq) == (False, 2)
    assert "missing" in report.problem


def test_deleted_tail_is_detected(database):
    _append(database, 5)
    _sql(database, "DELETE FROM audit_subjects WHERE seq >= 4")
    _sql(database, "DELETE FROM audit_events WHERE seq >= 4")
    report = _verify(database)
    assert (report.intact, report.first_bad_seq) == (False, 4)


def test_swapped_events_are_named(database):
    _append(database, 5)
    _sql(database, "DELETE FROM audit_subjects")
    _sql(database, "UPDATE audit_events SET seq = 1000 WHERE seq = 2")
    _sql(database, "UPDATE audit_events SET seq = 2 WHERE seq = 3")
    _sql(database, "UPDATE audit_events SET seq = 3 WHERE seq = 1000")
    report = _verify(database)
    assert (report.intact, report.first_bad_seq) == (False, 2)


def test_rehashed_forgery_breaks_the_next_link(database):
    """An attacker who edits an event and recomputes its hash still breaks its successor."""
    _append(database, 4)
    from datong.security.audit import canonical
    from datong.security.models import AuditEvent

    with database.unit_of_work() as session:
        event = session.get(AuditEvent, 2)
        event.purpose = "forged"
        fields = {column.key: getattr(event, column.key) for column in AuditEvent.__table__.columns}
        event.hash = digest(event.algorithm, canonical(fields))
    report = _verify(database)
    assert (report.intact, report.first_bad_seq) == (False, 3)


def test_cli_verify_exit_codes(database, settings):
    _append(database, 3)
    runner = CliRunner()
    result = runner.invoke(cli, ["audit", "verify"], env=cli_env(settings))
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "intact: 3 events"
    _sql(database, "UPDATE audit_events SET actor = 'mallory' WHERE seq = 2")
    result = runner.invoke(cli, ["audit", "verify"], env=cli_env(settings))
    assert result.exit_code == 1
    assert "event 2" in result.output


def test_subjects_are_indexed(database):
    _append(database, 2)
    with database.engine.connect() as connection:
        seqs = connection.execute(
            text("SELECT seq FROM audit_subjects WHERE subject = '11010519491231002X' ORDER BY seq")
        ).scalars().all()
    assert seqs == [1, 2]


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_concurrent_appends_do_not_fork_the_chain(database):
    """PostgreSQL: four writers at once still build one chain (SQLite serialises writers itself)."""
    errors = []

    def worker():
        try:
            for _ in range(10):
                _append(database, 1)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    report = _verify(database)
    assert report.intact and report.events == 40


def test_the_driver_level_walk_hashes_what_the_orm_reads(database):
    """Verification reads rows from the driver; its bytes must be canonical() of the ORM's event,
    for events from the outbox (ORM writes) and from the group-committed path alike."""
    from sqlalchemy import select

    from datong.security.audit import _rows
    from datong.security.chain import canonical, canonical_body
    from datong.security.models import AuditEvent

    _append(database, 3, detail={"z": 1, "a": ["甲", None, 2.5], "嵌套": {"b": True, "a": "\u0001\"\\"}})
    database.audit.record(actor=ALICE, action="share.read", target="resource:R9", subjects=["B", "A"],
                          purpose="核验 \"资格\"", case_number=None, detail={"items": ["姓名"], "returned": 1})
    with database.reading() as session:
        walked = list(_rows(session))
        orm = {e.seq: e for e in session.scalars(select(AuditEvent))}
        assert len(walked) == len(orm) == 4
        for event, body in walked:  # the stored JSON text is the canonical encoding, as written
            read = orm[event["seq"]]
            assert body == canonical_body(event) == canonical({c: getattr(read, c) for c in (
                "seq", "occurred_at", "actor", "actor_department", "action", "target", "subjects", "purpose",
                "case_number", "outcome", "detail", "algorithm", "prev_hash")})
    assert _verify(database).intact
