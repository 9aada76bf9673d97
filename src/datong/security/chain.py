"""The audit chain's writer: one per process, group-committing events from every request.

Two kinds of event reach the chain (docs/adr/0007-concurrency.md):

- A **change** writes its event into ``audit_outbox`` inside its own transaction, so the change and
  its event commit together or not at all. After the commit the writer moves outbox rows into the
  chain.
- A **read** of personal data (and every refusal) changes nothing, so its event goes straight to
  the writer; the caller waits until the batch holding it has committed, and only then may its
  answer leave. If the batch cannot commit, the caller gets :class:`AuditUnavailable` (503) and
  no data.

Each batch is one short transaction: take the chain's lock (an advisory lock on PostgreSQL, so
that several processes and hosts extend one chain; the audit file's write lock on SQLite), read
the head, hash the events in order, insert them with executemany, move the head. On SQLite the
chain is a file of its own (schema ``audit``), so a load holding the main file's write lock does
not stall it; outbox rows are taken by id above a mark kept in the head (SQLite assigns AUTOINCREMENT
ids in commit order), and deleted later when the main file is free. On PostgreSQL they are
deleted in the batch's own transaction.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import logging
import os
import queue
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager, nullcontext
from concurrent.futures import Future
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from sqlalchemy import Engine

from datong.db.base import utcnow
from datong.db.engine import audit_path
from datong.db.snapshot import sqlite_time
from datong.errors import DatongError
from datong.i18n import N_
from datong.security.models import AuditEvent, AuditHead, AuditOutbox, AuditSubject

log = logging.getLogger(__name__)
GENESIS = "0" * 64
_ALGORITHMS = {"sm3": hashes.SM3, "sha256": hashes.SHA256}
LOCK_KEY = 0x64617475  # "datu": the advisory lock that serialises appends on PostgreSQL
_FIELDS = ("seq", "occurred_at", "actor", "actor_department", "action", "target", "subjects", "purpose",
           "case_number", "outcome", "detail", "algorithm", "prev_hash")
_head, _events, _subjects, _outbox = (AuditHead.__table__, AuditEvent.__table__, AuditSubject.__table__,
                                      AuditOutbox.__table__)
_DRAIN, _STOP = "drain", "stop"
OUTBOX_CLEAN_SECONDS = 2.0
OUTBOX_BATCH = 10_000  # outbox rows moved by one batch at most


class AuditUnavailable(DatongError):
    status = 503
    code = "audit_unavailable"
    message = N_("The audit log cannot record this access right now, so no data was returned. "
                 "Try again in a few seconds.")
    headers = {"Retry-After": "2"}


def digest(algorithm: str, payload: bytes) -> str:
    h = hashes.Hash(_ALGORITHMS[algorithm]())
    h.update(payload)
    return h.finalize().hex()


# Encoders built once: json.dumps builds a new one on every call, which showed in the append cost.
_CANONICAL = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode


def canonical(event: Mapping) -> bytes:
    """The bytes an event's hash covers: every column except the hash itself."""
    body = {name: event[name] for name in _FIELDS}
    body["occurred_at"] = event["occurred_at"].isoformat(timespec="microseconds")
    body["subjects"] = list(event["subjects"] or [])
    body["detail"] = event["detail"] or {}
    return _CANONICAL(body).encode()


_text = json.encoder.encode_basestring  # the C function the encoders above use for strings (no ASCII escaping)


def _scalar(value) -> str:
    if value is None:
        return "null"
    return _text(value) if value.__class__ is str else _CANONICAL(value)


def _prepare(event: Mapping, algorithm: str, when: str, texts: tuple[str, str] | None = None
             ) -> tuple[str, str, str, str, str]:
    """Everything of an event's canonical form that does not depend on its place in the chain: the
    text before its ``prev_hash``, between that and its ``seq``, and after; and its subjects and
    detail as the JSON their columns store. The bytes a hash covers are then
    ``head + '"<prev_hash>"' + middle + seq + tail``, exactly ``canonical``'s (which verification
    uses; a test compares the two on generated events). Encoding the whole event for its hash and
    its two JSON columns again was most of the appender's cost; made this way, most of it is done
    by the caller's thread when it submits, while the writer's batch is in the database.
    ``texts``: the subjects' and detail's JSON as stored, used as they are (see ``stored_event``)."""
    if texts is None:
        subjects, detail = _CANONICAL(list(event["subjects"] or [])), _CANONICAL(event["detail"] or {})
    else:
        subjects, detail = texts
    head = (f'{{"action":{_scalar(event["action"])},"actor":{_scalar(event["actor"])},'
            f'"actor_department":{_scalar(event["actor_department"])},"algorithm":{_scalar(algorithm)},'
            f'"case_number":{_scalar(event["case_number"])},"detail":{detail},"occurred_at":{_text(when)},'
            f'"outcome":{_scalar(event["outcome"])},"prev_hash":')
    middle = f',"purpose":{_scalar(event["purpose"])},"seq":'
    tail = f',"subjects":{subjects},"target":{_scalar(event["target"])}}}'
    return head, middle, tail, subjects, detail


def _sealed(event: Mapping, when: str, texts: tuple[str, str] | None = None) -> tuple[bytes, str, str]:
    """An event's canonical bytes and its subjects and detail as column JSON, from ``_prepare``."""
    head, middle, tail, subjects, detail = _prepare(event, event["algorithm"], when, texts)
    seq = event["seq"]
    body = f"{head}{_scalar(event['prev_hash'])}{middle}{seq if seq.__class__ is int else _CANONICAL(seq)}{tail}"
    return body.encode(), subjects, detail


_PARTS = "_prepared"  # an event's key for what submit() prepared of it


def _parts(event: Mapping, algorithm: str) -> tuple[str, tuple]:
    when = event["occurred_at"].isoformat(timespec="microseconds")
    return when, _prepare(event, algorithm, when)


def make_event(*, actor, action: str, target=None, subjects: Iterable[str] = (), purpose: str | None = None,
               case_number: str | None = None, outcome: str = "success", detail: dict | None = None) -> dict:
    """An event's content before it has a place in the chain."""
    return {"occurred_at": utcnow(), "actor": actor.name, "actor_department": actor.department_code,
            "action": action, "target": str(target) if target is not None else None,
            "subjects": sorted(set(subjects)), "purpose": purpose, "case_number": case_number,
            "outcome": outcome, "detail": detail or {}}


#: The columns verification reads, in this order, straight from the driver (the JSON columns as
#: the text they store), and whether that text is one JSON value of the column's kind, judged by
#: the database (PostgreSQL's json type holds only valid JSON; SQLite's json_valid).
_STORED = ("seq", "occurred_at", "actor", "actor_department", "action", "target", "CAST(subjects AS TEXT)",
           "purpose", "case_number", "outcome", "CAST(detail AS TEXT)", "algorithm", "prev_hash", "hash")
_WHOLE = {"postgresql": "(json_typeof(subjects) = 'array' AND json_typeof(detail) = 'object')",
          "sqlite": "CASE WHEN json_valid(subjects) AND json_valid(detail) "
                    "THEN json_type(subjects) = 'array' AND json_type(detail) = 'object' ELSE 0 END"}
_NAMES = ("seq", "occurred_at", "actor", "actor_department", "action", "target", "subjects", "purpose",
          "case_number", "outcome", "detail", "algorithm", "prev_hash", "hash", "whole")


def stored_columns(dialect: str) -> str:
    """The select list ``stored_event`` reads."""
    return ", ".join((*_STORED, _WHOLE[dialect]))


def stored_event(row: tuple) -> tuple[dict, bytes]:
    """An event as the driver returns its row (the time as SQLite's text or PostgreSQL's value, the
    JSON columns as their stored text) and the bytes its hash covers as stored: the JSON columns'
    text spliced in as it is. The writer stores the canonical encoding of both, so for every event
    it wrote these are ``canonical``'s bytes without decoding and encoding the JSON again (which
    cost as much as the hash). Text is spliced only when the database says it is one whole JSON
    value of the column's kind: such a text cannot end inside another, so no rewriting of the
    columns can move text across a column's boundary and keep the bytes. ``canonical_body``
    gives the canonical bytes of the parsed content, for a row whose JSON was written or rewritten
    in another spelling."""
    event = dict(zip(_NAMES, row))
    at = event["occurred_at"]
    if isinstance(at, str):
        if len(at) == 26 and at[10] == " ":  # SQLAlchemy's form: 2026-12-01 08:00:00.000000 (UTC)
            event["occurred_at"] = f"{at[:10]}T{at[11:]}+00:00"
        else:
            moment = datetime.fromisoformat(at)
            event["occurred_at"] = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat(
                timespec="microseconds")
    else:
        event["occurred_at"] = (at if at.tzinfo else at.replace(tzinfo=UTC)).isoformat(timespec="microseconds")
    if not event.pop("whole"):
        return event, canonical_body(event)
    return event, _sealed(event, event["occurred_at"], (event["subjects"], event["detail"]))[0]


def _parsed(text, kind: type):
    """A JSON column's stored text as its value; a text that is not one JSON value of the column's
    kind stays text, hashed as a JSON string, which no hash the writer made covers (it is named
    altered)."""
    if not isinstance(text, str):
        return text
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return value if isinstance(value, kind) else text


def canonical_body(event: dict) -> bytes:
    """The canonical bytes of a ``stored_event`` event's content, its JSON columns parsed."""
    parsed = {**event, "subjects": _parsed(event["subjects"] or "[]", list),
              "detail": _parsed(event["detail"] or "{}", dict)}
    return _sealed(parsed, event["occurred_at"])[0]


def _statements(dialect) -> dict:
    mark = "%s" if dialect.paramstyle in ("format", "pyformat") else "?"
    columns = (*_FIELDS, "hash")
    marks = ", ".join(mark for _ in columns)
    lock = (("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,)) if dialect.name == "postgresql"
            # a write first, so the audit file's write lock is taken (waiting if need be)
            else ("UPDATE audit_head SET last_seq = last_seq WHERE id = 1",))
    outbox = ", ".join(c.name for c in _outbox.c)
    take = (f"DELETE FROM audit_outbox WHERE id IN (SELECT id FROM audit_outbox ORDER BY id LIMIT {OUTBOX_BATCH} "
            f"FOR UPDATE SKIP LOCKED) RETURNING {outbox}" if dialect.name == "postgresql" else
            f"SELECT {outbox} FROM audit_outbox WHERE id > {mark} ORDER BY id LIMIT {OUTBOX_BATCH}")
    return {
        "lock": lock,
        "head": "SELECT last_seq, last_hash, outbox_mark FROM audit_head WHERE id = 1",
        "take": take,
        "event": f"INSERT INTO audit_events ({', '.join(columns)}) VALUES ({marks})",
        "subject": f"INSERT INTO audit_subjects (subject, seq) VALUES ({mark}, {mark})",
        "advance": f"UPDATE audit_head SET last_seq = {mark}, last_hash = {mark}, outbox_mark = {mark} WHERE id = 1",
    }


def _outbox_reader(dialect):
    """Outbox rows as the driver returns them → events, each column through its type's own result
    processor (the JSON decoded, the time made aware): what a Core select would give."""
    names = [c.name for c in _outbox.c]
    processors = [c.type.dialect_impl(dialect).result_processor(dialect, None) for c in _outbox.c]
    pairs = list(zip(names, processors))

    def read(row: tuple) -> dict:
        return {name: value if process is None or value is None else process(value)
                for (name, process), value in zip(pairs, row)}

    return read


class AppendLock:
    """Serialises appends to a SQLite chain among the processes sharing its file. SQLite's own
    busy handler sleeps and polls (1, 2, 5 … up to 100 ms a try), so a second server process lost
    milliseconds on every batch of the first; a process waiting on this lock (flock) is woken the
    moment the holder lets go. The chain's SQLite write lock is still taken inside it, so a writer
    that does not know this lock stays correct, only slower. Released by the kernel if its holder
    dies; a holder that hangs makes the waiting requests answer 503 after their wait."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._threads = threading.Lock()  # flock is per open file, shared by this process's threads
        self._fd: int | None = None
        self._pid: int | None = None

    @contextmanager
    def held(self) -> Iterator[None]:
        with self._threads:
            if self._fd is None or self._pid != os.getpid():  # a forked child opens its own
                self._fd, self._pid = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600), os.getpid()
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(self._fd, fcntl.LOCK_UN)


class AuditWriter:
    """Collects events from every thread of this process and appends them in batches."""

    def __init__(self, engine: Engine, *, algorithm: str = "sm3", batch_size: int = 512, flush_ms: float = 0.0,
                 wait_seconds: float = 15.0) -> None:
        self.engine, self.algorithm = engine, algorithm
        self.batch_size, self.flush, self.wait_seconds = batch_size, flush_ms / 1000, wait_seconds
        self.postgres = engine.dialect.name == "postgresql"
        # Driver-level statements: this runs for every audited request, and building and
        # compiling Core statements cost more than the database work (table names are fixed).
        self._sql = _statements(engine.dialect)
        self._outbox_row = _outbox_reader(engine.dialect)
        self._stamp = (lambda value, _iso: value) if self.postgres else sqlite_time
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()
        self._guard = threading.Lock()
        self._cleaned_at = 0.0
        self._lock = (nullcontext if self.postgres else
                      AppendLock(audit_path(engine.url.database).with_suffix(".lock")).held)

    # --- callers ----------------------------------------------------------------------------

    def submit(self, event: dict) -> Future:
        future: Future = Future()
        self._start()
        when = event["occurred_at"].isoformat(timespec="microseconds")
        event[_PARTS] = (when, _prepare(event, self.algorithm, when))
        self._queue.put(("event", event, future))
        return future

    def record(self, **event) -> int:
        """Append one event and wait for its batch to commit; returns its sequence number."""
        return self._wait(self.submit(make_event(**event)))

    async def settled(self, futures: list[Future]) -> None:
        """Wait on the event loop, holding no thread, until these submitted events have committed;
        AuditUnavailable (503) if they cannot."""
        try:
            await asyncio.wait_for(asyncio.gather(*map(asyncio.wrap_future, futures)), self.wait_seconds)
        except AuditUnavailable:
            raise
        except Exception as exc:  # noqa: BLE001 - a timeout or any failure to commit the batch
            raise AuditUnavailable() from exc

    def _wait(self, future: Future) -> int:
        try:
            return future.result(timeout=self.wait_seconds)
        except AuditUnavailable:
            raise
        except Exception as exc:  # noqa: BLE001 - a timeout or any failure to commit the batch
            raise AuditUnavailable() from exc

    def drain_soon(self, *, wait: bool = False) -> None:
        """Move committed outbox rows into the chain; with ``wait``, until that is done (best effort:
        the rows are safe in the outbox, and the next batch takes them if this one cannot)."""
        future: Future = Future()
        self._start()
        self._queue.put((_DRAIN, None, future))
        if wait:
            try:
                future.result(timeout=self.wait_seconds)
            except Exception as exc:  # noqa: BLE001
                log.warning("audit outbox not drained yet: %s", exc)

    def close(self) -> None:
        thread = self._thread
        if thread is not None and thread.is_alive() and self._pid == os.getpid():
            self.drain_soon(wait=True)
            self._queue.put((_STOP, None, None))
            thread.join(timeout=self.wait_seconds)
        self._thread = None

    # --- the writer thread ------------------------------------------------------------------

    def _start(self) -> None:
        if self._thread is not None and self._thread.is_alive() and self._pid == os.getpid():
            return
        with self._guard:
            if self._thread is None or not self._thread.is_alive() or self._pid != os.getpid():
                if self._pid != os.getpid():  # a forked child starts with a queue of its own
                    self._pid, self._queue = os.getpid(), queue.SimpleQueue()
                self._thread = threading.Thread(target=self._run, name="datong-audit", daemon=True)
                self._thread.start()

    def _collect(self) -> list[tuple]:
        batch = [self._queue.get()]
        deadline = time.monotonic() + self.flush
        while len(batch) < self.batch_size:
            try:
                batch.append(self._queue.get_nowait())
            except queue.Empty:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                try:
                    batch.append(self._queue.get(timeout=remaining))
                except queue.Empty:
                    break
        return batch

    def _run(self) -> None:
        while True:
            batch = self._collect()
            stop = any(kind == _STOP for kind, _, _ in batch)
            work = [item for item in batch if item[0] != _STOP]
            if work:
                self._commit(work)
            if stop:
                return

    def _commit(self, batch: list[tuple]) -> None:
        events = [event for kind, event, _ in batch if kind == "event"]
        try:
            seqs, moved = self.append(events, drain=any(kind == _DRAIN for kind, _, _ in batch))
        except Exception as exc:  # noqa: BLE001 - every waiting caller learns it failed
            log.error("audit batch of %d events failed: %s", len(events), exc)
            for _, _, future in batch:
                future.set_exception(exc)
            return
        numbers = iter(seqs)
        for kind, _, future in batch:
            future.set_result(next(numbers) if kind == "event" else None)
        if moved and not self.postgres:
            self._clean_outbox()

    # --- one batch --------------------------------------------------------------------------

    def append(self, events: list[dict], *, drain: bool = True) -> tuple[list[int], int]:
        """Append outbox rows (with ``drain``) and then ``events`` in one transaction; returns the
        new events' sequence numbers and how many outbox rows were moved."""
        with self._lock(), self._transaction() as cursor:
            cursor.execute(*self._sql["lock"])
            cursor.execute(self._sql["head"])
            seq, prev, mark = cursor.fetchone()
            pending = self._take_outbox(cursor, mark) if drain else []
            rows = pending + events
            stamp, values, subjects = self._stamp, [], []
            algorithm = self.algorithm
            for event in rows:
                when, (head, middle, tail, subjects_json, detail_json) = event.pop(_PARTS, None) or _parts(
                    event, algorithm)
                seq += 1
                link = prev
                prev = digest(algorithm, f'{head}"{link}"{middle}{seq}{tail}'.encode())
                event.update(seq=seq, algorithm=algorithm, prev_hash=link, hash=prev)
                values.append((seq, stamp(event["occurred_at"], when), event["actor"], event["actor_department"],
                               event["action"], event["target"], subjects_json, event["purpose"],
                               event["case_number"], event["outcome"], detail_json, algorithm, link, prev))
                subjects.extend((s, seq) for s in event["subjects"])
            if values:
                cursor.executemany(self._sql["event"], values)
            if subjects:
                cursor.executemany(self._sql["subject"], subjects)
            if values:
                new_mark = max([mark or 0, *(p["id"] for p in pending)]) if not self.postgres else mark
                cursor.execute(self._sql["advance"], (seq, prev, new_mark))
        return [e["seq"] for e in events], len(pending)

    @contextmanager
    def _transaction(self) -> Iterator:
        """A cursor in one transaction on a pooled connection, at the driver level: a batch runs
        for every audited request, and SQLAlchemy's connection, transaction and execution objects
        cost the writer more than its statements did. Committed at the end, rolled back on error."""
        pooled = self.engine.raw_connection()
        try:
            driver = pooled.driver_connection
            if not self.postgres:
                driver.execute("BEGIN")  # sqlite3 runs in autocommit mode here (see make_engine)
            cursor = driver.cursor()
            try:
                yield cursor
                driver.commit()
            except BaseException:
                try:
                    driver.rollback()
                except Exception:  # noqa: BLE001 - a dropped connection: the pool does not get it back
                    pooled.invalidate()
                raise
            finally:
                cursor.close()
        finally:
            pooled.close()

    def _take_outbox(self, cursor, mark: int | None) -> list[dict]:
        """Outbox rows in id order: on PostgreSQL deleted here (rows another process holds are
        skipped, it moves them); on SQLite read above the mark (deleted later, see the module)."""
        if self.postgres:
            cursor.execute(self._sql["take"])
        else:
            cursor.execute(self._sql["take"], (mark or 0,))
        rows = [self._outbox_row(row) for row in cursor.fetchall()]
        return sorted(rows, key=lambda r: r["id"]) if self.postgres else rows

    def _clean_outbox(self) -> None:
        """Delete moved outbox rows from the main SQLite file, only if it is free right now."""
        if time.monotonic() - self._cleaned_at < OUTBOX_CLEAN_SECONDS:
            return
        self._cleaned_at = time.monotonic()
        try:
            with self.engine.connect() as connection:
                raw = connection.connection.driver_connection  # pragmas outside any transaction
                busy = raw.execute("PRAGMA busy_timeout").fetchone()[0]
                raw.execute("PRAGMA busy_timeout=50")
                try:
                    with connection.begin():
                        connection.exec_driver_sql(
                            "DELETE FROM audit_outbox WHERE id <= (SELECT outbox_mark FROM audit_head WHERE id = 1)")
                finally:
                    raw.execute(f"PRAGMA busy_timeout={int(busy)}")
        except Exception as exc:  # noqa: BLE001 - a busy main file: try again after the next batch
            log.debug("audit outbox not cleaned: %s", exc)
