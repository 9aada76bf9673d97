"""Engine and unit of work.

A request, a CLI command or a flow step opens one unit of work and commits once; services
receive the session and never commit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from datong.settings import Settings


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # Let SQLAlchemy, not the sqlite3 module, begin transactions: the module's own handling turns
    # the first SAVEPOINT into the outer transaction, so releasing it would commit (SQLAlchemy's
    # documented recipe for SAVEPOINT on SQLite).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _sqlite_begin(connection) -> None:
    # A transaction that reads and then writes (a governed read appends its audit event) must
    # hold the write lock from the start on SQLite: upgrading a WAL read snapshot after another
    # writer committed fails at once with "database is locked" instead of waiting.
    immediate = connection.get_execution_options().get("datong_immediate")
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def make_engine(url: str, **kwargs) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() in ("", "psycopg2"):
        # psycopg 3 is the driver we install; plain postgresql:// URLs mean it too.
        parsed = parsed.set(drivername="postgresql+psycopg")
    return create_engine(parsed, pool_pre_ping=True, **kwargs)


class Database:
    """The relational store of one running hub."""

    def __init__(self, engine: Engine, *, audit_hash: str = "sm3", resource_code_format: str = "national",
                 data_dir: Path | None = None, issue_deadline_days: int = 15, warehouse_memory: str = "3GB",
                 masking: dict[str, str] | None = None) -> None:
        self.engine = engine
        self.data_dir = Path(data_dir) if data_dir is not None else Path("./var")
        self.warehouse_memory = warehouse_memory
        # Deployment choices that services read from their session (they never see Settings).
        info = {"audit_hash": audit_hash, "resource_code_format": resource_code_format,
                "data_dir": self.data_dir, "issue_deadline_days": issue_deadline_days, "masking": masking or {}}
        self.sessions: Callable[[], Session] = sessionmaker(engine, expire_on_commit=False, info=info)

    @classmethod
    def from_settings(cls, settings: Settings) -> Database:
        return cls(make_engine(settings.database_url), audit_hash=settings.audit_hash.value,
                   resource_code_format=settings.resource_code_format, data_dir=settings.data_dir,
                   issue_deadline_days=settings.issue_deadline_days, warehouse_memory=settings.warehouse_memory,
                   masking=settings.masking)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def unit_of_work(self, *, immediate: bool = False) -> Iterator[Session]:
        """One transaction: commit when the block ends normally, roll back otherwise.
        ``immediate``: take SQLite's write lock at the start (for reads that then write)."""
        session = self.sessions()
        if immediate and self.dialect == "sqlite":
            session.connection(execution_options={"datong_immediate": True})
        try:
            yield session
            session.commit()
        except BaseException as exc:
            session.rollback()
            if getattr(exc, "audit", None):
                self._record_refusal(exc.audit)
            raise
        finally:
            session.close()

    def _record_refusal(self, event: dict) -> None:
        """A refused action (denied permission, failed sign-in) is rolled back with everything
        else, then recorded on its own so that the audit chain still shows the attempt."""
        from datong.security.audit import append_event  # the audit chain lives in security/

        with self.sessions() as session, session.begin():
            append_event(session, **event)

    def dispose(self) -> None:
        self.engine.dispose()
