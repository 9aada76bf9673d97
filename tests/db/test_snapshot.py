"""Driver-level snapshots (datong.db.snapshot): one statement each, and connections the server
dropped are replaced without the caller seeing an error."""

import pytest
from sqlalchemy import func, select, text

from datong.db import Database
from datong.db.engine import make_engine
from datong.db.snapshot import Prepared, iso_time, json_value

PID = Prepared(select(func.pg_backend_pid()))


def _kill(admin, pid: int) -> None:
    with admin.connect() as connection:
        assert connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar()


@pytest.mark.postgres
def test_a_dropped_connection_is_replaced_for_snapshots_and_units_of_work(postgres_url):
    """PostgreSQL restarted at night: the pooled connection is gone. A snapshot (its connection is
    checked out without a ping) runs its statement again on a fresh one; a unit of work's
    connection is pinged at checkout and replaced before use."""
    hub = Database(make_engine(postgres_url, pool_size=1, max_overflow=0))  # one connection: it must be reused
    admin = make_engine(postgres_url)
    try:
        with hub.snapshot() as snapshot:
            first = snapshot.rows(PID, {})[0][0]
        _kill(admin, first)
        with hub.snapshot() as snapshot:
            second = snapshot.rows(PID, {})[0][0]  # would raise without the reconnect
        assert second != first
        _kill(admin, second)
        with hub.unit_of_work() as session:
            assert session.execute(text("SELECT pg_backend_pid()")).scalar() not in (first, second)
        with hub.snapshot() as snapshot:  # the connection the unit of work left is a good one
            assert snapshot.rows(PID, {})[0][0] not in (first, second)
    finally:
        hub.dispose()
        admin.dispose()


def test_other_failures_are_sqlalchemy_errors_and_no_retry(database):
    from sqlalchemy.exc import DBAPIError

    broken = Prepared(select(func.no_such_function()))
    with database.snapshot() as snapshot, pytest.raises(DBAPIError):
        snapshot.rows(broken, {})


def test_driver_values_read_as_the_orm_reads_them():
    assert json_value('["a", 1]') == ["a", 1] and json_value(["a"]) == ["a"]
    assert iso_time("2026-12-01 08:00:00.123456") == "2026-12-01T08:00:00+00:00"
    assert iso_time(None) is None
