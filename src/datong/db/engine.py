"""Engine and unit of work.

A request, a CLI command or a flow step opens one unit of work and commits once; services
receive the session and never commit. Two kinds exist (docs/adr/0007-concurrency.md):

- ``unit_of_work()`` writes. On SQLite it takes the main file's write lock at its first statement
  (see ``_sqlite_begin``), so that it waits for another writer (up to the busy timeout) instead of
  failing when it upgrades a read snapshot; on PostgreSQL it is an ordinary transaction.
- ``reading()`` only reads: a WAL snapshot on SQLite, a READ ONLY transaction on PostgreSQL. It
  never takes or waits for the write lock. Reads of personal data record their audit event
  through the audit writer (:mod:`datong.security.chain`), which group-commits it to the chain.

On SQLite the audit chain lives in a file of its own beside the main one, attached to every
connection as the schema ``audit``, so that a long load holding the main file's write lock never
stalls the audited reads.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

from datong.db.snapshot import Snapshot
from datong.errors import DatabaseBusy
from datong.settings import Settings

log = logging.getLogger(__name__)


def audit_path(database: str) -> Path:
    """Where the audit chain of a SQLite hub lives: ``datong.db`` → ``datong-audit.db``."""
    path = Path(database)
    return path.with_name(f"{path.stem}-audit{path.suffix or '.db'}")


def _sqlite_connect(audit_file: str, busy_ms: int):
    def connect(dbapi_connection, _record) -> None:
        # Let SQLAlchemy, not the sqlite3 module, begin transactions: the module's own handling
        # turns the first SAVEPOINT into the outer transaction (SQLAlchemy's documented recipe).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={int(busy_ms)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("ATTACH DATABASE ? AS audit", (audit_file,))
        cursor.execute("PRAGMA audit.journal_mode=WAL")
        cursor.execute("PRAGMA audit.synchronous=NORMAL")
        cursor.close()

    return connect


def _sqlite_begin(connection) -> None:
    # BEGIN goes straight to the driver: it runs for every transaction, and SQLAlchemy's execution
    # path cost more than SQLite's own work for it.
    options = connection.get_execution_options()
    if "datong_turn" in options:  # this process's writers first take turns (WriterTurn)
        options["datong_turn"].take()
    connection.connection.dbapi_connection.execute("BEGIN")
    if options.get("datong_begin") != "WRITE":
        return
    # A writer takes the main file's write lock first, waiting for it (busy timeout) instead of
    # failing later when a read snapshot cannot be upgraded. Not BEGIN IMMEDIATE: that would lock
    # every attached file, the audit chain's too, and stall audited reads behind a long load.
    # An UPDATE that matches nothing still takes the lock; alembic_version exists in every
    # migrated database.
    connection.exec_driver_sql("UPDATE main.alembic_version SET version_num = version_num WHERE 0")


def private_dir(path: Path) -> Path:
    """A folder of the hub's own: created readable by this user only (0700), and made so if it
    already exists. Only for folders the hub owns (the data dir and what it creates inside)."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.chmod(0o700)
    return path


def private_file(path: Path) -> None:
    """A file the hub keeps (the SQLite database and its audit chain): 0600. SQLite gives its
    -wal and -shm files the database file's mode, so they are private too."""
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)


def make_engine(url: str, *, pool_size: int | None = None, busy_timeout: float = 10.0, **kwargs) -> Engine:
    parsed = make_url(url)
    if pool_size is not None:
        # As many connections are kept as request threads, plus ten for the audit writer, loads,
        # the worker and units of work being closed; a burst may open as many again, which are
        # closed when it passes (opening one costs its pragmas and, on SQLite, the ATTACH).
        kwargs.setdefault("pool_size", pool_size + 10)
        kwargs.setdefault("max_overflow", pool_size)
        kwargs.setdefault("pool_timeout", busy_timeout)
    if parsed.get_backend_name() == "sqlite":
        if not parsed.database or parsed.database == ":memory:":
            raise ValueError("Datong needs a SQLite file, not an in-memory database")
        main = Path(parsed.database)
        if not main.parent.exists():
            private_dir(main.parent)
        private_file(main)
        private_file(audit_path(str(main)))
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_connect(str(audit_path(str(main))), int(busy_timeout * 1000)))
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() in ("", "psycopg2"):
        # psycopg 3 is the driver we install; plain postgresql:// URLs mean it too.
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() == "postgresql":
        # A lock wait is bounded like SQLite's busy timeout: the caller then gets 503, not a hang.
        options = parsed.query.get("options", "")
        timeout = f"-c lock_timeout={int(busy_timeout * 1000)}"
        parsed = parsed.update_query_dict({"options": f"{options} {timeout}".strip()})
    engine = create_engine(parsed, **kwargs)
    event.listen(engine, "checkout", _ping_on_checkout)
    return engine


_UNPINGED = threading.local()


@contextmanager
def pinged(ping: bool) -> Iterator[None]:
    """Check out connections in this block with or without the ping (see ``_ping_on_checkout``)."""
    before = getattr(_UNPINGED, "on", False)
    _UNPINGED.on = not ping
    try:
        yield
    finally:
        _UNPINGED.on = before


def _ping_on_checkout(dbapi_connection, _record, _proxy) -> None:
    """PostgreSQL connections are pinged when checked out, so that one the server dropped (a
    restart at night) is replaced before anyone uses it: SQLAlchemy's ``pool_pre_ping`` as a
    checkout hook (raising DisconnectionError makes the pool take another connection), so that a
    snapshot can skip it. A ping is a round trip, as long as the governed read's own statement;
    a snapshot instead runs its statement on the unpinged connection and, if that finds it
    dropped, once more on a pinged one."""
    if getattr(_UNPINGED, "on", False):
        return
    try:
        autocommit = dbapi_connection.autocommit
        dbapi_connection.autocommit = True  # a ping opens no transaction
        try:
            with dbapi_connection.cursor() as cursor:
                cursor.execute("SELECT 1")
        finally:
            dbapi_connection.autocommit = autocommit
    except Exception as exc:  # noqa: BLE001 - any failure means the connection is not usable
        raise DisconnectionError(str(exc)) from exc


def once_per_transaction(session: Session, name: str, key, load: Callable[[], object]):
    """What ``load()`` returns, kept in the session's info under ``name`` and ``key`` for the rest
    of the session (every unit of work and read is a session of its own): for what one request
    asks for several times, a definition or a bureau. A failure is not kept."""
    known = session.info.setdefault(name, {})
    if key not in known:
        known[key] = load()
    return known[key]


class WriterTurn:
    """One unit of work's turn among the writers of its process, for SQLite's write lock.

    SQLite's busy handler sleeps and polls (1, 2, 5 … up to 100 ms a try), so with many
    concurrent writers the lock sat free while they slept, and a short write waited tens of
    milliseconds. So before it asks SQLite, a writer takes its turn on a lock of the process, at
    the same moment as before (its first statement), and gives it back when the unit of work
    ends; a writer waiting for its turn wakes the moment the one before it finishes. Writers of
    other processes (the worker, the CLI, a second server) still meet at SQLite's own lock. A
    plain lock, not a re-entrant one: FastAPI opens a request's unit of work on one thread of its
    pool and closes it on another. Waiting longer than the busy timeout is refused, as SQLite's
    wait is."""

    def __init__(self, lock: threading.Lock, timeout: float) -> None:
        self._lock, self.timeout, self.taken = lock, timeout, False

    def take(self) -> None:
        if self.taken:  # the unit of work began again (after a rollback): still its turn
            return
        if not self._lock.acquire(timeout=self.timeout):
            raise DatabaseBusy()
        self.taken = True

    def give_back(self) -> None:
        if self.taken:
            self.taken = False
            self._lock.release()


class Database:
    """The relational store of one running hub, and its audit writer."""

    def __init__(self, engine: Engine, *, audit_hash: str = "sm3", resource_code_format: str = "national",
                 data_dir: Path | None = None, issue_deadline_days: int = 15, warehouse_memory: str = "3GB",
                 masking: dict[str, str] | None = None, audit_batch_size: int = 512, audit_flush_ms: float = 0.0,
                 audit_wait_seconds: float = 15.0, snapshot_keep: int = 3, load_lease_seconds: int = 60,
                 full_load_delete_share: float = 0.2,
                 share_batch_limit: int = 1000, secret: str | None = None, callback_allow: str = "",
                 registry_engine: str = "duckdb", registry_thresholds: tuple[float, float] = (0.95, 0.5),
                 bureau: str | None = None, seal_algorithm: str = "sm2",
                 public_url: str = "http://127.0.0.1:8000", busy_timeout: float = 10.0) -> None:
        from datong.security.chain import AuditWriter  # the audit chain lives in security/

        self.engine = engine
        self.busy_timeout = busy_timeout
        self._turns, self._turns_pid = threading.Lock(), os.getpid()  # see WriterTurn
        self.data_dir = private_dir(Path(data_dir) if data_dir is not None else Path("./var"))
        self.warehouse_memory = warehouse_memory
        self.snapshot_keep = snapshot_keep
        self.full_load_delete_share = full_load_delete_share
        self.load_lease_seconds = load_lease_seconds
        self.registry_engine, self.registry_thresholds = registry_engine, registry_thresholds
        self.audit = AuditWriter(engine, algorithm=audit_hash, batch_size=audit_batch_size,
                                 flush_ms=audit_flush_ms, wait_seconds=audit_wait_seconds)
        # Deployment choices that services read from their session (they never see Settings).
        info = {"audit_hash": audit_hash, "resource_code_format": resource_code_format,
                "data_dir": self.data_dir, "issue_deadline_days": issue_deadline_days, "masking": masking or {},
                "audit_writer": self.audit, "views": {}, "share_batch_limit": share_batch_limit,
                "deployment_secret": secret, "callback_allow": callback_allow, "bureau": bureau,
                "seal_algorithm": seal_algorithm, "public_url": public_url,
                "caches": {}}  # per-database caches that domains keep (each validates its own entries)
        self.sessions: Callable[[], Session] = sessionmaker(engine, expire_on_commit=False, info=info)
        # Writers begin with the main file's write lock on SQLite, at their first statement.
        writer = engine.execution_options(datong_begin="WRITE") if engine.dialect.name == "sqlite" else engine
        self._writer = writer
        self.writing: Callable[[], Session] = sessionmaker(writer, expire_on_commit=False, info=info)

    @classmethod
    def from_settings(cls, settings: Settings) -> Database:
        engine = make_engine(settings.database_url, pool_size=settings.db_pool_size,
                             busy_timeout=settings.busy_timeout_seconds)
        return cls(engine, audit_hash=settings.audit_hash.value, resource_code_format=settings.resource_code_format,
                   data_dir=settings.data_dir, issue_deadline_days=settings.issue_deadline_days,
                   warehouse_memory=settings.warehouse_memory, masking=settings.masking,
                   audit_batch_size=settings.audit_batch_size, audit_flush_ms=settings.audit_flush_ms,
                   audit_wait_seconds=settings.audit_wait_seconds, snapshot_keep=settings.snapshot_keep,
                   full_load_delete_share=settings.full_load_delete_share,
                   load_lease_seconds=settings.load_lease_seconds, share_batch_limit=settings.share_batch_limit,
                   secret=settings.resolved_secret(), callback_allow=settings.callback_allow,
                   registry_engine=settings.registry_engine,
                   registry_thresholds=(settings.registry_auto_link, settings.registry_review_from),
                   bureau=settings.bureau, seal_algorithm=settings.seal_algorithm,
                   public_url=settings.resolved_public_url(), busy_timeout=settings.busy_timeout_seconds)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        """One writing transaction: commit when the block ends normally, roll back otherwise.
        Audit events it appended sit in the outbox, committed with it, and reach the chain before
        the block's caller goes on (so before any answer leaves)."""
        turn = None
        if self.dialect == "sqlite":
            if self._turns_pid != os.getpid():  # a forked child: its parent's writers are not here
                self._turns, self._turns_pid = threading.Lock(), os.getpid()
            turn = WriterTurn(self._turns, self.busy_timeout)
        try:
            writer = self.writing(bind=self._writer.execution_options(datong_turn=turn)) if turn else self.writing()
            with self._transaction(writer) as session:
                session.info["unit_of_work"] = True  # reads audited here go to the outbox (record_read)
                yield session
        finally:
            if turn:
                turn.give_back()
        if session.info.get("audit_outbox"):
            self.audit.drain_soon(wait=True)

    @contextmanager
    def reading(self, *, audit_waits: list | None = None) -> Iterator[Session]:
        """One read-only transaction that never waits for a writer. With ``audit_waits``, reads of
        personal data put their pending audit commits in that list instead of waiting for them:
        the caller must wait for them (``audit.settled``) before its answer leaves."""
        session = self.sessions()
        if audit_waits is not None:
            session.info["audit_waits"] = audit_waits
        if self.dialect == "postgresql":
            session.connection().exec_driver_sql("SET TRANSACTION READ ONLY")
        with self._transaction(session) as session:
            yield session

    @contextmanager
    def snapshot(self, *, audit_waits: list | None = None) -> Iterator[Snapshot]:
        """A read at the driver level (``datong.db.snapshot``): one pooled connection, no ORM
        session and no transaction, each statement its own snapshot. ``audit_waits`` and refusals
        as in ``reading()``."""
        snapshot = Snapshot(self, None, self.engine.dialect, self.sessions.kw["info"])
        self._check_out(snapshot, ping=False)
        try:
            if audit_waits is not None:
                snapshot.info["audit_waits"] = audit_waits
            yield snapshot
        except BaseException as exc:
            self._record_refusal(exc)
            raise
        finally:
            self._check_in(snapshot)

    def reconnect(self, snapshot: Snapshot) -> None:
        """Replace a snapshot's dropped connection with a fresh one, pinged."""
        snapshot.pooled.invalidate()
        self._check_in(snapshot)
        self._check_out(snapshot, ping=True)

    def _check_out(self, snapshot: Snapshot, *, ping: bool) -> None:
        with pinged(ping):
            snapshot.pooled = self.engine.raw_connection()
        snapshot.connection = snapshot.pooled.driver_connection
        if snapshot.postgres:
            snapshot.connection.autocommit = True  # no BEGIN and ROLLBACK round trips around one statement

    def _check_in(self, snapshot: Snapshot) -> None:
        pooled, snapshot.pooled = snapshot.pooled, None
        try:
            if snapshot.postgres and not snapshot.connection.closed:
                snapshot.connection.autocommit = False
        finally:
            pooled.close()

    @contextmanager
    def _transaction(self, session: Session) -> Iterator[Session]:
        try:
            yield session
            session.commit()
        except BaseException as exc:
            session.rollback()
            self._record_refusal(exc)
            raise
        finally:
            session.close()

    def try_write(self, statement, params: dict | None = None, *, wait_ms: int = 100) -> bool:
        """Run one small write if the database is free within ``wait_ms``; False if it is busy.
        For bookkeeping that may be skipped (a lease renewal, a progress figure), never for data."""
        try:
            with self.engine.connect() as connection:
                if self.dialect == "sqlite":
                    raw = connection.connection.driver_connection
                    busy = raw.execute("PRAGMA busy_timeout").fetchone()[0]
                    raw.execute(f"PRAGMA busy_timeout={int(wait_ms)}")
                try:
                    with connection.begin():
                        if self.dialect == "postgresql":
                            connection.exec_driver_sql(f"SET LOCAL lock_timeout = {int(wait_ms)}")
                        connection.execute(statement, params or {})
                finally:
                    if self.dialect == "sqlite":
                        raw.execute(f"PRAGMA busy_timeout={int(busy)}")
            return True
        except Exception as exc:  # noqa: BLE001 - busy: the caller tries again later
            log.debug("skipped a bookkeeping write: %s", exc)
            return False

    def _record_refusal(self, exc: BaseException) -> None:
        """A refused action (denied permission, failed sign-in) is rolled back with everything
        else, then recorded on its own so that the audit chain still shows the attempt."""
        event = getattr(exc, "audit", None)
        if event:
            self.audit.record(**event)

    def dispose(self) -> None:
        self.audit.close()
        self.engine.dispose()
